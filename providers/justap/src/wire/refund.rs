//! The refund object (`v1Refund`), its list, and the create request.

use std::collections::BTreeMap;

use payment_core::serde_adapters::{DecimalNumber, option_int64_string};
use serde::{Deserialize, Serialize};

/// `POST /v1/refunds` body (the charge goes in the body, not the path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRefund {
    /// The app.
    pub app_id: String,
    /// The charge refunded.
    pub charge_id: String,
    /// The merchant's refund number: the same one on every retry, so Justap refunds once.
    pub merchant_refund_id: String,
    /// Why (required, at most 255 characters).
    pub description: String,
    /// Yuan; absent refunds what is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<DecimalNumber>,
    /// Merchant metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// `v1Refund` (unknown fields tolerated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// The id.
    pub refund_id: String,
    /// Justap's refund number.
    #[serde(default)]
    pub refund_no: Option<String>,
    /// The merchant's refund number.
    #[serde(default)]
    pub merchant_refund_id: Option<String>,
    /// The charge.
    pub charge_id: String,
    /// The charge's merchant order number.
    #[serde(default)]
    pub charge_merchant_trade_id: Option<String>,
    /// Yuan.
    pub amount: DecimalNumber,
    /// Unix seconds, as a string.
    #[serde(default, with = "option_int64_string")]
    pub created: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Why.
    #[serde(default)]
    pub description: Option<String>,
    /// `pending`, `succeeded`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Whether it succeeded.
    #[serde(default)]
    pub is_success: bool,
    /// Unix seconds, as a string.
    #[serde(default, with = "option_int64_string")]
    pub succeed_ts: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    pub success_at: Option<String>,
    /// The acquirer's failure code.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// The acquirer's failure message.
    #[serde(default)]
    pub failure_msg: Option<String>,
    /// The channel's transaction number.
    #[serde(default)]
    pub transaction_no: Option<String>,
    /// Merchant metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// `{"object": "RefundList", "total", "has_more", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundList {
    /// `RefundList`.
    #[serde(default)]
    pub object: String,
    /// How many refunds the charge has.
    #[serde(default)]
    pub total: i64,
    /// More after this page.
    #[serde(default)]
    pub has_more: bool,
    /// The refunds, newest first.
    #[serde(default)]
    pub data: Vec<Refund>,
}
