//! Payment methods and customers: what a card or PayPay is charged through.

use serde::{Deserialize, Serialize};

/// The parts of `PaymentMethodResponse` the client reads (the mock writes the whole object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// `pm_…`.
    pub id: String,
    /// `card`, `paypay`, `apple_pay`.
    #[serde(rename = "type")]
    pub method_type: String,
    /// The customer it is attached to.
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// The parts of `CustomerResponse` the client reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// `cus_…`.
    pub id: String,
    /// Charged when a flow names the customer alone.
    #[serde(default)]
    pub default_payment_method_id: Option<String>,
}
