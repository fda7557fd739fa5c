//! Where an attempt is: the write-ahead states and the outcomes it can settle in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The state of one attempt (and of a logical payment: its latest attempt's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// Recorded; nothing has been sent.
    Prepared,
    /// The request to send is fixed and recorded; bytes may have gone out.
    Dispatched,
    /// The provider did it.
    Succeeded,
    /// The provider answered definitively that it did not (a decline, or a refused request).
    Declined,
    /// Accepted and waiting for the payer or the provider (asynchronous); re-read until final.
    Pending,
    /// Waiting for the customer's step (3-D Secure, an app): never resent, never declared
    /// absent; re-read until the provider says it went on, was declined or expired.
    AwaitingCustomer,
    /// Sent, and the answer was lost: recovery will find out.
    Unknown,
    /// Proven never sent: the call failed before any byte could reach the provider.
    NotSent,
    /// Looked up after a lost answer and proven never to have taken effect.
    ProvenAbsent,
    /// Automatic recovery cannot tell; a person must look (never a silent failure).
    NeedsReconciliation,
}

/// Every state, in lifecycle order.
pub const ALL_STATES: [AttemptState; 10] = [
    AttemptState::Prepared,
    AttemptState::Dispatched,
    AttemptState::Succeeded,
    AttemptState::Declined,
    AttemptState::Pending,
    AttemptState::AwaitingCustomer,
    AttemptState::Unknown,
    AttemptState::NotSent,
    AttemptState::ProvenAbsent,
    AttemptState::NeedsReconciliation,
];

impl AttemptState {
    /// The snake_case name stored and printed.
    pub fn as_str(&self) -> &'static str {
        match self {
            AttemptState::Prepared => "prepared",
            AttemptState::Dispatched => "dispatched",
            AttemptState::Succeeded => "succeeded",
            AttemptState::Declined => "declined",
            AttemptState::Pending => "pending",
            AttemptState::AwaitingCustomer => "awaiting_customer",
            AttemptState::Unknown => "unknown",
            AttemptState::NotSent => "not_sent",
            AttemptState::ProvenAbsent => "proven_absent",
            AttemptState::NeedsReconciliation => "needs_reconciliation",
        }
    }

    /// Whether recovery still has work here: the outcome is not known, or not final yet.
    pub fn is_unresolved(&self) -> bool {
        matches!(
            self,
            AttemptState::Prepared
                | AttemptState::Dispatched
                | AttemptState::Unknown
                | AttemptState::Pending
                | AttemptState::AwaitingCustomer
        )
    }

    /// Whether a new attempt may follow this one under the same logical key: nothing took effect.
    pub fn allows_new_attempt(&self) -> bool {
        matches!(self, AttemptState::NotSent | AttemptState::ProvenAbsent)
    }

    /// Whether this state may replace `self`. Outcomes never go back to in-flight states, and
    /// a success is final: a late `pending` never undoes `succeeded`.
    pub fn may_become(&self, next: AttemptState) -> bool {
        use AttemptState::*;
        match self {
            Prepared => matches!(next, Dispatched | NotSent | Declined),
            Dispatched | Unknown => !matches!(next, Prepared | Dispatched),
            Pending | AwaitingCustomer => {
                matches!(next, Pending | AwaitingCustomer | Succeeded | Declined | NeedsReconciliation)
            }
            NeedsReconciliation => matches!(next, Succeeded | Declined | ProvenAbsent),
            // Only a late success (a webhook for a charge the attempt was settled without) reopens
            // one of these, and only for a person or the router to reconcile.
            Declined | NotSent | ProvenAbsent => next == NeedsReconciliation,
            Succeeded => false,
        }
    }
}

impl fmt::Display for AttemptState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttemptState {
    type Err = String;
    fn from_str(s: &str) -> Result<AttemptState, String> {
        ALL_STATES.iter().copied().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL_STATES.iter().map(AttemptState::as_str).collect();
            format!("unknown journal state {s:?}; one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for st in ALL_STATES {
            assert_eq!(st.as_str().parse::<AttemptState>().unwrap(), st);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{}\"", st.as_str()));
        }
        assert!("Succeeded".parse::<AttemptState>().unwrap_err().contains("needs_reconciliation"));
    }

    #[test]
    fn success_is_final_and_outcomes_never_go_back_in_flight() {
        for next in ALL_STATES {
            assert!(!AttemptState::Succeeded.may_become(next));
            assert_eq!(AttemptState::Declined.may_become(next), next == AttemptState::NeedsReconciliation);
            assert_eq!(AttemptState::NotSent.may_become(next), next == AttemptState::NeedsReconciliation);
        }
        assert!(AttemptState::Pending.may_become(AttemptState::Succeeded));
        assert!(!AttemptState::Pending.may_become(AttemptState::Unknown));
        assert!(AttemptState::Unknown.may_become(AttemptState::ProvenAbsent));
        assert!(!AttemptState::Unknown.may_become(AttemptState::Dispatched));
        assert!(AttemptState::Prepared.may_become(AttemptState::Dispatched));
        assert!(!AttemptState::Prepared.may_become(AttemptState::Succeeded));
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<AttemptState>();
        }
    }
}
