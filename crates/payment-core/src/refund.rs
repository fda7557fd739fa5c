//! The `Refund` capability and the refund resource it returns.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::charge::ChargeId;
use crate::error::Result;
use crate::idempotency::RequestOptions;
use crate::money::Money;
use crate::pagination::{Keyed, ListPaginator};
use crate::time::Timestamp;

/// A provider's refund id (synthesized as `<charge id>:refund:<n>` where the provider has none).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefundId(String);

impl RefundId {
    /// Wraps a provider's id.
    pub fn new(id: impl Into<String>) -> RefundId {
        RefundId(id.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of a refund a provider keeps no object for and names by the merchant's
    /// `reference` (`<charge id>:refund:<reference>`): known before the refund is sent.
    pub fn synthesized(charge_id: &ChargeId, reference: &str) -> RefundId {
        RefundId(format!("{charge_id}:refund:{reference}"))
    }
}

impl fmt::Display for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefundId({})", self.0)
    }
}

/// Where a refund is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Accepted, not yet final.
    Pending,
    /// Done.
    Succeeded,
    /// Failed.
    Failed,
}

impl RefundStatus {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

/// A refund as any provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRecord {
    /// The provider's name.
    pub provider: String,
    /// The refund's id.
    pub id: RefundId,
    /// The charge it refunds.
    pub charge_id: ChargeId,
    /// Where it is.
    pub status: RefundStatus,
    /// How much.
    pub amount: Money,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created: Timestamp,
    /// The provider's own JSON.
    pub raw: crate::RawJson,
}

impl Keyed for RefundRecord {
    fn key(&self) -> &str {
        self.id.as_str()
    }
}

/// A request to refund a charge.
#[derive(Debug, Clone)]
pub struct CreateRefund {
    /// The charge to refund.
    pub charge_id: ChargeId,
    /// How much; `None` refunds what is left.
    pub amount: Option<Money>,
    /// Why (some providers require it).
    pub reason: Option<String>,
    /// Merchant metadata.
    pub metadata: BTreeMap<String, String>,
    /// The merchant's reference of this refund, where the provider takes one (Worldpay's partial
    /// refund `reference`); derived from the idempotency key by [`Refund::prepare_refund`] when
    /// not given, so the provider's events can name the refund.
    pub reference: Option<String>,
}

impl CreateRefund {
    /// A refund of what is left on `charge_id`.
    pub fn full(charge_id: ChargeId) -> CreateRefund {
        CreateRefund { charge_id, amount: None, reason: None, metadata: BTreeMap::new(), reference: None }
    }

    /// A refund of `amount`.
    pub fn partial(charge_id: ChargeId, amount: Money) -> CreateRefund {
        CreateRefund { charge_id, amount: Some(amount), reason: None, metadata: BTreeMap::new(), reference: None }
    }

    /// Sets the reason.
    pub fn reason(mut self, reason: impl Into<String>) -> CreateRefund {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the merchant's reference of the refund.
    pub fn reference(mut self, reference: impl Into<String>) -> CreateRefund {
        self.reference = Some(reference.into());
        self
    }
}

/// Options for listing a charge's refunds.
#[derive(Debug, Clone, Default)]
pub struct ListRefunds {
    /// Items per page.
    pub page_size: Option<u32>,
}

/// Creating, reading and listing refunds.
#[async_trait]
pub trait Refund: Send + Sync {
    /// Refunds a charge in full or in part.
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord>;
    /// Reads one refund of a charge.
    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord>;
    /// Lists a charge's refunds lazily.
    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord>;
    /// The request exactly as [`Refund::create_refund`] will send it: a provider that reads the
    /// charge to size a full refund fixes the amount here, and one that names refunds by a
    /// reference derived from the key fills it in, so a journal records both before the first
    /// byte goes out (a replay after the refund landed still knows what it refunded; an event
    /// naming the reference finds the refund).
    async fn prepare_refund(&self, request: CreateRefund, _options: &RequestOptions) -> Result<CreateRefund> {
        Ok(request)
    }
}
