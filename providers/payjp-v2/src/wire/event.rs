//! An event (`object: "event"`): `data` is the object itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `EventResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `event`.
    #[serde(default)]
    pub object: String,
    /// The event's id.
    pub id: String,
    /// Live or test.
    #[serde(default)]
    pub livemode: bool,
    /// `payment_flow.succeeded`, `refund.created`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// Deliveries still owed.
    #[serde(default)]
    pub pending_webhooks: i64,
    /// The object the event is about.
    pub data: Value,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    #[serde(default)]
    pub updated_at: Option<String>,
}
