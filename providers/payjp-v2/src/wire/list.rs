//! `{object: "list", url, has_more, data}`: every v2 list, paged by ids.

use serde::{Deserialize, Serialize};

/// One page of a list (no total count).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List<T> {
    /// `list`.
    #[serde(default)]
    pub object: String,
    /// The list's path.
    #[serde(default)]
    pub url: String,
    /// Whether more items follow.
    pub has_more: bool,
    /// The items, newest first.
    pub data: Vec<T>,
}
