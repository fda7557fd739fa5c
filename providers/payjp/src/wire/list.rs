//! The list envelope.

use serde::{Deserialize, Serialize};

/// `{"object":"list","url":"/v1/charges","has_more":…,"count":…,"data":[…]}`; `count` is this page's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    /// Always `"list"`.
    #[serde(default)]
    pub object: String,
    /// The path listed.
    #[serde(default)]
    pub url: String,
    /// More after this page.
    pub has_more: bool,
    /// Items in this page.
    #[serde(default)]
    pub count: u64,
    /// The items, newest first.
    pub data: Vec<T>,
}
