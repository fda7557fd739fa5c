//! The rows a journal keeps: logical payments, their attempts, and every transition.

use payment_core::{ChargeRecord, Error, ErrorKind, MutationOutput, Operation, RefundRecord};
use serde::{Deserialize, Serialize};

use crate::request::StoredRequest;
use crate::state::AttemptState;

/// One try at a logical payment, with the request it sent and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unique id (UUID v4).
    pub id: String,
    /// The logical payment's idempotency key.
    pub idempotency_key: String,
    /// 1 for the first attempt, then 2, 3, …
    pub seq: i64,
    /// The account it went to (the provider's name unless the client was given another:
    /// `payjp-backup`). Stored and shown as `provider`, the name older journals use.
    #[serde(rename = "provider")]
    pub account: String,
    /// One of [`Operation::MUTATIONS`].
    pub operation: Operation,
    /// Where it is.
    pub state: AttemptState,
    /// Bumped by every write: a write that names an older version is refused (fencing).
    pub version: i64,
    /// The idempotency key sent to the provider.
    pub provider_key: String,
    /// The request, as sent once dispatched.
    pub request: StoredRequest,
    /// The charge, once known.
    pub charge_id: Option<String>,
    /// The refund, once known.
    pub refund_id: Option<String>,
    /// What the provider answered: the record (success, pending) or the error (declined, unknown).
    pub outcome: Option<StoredOutcome>,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds of the last write.
    pub updated_ms: i64,
    /// Unix milliseconds when it was dispatched.
    pub dispatched_ms: Option<i64>,
    /// When recovery should look at it next (unix milliseconds).
    pub due_ms: i64,
    /// Who holds it (a client sending it, or a recovery worker).
    pub lease_owner: Option<String>,
    /// Until when (unix milliseconds); nobody else touches it before.
    pub lease_until_ms: Option<i64>,
    /// Recovery tries so far.
    pub recover_tries: i64,
}

/// What a provider answered, kept so a repeated call gets the same answer without a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredOutcome {
    /// A charge record.
    Charge(Box<ChargeRecord>),
    /// A refund record.
    Refund(Box<RefundRecord>),
    /// An error (a decline, a refusal, or the last unknown outcome).
    Error(StoredError),
    /// What recovery found, in words (a lookup that found nothing, why it gave up).
    Note(String),
}

/// An error as stored: no secrets (errors never carry them), enough to return it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredError {
    /// The kind.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// The provider's code.
    pub provider_code: Option<String>,
    /// The HTTP status.
    pub http_status: Option<u16>,
}

impl StoredError {
    /// The stored form of `e`.
    pub fn of(e: &Error) -> StoredError {
        StoredError {
            kind: e.kind(),
            message: e.message().to_owned(),
            provider_code: e.provider_code().map(str::to_owned),
            http_status: e.http_status(),
        }
    }

    /// The error again.
    pub fn to_error(&self) -> Error {
        let mut e = Error::new(self.kind, self.message.clone());
        if let Some(c) = &self.provider_code {
            e = e.with_provider_code(c.clone());
        }
        if let Some(s) = self.http_status {
            e = e.with_http_status(s);
        }
        e
    }
}

impl StoredOutcome {
    /// The stored form of a call's output.
    pub fn of_output(output: &MutationOutput) -> StoredOutcome {
        match output {
            MutationOutput::Charge(c) => StoredOutcome::Charge(Box::new(c.clone())),
            MutationOutput::Refund(r) => StoredOutcome::Refund(Box::new(r.clone())),
        }
    }

    /// The output again, when it is a record.
    pub fn to_output(&self) -> Option<MutationOutput> {
        match self {
            StoredOutcome::Charge(c) => Some(MutationOutput::Charge((**c).clone())),
            StoredOutcome::Refund(r) => Some(MutationOutput::Refund((**r).clone())),
            _ => None,
        }
    }
}

/// A logical payment: one idempotency key, its operation and its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The operation.
    pub operation: Operation,
    /// The account of its first attempt (stored and shown as `provider`); a routed payment's
    /// later attempts may have gone elsewhere: each attempt names its own.
    #[serde(rename = "provider")]
    pub account: String,
    /// The latest attempt's state.
    pub state: AttemptState,
    /// The charge, once known.
    pub charge_id: Option<String>,
    /// The canonical request text a repeated key is compared with.
    #[serde(skip)]
    pub fingerprint: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds.
    pub updated_ms: i64,
    /// Its attempts, first first.
    pub attempts: Vec<Attempt>,
}

impl Payment {
    /// The latest attempt.
    pub fn latest(&self) -> Option<&Attempt> {
        self.attempts.iter().max_by_key(|a| a.seq)
    }
}

/// One transition, as appended to the event table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEvent {
    /// The attempt.
    pub attempt_id: String,
    /// The logical payment.
    pub idempotency_key: String,
    /// The state before (`None` when the attempt was created).
    pub from_state: Option<AttemptState>,
    /// The state after.
    pub to_state: AttemptState,
    /// The attempt's version after.
    pub version: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Who wrote it (a client or a recovery worker) and why, in words.
    pub detail: String,
}

/// A new attempt, as a client asks for it before anything is sent.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// The logical key.
    pub idempotency_key: String,
    /// The account it goes to.
    pub account: String,
    /// The request as the caller gave it (a card already reduced to its last digits).
    pub request: StoredRequest,
    /// Who holds the attempt while sending it.
    pub lease_owner: String,
    /// Until when.
    pub lease_until_ms: i64,
    /// Now.
    pub now_ms: i64,
    /// What earlier attempts of the payment it may follow.
    pub rules: AttemptRules,
}

/// When a new attempt may join a logical payment that already has some. By default only after
/// one proven to have done nothing (not sent, proven absent), at the same account; a caller that
/// sends one payment to several accounts (a router) allows more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptRules {
    /// The attempt may go to another account than the payment's earlier attempts did.
    pub other_account: bool,
    /// The attempt may follow a declined one (the caller judged the decline worth another try).
    pub after_decline: bool,
}

impl NewAttempt {
    /// The Prepared attempt number `seq` this request becomes, keyed `provider_key` at the
    /// provider and leased to its writer (the same in every store).
    pub(crate) fn prepared(&self, seq: i64, provider_key: String) -> Attempt {
        Attempt {
            id: uuid::Uuid::new_v4().to_string(),
            idempotency_key: self.idempotency_key.clone(),
            seq,
            account: self.account.clone(),
            operation: self.request.operation(),
            state: AttemptState::Prepared,
            version: 1,
            provider_key,
            request: self.request.clone(),
            charge_id: self.request.charge_id().map(|c| c.to_string()),
            refund_id: None,
            outcome: None,
            created_ms: self.now_ms,
            updated_ms: self.now_ms,
            dispatched_ms: None,
            due_ms: self.lease_until_ms,
            lease_owner: Some(self.lease_owner.clone()),
            lease_until_ms: Some(self.lease_until_ms),
            recover_tries: 0,
        }
    }
}

impl Attempt {
    /// The event that records this attempt's creation.
    pub(crate) fn prepared_event(&self) -> JournalEvent {
        JournalEvent {
            attempt_id: self.id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            from_state: None,
            to_state: AttemptState::Prepared,
            version: self.version,
            at_ms: self.created_ms,
            detail: format!("prepared by {}", self.lease_owner.as_deref().unwrap_or("?")),
        }
    }
}

/// What [`crate::JournalStore::prepare`] did.
#[derive(Debug, Clone)]
pub enum Begin {
    /// A new attempt, Prepared and leased to the caller.
    Started(Box<Attempt>),
    /// The payment exists and allows no new attempt now; here it is.
    Existing(Payment),
}

/// One fenced write to an attempt.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The attempt.
    pub attempt_id: String,
    /// The version the writer holds; the write is refused if the attempt has moved on.
    pub expected_version: i64,
    /// The new state.
    pub to: AttemptState,
    /// The request as sent (at dispatch).
    pub request: Option<StoredRequest>,
    /// The charge, once known.
    pub charge_id: Option<String>,
    /// The refund, once known.
    pub refund_id: Option<String>,
    /// What was answered.
    pub outcome: Option<StoredOutcome>,
    /// When recovery should look next.
    pub due_ms: i64,
    /// The holder after this write (`None` releases it).
    pub lease_owner: Option<String>,
    /// Until when.
    pub lease_until_ms: Option<i64>,
    /// Whether this write counts as a recovery try.
    pub recovery_try: bool,
    /// Now.
    pub now_ms: i64,
    /// Who writes and why, for the event table.
    pub detail: String,
}

impl Transition {
    /// A write to `to`, releasing the lease, due now.
    pub fn to(attempt: &Attempt, to: AttemptState, now_ms: i64, detail: impl Into<String>) -> Transition {
        Transition {
            attempt_id: attempt.id.clone(),
            expected_version: attempt.version,
            to,
            request: None,
            charge_id: None,
            refund_id: None,
            outcome: None,
            due_ms: now_ms,
            lease_owner: None,
            lease_until_ms: None,
            recovery_try: false,
            now_ms,
            detail: detail.into(),
        }
    }

    /// With the outcome, and the charge or refund id it names.
    pub fn outcome(mut self, outcome: StoredOutcome) -> Transition {
        match &outcome {
            StoredOutcome::Charge(c) => self.charge_id = Some(c.id.to_string()),
            StoredOutcome::Refund(r) => {
                self.refund_id = Some(r.id.to_string());
                self.charge_id = Some(r.charge_id.to_string());
            }
            _ => {}
        }
        self.outcome = Some(outcome);
        self
    }

    /// Kept by `owner` until `until_ms`.
    pub fn leased(mut self, owner: &str, until_ms: i64) -> Transition {
        self.lease_owner = Some(owner.to_owned());
        self.lease_until_ms = Some(until_ms);
        self
    }

    /// Looked at again at `due_ms`.
    pub fn due(mut self, due_ms: i64) -> Transition {
        self.due_ms = due_ms;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn errors_round_trip_without_losing_what_a_caller_acts_on() {
        let e = Error::new(ErrorKind::CardDeclined(payment_core::DeclineReason::InsufficientFunds), "no funds")
            .with_provider_code("card_declined")
            .with_http_status(402);
        let stored: StoredError = serde_json::from_str(&serde_json::to_string(&StoredError::of(&e)).unwrap()).unwrap();
        let back = stored.to_error();
        assert_eq!(
            (back.kind(), back.provider_code(), back.http_status()),
            (e.kind(), Some("card_declined"), Some(402))
        );
    }

    proptest! {
        #[test]
        fn decoding_any_outcome_text_never_panics(s in ".{0,200}") {
            let _ = serde_json::from_str::<StoredOutcome>(&s);
            let _ = serde_json::from_str::<Attempt>(&s);
        }
    }
}
