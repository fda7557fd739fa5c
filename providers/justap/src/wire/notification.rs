//! Webhook notifications: `{"event", "is_encrypted", "data"}`, with `data` the notification
//! itself or, encrypted, a base64 string of RSA blocks the platform key opens.

use payment_core::serde_adapters::DecimalNumber;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The envelope every delivery has.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// `charge.paid`, `charge.refunded`, …
    pub event: String,
    /// Whether `data` is an encrypted string.
    #[serde(default)]
    pub is_encrypted: bool,
    /// The notification, or its encryption.
    pub data: Box<RawValue>,
}

/// The decrypted charge notification (fields this library reads; the rest is kept in `raw`).
#[derive(Debug, Deserialize)]
pub struct Notification {
    /// The notification's id.
    #[serde(default)]
    pub notify_id: Option<String>,
    /// When it was sent (RFC 3339 or Unix seconds).
    #[serde(default)]
    pub notify_time: Option<serde_json::Value>,
    /// The charge (`uint64`, as a number or a string).
    #[serde(default)]
    pub charge_no: Option<serde_json::Value>,
    /// The charge id, where sent.
    #[serde(default)]
    pub charge_id: Option<String>,
    /// The merchant's order number.
    #[serde(default)]
    pub merchant_trade_id: Option<String>,
    /// The charge's amount in yuan, exact.
    #[serde(default)]
    pub amount_total: Option<DecimalNumber>,
    /// What was refunded, in yuan.
    #[serde(default)]
    pub amount_refund: Option<DecimalNumber>,
    /// Whether the charge is paid.
    #[serde(default)]
    pub is_paid: Option<bool>,
    /// Whether the charge has refunds.
    #[serde(default)]
    pub is_refund: Option<bool>,
    /// Whether the charge is reversed.
    #[serde(default)]
    pub is_reversed: Option<bool>,
    /// Whether the charge is closed.
    #[serde(default)]
    pub is_closed: Option<bool>,
    /// ISO 4217 (CNY when absent).
    #[serde(default)]
    pub currency: Option<String>,
}
