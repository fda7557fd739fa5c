//! What a provider's answer means for an attempt: its next state and what to keep.

use payment_core::{ChargeStatus, Error, MutationOutput, Outcome, RefundStatus, Result};

use crate::record::{StoredError, StoredOutcome};
use crate::state::AttemptState;

/// The state and stored outcome of one call's result.
pub(crate) fn settle(result: &Result<MutationOutput>) -> (AttemptState, StoredOutcome) {
    match result {
        Ok(output) => (state_of(output), StoredOutcome::of_output(output)),
        Err(e) => (state_of_error(e), StoredOutcome::Error(StoredError::of(e))),
    }
}

/// A record's state: asynchronous charges and refunds stay pending until final.
pub(crate) fn state_of(output: &MutationOutput) -> AttemptState {
    match output {
        MutationOutput::Charge(c) => match c.status {
            ChargeStatus::Pending | ChargeStatus::RequiresAction => AttemptState::Pending,
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

/// An error's state. Unknown outcomes stay for recovery; a definite failure with no answer from
/// the provider was never sent; a definite transient answer (503, 429) proves nothing was done;
/// any other definite answer is the provider saying no.
pub(crate) fn state_of_error(e: &Error) -> AttemptState {
    match (e.outcome(), e.http_status()) {
        (Outcome::Unknown, _) => AttemptState::Unknown,
        (Outcome::Definite, None) => AttemptState::NotSent,
        (Outcome::Definite, Some(_)) if e.is_retryable() => AttemptState::ProvenAbsent,
        (Outcome::Definite, Some(_)) => AttemptState::Declined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::{DeclineReason, ErrorKind};

    #[test]
    fn errors_settle_by_outcome_and_answer() {
        let unknown = Error::new(ErrorKind::Timeout, "t").into_outcome_unknown();
        assert_eq!(state_of_error(&unknown), AttemptState::Unknown);
        assert_eq!(state_of_error(&Error::new(ErrorKind::Network, "refused")), AttemptState::NotSent);
        let declined =
            Error::new(ErrorKind::CardDeclined(DeclineReason::InsufficientFunds), "no").with_http_status(402);
        assert_eq!(state_of_error(&declined), AttemptState::Declined);
        let busy = Error::new(ErrorKind::ProviderUnavailable, "503").with_http_status(503).with_retryable(true);
        assert_eq!(state_of_error(&busy), AttemptState::ProvenAbsent);
    }
}
