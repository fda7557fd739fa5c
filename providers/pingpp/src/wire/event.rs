//! The event object: `data.object` wraps the resource.

use serde::{Deserialize, Serialize};

/// `object: "event"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_` + 24 characters.
    pub id: String,
    /// Always `"event"`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// Test or live.
    #[serde(default)]
    pub livemode: bool,
    /// E.g. `charge.succeeded`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The resource.
    pub data: EventData,
    /// Endpoints not yet answered.
    #[serde(default)]
    pub pending_webhooks: u32,
    /// The request that caused it.
    #[serde(default)]
    pub request: Option<String>,
}

/// `{"object": {…resource…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// The resource.
    pub object: serde_json::Value,
}
