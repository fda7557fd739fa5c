//! The charge object (`v1Charge`), its list, and the create and reverse requests.

use std::borrow::Cow;
use std::collections::BTreeMap;

use payment_core::serde_adapters::{DecimalNumber, option_int64_string};
use serde::{Deserialize, Serialize};

use super::Refund;

/// `POST /v1/charges` body (`v1CreateChargeRequest`). Borrowed where the client has the text
/// already, so a request copies nothing into it; read back (by the mock) it owns everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCharge<'a> {
    /// The app.
    pub app_id: Cow<'a, str>,
    /// The merchant's order number, unique per app (at most 30 characters).
    pub merchant_trade_id: Cow<'a, str>,
    /// Yuan, e.g. `12.34`.
    pub amount: DecimalNumber,
    /// `CNY`.
    pub currency: Cow<'a, str>,
    /// Justap's channel enum spelling: `AlipayQR`, `WechatpayNative`, …
    pub channel: Cow<'a, str>,
    /// The title.
    pub subject: Cow<'a, str>,
    /// The service detail.
    pub body: Cow<'a, str>,
    /// The payer's IP.
    pub client_ip: Cow<'a, str>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    /// Merchant metadata (echoed back).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: Cow<'a, BTreeMap<String, String>>,
    /// Channel input, keyed by channel (`alipay_wap: {return_url, …}`).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub extra: Cow<'a, BTreeMap<String, serde_json::Value>>,
    /// Seconds until an unpaid charge closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i32>,
}

fn is_empty<V>(map: &BTreeMap<String, V>) -> bool {
    map.is_empty()
}

/// `POST /v1/charges/{id}/reverse` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverse {
    /// The app.
    pub app_id: String,
    /// The charge (also in the path).
    #[serde(default)]
    pub charge_id: String,
}

/// `v1Charge` (unknown fields tolerated; kept in the record's `raw`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The id (`charge_…`).
    pub charge_id: String,
    /// `Charge`.
    #[serde(default)]
    pub object: String,
    /// The app.
    #[serde(default)]
    pub app_id: String,
    /// The merchant's order number.
    #[serde(default)]
    pub merchant_trade_id: String,
    /// The channel enum.
    #[serde(default)]
    pub channel: String,
    /// Yuan.
    pub amount: DecimalNumber,
    /// Yuan refunded in all.
    #[serde(default)]
    pub amount_refund: Option<DecimalNumber>,
    /// Yuan settled.
    #[serde(default)]
    pub amount_settle: Option<DecimalNumber>,
    /// `CNY`.
    #[serde(default)]
    pub currency: Option<String>,
    /// The title.
    #[serde(default)]
    pub subject: Option<String>,
    /// The service detail.
    #[serde(default)]
    pub body: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The payer's IP.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// The payer paid.
    #[serde(default)]
    pub paid: bool,
    /// A refund was asked for (failed ones included).
    #[serde(default)]
    pub refunded: bool,
    /// Reversed by the merchant.
    #[serde(default)]
    pub reversed: bool,
    /// Closed (reversed, or unpaid past its `ttl`).
    #[serde(default)]
    pub closed: bool,
    /// Live, not test.
    #[serde(default)]
    pub live_mode: bool,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub paid_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub reversed_at: Option<String>,
    /// RFC 3339: when an unpaid charge closes.
    #[serde(default)]
    pub time_expire: Option<String>,
    /// Unix seconds, as a string.
    #[serde(default, with = "option_int64_string")]
    pub paid_ts: Option<i64>,
    /// Unix seconds, as a string.
    #[serde(default, with = "option_int64_string")]
    pub closed_ts: Option<i64>,
    /// Unix seconds, as a string.
    #[serde(default, with = "option_int64_string")]
    pub expired_ts: Option<i64>,
    /// Seconds an unpaid charge stays open.
    #[serde(default)]
    pub ttl: Option<i64>,
    /// The channel's transaction number.
    #[serde(default)]
    pub transaction_no: Option<String>,
    /// The acquirer's failure code.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// The acquirer's failure message.
    #[serde(default)]
    pub failure_msg: Option<String>,
    /// What the payer's app needs to pay (`protobufAny`).
    #[serde(default)]
    pub credential: serde_json::Value,
    /// Channel output.
    #[serde(default)]
    pub extra: serde_json::Value,
    /// Merchant metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The refunds, a plain array.
    #[serde(default)]
    pub refunds: Option<Vec<Refund>>,
}

/// `{"object": "ChargeList", "has_more", "data"}` (no count), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeList {
    /// `ChargeList`.
    #[serde(default)]
    pub object: String,
    /// More after this page.
    #[serde(default)]
    pub has_more: bool,
    /// The charges.
    #[serde(default)]
    pub data: Vec<Charge>,
}
