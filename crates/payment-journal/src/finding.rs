//! What reconciliation says of one charge: its class and the evidence from both sides.

use payment_core::{Money, Timestamp};
use serde::Serialize;

use crate::ledger::Stage;
use crate::state::AttemptState;

/// What reconciliation found for one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Both sides agree.
    Matched,
    /// Charged at the provider, unknown to the journal (or a second charge for a journaled payment).
    ProviderOnly,
    /// The journal holds a success the provider does not.
    JournalOnly,
    /// The provider holds another amount than the journal sent.
    AmountMismatch,
    /// The provider's charge is at another stage, or keeps another amount (refunded or canceled
    /// at the provider, a success the journal recorded as declined).
    StatusMismatch,
    /// The journal's attempt is still unsettled (or waits for a person) and this run could not
    /// settle it.
    Unresolved,
    /// The journal's attempt was unsettled and is now settled from the provider's word (`heal`).
    Healed,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 7] = [
        Class::Matched,
        Class::ProviderOnly,
        Class::JournalOnly,
        Class::AmountMismatch,
        Class::StatusMismatch,
        Class::Unresolved,
        Class::Healed,
    ];

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Matched => "matched",
            Class::ProviderOnly => "provider_only",
            Class::JournalOnly => "journal_only",
            Class::AmountMismatch => "amount_mismatch",
            Class::StatusMismatch => "status_mismatch",
            Class::Unresolved => "unresolved",
            Class::Healed => "healed",
        }
    }

    /// Whether the books still differ (matched and healed charges do not).
    pub fn is_difference(&self) -> bool {
        !matches!(self, Class::Matched | Class::Healed)
    }
}

/// The provider's side of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtProvider {
    /// The stage its status shows.
    pub stage: Stage,
    /// Its amount.
    pub amount: Money,
    /// Captured so far.
    pub captured: Money,
    /// Refunded (or, for PAY.JP, released by a partial capture) so far.
    pub refunded: Money,
    /// When the provider created it (RFC 3339).
    pub created: Timestamp,
}

/// The journal's side of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InJournal {
    /// The charge attempt's state.
    pub state: AttemptState,
    /// The attempt number within its payment.
    pub seq: i64,
    /// The amount it sent.
    pub amount: Option<Money>,
    /// When it was created (unix milliseconds).
    pub created_ms: i64,
}

/// One charge examined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was found.
    pub class: Class,
    /// The provider's name.
    pub provider: String,
    /// The account (the provider's name unless routed under another).
    pub account: String,
    /// The charge, when either side knows it.
    pub charge_id: Option<String>,
    /// The logical payment, when journaled.
    pub idempotency_key: Option<String>,
    /// The merchant reference.
    pub reference: Option<String>,
    /// The amount (the provider's when it holds the charge, else the journal's).
    pub amount: Option<Money>,
    /// Why, in words.
    pub evidence: String,
    /// The provider's side, when it holds the charge.
    pub at_provider: Option<AtProvider>,
    /// The journal's side, when it holds the charge.
    pub in_journal: Option<InJournal>,
}
