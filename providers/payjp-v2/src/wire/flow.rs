//! A Payment Flow (`object: "payment_flow"`): PAY.JP v2's payment, from creation to capture.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether the return URL gets `client_secret` appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectOptions {
    /// Default true.
    pub include_client_secret: bool,
}

impl Default for RedirectOptions {
    fn default() -> Self {
        RedirectOptions { include_client_secret: true }
    }
}

/// `PaymentFlowResponse`: every field the SDK requires is present when written (`null` for the
/// nullable ones); reading tolerates absent nullable fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentFlow {
    /// `payment_flow`.
    #[serde(default = "flow_object")]
    pub object: String,
    /// `pfw_…`.
    pub id: String,
    /// Live or test.
    #[serde(default)]
    pub livemode: bool,
    /// Yen.
    pub amount: i64,
    /// `jpy`.
    pub currency: String,
    /// What can still be captured.
    #[serde(default)]
    pub amount_capturable: Option<i64>,
    /// What was captured.
    #[serde(default)]
    pub amount_received: Option<i64>,
    /// For PAY.JP's front end; never logged or stored by this library.
    #[serde(default)]
    pub client_secret: String,
    /// The customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Not shown to the customer.
    #[serde(default)]
    pub description: Option<String>,
    /// The payment method.
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// Where the customer comes back to.
    #[serde(default)]
    pub return_url: Option<String>,
    /// Options per method (`card.request_three_d_secure`).
    #[serde(default)]
    pub payment_method_options: Option<Value>,
    /// `card`, `paypay`, `apple_pay`.
    #[serde(default)]
    pub payment_method_types: Vec<String>,
    /// `requires_payment_method` … `succeeded`, `canceled`.
    pub status: String,
    /// What the customer must do next (undocumented shape: kept whole).
    #[serde(default)]
    pub next_action: Option<Value>,
    /// Whether `client_secret` is appended to the return URL.
    #[serde(default)]
    pub redirect_options: RedirectOptions,
    /// `automatic` or `manual`.
    #[serde(default = "automatic")]
    pub capture_method: String,
    /// The last decline (`code`, `message`).
    #[serde(default)]
    pub last_payment_error: Option<Value>,
    /// Why it was canceled.
    #[serde(default)]
    pub cancellation_reason: Option<String>,
    /// When it was canceled.
    #[serde(default)]
    pub canceled_at: Option<String>,
    /// When the authorization lapses or lapsed.
    #[serde(default)]
    pub expired_at: Option<String>,
    /// String, integer or boolean values.
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    pub updated_at: String,
}

fn flow_object() -> String {
    "payment_flow".into()
}

fn automatic() -> String {
    "automatic".into()
}
