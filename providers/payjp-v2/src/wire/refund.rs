//! A refund (`object: "payment_refund"`): a real object in v2, several per flow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `PaymentRefundResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentRefund {
    /// `payment_refund`.
    #[serde(default = "refund_object")]
    pub object: String,
    /// The refund's id.
    pub id: String,
    /// Live or test.
    #[serde(default)]
    pub livemode: bool,
    /// The flow refunded.
    pub payment_flow_id: String,
    /// Yen.
    pub amount: i64,
    /// `succeeded`, `pending`, `failed`, `canceled`, `requires_action`.
    pub status: String,
    /// `duplicate`, `fraudulent`, `requested_by_customer`.
    #[serde(default)]
    pub reason: Option<String>,
    /// String, integer or boolean values.
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    pub updated_at: String,
}

fn refund_object() -> String {
    "payment_refund".into()
}
