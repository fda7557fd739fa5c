//! Event notifications (`application/vnd.worldpay.events-v1.hal+json`).

use serde::{Deserialize, Serialize};

/// The media type of an event notification.
pub const EVENTS_CONTENT_TYPE: &str = "application/vnd.worldpay.events-v1.hal+json";

/// `{eventId, eventTimestamp, eventDetails}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The event's id (deliveries of one event share it).
    pub event_id: String,
    /// RFC 3339.
    #[serde(default)]
    pub event_timestamp: Option<String>,
    /// What happened.
    pub event_details: EventDetails,
}

/// `eventDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetails {
    /// E.g. `card`.
    #[serde(default)]
    pub classification: Option<String>,
    /// The merchant's reference of the payment.
    #[serde(default)]
    pub transaction_reference: Option<String>,
    /// `authorized`, `settled`, `refunded`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened (RFC 3339).
    #[serde(default)]
    pub date: Option<String>,
    /// The merchant's reference of a partial settlement or partial refund the event reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The amount in minor units.
    #[serde(default)]
    pub amount: Option<EventAmount>,
    /// Links to the payment.
    #[serde(default, rename = "_links")]
    pub links: serde_json::Value,
}

/// `amount{value, currencyCode}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAmount {
    /// Minor units.
    pub value: i64,
    /// ISO 4217.
    pub currency_code: String,
}
