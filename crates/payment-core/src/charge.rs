//! The `Charge` capability and the charge resource it returns.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::{Authentication, CompletionData, NextAction};
use crate::error::Result;
use crate::idempotency::RequestOptions;
use crate::money::Money;
use crate::pagination::{Keyed, ListPaginator};
use crate::source::PaymentSource;
use crate::time::Timestamp;

/// A provider's charge id, opaque to callers; round-trips through JSON and the CLI unchanged.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChargeId(String);

impl ChargeId {
    /// Wraps a provider's id.
    pub fn new(id: impl Into<String>) -> ChargeId {
        ChargeId(id.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChargeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChargeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChargeId({})", self.0)
    }
}

/// Where a charge is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Submitted; the provider has not decided yet.
    Pending,
    /// The payer must act (pay in an app, 3-D Secure); see `next_action`.
    RequiresAction,
    /// Authorized, not yet captured.
    Authorized,
    /// Captured (paid).
    Succeeded,
    /// Failed or declined; see `failure`.
    Failed,
    /// Canceled or voided before capture.
    Canceled,
}

impl ChargeStatus {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeStatus::Pending => "pending",
            ChargeStatus::RequiresAction => "requires_action",
            ChargeStatus::Authorized => "authorized",
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Failed => "failed",
            ChargeStatus::Canceled => "canceled",
        }
    }
}

impl fmt::Display for ChargeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a charge failed (asynchronous failures, or declines recorded on the resource).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeFailure {
    /// The provider's code.
    pub code: String,
    /// The provider's message.
    pub message: String,
    /// The neutral reason, when the provider's code names one (a decline a later read of the
    /// charge reports as the first answer did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::error::DeclineReason>,
}

impl ChargeRecord {
    /// The definite decline a charge read back as `failed` amounts to, with the provider's code,
    /// message and the reason it names (`Other` when it names none).
    pub fn failure_error(&self) -> crate::error::Error {
        use crate::error::{DeclineReason, Error, ErrorKind};
        let (code, message) = self.failure.as_ref().map_or(("failed", ""), |f| (f.code.as_str(), f.message.as_str()));
        let reason = self.failure.as_ref().and_then(|f| f.reason).unwrap_or(DeclineReason::Other);
        let e = Error::new(ErrorKind::CardDeclined(reason), format!("charge {} failed: {code} {message}", self.id));
        e.with_provider_code(code.to_owned()).with_provider_message(message.to_owned())
    }
}

/// A charge as any provider reports it; the CLI prints this JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeRecord {
    /// The provider's name (`payjp`, `pingpp`, …).
    pub provider: String,
    /// The provider's id for the charge.
    pub id: ChargeId,
    /// Where the charge is.
    pub status: ChargeStatus,
    /// The amount requested.
    pub amount: Money,
    /// How much has been captured.
    pub amount_captured: Money,
    /// How much has been refunded.
    pub amount_refunded: Money,
    /// The merchant's order number / transaction reference.
    pub reference: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Merchant metadata.
    pub metadata: BTreeMap<String, String>,
    /// When the provider created it.
    pub created: Timestamp,
    /// What the payer must do next, for asynchronous channels.
    pub next_action: Option<NextAction>,
    /// Why it failed.
    pub failure: Option<ChargeFailure>,
    /// The provider's own JSON, for what is not modelled.
    pub raw: crate::RawJson,
}

impl Keyed for ChargeRecord {
    fn key(&self) -> &str {
        self.id.as_str()
    }
}

/// The metadata key a provider sets on a charge it reads as refunded in part when its reads
/// cannot say how much (Worldpay's events name the stage, not amounts): `amount_refunded` is then
/// zero for the unknown part, and this key says a refund exists.
pub const REFUNDED_IN_PART: &str = "payment_refunded_in_part";

/// The metadata key, in minor units, of what a partial capture released, on a charge whose
/// provider counts the release in `amount_refunded` (PAY.JP v1: authorize 1000, capture 800 reads
/// as captured 1000, refunded 200). Set by the capture's own answer, or from the journal, which
/// alone know it: a later read cannot tell a release from a refund.
pub const RELEASED_AT_CAPTURE: &str = "payment_released_at_capture";

/// The metadata key, in minor units, of the refunded amount the journal holds for a charge
/// whose provider shows a refund but not its amount ([`REFUNDED_IN_PART`]).
pub const REFUNDED_PER_JOURNAL: &str = "payment_refunded_per_journal";

/// The metadata keys only this library writes: refused in a request's metadata and dropped from
/// what a provider's metadata carries back, so a merchant's own key can never pass for one.
pub const RESERVED_METADATA: [&str; 3] = [REFUNDED_IN_PART, RELEASED_AT_CAPTURE, REFUNDED_PER_JOURNAL];

/// Whether `key` is one of [`RESERVED_METADATA`].
pub fn is_reserved_metadata(key: &str) -> bool {
    RESERVED_METADATA.contains(&key)
}

impl ChargeRecord {
    /// Whether the provider shows any refund of this charge (an amount, or [`REFUNDED_IN_PART`]).
    pub fn shows_a_refund(&self) -> bool {
        self.amount_refunded.minor > 0 || self.metadata.contains_key(REFUNDED_IN_PART)
    }

    /// What a partial capture released ([`RELEASED_AT_CAPTURE`]), when known.
    pub fn released_at_capture(&self) -> Option<Money> {
        self.minor_in_metadata(RELEASED_AT_CAPTURE)
    }

    /// The refunded amount the journal holds ([`REFUNDED_PER_JOURNAL`]), when set.
    pub fn refunded_per_journal(&self) -> Option<Money> {
        self.minor_in_metadata(REFUNDED_PER_JOURNAL)
    }

    fn minor_in_metadata(&self, key: &str) -> Option<Money> {
        let minor = self.metadata.get(key)?.parse::<i64>().ok().filter(|m| *m >= 0)?;
        Some(Money::new(minor, self.amount.currency))
    }
}

/// A request to create a charge.
#[derive(Debug, Clone)]
pub struct CreateCharge {
    /// How much, in which currency.
    pub amount: Money,
    /// What pays.
    pub source: PaymentSource,
    /// `true` to capture at once; `false` to authorize only and capture later.
    pub capture: bool,
    /// The merchant's order number; providers that need one derive it from the idempotency key if absent.
    pub reference: Option<String>,
    /// A description shown to the merchant (and payer, for some channels).
    pub description: Option<String>,
    /// Merchant metadata.
    pub metadata: BTreeMap<String, String>,
    /// The payer's IP address (required by some channels).
    pub payer_ip: Option<String>,
    /// Customer authentication (3-D Secure) asked for; `None` charges without it.
    pub authentication: Option<Authentication>,
}

impl CreateCharge {
    /// A capture-at-once charge of `amount` from `source`.
    pub fn new(amount: Money, source: PaymentSource) -> CreateCharge {
        CreateCharge {
            amount,
            source,
            capture: true,
            reference: None,
            description: None,
            metadata: BTreeMap::new(),
            payer_ip: None,
            authentication: None,
        }
    }

    /// Asks for customer authentication (3-D Secure): the charge may come back `requires_action`.
    pub fn authenticate(mut self, authentication: Authentication) -> CreateCharge {
        self.authentication = Some(authentication);
        self
    }

    /// Authorize only; capture later.
    pub fn authorize_only(mut self) -> CreateCharge {
        self.capture = false;
        self
    }

    /// Sets the merchant reference.
    pub fn reference(mut self, reference: impl Into<String>) -> CreateCharge {
        self.reference = Some(reference.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> CreateCharge {
        self.description = Some(description.into());
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> CreateCharge {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Which order a list walks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Newest first (every provider's default).
    #[default]
    NewestFirst,
    /// Oldest first, where the provider supports walking backwards.
    OldestFirst,
}

/// Filters for listing charges.
#[derive(Debug, Clone, Default)]
pub struct ListCharges {
    /// Items per page (each provider caps it at its `max_limit`).
    pub page_size: Option<u32>,
    /// Only charges created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Only charges created before this time.
    pub created_to: Option<Timestamp>,
    /// Walk order.
    pub order: ListOrder,
}

/// Creating, reading, capturing, canceling and listing charges.
#[async_trait]
pub trait Charge: Send + Sync {
    /// Creates a charge; the idempotency key in `options` (or a generated one) is reused on every retry.
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord>;
    /// Reads a charge.
    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord>;
    /// Captures an authorized charge, in full (`None`) or in part.
    async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord>;
    /// Cancels (voids) a charge that is not captured.
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord>;
    /// Completes a charge that was `requires_action` once the customer is back from its next
    /// action, with what the step returned; may answer another `requires_action` (a challenge
    /// after device data). Providers without customer authentication refuse it.
    async fn complete_charge(
        &self,
        _id: &ChargeId,
        _data: &CompletionData,
        _options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        Err(crate::error::Error::unsupported("this provider has no customer authentication to complete"))
    }
    /// Lists charges lazily, page by page.
    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord>;
    /// The currency of a charge when its id says it (self-describing ids), with no I/O.
    fn currency_of(&self, _id: &ChargeId) -> Option<crate::money::Currency> {
        None
    }
    /// The request exactly as [`Charge::create_charge`] will send it under `key`: the reference
    /// the provider would derive is filled in, and a source that must not be stored (a raw card
    /// the provider tokenizes first) is replaced by what is sent instead. A journal records this
    /// form before the first byte goes out, so recovery resends the same request.
    async fn prepare_charge(
        &self,
        request: CreateCharge,
        _key: &crate::idempotency::IdempotencyKey,
        _options: &RequestOptions,
    ) -> Result<CreateCharge> {
        Ok(request)
    }
    /// Finds the charge that `request` (as [`Charge::prepare_charge`] returned it, so with its
    /// reference) created at or after `created_from`; `Ok(None)` when the provider definitely
    /// has none. For providers whose capabilities say `find_by_reference`.
    async fn find_charge(&self, _request: &CreateCharge, _created_from: Timestamp) -> Result<Option<ChargeRecord>> {
        Err(crate::error::Error::unsupported("this provider cannot find a charge by its reference"))
    }
}
