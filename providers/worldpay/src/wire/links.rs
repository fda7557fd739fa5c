//! HAL `_links`: relation name -> `{ "href": … }`; unknown relations kept, hrefs opaque.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The opaque href (up to 1024+ characters of encrypted link data).
    pub href: String,
}

/// A `_links` map; `curies` is an array and is kept apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    /// Curie definitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curies: Vec<serde_json::Value>,
    /// Every other relation; values that are not `{href}` objects are ignored.
    #[serde(flatten)]
    pub relations: BTreeMap<String, serde_json::Value>,
}

impl Links {
    /// The href of `relation` (`payments:settle`), or the same relation under the v7 `cardPayments:`
    /// curie or under `_actions` name for the same action (`settlePayment`).
    pub fn href(&self, relation: &str) -> Option<&str> {
        let alternate = relation.strip_prefix("payments:").map(|r| format!("cardPayments:{r}"));
        [Some(relation.to_owned()), alternate, action_name(relation).map(str::to_owned)]
            .into_iter()
            .flatten()
            .find_map(|rel| self.relations.get(&rel).and_then(|v| v.get("href")).and_then(|h| h.as_str()))
    }

    /// Adds a link (for the mock).
    pub fn with(mut self, relation: &str, href: String) -> Links {
        self.relations.insert(relation.to_owned(), serde_json::json!({ "href": href }));
        self
    }
}

/// The Payments API's `_actions` name of a Card Payments relation (`payments:settle` ->
/// `settlePayment`): one payment, whichever API took it, is acted on by one vocabulary here.
pub fn action_name(relation: &str) -> Option<&'static str> {
    use super::payments_api::actions as a;
    Some(match relation {
        "payments:settle" => a::SETTLE,
        "payments:partialSettle" => a::PARTIAL_SETTLE,
        "payments:cancel" => a::CANCEL,
        "payments:refund" => a::REFUND,
        "payments:partialRefund" => a::PARTIAL_REFUND,
        _ => return None,
    })
}
