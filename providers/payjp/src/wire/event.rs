//! The event object (webhooks and `/v1/events`); `data` is the resource itself.

use serde::{Deserialize, Serialize};

/// `object: "event"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evnt_…`.
    pub id: String,
    /// Always `"event"`.
    #[serde(default)]
    pub object: String,
    /// Test or live.
    #[serde(default)]
    pub livemode: bool,
    /// Unix seconds.
    pub created: i64,
    /// E.g. `charge.succeeded`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Endpoints that have not answered 2xx yet.
    #[serde(default)]
    pub pending_webhooks: u32,
    /// The resource.
    pub data: serde_json::Value,
}
