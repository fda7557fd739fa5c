//! The adversarial soak: seeded schedules of charges, captures, cancels and refunds through a
//! journaled client against each provider's mock, with the faults a real provider, network or
//! disk produces on at once — answers dropped after the provider committed, requests that commit
//! after the client gave up (a delay past the attempt timeout), altered echoes, 5xx and 429s
//! with hostile `Retry-After`, journal writes that fail or whose commit answer is lost,
//! concurrent repeats of one key, and the provider down while recovery runs. Afterwards it
//! checks, against the mock's own ledger:
//!
//! 1. at most one provider effect per idempotency key (charges per reference, refunds per charge);
//! 2. distinct keys never share a provider object;
//! 3. a call the caller was told failed *definitely* has no effect at the provider, even after
//!    recovery and repeats;
//! 4. after recovery every payment is terminal, or `needs_reconciliation` with a reason;
//! 5. no schedule hung past its bound.

mod direct;
mod routed;

use std::collections::BTreeMap;
use std::time::Duration;

use payment::journal::{AttemptState, FaultyStore, JournalOptions, StoreFault, StoreStep};
use payment::mocks::{FaultKind, FaultPlan, FaultRule};
use payment::transport::{EngineBuilder, Sleeper};
use payment::{ExponentialBackoff, Outcome};

pub use direct::run;
pub use routed::run_routed;

/// What the caller was told by one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Told {
    Done(String),
    Failed(String),
    Unknown,
}

/// The counts of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The provider.
    pub provider: String,
    /// Schedules run.
    pub schedules: usize,
    /// Logical calls made.
    pub calls: usize,
    /// Calls first told success / definite failure / unknown.
    pub told: [usize; 3],
    /// Mock faults fired, by kind.
    pub mock_faults: BTreeMap<String, usize>,
    /// Journal faults fired.
    pub journal_faults: usize,
    /// Payments left `needs_reconciliation` (allowed, each with a reason).
    pub reconcile: usize,
    /// Invariant 1: references charged more than once, charges refunded more than asked.
    pub duplicate_effects: usize,
    /// Invariant 2: provider objects answered to two keys.
    pub shared_objects: usize,
    /// Invariant 3: calls told "failed" whose effect exists at the provider.
    pub failed_but_done: usize,
    /// Invariant 4: payments left unresolved, or reconciliation without a reason.
    pub unresolved: usize,
    /// Invariant 5: schedules that hung past their bound.
    pub hung: usize,
    /// The first violation, in words.
    pub first_violation: Option<String>,
}

impl Report {
    /// Violations of all five invariants.
    pub fn violations(&self) -> usize {
        self.duplicate_effects + self.shared_objects + self.failed_but_done + self.unresolved + self.hung
    }

    pub(crate) fn violate(&mut self, what: String) {
        self.first_violation.get_or_insert(what);
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults: Vec<String> = self.mock_faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
        write!(
            f,
            "{}: {} schedules, {} calls (told ok {}, failed {}, unknown {}); faults: mock [{}], journal {}; \
             needs_reconciliation {}; violations: duplicate effects {}, shared objects {}, failed-but-done {}, \
             unresolved {}, hung {}",
            self.provider,
            self.schedules,
            self.calls,
            self.told[0],
            self.told[1],
            self.told[2],
            faults.join(", "),
            self.journal_faults,
            self.reconcile,
            self.duplicate_effects,
            self.shared_objects,
            self.failed_but_done,
            self.unresolved,
            self.hung,
        )?;
        if let Some(v) = &self.first_violation {
            write!(f, "; first: {v}")?;
        }
        Ok(())
    }
}

/// Waits a hundredth of each delay, so retries run but the soak stays quick.
#[derive(Debug)]
pub(crate) struct ScaledSleeper;

impl Sleeper for ScaledSleeper {
    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep((d / 100).min(Duration::from_millis(200))))
    }
}

/// The per-attempt timeout; a delay fault longer than it commits after the client gave up.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(400);
/// The deadline of one call.
pub(crate) const CALL_DEADLINE: Duration = Duration::from_secs(3);

/// The mock's fault mix.
pub(crate) fn mock_faults(seed: u64) -> FaultPlan {
    let post = |kind, p| FaultRule::always(kind).methods(&["POST"]).probability(p);
    FaultPlan {
        seed,
        rules: vec![
            post(FaultKind::DropAfterCommit, 0.08),
            post(FaultKind::ResetBeforeCommit, 0.04),
            post(FaultKind::StatusAfterCommit { status: 500 }, 0.03),
            // A 5xx outside 500/502/503/504 after the provider committed: still not a refusal.
            post(FaultKind::StatusAfterCommit { status: 520 }, 0.02),
            // Past the attempt timeout: the provider commits after the client hung up.
            post(FaultKind::Delay { ms: 600 }, 0.04),
            post(FaultKind::AlterAmount, 0.04),
            FaultRule::always(FaultKind::Status { status: 503, retry_after: None }).probability(0.04),
            // A hostile Retry-After (a day): the deadline, not the provider, bounds the wait.
            FaultRule::always(FaultKind::Status { status: 429, retry_after: Some(86_400) }).probability(0.03),
        ],
    }
}

/// Every request refused while "the provider is down" for recovery.
pub(crate) fn provider_down() -> FaultPlan {
    FaultPlan::new(vec![
        FaultRule::always(FaultKind::ResetBeforeCommit).probability(0.4),
        // A resend turned away proves nothing about the attempt it repeats.
        FaultRule::always(FaultKind::Status { status: 429, retry_after: Some(86_400) }).probability(0.5),
        FaultRule::always(FaultKind::Status { status: 503, retry_after: None }),
    ])
}

pub(crate) fn told(result: &payment::Result<String>) -> Told {
    match result {
        Ok(id) => Told::Done(id.clone()),
        Err(e) if e.outcome() == Outcome::Unknown => Told::Unknown,
        Err(e) => Told::Failed(e.to_string()),
    }
}

/// splitmix64: each schedule's choices from its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Runs one call, and with `twice` a concurrent repeat of the same key; what the caller saw.
pub(crate) async fn call_twice<F, Fut>(twice: bool, call: F) -> (payment::Result<String>, Option<String>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = payment::Result<String>>,
{
    if !twice {
        let result = call().await;
        let failed = definite_failure(&result);
        return (result, failed);
    }
    let (a, b) = futures::join!(call(), call());
    // Each caller acts on its own answer: a definite failure told to either is a claim about the
    // key that must hold, whatever the other was told.
    let failed = definite_failure(&a).or_else(|| definite_failure(&b));
    // The key's answer: a success (the other call may truly have sent nothing), then a definite
    // failure, then unknown.
    let merged = match (a, b) {
        (Ok(id), _) | (_, Ok(id)) => Ok(id),
        (Err(e), _) | (_, Err(e)) if e.outcome() == Outcome::Definite => Err(e),
        (a, _) => a,
    };
    (merged, failed)
}

/// The message of a definite failure, if `result` is one.
fn definite_failure(result: &payment::Result<String>) -> Option<String> {
    match result {
        Err(e) if e.outcome() == Outcome::Definite => Some(e.to_string()),
        _ => None,
    }
}

/// Counts finished schedules on stderr (`provider: n/N schedules`), a tenth at a time, when stderr
/// is a terminal: a long soak says how far it is; a log or CI stays quiet.
pub(crate) fn progress(label: &str, done: u64, of: u64) {
    use std::io::IsTerminal;
    let step = (of / 10).max(1);
    if !std::io::stderr().is_terminal() || (!done.is_multiple_of(step) && done != of) {
        return;
    }
    let end = if done == of { "\n" } else { "" };
    eprint!("\r{label}: {done}/{of} schedules{end}");
}

/// Plans this schedule's journal faults (they fire on the next matching writes).
pub(crate) fn plan_journal_faults(rng: &mut Rng, faulty: &FaultyStore) {
    let step = match rng.below(8) {
        0 => StoreStep::Transition(AttemptState::Dispatched),
        1 => StoreStep::Transition(AttemptState::Succeeded),
        2 => StoreStep::Transition(AttemptState::Unknown),
        3 => StoreStep::Transition(AttemptState::NotSent),
        4 => StoreStep::Transition(AttemptState::ProvenAbsent),
        5 => StoreStep::Transition(AttemptState::Declined),
        _ => return,
    };
    let fault = match rng.below(3) {
        0 => StoreFault::Fail,
        1 => StoreFault::LoseCommit,
        _ => StoreFault::Delay(Duration::from_millis(50)),
    };
    faulty.inject(step, fault, 1);
}

/// The payment a ledger name belongs to. Mocks name a charge by its reference (here the
/// payment's key) or, where the wire carries no reference (GSP), by the request key it was sent
/// under: the payment's key, or for a later attempt the key with the journal's `-aN-<8 hex>`.
/// Counting by payment makes a second attempt's charge a second effect of the same payment.
pub(crate) fn payment_of(name: &str) -> &str {
    let Some((head, digest)) = name.rsplit_once('-') else { return name };
    let Some((key, seq)) = head.rsplit_once("-a") else { return name };
    let hex = digest.len() == 8 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    let number = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
    if hex && number && !key.is_empty() { key } else { name }
}

/// Whether a mock charge took money: a declined or failed charge object is no effect.
pub(crate) fn is_live(c: &payment::mocks::MockObject) -> bool {
    let status = c.status.to_ascii_lowercase();
    !(status.contains("fail") || status.contains("refus") || status.contains("declin"))
}

/// Whether a mock charge of the payment with `reference` took money.
pub(crate) fn is_live_charge(charges: &[payment::mocks::MockObject], reference: &str) -> bool {
    charges.iter().any(|c| c.reference.as_deref().map(payment_of) == Some(reference) && is_live(c))
}

/// The engine every soak client uses: short attempts, a short deadline, retries that wait a
/// hundredth of their delay.
pub(crate) fn engine(name: &'static str, seed: u64) -> EngineBuilder {
    EngineBuilder::new(name)
        .retry_policy(ExponentialBackoff { max_attempts: 6, ..ExponentialBackoff::default() }.with_seed(seed))
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .call_timeout(CALL_DEADLINE)
        .sleeper(std::sync::Arc::new(ScaledSleeper))
}

/// The journal's options in a soak: a lease past the call deadline, quick backoffs.
pub(crate) fn journal_options() -> JournalOptions {
    JournalOptions {
        lease: CALL_DEADLINE + Duration::from_secs(2),
        recovery_lease: Duration::from_secs(4),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        // Past the longest delay fault (600 ms): a request the client gave up on lands within it.
        settle_horizon: Duration::from_secs(1),
        ..JournalOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::payment_of;

    #[test]
    fn a_later_attempts_request_key_belongs_to_its_payment() {
        assert_eq!(payment_of("adv7n3"), "adv7n3");
        assert_eq!(payment_of("adv7n3-a2-0f1e2d3c"), "adv7n3");
        assert_eq!(payment_of("adv7n3-a12-0F1E2D3C"), "adv7n3");
        assert_eq!(payment_of("order-a2-notahex1"), "order-a2-notahex1");
        assert_eq!(payment_of("order-ab-0f1e2d3c"), "order-ab-0f1e2d3c");
        assert_eq!(payment_of("-a2-0f1e2d3c"), "-a2-0f1e2d3c");
    }
}
