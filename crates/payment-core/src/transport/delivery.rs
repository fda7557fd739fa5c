//! Whether any request of a mutating call may have reached the provider: a fact the engine
//! records as it sends, and the journal reads. "Not sent" is never inferred from an error's
//! shape (an integrity or decode error made after a 2xx carries no HTTP status, yet the provider
//! acted on the request).
//!
//! A journal runs the call inside [`observe`]; the engine marks every send-phase attempt of a
//! mutating call that may have left the process (a connect failure did not; a response, a
//! timeout, a reset or an attempt cancelled mid-flight may have). A provider that acts without
//! the engine (an in-process ledger) calls [`mark_sent`] when a request reaches it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, ErrorKind, Outcome};

tokio::task_local! {
    static PROBE: Arc<Probe>;
}

/// One `observe` scope's record; marks reach every enclosing scope at once, so a scope cancelled
/// mid-flight (its future dropped) has still told its parents.
struct Probe {
    reached: AtomicBool,
    parent: Option<Arc<Probe>>,
}

impl Probe {
    fn mark(&self) {
        self.reached.store(true, Ordering::SeqCst);
        if let Some(parent) = &self.parent {
            parent.mark();
        }
    }
}

/// What the engine knows about whether a call's mutating requests reached the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// No mutating request left the process: nothing can have taken effect.
    NotSent,
    /// A mutating request may have reached the provider (it answered, or the answer was lost).
    MaybeSent,
}

/// Runs `call` and reports, with its output, whether any mutating request it made may have
/// reached the provider. Scopes nest: what an inner `observe` saw sent was sent for the
/// enclosing call too.
pub async fn observe<F: Future>(call: F) -> (F::Output, Delivery) {
    let parent = PROBE.try_with(Arc::clone).ok();
    let probe = Arc::new(Probe { reached: AtomicBool::new(false), parent });
    let output = PROBE.scope(probe.clone(), call).await;
    let delivery = if probe.reached.load(Ordering::SeqCst) { Delivery::MaybeSent } else { Delivery::NotSent };
    (output, delivery)
}

/// What a failed mutating call did at the provider, from its error and its [`Delivery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing left the process.
    NotSent,
    /// The provider answered that it did not do it (a decline, a 4xx refusal).
    Refused,
    /// The provider turned it away before doing anything (a definite 429): repeating is safe.
    TurnedAway,
    /// It may have taken effect: an answer lost, or an answer refused after the provider acted
    /// (an echoed amount the client rejects, a success body it cannot read).
    Unknown,
}

/// What `error` from a mutating call means at the provider. Only the engine's record of what
/// was sent says "not sent"; once a request may have arrived, only a provider's own refusal (a
/// decline, a 4xx answer, its error code in a 2xx body) is definite and only a rate limit proves
/// nothing was done; any 5xx, what the client made of an answer it refused (integrity, decode)
/// and no answer at all are unknown.
pub fn effect_of(error: &Error, delivery: Delivery) -> Effect {
    if error.outcome() == Outcome::Unknown {
        return Effect::Unknown;
    }
    if delivery == Delivery::NotSent {
        return Effect::NotSent;
    }
    let status = error.http_status();
    let answered_no = status.is_some_and(|s| !(200..300).contains(&s));
    match error.kind() {
        // Made by the client from an answer it could not trust or read: the provider acted.
        ErrorKind::Integrity | ErrorKind::Decode => Effect::Unknown,
        // Any 5xx may follow a commit (520, 507, …, not only the four the engine retries).
        _ if status.is_some_and(|s| s >= 500) => Effect::Unknown,
        // A decline (Worldpay answers `refused` with 201), or a natural key an earlier call took.
        ErrorKind::CardDeclined(_) | ErrorKind::IdempotencyConflict => Effect::Refused,
        // A rate limit turns the request away before anything is done (429, Ping++'s 403).
        ErrorKind::RateLimited if answered_no => Effect::TurnedAway,
        // "The customer has not finished yet" (PAY.JP's `three_d_secure_incompleted`, Worldpay's
        // `3dsChallenged` again in a 201): nothing was done, and the same call may be made again
        // once they have.
        ErrorKind::ActionRequired if answered_no || error.provider_code().is_some() => Effect::TurnedAway,
        // Any other answer asking for a retry says nothing of what was done.
        _ if answered_no && error.is_retryable() => Effect::Unknown,
        _ if answered_no => Effect::Refused,
        // The provider's own error code in a 2xx body (Google Standard Payments answers its
        // refusals with HTTP 200): its word, not ours.
        _ if error.provider_code().is_some() => Effect::Refused,
        _ => Effect::Unknown,
    }
}

/// Records that a mutating request reached the provider (for providers that act in process,
/// without the engine). Outside [`observe`] it does nothing.
pub fn mark_sent() {
    let _ = PROBE.try_with(|p| p.mark());
}

/// Held while one send-phase attempt of a mutating call is on its way. Dropped without
/// [`SendGuard::finish`] (the attempt was cancelled mid-flight, e.g. by the call's deadline),
/// it counts the request as sent: bytes may have gone out.
pub(crate) struct SendGuard {
    armed: bool,
}

impl SendGuard {
    /// A guard for an attempt about to be handed to the transport.
    pub(crate) fn new() -> SendGuard {
        SendGuard { armed: true }
    }

    /// The attempt ended; `maybe_sent` is false only when the transport proved nothing left
    /// (a refused connection).
    pub(crate) fn finish(mut self, maybe_sent: bool) {
        self.armed = false;
        if maybe_sent {
            mark_sent();
        }
    }
}

impl Drop for SendGuard {
    fn drop(&mut self) {
        if self.armed {
            mark_sent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_marked_request_counts_and_scopes_nest() {
        assert_eq!(observe(async {}).await.1, Delivery::NotSent);
        assert_eq!(observe(async { mark_sent() }).await.1, Delivery::MaybeSent);
        let (inner, outer) = observe(async { observe(async { mark_sent() }).await.1 }).await;
        assert_eq!((inner, outer), (Delivery::MaybeSent, Delivery::MaybeSent));
        let (inner, outer) = observe(async { observe(async {}).await.1 }).await;
        assert_eq!((inner, outer), (Delivery::NotSent, Delivery::NotSent));
        // Outside any scope marking is harmless.
        mark_sent();
    }

    #[test]
    fn only_the_engine_says_not_sent_and_an_answer_refused_after_a_2xx_is_unknown() {
        use crate::error::DeclineReason;
        let integrity = Error::new(ErrorKind::Integrity, "echoed another amount");
        assert_eq!(effect_of(&integrity, Delivery::NotSent), Effect::NotSent);
        assert_eq!(effect_of(&integrity, Delivery::MaybeSent), Effect::Unknown);
        assert_eq!(effect_of(&integrity.with_http_status(200), Delivery::MaybeSent), Effect::Unknown);
        let network = Error::new(ErrorKind::Network, "refused");
        assert_eq!(effect_of(&network, Delivery::MaybeSent), Effect::Unknown);
        // A hard decline answered 201 (Worldpay's `refused`) is the provider saying no.
        let refused = Error::new(ErrorKind::CardDeclined(DeclineReason::DoNotHonor), "refused");
        assert_eq!(effect_of(&refused, Delivery::MaybeSent), Effect::Refused);
        // "Not finished yet" in the provider's own words, by status or by a 2xx body's code.
        let early = || Error::new(ErrorKind::ActionRequired, "not yet");
        assert_eq!(effect_of(&early().with_http_status(400), Delivery::MaybeSent), Effect::TurnedAway);
        let again = early().with_http_status(201).with_provider_code("3dsChallenged");
        assert_eq!(effect_of(&again, Delivery::MaybeSent), Effect::TurnedAway);
        assert_eq!(effect_of(&early().with_http_status(201), Delivery::MaybeSent), Effect::Unknown);
        let invalid = Error::invalid("bad").with_http_status(400);
        assert_eq!(effect_of(&invalid, Delivery::MaybeSent), Effect::Refused);
        let in_body = Error::invalid("nothing left").with_http_status(200).with_provider_code("NO_MONEY_LEFT");
        assert_eq!(effect_of(&in_body, Delivery::MaybeSent), Effect::Refused);
        let busy = Error::new(ErrorKind::RateLimited, "429").with_http_status(429);
        assert_eq!(effect_of(&busy, Delivery::MaybeSent), Effect::TurnedAway);
        // A 5xx the engine does not retry is still no refusal: the provider may have committed.
        let after_commit = Error::new(ErrorKind::ProviderUnavailable, "520").with_http_status(520);
        assert_eq!(effect_of(&after_commit, Delivery::MaybeSent), Effect::Unknown);
        let coded = after_commit.with_provider_code("internalErrorOccurred");
        assert_eq!(effect_of(&coded, Delivery::MaybeSent), Effect::Unknown);
        let lost = Error::new(ErrorKind::Timeout, "t").into_outcome_unknown();
        assert_eq!(effect_of(&lost, Delivery::NotSent), Effect::Unknown);
    }

    #[tokio::test]
    async fn an_inner_scope_cancelled_mid_flight_has_still_told_the_outer_one() {
        let (_, outer) = observe(async {
            let inner = observe(async {
                let _guard = SendGuard::new();
                std::future::pending::<()>().await;
            });
            // The inner call is cut off while its request is on the wire.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(5), inner).await;
        })
        .await;
        assert_eq!(outer, Delivery::MaybeSent);
    }

    #[tokio::test]
    async fn a_guard_dropped_mid_flight_counts_as_sent_and_a_refused_one_does_not() {
        assert_eq!(observe(async { SendGuard::new().finish(false) }).await.1, Delivery::NotSent);
        assert_eq!(observe(async { SendGuard::new().finish(true) }).await.1, Delivery::MaybeSent);
        assert_eq!(observe(async { drop(SendGuard::new()) }).await.1, Delivery::MaybeSent);
    }
}
