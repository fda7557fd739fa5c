//! The charge object and the create request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AppRef, List, Refund};

/// `POST /v1/charges` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCharge {
    /// The merchant's order number, unique per merchant.
    pub order_no: String,
    /// The app.
    pub app: AppRef,
    /// E.g. `alipay`, `wx_pub`.
    pub channel: String,
    /// Fen.
    pub amount: i64,
    /// The payer's IP.
    pub client_ip: String,
    /// Lowercase ISO code (`cny`).
    pub currency: String,
    /// ≤ 32 characters.
    pub subject: String,
    /// ≤ 128 characters.
    pub body: String,
    /// Channel data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Merchant metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// ≤ 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix seconds; 1 minute to 15 days ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<i64>,
}

/// `object: "charge"` (unknown fields tolerated; kept in the record's `raw`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_` + 24 characters.
    pub id: String,
    /// Always `"charge"`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// Test or live.
    #[serde(default)]
    pub livemode: bool,
    /// Paid at the channel.
    #[serde(default)]
    pub paid: bool,
    /// Any refund exists.
    #[serde(default)]
    pub refunded: bool,
    /// Closed or voided before payment.
    #[serde(default)]
    pub reversed: bool,
    /// `app_…` (or the expanded object).
    #[serde(default)]
    pub app: serde_json::Value,
    /// The channel.
    pub channel: String,
    /// The merchant's order number.
    pub order_no: String,
    /// The payer's IP.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// Fen.
    pub amount: i64,
    /// Settled amount in fen.
    #[serde(default)]
    pub amount_settle: i64,
    /// `cny`.
    pub currency: String,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Channel data.
    #[serde(default)]
    pub extra: serde_json::Value,
    /// When paid.
    #[serde(default)]
    pub time_paid: Option<i64>,
    /// When it lapses unpaid.
    #[serde(default)]
    pub time_expire: Option<i64>,
    /// When settled.
    #[serde(default)]
    pub time_settle: Option<i64>,
    /// The channel's transaction id.
    #[serde(default)]
    pub transaction_no: Option<String>,
    /// The charge's refunds.
    #[serde(default)]
    pub refunds: Option<List<Refund>>,
    /// Fen refunded (succeeded refunds).
    #[serde(default)]
    pub amount_refunded: i64,
    /// Why it failed.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Why it failed, for humans.
    #[serde(default)]
    pub failure_msg: Option<String>,
    /// Merchant metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// What the payer's app needs to pay (`{}` in events).
    #[serde(default)]
    pub credential: serde_json::Value,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}
