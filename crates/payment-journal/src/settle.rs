//! What a provider's answer means for an attempt: its next state and what to keep.

use payment_core::transport::delivery::{Delivery, Effect, effect_of};
use payment_core::{ChargeStatus, Error, MutationOutput, RefundStatus, Result};

use crate::record::{StoredError, StoredOutcome};
use crate::state::AttemptState;

/// The state and stored outcome of one call's result, given what the engine knows was sent.
pub(crate) fn settle(result: &Result<MutationOutput>, delivery: Delivery) -> (AttemptState, StoredOutcome) {
    match result {
        Ok(output) => (state_of(output), StoredOutcome::of_output(output)),
        Err(e) => (state_of_error(e, delivery), StoredOutcome::Error(StoredError::of(e))),
    }
}

/// A record's state: asynchronous charges and refunds stay pending until final.
pub(crate) fn state_of(output: &MutationOutput) -> AttemptState {
    match output {
        MutationOutput::Charge(c) => match c.status {
            ChargeStatus::Pending => AttemptState::Pending,
            ChargeStatus::RequiresAction => AttemptState::AwaitingCustomer,
            ChargeStatus::Failed => AttemptState::Declined,
            ChargeStatus::Succeeded | ChargeStatus::Authorized | ChargeStatus::Canceled => AttemptState::Succeeded,
        },
        MutationOutput::Refund(r) => match r.status {
            RefundStatus::Pending => AttemptState::Pending,
            RefundStatus::Failed => AttemptState::Declined,
            RefundStatus::Succeeded => AttemptState::Succeeded,
        },
    }
}

/// A charge read back while it still awaits its customer names the step, but the step's URL may
/// be one only the creating call could build (PAY.JP's embeds the caller's return URL): the URL
/// the attempt was answered with is kept, so a repeat of its key sends the customer the same way.
pub(crate) fn keep_action_url(before: Option<&StoredOutcome>, read: &mut MutationOutput) {
    let (Some(StoredOutcome::Charge(old)), MutationOutput::Charge(new)) = (before, read) else { return };
    if let (Some(was), Some(now)) = (&old.next_action, new.next_action.as_mut())
        && now.url.is_none()
        && was.kind == now.kind
        && old.id == new.id
    {
        now.url.clone_from(&was.url);
        now.method.clone_from(&was.method);
        now.fields.clone_from(&was.fields);
        if now.data.is_null() {
            now.data.clone_from(&was.data);
        }
    }
}

/// An error's state. `not_sent` only when the engine saw no request leave; a rate limit (429)
/// proves nothing was done; a provider's refusal is declined; anything
/// else (an answer lost, or refused by the client after a 2xx) stays unknown for recovery.
pub(crate) fn state_of_error(e: &Error, delivery: Delivery) -> AttemptState {
    match effect_of(e, delivery) {
        Effect::NotSent => AttemptState::NotSent,
        Effect::TurnedAway => AttemptState::ProvenAbsent,
        Effect::Refused => AttemptState::Declined,
        Effect::Unknown => AttemptState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::{DeclineReason, ErrorKind};

    #[test]
    fn errors_settle_by_outcome_and_answer() {
        use Delivery::{MaybeSent, NotSent};
        let unknown = Error::new(ErrorKind::Timeout, "t").into_outcome_unknown();
        assert_eq!(state_of_error(&unknown, NotSent), AttemptState::Unknown);
        let refused = Error::new(ErrorKind::Network, "refused");
        assert_eq!(state_of_error(&refused, NotSent), AttemptState::NotSent);
        let declined =
            Error::new(ErrorKind::CardDeclined(DeclineReason::InsufficientFunds), "no").with_http_status(402);
        assert_eq!(state_of_error(&declined, MaybeSent), AttemptState::Declined);
        // A 5xx may follow a commit; only a rate limit proves nothing was done.
        let busy = Error::new(ErrorKind::ProviderUnavailable, "503").with_http_status(503).with_retryable(true);
        assert_eq!(state_of_error(&busy, MaybeSent), AttemptState::Unknown);
        let limited = Error::new(ErrorKind::RateLimited, "429").with_http_status(429);
        assert_eq!(state_of_error(&limited, MaybeSent), AttemptState::ProvenAbsent);
        // Made after a 2xx, with no status: the provider acted, so never `not_sent`.
        let echoed = Error::new(ErrorKind::Integrity, "another amount");
        assert_eq!(state_of_error(&echoed, MaybeSent), AttemptState::Unknown);
    }
}
