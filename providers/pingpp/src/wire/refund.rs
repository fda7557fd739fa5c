//! The refund object and the create request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /v1/charges/{id}/refunds` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRefund {
    /// Fen; absent refunds what is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Required, ≤ 255 characters (defaulted when absent so the server can name it in its error).
    #[serde(default)]
    pub description: String,
    /// Merchant metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// `object: "refund"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// `re_` + 24 characters.
    pub id: String,
    /// Always `"refund"`.
    #[serde(default)]
    pub object: String,
    /// The refund number Ping++ generated.
    #[serde(default)]
    pub order_no: String,
    /// Fen.
    pub amount: i64,
    /// Unix seconds.
    pub created: i64,
    /// Whether it succeeded.
    #[serde(default)]
    pub succeed: bool,
    /// `pending`, `succeeded`, `failed`.
    pub status: String,
    /// When it succeeded.
    #[serde(default)]
    pub time_succeed: Option<i64>,
    /// Why.
    #[serde(default)]
    pub description: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Why it failed, for humans.
    #[serde(default)]
    pub failure_msg: Option<String>,
    /// Merchant metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The charge.
    pub charge: String,
    /// The charge's order number.
    #[serde(default)]
    pub charge_order_no: Option<String>,
    /// The channel's transaction id.
    #[serde(default)]
    pub transaction_no: Option<String>,
    /// Channel data.
    #[serde(default)]
    pub extra: serde_json::Value,
}
