//! The engine: one loop per call, its state a local, its judgement a pure function beside it
//! (docs/architecture.md §4). The HTTP stack under it (timeouts, concurrency, tracing, user layers)
//! is tower's; see `builder.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tower::ServiceExt;

use super::call::{Call, LookupAnswer, Phase, ReplyClass};
use super::delivery::SendGuard;
use super::http::{HttpResponse, HttpService, TransportError};
use super::reply::HttpReply;
use super::sleep::Sleeper;
use super::template::UrlTemplates;
use super::trace::{Attempt, HttpAttempt, log_attempt, log_cut_off, retry_reason};
use crate::error::{Error, ErrorKind, Result};
use crate::idempotency::IdempotencySupport;
use crate::retry::{AttemptFailure, RetryContext, RetryDecision, RetryPolicy, TransportFailure};

/// What an attempt's log line names: method, path and when it was sent.
type Logged = (http::Method, String, Instant);

/// Sends provider calls with the idempotency and retry rules of docs/architecture.md §4. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<EngineInner>,
}

pub(super) struct EngineInner {
    pub(super) provider: &'static str,
    pub(super) http: HttpService,
    pub(super) policy: Arc<dyn RetryPolicy>,
    pub(super) sleeper: Arc<dyn Sleeper>,
    pub(super) call_timeout: Option<Duration>,
    pub(super) templates: UrlTemplates,
}

/// What the engine knows about one call while it runs.
#[derive(Debug, Clone, Copy)]
struct CallState {
    attempts: u32,
    /// Which request the next attempt sends.
    phase: Phase,
    /// An attempt may have taken effect and nothing has settled it yet.
    ambiguous: bool,
    /// A send-phase request is on the wire right now (read when the deadline cuts an attempt off).
    in_flight: bool,
    /// Some attempt may have reached the provider, even if a lookup later said nothing landed.
    ever_ambiguous: bool,
    /// A duplicate rejection came before any ambiguous attempt: an earlier call took the natural
    /// key, and its request may differ from this one.
    earlier_duplicate: bool,
    /// A lookup found nothing and the request went again: its answers are the resend's, not the
    /// original's, which may still be landing.
    resent_after_absence: bool,
    /// The first transient failure (or the ambiguous one): what a call that gives up reports.
    last_failure: Option<AttemptFailure>,
    /// How the provider classified the last answer, and what it said as a lookup answer.
    last_class: Option<ReplyClass>,
    last_lookup: Option<LookupAnswer>,
}

/// What the rules say after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The answer (or the failure) is the call's.
    Done,
    /// Safe to repeat, in `phase`, if the retry policy agrees; it is told `failure`.
    Again { failure: AttemptFailure, phase: Phase },
}

/// How one call's attempts ended, before its error or reply is finished.
enum Ended {
    /// The request could not be built (signing failed): never sent.
    Build(Error),
    /// No response.
    Transport(TransportError),
    /// A response, from the phase that sent it.
    Answer(HttpResponse, Phase),
}

/// The idempotency rules (docs/architecture.md §4) applied to one attempt's result: the state
/// after it and whether to go again. No I/O; the loop does what it says.
fn judge(
    call: &Call,
    mut st: CallState,
    result: std::result::Result<&HttpResponse, &TransportError>,
) -> (CallState, Next) {
    let has_lookup = matches!(call.idempotency, IdempotencySupport::RejectDuplicate { .. }) && call.lookup.is_some();
    let phase = st.phase;
    // An attempt that may have taken effect: look up when we can, resend if the operation allows.
    let ambiguous = |mut st: CallState, failure| {
        st.ambiguous = true;
        st.ever_ambiguous = true;
        st.last_failure = Some(failure);
        let next = if !call.idempotency.survives_ambiguity() {
            Next::Done
        } else {
            Next::Again { failure, phase: if has_lookup { Phase::Lookup } else { Phase::Send } }
        };
        (st, next)
    };
    let response = match result {
        Err(e) => {
            let failure = AttemptFailure::Transport(e.failure);
            if phase == Phase::Lookup || !e.maybe_sent() {
                // A read, or nothing was sent: repeat the same phase.
                st.last_failure.get_or_insert(failure);
                return (st, Next::Again { failure, phase });
            }
            return ambiguous(st, failure);
        }
        Ok(response) => response,
    };
    let status = response.status().as_u16();
    let class = (call.classify)(response);
    st.last_class = Some(class);
    st.last_lookup = match (phase, &call.lookup) {
        (Phase::Lookup, Some(lookup)) => Some((lookup.found)(response)),
        _ => None,
    };
    match class {
        ReplyClass::RateLimited { retry_after } => {
            let failure = AttemptFailure::Status { status, retry_after };
            st.last_failure.get_or_insert(failure);
            (st, Next::Again { failure, phase })
        }
        ReplyClass::Unavailable { retry_after } if phase == Phase::Lookup => {
            (st, Next::Again { failure: AttemptFailure::Status { status, retry_after }, phase })
        }
        ReplyClass::Unavailable { retry_after } => ambiguous(st, AttemptFailure::Status { status, retry_after }),
        ReplyClass::DuplicateRejected if phase == Phase::Send && has_lookup => {
            // The natural key is taken: by our own earlier attempt, or by an earlier call with
            // the same key. Find the object; the provider checks it matches the request.
            st.earlier_duplicate |= !st.ever_ambiguous;
            let failure = st.last_failure.unwrap_or(AttemptFailure::Status { status, retry_after: None });
            (st, Next::Again { failure, phase: Phase::Lookup })
        }
        ReplyClass::Final | ReplyClass::DuplicateRejected if phase == Phase::Send => {
            // A definite answer to a repeat settles an earlier ambiguous attempt: the provider
            // replayed it, refused it, or it never landed. Not a refusal of a resend after a
            // lookup found nothing: that answers the resend alone ("exceeds what is left" may be
            // the original landing).
            if response.status().is_success() || !st.resent_after_absence {
                st.ambiguous = false;
            }
            (st, Next::Done)
        }
        ReplyClass::Final | ReplyClass::DuplicateRejected => match st.last_lookup {
            Some(LookupAnswer::Found) => {
                st.ambiguous = false;
                (st, Next::Done)
            }
            // Nothing is there yet, so sending again is safe: the same reference makes either
            // landing the other's duplicate. The original may still be landing, so the call stays
            // uncertain until the provider answers the resend definitely.
            Some(LookupAnswer::Absent) => {
                st.resent_after_absence = true;
                let failure = st.last_failure.unwrap_or(AttemptFailure::Status { status, retry_after: None });
                (st, Next::Again { failure, phase: Phase::Send })
            }
            Some(LookupAnswer::Unknown) | None => (st, Next::Done),
        },
    }
}

impl Engine {
    /// The provider this engine sends for.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// Runs one logical call to a final response or error.
    ///
    /// Transport failures become errors here; HTTP responses (any status) are returned for the
    /// provider to decode, carrying whether the outcome is uncertain ([`HttpReply::fail`]).
    pub async fn execute(&self, call: Call) -> Result<HttpReply> {
        // The call's state is a few hundred bytes. Boxed, it stays out of every provider's
        // operation future, which would otherwise pass the 1,032 bytes glibc serves from its
        // per-thread cache and take the allocator's slow path on every charge.
        Box::pin(self.run(call)).await
    }

    async fn run(&self, call: Call) -> Result<HttpReply> {
        let deadline = call.deadline.or(self.inner.call_timeout).or_else(|| self.inner.policy.max_elapsed());
        // A stateful policy (a `backoff` schedule) gets a fresh copy per call, so concurrent calls
        // never reset or advance each other's delays.
        let policy = self.inner.policy.for_call().unwrap_or_else(|| self.inner.policy.clone());
        let mut st = CallState {
            attempts: 0,
            phase: Phase::Send,
            ambiguous: false,
            in_flight: false,
            ever_ambiguous: false,
            earlier_duplicate: false,
            resent_after_absence: false,
            last_failure: None,
            last_class: None,
            last_lookup: None,
        };
        // Taken before the deadline's timer starts, so the loop never thinks it has more time than it has.
        let started = Instant::now();
        // The attempt on the wire, for the log line of one the deadline cuts off.
        let mut on_the_wire: Option<Logged> = None;
        let mut traced: Option<HttpAttempt> = None;
        let attempts = self.attempts(&call, &mut st, &*policy, (started, deadline), &mut on_the_wire, &mut traced);
        let ended = match deadline {
            Some(limit) => match tokio::time::timeout(limit, attempts).await {
                Ok(ended) => ended,
                Err(_elapsed) => {
                    if let Some(attempt) = traced.take() {
                        attempt.cut_off();
                    }
                    if let Some((method, path, sent)) = on_the_wire.take() {
                        let attempt = Attempt {
                            provider: self.inner.provider,
                            call: &call,
                            number: st.attempts,
                            phase: st.phase,
                        };
                        log_cut_off(attempt, (&method, &path, sent), limit);
                    }
                    let e = Error::new(
                        ErrorKind::Timeout,
                        format!("deadline of {limit:?} passed after {} attempt(s)", st.attempts),
                    );
                    return Err(self.finish(&call, &st, e));
                }
            },
            None => attempts.await,
        };
        match ended {
            // An earlier attempt may have landed even if this one could not be built.
            Ended::Build(e) => Err(self.finish(&call, &st, e)),
            Ended::Transport(t) => {
                let kind = if t.failure == TransportFailure::Timeout { ErrorKind::Timeout } else { ErrorKind::Network };
                let e = Error::new(kind, format!("{} after {} attempt(s)", t.message, st.attempts)).with_source(t);
                Err(self.finish(&call, &st, e))
            }
            Ended::Answer(_, Phase::Lookup) if st.last_lookup != Some(LookupAnswer::Found) => {
                // The lookup could not say, or said nothing was created and retries ran out.
                let mut e = failure_error(st.last_failure, st.attempts);
                if let Some(AttemptFailure::Status { retry_after: Some(after), .. }) = st.last_failure {
                    e = e.with_retry_after(after);
                }
                Err(self.finish(&call, &st, e))
            }
            Ended::Answer(response, phase) => {
                let mutating = call.idempotency != IdempotencySupport::Safe;
                // A lookup that found the object settles the call even when it ended on a status the
                // policy stopped retrying.
                let found = phase == Phase::Lookup && st.last_lookup == Some(LookupAnswer::Found);
                // A call that ends on a duplicate rejection its lookup never explained: the natural
                // key is taken by something not visible yet, which may be this very payment.
                let unexplained_duplicate = mutating
                    && phase == Phase::Send
                    && call.lookup.is_some()
                    && st.last_class == Some(ReplyClass::DuplicateRejected);
                Ok(HttpReply {
                    response,
                    phase,
                    attempts: st.attempts,
                    uncertain: (mutating && st.ambiguous && !found) || unexplained_duplicate,
                    resent_after_absence: mutating && st.resent_after_absence,
                    unexplained_duplicate,
                    mutating,
                    earlier_duplicate: st.earlier_duplicate,
                    provider: self.inner.provider,
                    operation: call.operation,
                    key: call.key,
                    reference: call.reference,
                })
            }
        }
    }

    /// Sends attempts until one is final, the policy stops, or repeating is unsafe.
    async fn attempts(
        &self,
        call: &Call,
        st: &mut CallState,
        policy: &dyn RetryPolicy,
        (started, deadline): (Instant, Option<Duration>),
        on_the_wire: &mut Option<Logged>,
        traced: &mut Option<HttpAttempt>,
    ) -> Ended {
        // How many times the operation's own request went out before: the span's resend count.
        let mut sends = 0u32;
        loop {
            let phase = st.phase;
            let request = match (phase, &call.lookup) {
                (Phase::Lookup, Some(lookup)) => (lookup.request)(),
                _ => (call.request)(),
            };
            let request = match request {
                Ok(request) => request,
                Err(e) => return Ended::Build(e),
            };
            st.attempts += 1;
            st.in_flight = phase == Phase::Send;
            // Method and the path's template only: query strings, headers and bodies may carry
            // secrets or card data, and a path may carry a natural key made from the idempotency
            // key (Justap's merchant_trade_id).
            // Copied only when someone listens, so a quiet engine allocates nothing for logging.
            // Held by the caller while the request is out, so a deadline that cuts it off can
            // still log it; taken back once the answer is in.
            let resend = if phase == Phase::Send {
                sends += 1;
                sends - 1
            } else {
                0
            };
            *traced = HttpAttempt::start(self.inner.provider, call, &request, &self.inner.templates, resend);
            *on_the_wire = tracing::enabled!(target: "payment::attempt", tracing::Level::DEBUG).then(|| {
                let template = match traced.as_ref() {
                    Some(attempt) => attempt.template().to_owned(),
                    None => self.inner.templates.template_of(request.uri().path()),
                };
                (request.method().clone(), template, Instant::now())
            });
            // A journal reads whether a mutating request may have left; a lookup or a read never
            // counts. A call declared safe to repeat still mutates when it is not a GET (a cancel).
            let mutating = call.idempotency != IdempotencySupport::Safe
                || !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
            let guard = (phase == Phase::Send && mutating).then(SendGuard::new);
            let send = self.inner.http.clone().oneshot(request);
            let result = match traced.as_ref() {
                Some(attempt) => tracing::Instrument::instrument(send, attempt.span().clone()).await,
                None => send.await,
            };
            if let Some(attempt) = traced.take() {
                attempt.ended(&result);
            }
            let logged = on_the_wire.take();
            if let Some(guard) = guard {
                guard.finish(result.as_ref().map_or_else(TransportError::maybe_sent, |_| true));
            }
            st.in_flight = false;
            let next;
            (*st, next) = judge(call, *st, result.as_ref());
            // Lookups count as attempts, so the policy bounds lookup/resend cycles too; a lookup that
            // settled that nothing happened goes straight back to sending, without waiting.
            let wait = match next {
                Next::Done => None,
                Next::Again { failure, phase: again } => {
                    let elapsed = started.elapsed();
                    match policy.decide(&RetryContext { attempts: st.attempts, elapsed, failure }) {
                        RetryDecision::Stop => None,
                        RetryDecision::Retry { .. } if phase == Phase::Lookup && again == Phase::Send => {
                            Some((Duration::ZERO, again))
                        }
                        RetryDecision::Retry { after } => Some((after, again)),
                    }
                    .filter(|(after, _)| deadline.is_none_or(|d| elapsed.saturating_add(*after) < d))
                }
            };
            if let (true, Some(_), Next::Again { failure, .. }) = (crate::telemetry::METRICS_ENABLED, wait, next) {
                crate::telemetry::retry(self.inner.provider, call.operation.as_str(), &retry_reason(failure));
            }
            if let Some((method, path, sent)) = logged {
                let attempt = Attempt { provider: self.inner.provider, call, number: st.attempts, phase };
                log_attempt(attempt, (&method, &path, sent), &result, wait.map(|w| w.0));
            }
            match (wait, result) {
                (Some((after, again)), _) => {
                    st.phase = again;
                    self.inner.sleeper.sleep(after).await;
                }
                (None, Ok(response)) => return Ended::Answer(response, phase),
                (None, Err(e)) => return Ended::Transport(e),
            }
        }
    }

    /// Names the call on an error that ends it, and makes it `OutcomeUnknown` when a mutating
    /// attempt may have taken effect with nothing settling it: the one place the loop says so.
    fn finish(&self, call: &Call, st: &CallState, error: Error) -> Error {
        let mut e = error.with_provider(self.inner.provider).with_operation(call.operation);
        if let Some(k) = &call.key {
            e = e.with_idempotency_key(k.clone());
        }
        if let Some(r) = &call.reference {
            e = e.with_reference(r.clone());
        }
        let mutating = call.idempotency != IdempotencySupport::Safe;
        if mutating && (st.ambiguous || st.in_flight) { e.into_outcome_unknown() } else { e }
    }
}

fn failure_error(failure: Option<AttemptFailure>, attempts: u32) -> Error {
    let (kind, what) = match failure {
        Some(AttemptFailure::Transport(TransportFailure::Timeout)) => (ErrorKind::Timeout, "timed out".to_owned()),
        Some(AttemptFailure::Transport(_)) => (ErrorKind::Network, "the connection failed".to_owned()),
        Some(AttemptFailure::Status { status: 429, .. }) => (ErrorKind::RateLimited, "rate limited (429)".to_owned()),
        Some(AttemptFailure::Status { status, .. }) => (ErrorKind::ProviderUnavailable, format!("answered {status}")),
        None => (ErrorKind::ProviderUnavailable, "failed".to_owned()),
    };
    Error::new(kind, format!("the provider {what}; gave up after {attempts} attempt(s)"))
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("provider", &self.inner.provider)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}
