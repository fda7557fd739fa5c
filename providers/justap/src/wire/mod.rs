//! Justap objects exactly as the API sends them (grpc-gateway JSON: int64 as strings, amounts as
//! decimal yuan numbers, `{object, data}` wrappers); nothing neutral here.

mod charge;
mod error;
mod notification;
mod refund;

pub use charge::{Charge, ChargeList, NewCharge, Reverse};
pub use error::ApiError;
pub use notification::{Envelope, Notification};
pub use refund::{NewRefund, Refund, RefundList};

use serde::{Deserialize, Serialize};

/// `{"object": "Charge", "data": {…}}` and the other single-object answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wrapped<T> {
    /// `Charge`, `Refund`.
    #[serde(default)]
    pub object: String,
    /// The object.
    pub data: T,
}

/// A list answer with its items kept as text: each becomes a record and that record's `raw`.
#[derive(Debug, Deserialize)]
pub struct RawList<'a> {
    /// More after this page.
    #[serde(default)]
    pub has_more: bool,
    /// The items, as sent.
    #[serde(default, borrow)]
    pub data: Vec<&'a serde_json::value::RawValue>,
}
