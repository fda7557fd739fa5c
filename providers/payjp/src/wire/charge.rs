//! The charge and card objects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `object: "charge"` (unknown fields are tolerated and kept in the record's `raw`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_` + hex.
    pub id: String,
    /// Always `"charge"`.
    #[serde(default)]
    pub object: String,
    /// Test or live.
    #[serde(default)]
    pub livemode: bool,
    /// Unix seconds.
    pub created: i64,
    /// Yen.
    pub amount: i64,
    /// `"jpy"`.
    pub currency: String,
    /// Authorization succeeded.
    #[serde(default)]
    pub paid: bool,
    /// Captured.
    #[serde(default)]
    pub captured: bool,
    /// When captured.
    #[serde(default)]
    pub captured_at: Option<i64>,
    /// When an uncaptured authorization lapses.
    #[serde(default)]
    pub expired_at: Option<i64>,
    /// The card charged.
    #[serde(default)]
    pub card: Option<Card>,
    /// `cus_…`.
    #[serde(default)]
    pub customer: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Why it failed, for humans.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Percentage as text, e.g. `"3.00"`.
    #[serde(default)]
    pub fee_rate: Option<String>,
    /// Whether anything was refunded.
    #[serde(default)]
    pub refunded: bool,
    /// Cumulative refunds in yen (includes what a partial capture released).
    #[serde(default)]
    pub amount_refunded: i64,
    /// The last refund's reason.
    #[serde(default)]
    pub refund_reason: Option<String>,
    /// `sub_…`.
    #[serde(default)]
    pub subscription: Option<String>,
    /// String values; `null` when none.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// `unverified`, `verified`, `attempted`, `failed`, `error`.
    #[serde(default)]
    pub three_d_secure_status: Option<String>,
    /// The term (2024 transfer model).
    #[serde(default)]
    pub term_id: Option<String>,
}

/// `object: "card"` as embedded in charges and tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// `car_…`.
    pub id: String,
    /// Always `"card"`.
    #[serde(default)]
    pub object: String,
    /// Brand, e.g. `"Visa"`.
    #[serde(default)]
    pub brand: Option<String>,
    /// Last four digits.
    #[serde(default)]
    pub last4: Option<String>,
    /// Expiry month.
    #[serde(default)]
    pub exp_month: Option<u8>,
    /// Expiry year.
    #[serde(default)]
    pub exp_year: Option<u16>,
    /// Holder name.
    #[serde(default)]
    pub name: Option<String>,
    /// `passed|failed|unchecked`.
    #[serde(default)]
    pub cvc_check: Option<String>,
    /// Card fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: Option<i64>,
}
