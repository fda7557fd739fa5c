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
/// nullable ones); reading tolerates absent nullable fields. `Debug` leaves `client_secret` out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// For PAY.JP's front end; never printed, and taken out of every record.
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

impl std::fmt::Debug for PaymentFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentFlow")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("amount_capturable", &self.amount_capturable)
            .field("amount_received", &self.amount_received)
            .field("client_secret", &"[redacted]")
            .field("customer_id", &self.customer_id)
            .field("payment_method_id", &self.payment_method_id)
            .field("capture_method", &self.capture_method)
            .field("next_action", &self.next_action)
            .field("last_payment_error", &self.last_payment_error)
            .field("metadata", &self.metadata)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_client_secret() {
        let flow: super::PaymentFlow = serde_json::from_value(serde_json::json!({"id":"pfw_1","amount":1000,"currency":"jpy",
            "client_secret":"pfw_1_secret_hush","status":"succeeded","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}))
        .unwrap();
        let shown = format!("{flow:?}");
        assert!(!shown.contains("hush") && shown.contains("pfw_1"), "{shown}");
    }
}
