//! Events (`lastEvent` + next-action links) and Payment Queries pages.

use serde::{Deserialize, Serialize};

use super::{Links, Value};

/// `GET` on a `payments:events` href or the recovery query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsResponse {
    /// `Authorized`, `Sent for Settlement`, `Settled`, … (title case with spaces).
    pub last_event: String,
    /// The actions valid now (Card Payments).
    #[serde(rename = "_links", default)]
    pub links: Links,
    /// The actions valid now (the Payments API, whose answers may carry `_links.self` too).
    #[serde(rename = "_actions", default)]
    pub actions: Links,
}

impl EventsResponse {
    /// The href of `relation` among the links or the actions.
    pub fn href(&self, relation: &str) -> Option<&str> {
        self.links.href(relation).or_else(|| self.actions.href(relation))
    }

    /// Whether `href` is still offered, under any name.
    pub fn offers(&self, href: &str) -> bool {
        self.links.relations.values().chain(self.actions.relations.values()).any(|v| v.get("href").and_then(|h| h.as_str()) == Some(href))
    }
}

/// Partial settle / partial refund body: `{"value": …, "reference": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueAction {
    /// The amount, in the authorization's currency.
    pub value: Value,
    /// 1..128 of `[A-Za-z0-9-]`.
    pub reference: String,
}

/// A Payment Queries page: `_embedded.payments` and a `next` link when more exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryPage {
    /// `self`, `next`.
    #[serde(rename = "_links", default)]
    pub links: Links,
    /// The payments.
    #[serde(rename = "_embedded", default)]
    pub embedded: Embedded,
}

/// `{"payments": […]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Embedded {
    /// The payments.
    #[serde(default)]
    pub payments: Vec<serde_json::Value>,
}

/// One payment in a Payment Queries answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSummary {
    /// `pay…`.
    pub payment_id: String,
    /// RFC 3339.
    pub timestamp: String,
    /// The merchant's reference.
    pub transaction_reference: String,
    /// The entity.
    #[serde(default)]
    pub entity: Option<String>,
    /// `authorizationSucceeded`, `settlementRequestSubmitted`, … (query vocabulary).
    pub last_event: String,
    /// Amount and currency.
    pub value: Value,
    /// Links (`self`, and actions on single payments).
    #[serde(rename = "_links", default)]
    pub links: Links,
}
