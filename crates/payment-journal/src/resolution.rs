//! What recovery reports: the client for each account, what it did with each attempt, and the
//! order it works through a claim in.

use std::collections::HashMap;
use std::time::Duration;

use payment_core::{Error, Operation, PaymentClient, Result};
use serde::Serialize;

use crate::record::Attempt;
use crate::state::AttemptState;

/// Claimed attempts grouped so that those of one charge (at one account) stay together, in
/// claim order; attempts of no charge yet (new charges) are each their own group.
pub(crate) fn by_charge(claimed: Vec<Attempt>) -> Vec<Vec<Attempt>> {
    let mut groups: Vec<Vec<Attempt>> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for attempt in claimed {
        match attempt.charge_id.clone() {
            Some(charge) => {
                let at = *index.entry((attempt.account.clone(), charge)).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[at].push(attempt);
            }
            None => groups.push(vec![attempt]),
        }
    }
    groups
}

/// Where recovery gets a client for each provider named in the journal.
pub trait ClientSource: Send + Sync {
    /// A client for `provider` (its journal, if any, is not used), or why there is none.
    fn client_for(&self, provider: &str) -> Result<PaymentClient>;
}

impl ClientSource for PaymentClient {
    fn client_for(&self, provider: &str) -> Result<PaymentClient> {
        if provider == self.account() {
            Ok(self.unjournaled())
        } else {
            Err(Error::config(format!("no client for {provider}; this one is for {}", self.account())))
        }
    }
}

impl ClientSource for HashMap<String, PaymentClient> {
    fn client_for(&self, provider: &str) -> Result<PaymentClient> {
        self.get(provider)
            .map(PaymentClient::unjournaled)
            .ok_or_else(|| Error::config(format!("no client configured for {provider}, which the journal names")))
    }
}

/// What recovery did with one attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// The logical payment.
    pub idempotency_key: String,
    /// The attempt number.
    pub seq: i64,
    /// The account the attempt went to (shown as `provider`).
    #[serde(rename = "provider")]
    pub account: String,
    /// The operation.
    pub operation: Operation,
    /// Its state before.
    pub from: AttemptState,
    /// Its state after.
    pub to: AttemptState,
    /// How, in words (`resent with the same key`, `found by reference`, …).
    pub how: String,
}

impl Resolution {
    /// `attempt` moved to `to`, `how` in words.
    pub(crate) fn of(attempt: &Attempt, to: AttemptState, how: String) -> Resolution {
        Resolution {
            idempotency_key: attempt.idempotency_key.clone(),
            seq: attempt.seq,
            account: attempt.account.clone(),
            operation: attempt.operation,
            from: attempt.state,
            to,
            how,
        }
    }

    /// Whether this is a charge attempt settled as having done nothing that turned out to have
    /// charged (see [`crate::Journal::apply_event`]).
    pub fn is_late_success(&self) -> bool {
        self.operation == Operation::CreateCharge
            && self.to == AttemptState::NeedsReconciliation
            && matches!(self.from, AttemptState::NotSent | AttemptState::ProvenAbsent | AttemptState::Declined)
    }
}

/// What one recovery run did and what it left.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecoveryReport {
    /// Every attempt it looked at, in order.
    pub resolutions: Vec<Resolution>,
}

impl RecoveryReport {
    /// Attempts it left unknown (to be asked again).
    pub fn still_unknown(&self) -> impl Iterator<Item = &Resolution> {
        self.resolutions.iter().filter(|r| matches!(r.to, AttemptState::Unknown | AttemptState::Dispatched))
    }
}

/// What a recovery run tells its observer as it goes.
#[derive(Debug, Clone, Copy)]
pub enum RecoveryEvent<'a> {
    /// An attempt was settled, or put back for later, just now.
    Resolved(&'a Resolution),
    /// Nothing is claimable now: the next attempt is, after this wait (a live lease or a backoff).
    Waiting(Duration),
}

/// Told of each [`RecoveryEvent`] (`journal recover` prints them as they come).
pub type RecoveryObserver<'a> = &'a (dyn Fn(RecoveryEvent<'_>) + Send + Sync);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charges_attempts_stay_together_in_claim_order() {
        let attempt = |key: &str, account: &str, charge: Option<&str>| {
            let request = payment_core::CreateCharge::new(
                payment_core::Money::new(100, payment_core::Currency::JPY),
                payment_core::PaymentSource::Token("tok".into()),
            );
            let new = crate::record::NewAttempt {
                idempotency_key: key.into(),
                account: account.into(),
                request: crate::request::StoredRequest::of(&payment_core::Mutation::CreateCharge(request)),
                lease_owner: "t".into(),
                lease_until_ms: 0,
                now_ms: 0,
                rules: Default::default(),
            };
            let mut a = new.prepared(1, key.into());
            a.charge_id = charge.map(Into::into);
            a
        };
        let groups = by_charge(vec![
            attempt("r1", "a", Some("ch_1")),
            attempt("c1", "a", None),
            attempt("r2", "b", Some("ch_1")),
            attempt("r3", "a", Some("ch_1")),
            attempt("c2", "a", None),
        ]);
        let keys: Vec<Vec<&str>> =
            groups.iter().map(|g| g.iter().map(|a| a.idempotency_key.as_str()).collect()).collect();
        assert_eq!(keys, [vec!["r1", "r3"], vec!["c1"], vec!["r2"], vec!["c2"]]);
    }
}
