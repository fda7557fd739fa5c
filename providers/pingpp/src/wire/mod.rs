//! Ping++ objects exactly as the API sends them; nothing neutral here.

mod charge;
mod error;
mod event;
mod refund;

pub use charge::{Charge, NewCharge};
pub use error::{ApiError, ErrorBody};
pub use event::{Event, EventData};
pub use refund::{NewRefund, Refund};

use serde::{Deserialize, Serialize};

/// The list envelope (no `count`).
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
    /// The items, newest first.
    pub data: Vec<T>,
}

/// `{"id": "app_…"}` as charges carry their app when sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRef {
    /// `app_` + 16 characters.
    pub id: String,
}
