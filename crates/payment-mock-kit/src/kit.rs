//! What one running mock holds: clock, ids, idempotency table, faults, request log, and the
//! provider's hooks for what only it knows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::response::Response;
use serde::Serialize;

use crate::clock::MockClock;
use crate::faults::{FaultEngine, FaultPlan};
use crate::idempotency::IdempotencyTable;
use crate::ids::IdGen;

/// Default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Requests the log keeps (the oldest go first), so a mock that runs for days stays bounded.
pub const LOG_LIMIT: usize = 10_000;

/// One request as the mock saw it (secrets redacted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedRequest {
    /// Its number since the mock started (1, 2, …), for fetching only what is new.
    pub seq: u64,
    /// When it arrived, in unix seconds on the mock clock.
    pub at: i64,
    /// Milliseconds from its arrival to its answer (injected delays included).
    pub latency_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, lower-case names; credentials redacted (see [`crate::redact`]).
    pub headers: BTreeMap<String, String>,
    /// The body as text (first 4 KiB), card numbers and security codes redacted.
    pub body: String,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The answer's body as text (first 4 KiB), card numbers and security codes redacted; what
    /// the mock answered even when a fault dropped it on the way.
    #[serde(default)]
    pub answer: String,
    /// The fault applied, if any.
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// Counts of what a mock holds, for exactly-once assertions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct MockStats {
    /// Charges (payments) created.
    pub charges: usize,
    /// Refunds applied.
    pub refunds: usize,
    /// Captures applied (each capture of an authorized charge counts once, whatever its amount).
    pub captures: usize,
    /// Charges per merchant reference.
    pub charges_by_reference: BTreeMap<String, usize>,
}

/// Why a control operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ControlError {
    /// HTTP status for the control endpoint.
    pub status: u16,
    /// What went wrong.
    pub message: String,
}

impl ControlError {
    /// A new control error.
    pub fn new(status: u16, message: impl Into<String>) -> ControlError {
        ControlError { status, message: message.into() }
    }
}

/// What the customer does on an authentication page (3-D Secure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticationResult {
    /// Authenticates.
    Success,
    /// Fails authentication.
    Failure,
    /// Leaves the page without an answer.
    Abandon,
}

impl AuthenticationResult {
    /// The name a page's form posts (`success`, `failure`, `abandon`).
    pub fn from_name(name: &str) -> Option<AuthenticationResult> {
        match name {
            "success" => Some(AuthenticationResult::Success),
            "failure" => Some(AuthenticationResult::Failure),
            "abandon" => Some(AuthenticationResult::Abandon),
            _ => None,
        }
    }
}

/// What each provider's mock supplies to the shared kit.
pub trait MockHooks: Send + Sync + 'static {
    /// The provider's name.
    fn provider(&self) -> &'static str;
    /// An error response in the provider's own shape (used for injected statuses, 404s, 413s).
    fn error_response(&self, status: u16, message: &str) -> Response;
    /// Finishes an asynchronous payment (`POST /__mock__/charges/{id}/complete`).
    fn complete_charge(&self, id: &str) -> Result<serde_json::Value, ControlError> {
        Err(ControlError::new(404, format!("{} has no asynchronous charges to complete ({id})", self.provider())))
    }
    /// Acts as the customer on a charge's authentication step (`POST
    /// /__mock__/charges/{id}/authenticate`); answers the `data` the app passes to
    /// `complete_charge`, with what the step now shows.
    fn authenticate_charge(&self, id: &str, _result: AuthenticationResult) -> Result<serde_json::Value, ControlError> {
        Err(ControlError::new(404, format!("{} has no customer authentication step ({id})", self.provider())))
    }
    /// Counts for exactly-once assertions.
    fn stats(&self) -> MockStats;
    /// At most the `limit` newest charges and the `limit` newest refunds held, oldest first (the
    /// kit turns them newest first); only these are rendered.
    fn objects(&self, limit: usize) -> crate::objects::MockObjects;
    /// Forgets every charge, refund and token, as a freshly started mock (the kit resets its own state).
    fn reset(&self);
    /// The waits (seconds of mock time) before each redelivery of a webhook not answered 2xx.
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[]
    }
    /// Changes the amount (or currency) an answer echoes, for the `alter_amount` fault; `false`
    /// when the answer echoes neither. The default changes the first `amount` it finds.
    fn alter_amount(&self, answer: &mut serde_json::Value) -> bool {
        crate::alter::alter_first_amount(answer)
    }
}

/// Shared state of one mock.
#[derive(Debug)]
pub struct MockKit {
    /// The controllable clock.
    pub clock: MockClock,
    /// Id generator.
    pub ids: IdGen,
    /// Idempotency keys.
    pub idempotency: IdempotencyTable,
    /// Outgoing webhooks (`MockOptions::webhook_url`).
    pub webhooks: Arc<crate::webhooks::WebhookOutbox>,
    faults: Mutex<FaultEngine>,
    // Each entry with its answer's first bytes, redacted only when someone reads the log: the
    // scan for card numbers is paid by readers, not by every request.
    log: Mutex<std::collections::VecDeque<(LoggedRequest, bytes::Bytes)>>,
    seen: std::sync::atomic::AtomicU64,
    faulted: std::sync::atomic::AtomicU64,
    body_limit: usize,
}

impl MockKit {
    /// A kit with ids from `seed` and the default body limit.
    pub fn new(seed: u64) -> Arc<MockKit> {
        MockKit::with_body_limit(seed, DEFAULT_BODY_LIMIT)
    }

    /// A kit with a chosen body limit.
    pub fn with_body_limit(seed: u64, body_limit: usize) -> Arc<MockKit> {
        Arc::new(MockKit {
            clock: MockClock::default(),
            ids: IdGen::new(seed),
            idempotency: IdempotencyTable::default(),
            webhooks: Arc::default(),
            faults: Mutex::new(FaultEngine::default()),
            log: Mutex::new(std::collections::VecDeque::new()),
            seen: Default::default(),
            faulted: Default::default(),
            body_limit,
        })
    }

    /// The largest request body accepted.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).set(plan);
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(crate) fn decide_faults(&self, method: &str, path: &str) -> crate::faults::FaultDecision {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).decide(method, path)
    }

    pub(crate) fn record(&self, entry: LoggedRequest) {
        self.record_answered(entry, bytes::Bytes::new());
    }

    /// Logs `entry` with the first bytes of the mock's answer.
    pub(crate) fn record_answered(&self, mut entry: LoggedRequest, answer: bytes::Bytes) {
        use std::sync::atomic::Ordering::Relaxed;
        entry.seq = self.seen.fetch_add(1, Relaxed) + 1;
        // Delays slow a request down but still answer it; every other fault changes the answer.
        if entry.fault.as_deref().is_some_and(|f| !f.starts_with("delay")) {
            self.faulted.fetch_add(1, Relaxed);
        }
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == LOG_LIMIT {
            log.pop_front();
        }
        log.push_back((entry, answer));
    }

    /// The requests seen so far, the last [`LOG_LIMIT`] at most (control requests excluded).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().map(|l| l.iter().map(with_answer).collect()).unwrap_or_default()
    }

    /// The logged requests numbered after `seq`, oldest first; with `limit`, only the newest
    /// `limit` of them (a console opened on a busy mock needs the last screenful, not the log).
    pub fn requests_since(&self, seq: u64, limit: Option<usize>) -> Vec<LoggedRequest> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        // Numbers rise along the log, so the new ones are a suffix.
        let first_new = log.partition_point(|(r, _)| r.seq <= seq);
        let first = limit.map_or(first_new, |n| first_new.max(log.len().saturating_sub(n)));
        log.range(first..).map(with_answer).collect()
    }

    /// The number of the oldest request still logged (`None`: the log is empty).
    pub fn oldest_logged(&self) -> Option<u64> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).front().map(|(r, _)| r.seq)
    }

    /// The fault rules in force, with what is left of each rule's `times`.
    pub fn faults(&self) -> FaultPlan {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).plan()
    }

    /// Back to a freshly started mock: no faults, no logged requests, no idempotency keys, no
    /// pending webhooks, the clock at real time. The request numbers keep rising, so a console
    /// that fetches what is new sees the log start again rather than miss requests.
    pub fn reset(&self) {
        self.clear_faults();
        self.clear_requests();
        self.idempotency.clear();
        self.webhooks.clear();
        self.clock.reset();
    }

    /// Requests seen since the start and how many of them a fault answered (not capped like the log).
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.seen.load(Relaxed), self.faulted.load(Relaxed))
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A logged request with its answer as text, card numbers and security codes redacted.
fn with_answer((entry, answer): &(LoggedRequest, bytes::Bytes)) -> LoggedRequest {
    let mut entry = entry.clone();
    if !answer.is_empty() {
        entry.answer = crate::redact::body(&String::from_utf8_lossy(answer));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_most_recent_requests() {
        let kit = MockKit::new(1);
        for i in 0..LOG_LIMIT + 5 {
            kit.record(LoggedRequest {
                seq: 0,
                at: 0,
                latency_ms: 0,
                method: "GET".into(),
                path: format!("/{i}"),
                headers: BTreeMap::new(),
                body: String::new(),
                status: Some(200),
                answer: String::new(),
                fault: None,
            });
        }
        let log = kit.requests();
        assert_eq!(log.len(), LOG_LIMIT);
        assert_eq!(kit.counts(), (LOG_LIMIT as u64 + 5, 0), "the totals are not capped");
        assert_eq!(log[0].path, "/5");
        assert_eq!(log[LOG_LIMIT - 1].path, format!("/{}", LOG_LIMIT + 4));
        assert_eq!(log[0].seq, 6, "numbered from 1 as recorded");
        let new = kit.requests_since(LOG_LIMIT as u64 + 3, None);
        assert_eq!(new.iter().map(|r| r.seq).collect::<Vec<_>>(), [LOG_LIMIT as u64 + 4, LOG_LIMIT as u64 + 5]);
        assert_eq!(kit.requests_since(0, None).len(), LOG_LIMIT, "a number older than the log gives all of it");
        let last = kit.requests_since(0, Some(3));
        assert_eq!(
            last.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [LOG_LIMIT as u64 + 3, LOG_LIMIT as u64 + 4, LOG_LIMIT as u64 + 5]
        );
        assert_eq!(kit.requests_since(LOG_LIMIT as u64 + 4, Some(3)).len(), 1, "the limit only ever shortens");
        kit.reset();
        assert!(kit.requests().is_empty());
        assert_eq!(kit.counts().0, LOG_LIMIT as u64 + 5, "numbers keep rising after a reset");
    }
}
