//! The `tower::retry::Policy` that applies the idempotency rules and asks the `RetryPolicy` for delays.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::call::{LookupAnswer, Phase, ReplyClass};
use super::dispatch::{Attempt, AttemptError, AttemptReply};
use super::sleep::Sleeper;
use crate::idempotency::IdempotencySupport;
use crate::retry::{AttemptFailure, RetryContext, RetryDecision, RetryPolicy};

/// Drives retries of one call.
#[derive(Clone)]
pub(crate) struct EnginePolicy {
    pub(crate) policy: Arc<dyn RetryPolicy>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) deadline: Option<Duration>,
}

/// What the rules say about the attempt that just ended.
struct Verdict {
    failure: AttemptFailure,
    safe: bool,
    next_phase: Phase,
}

impl EnginePolicy {
    /// Applies the idempotency rules (docs/architecture.md §4) to one result; `None` means the result is final.
    fn judge(attempt: &Attempt, result: &Result<AttemptReply, AttemptError>) -> Option<Verdict> {
        let call = &attempt.call;
        let mut st = attempt.state();
        let has_lookup =
            matches!(call.idempotency, IdempotencySupport::RejectDuplicate { .. }) && call.lookup.is_some();
        let after_ambiguity = |st: &mut super::dispatch::CallState, failure| {
            st.ambiguous = true;
            st.ever_ambiguous = true;
            st.last_failure = Some(failure);
            let next_phase = if has_lookup { Phase::Lookup } else { Phase::Send };
            Verdict { failure, safe: call.idempotency.survives_ambiguity(), next_phase }
        };
        match result {
            Err(AttemptError::Build(_)) => None,
            Err(AttemptError::Transport(e)) => {
                let failure = AttemptFailure::Transport(e.failure);
                if st.phase == Phase::Lookup || !e.maybe_sent() {
                    st.last_failure.get_or_insert(failure);
                    // A read, or nothing was sent: repeat the same phase.
                    Some(Verdict { failure, safe: true, next_phase: st.phase })
                } else {
                    Some(after_ambiguity(&mut st, failure))
                }
            }
            Ok(reply) => {
                let status = reply.response.status().as_u16();
                match (call.classify)(&reply.response) {
                    ReplyClass::RateLimited { retry_after } => {
                        let failure = AttemptFailure::Status { status, retry_after };
                        st.last_failure.get_or_insert(failure);
                        Some(Verdict { failure, safe: true, next_phase: st.phase })
                    }
                    ReplyClass::Unavailable { retry_after } => {
                        let failure = AttemptFailure::Status { status, retry_after };
                        if st.phase == Phase::Lookup {
                            Some(Verdict { failure, safe: true, next_phase: Phase::Lookup })
                        } else {
                            Some(after_ambiguity(&mut st, failure))
                        }
                    }
                    ReplyClass::DuplicateRejected if st.phase == Phase::Send && has_lookup => {
                        // The natural key is taken: by our own earlier attempt, or by an earlier call
                        // with the same key. Find the object; the provider checks it matches the request.
                        if !st.ever_ambiguous {
                            st.earlier_duplicate = true;
                        }
                        let failure = st.last_failure.unwrap_or(AttemptFailure::Status { status, retry_after: None });
                        Some(Verdict { failure, safe: true, next_phase: Phase::Lookup })
                    }
                    ReplyClass::Final | ReplyClass::DuplicateRejected => {
                        if reply.phase != Phase::Lookup {
                            // A definite answer to a repeat settles any earlier ambiguous attempt: the
                            // provider replayed it, or refused it, or it had never landed. Not a
                            // refusal of a resend after a lookup found nothing: that answers the
                            // resend alone ("exceeds what is left" may be the original landing).
                            if reply.response.status().is_success() || !st.resent_after_absence {
                                st.ambiguous = false;
                            }
                            return None;
                        }
                        match call.lookup.as_ref().map(|l| (l.found)(&reply.response)) {
                            Some(LookupAnswer::Found) => {
                                st.ambiguous = false;
                                return None;
                            }
                            Some(LookupAnswer::Absent) => {}
                            Some(LookupAnswer::Unknown) | None => return None,
                        }
                        // Nothing is there yet, so sending again is safe: the same reference makes
                        // either landing the other's duplicate. But the earlier attempt may still be
                        // landing (a provider keeps processing a request its client gave up on), so
                        // the call stays uncertain until the provider answers the resend definitely:
                        // a resend turned away (429, 503) or lost says nothing of the original.
                        st.resent_after_absence = true;
                        let failure = st.last_failure.unwrap_or(AttemptFailure::Status { status, retry_after: None });
                        Some(Verdict { failure, safe: true, next_phase: Phase::Send })
                    }
                }
            }
        }
    }
}

impl tower::retry::Policy<Attempt, AttemptReply, AttemptError> for EnginePolicy {
    type Future = BoxFuture<'static, ()>;

    fn retry(
        &mut self,
        attempt: &mut Attempt,
        result: &mut Result<AttemptReply, AttemptError>,
    ) -> Option<Self::Future> {
        let verdict = Self::judge(attempt, result)?;
        if !verdict.safe {
            return None;
        }
        let (attempts, elapsed) = {
            let st = attempt.state();
            (st.attempts, st.started.elapsed())
        };
        let ctx = RetryContext { attempts, elapsed, failure: verdict.failure };
        // Lookups count as attempts, so the policy bounds lookup/resend cycles too; a lookup that
        // settled that nothing happened goes straight back to sending, without waiting.
        let lookup_found_nothing = verdict.next_phase == Phase::Send && attempt.state().phase == Phase::Lookup;
        let after = match self.policy.decide(&ctx) {
            RetryDecision::Stop => return None,
            RetryDecision::Retry { .. } if lookup_found_nothing => Duration::ZERO,
            RetryDecision::Retry { after } => after,
        };
        if let Some(deadline) = self.deadline
            && elapsed.saturating_add(after) >= deadline
        {
            return None;
        }
        attempt.state().phase = verdict.next_phase;
        Some(self.sleeper.sleep(after))
    }

    fn clone_request(&mut self, attempt: &Attempt) -> Option<Attempt> {
        Some(attempt.clone())
    }
}
