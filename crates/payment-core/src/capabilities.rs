//! What a provider can do, written out in full by every provider; the client gate and the
//! conformance suite both read it.

use serde::Serialize;

/// The replay window assumed where a provider documents none: the shortest one seen (a day).
pub const DEFAULT_REPLAY_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

use crate::idempotency::IdempotencySupport;
use crate::money::{Currency, Money};
use crate::operation::Operation;

/// Everything a provider supports.
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    /// Charge operations.
    pub charge: ChargeCapabilities,
    /// Refund operations.
    pub refund: RefundCapabilities,
    /// Listing.
    pub list: ListCapabilities,
    /// How each mutating operation honours repeats.
    pub idempotency: IdempotencyCapabilities,
    /// Payment sources accepted.
    pub sources: SourceCapabilities,
    /// Currencies accepted; empty means any ISO 4217 currency.
    pub currencies: &'static [Currency],
    /// Per-currency amount limits (inclusive), checked before any I/O.
    pub amount_limits: &'static [AmountLimit],
    /// Whether webhook verification is implemented.
    pub webhooks: bool,
    /// The provider codes of declines worth trying at another provider (the network or issuer
    /// failed to decide, rather than refused): the router fails over on these only when its
    /// `failover_on_soft_decline` is on. Empty: no decline is.
    pub soft_declines: &'static [&'static str],
}

/// Charge operations.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChargeCapabilities {
    /// Create a charge.
    pub create: bool,
    /// Read a charge.
    pub retrieve: bool,
    /// Authorize now, capture later.
    pub capture_later: bool,
    /// Capture less than authorized.
    pub partial_capture: bool,
    /// Cancel (void) before capture.
    pub cancel: bool,
    /// List charges.
    pub list: bool,
    /// Charges finish asynchronously (the payer acts; a webhook or poll tells the result).
    pub async_completion: bool,
    /// Reads report the exact captured and refunded amounts after partial operations (some
    /// providers report only the stage a payment reached).
    pub partial_amounts_on_read: bool,
    /// A new charge's answer says the amount and currency the provider took (checked against the
    /// request); some answers carry only an outcome.
    pub amounts_echoed: bool,
    /// A charge can be found by the reference it was created with (`Charge::find_charge`), so
    /// recovery can tell whether a lost request took effect.
    pub find_by_reference: bool,
    /// Customer authentication (3-D Secure) can be asked for on a new charge, which then may
    /// be `requires_action` until `complete_charge` (Google Standard Payments: no, Google
    /// authenticates before the processor sees the token).
    pub customer_authentication: bool,
}

/// Refund operations.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RefundCapabilities {
    /// Refund everything.
    pub full: bool,
    /// Refund part.
    pub partial: bool,
    /// Several partial refunds on one charge.
    pub multiple_partial: bool,
    /// Read one refund.
    pub retrieve: bool,
    /// List a charge's refunds.
    pub list: bool,
    /// Refunds finish asynchronously (start `pending`).
    pub async_completion: bool,
}

/// How a provider pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStyle {
    /// `offset` + `limit`.
    Offset,
    /// `starting_after` / `ending_before` ids.
    Cursor,
    /// `next` links.
    Link,
    /// No list endpoint.
    None,
}

/// Listing.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ListCapabilities {
    /// The paging style.
    pub style: ListStyle,
    /// The largest page size the provider accepts.
    pub max_limit: u32,
    /// Whether lists can walk oldest first.
    pub oldest_first: bool,
    /// How late, in seconds, a new charge may appear in lists (Worldpay's Payment Queries: up
    /// to 60 s); reconciliation leaves the newest this many seconds for a later run.
    pub late_data_secs: u32,
}

/// Per-operation idempotency.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IdempotencyCapabilities {
    /// Creating a charge.
    pub create_charge: IdempotencySupport,
    /// Capturing.
    pub capture_charge: IdempotencySupport,
    /// Canceling.
    pub cancel_charge: IdempotencySupport,
    /// Completing after the customer's step (`Safe` where completing only re-reads).
    pub complete_charge: IdempotencySupport,
    /// Creating a refund.
    pub create_refund: IdempotencySupport,
    /// How long the provider honours a `Replay` key; after it, recovery may only look up.
    pub replay_window: std::time::Duration,
    /// How long a new object may take to show in lookups (search indexes, replicas): recovery
    /// calls a lost request absent only once this long has passed since it was sent.
    pub visibility_lag: std::time::Duration,
}

/// Accepted payment sources.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SourceCapabilities {
    /// Provider tokens.
    pub token: bool,
    /// Stored customers.
    pub customer: bool,
    /// Raw cards.
    pub card: bool,
    /// Asynchronous channels (alipay, wx, …).
    pub channel: bool,
}

/// Inclusive amount limits in one currency's minor units.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AmountLimit {
    /// The currency.
    pub currency: Currency,
    /// Smallest amount.
    pub min: i64,
    /// Largest amount.
    pub max: i64,
}

impl IdempotencyCapabilities {
    /// How a repeat of `operation` is honoured: reads are safe, a provider's own request says
    /// for itself.
    pub const fn support(&self, operation: Operation) -> IdempotencySupport {
        match operation {
            Operation::CreateCharge => self.create_charge,
            Operation::CaptureCharge => self.capture_charge,
            Operation::CancelCharge => self.cancel_charge,
            Operation::CompleteCharge => self.complete_charge,
            Operation::CreateRefund => self.create_refund,
            Operation::RetrieveCharge
            | Operation::ListCharges
            | Operation::FindCharge
            | Operation::RetrieveRefund
            | Operation::ListRefunds => IdempotencySupport::Safe,
            Operation::Native(native) => native.support(),
        }
    }
}

impl Capabilities {
    /// Whether `currency` is accepted.
    pub fn accepts_currency(&self, currency: Currency) -> bool {
        self.currencies.is_empty() || self.currencies.contains(&currency)
    }

    /// Whether `e` is a decline this provider marks as worth trying elsewhere.
    pub fn is_soft_decline(&self, e: &crate::error::Error) -> bool {
        matches!(e.kind(), crate::error::ErrorKind::CardDeclined(_))
            && e.outcome() == crate::error::Outcome::Definite
            && e.provider_code().is_some_and(|code| self.soft_declines.contains(&code))
    }

    /// The limit for `amount`'s currency that it breaks, if any.
    pub fn limit_broken_by(&self, amount: Money) -> Option<&AmountLimit> {
        self.amount_limits
            .iter()
            .find(|l| l.currency == amount.currency && (amount.minor < l.min || amount.minor > l.max))
    }
}
