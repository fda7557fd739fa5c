//! Worldpay Access objects as the API sends them (Card Payments v6, Payment Queries v1).
//! Tolerant: unknown fields and link relations are ignored; hrefs are opaque strings.

mod authorize;
mod error;
mod event;
mod links;
pub mod payments_api;
mod query;

pub use authorize::{
    AuthorizeOutcome, AuthorizeRequest, AuthorizeResponse, AutoSettlement, CardExpiry, Instruction, Merchant,
    Narrative, PaymentInstrument, Value,
};
pub use error::{ApiError, ValidationError};
pub use event::{EVENTS_CONTENT_TYPE, Event, EventAmount, EventDetails};
pub use links::{Link, Links, action_name};
pub use query::{EventsResponse, PaymentSummary, QueryPage, ValueAction};

/// `Content-Type` of Card Payments v6 bodies.
pub const PAYMENTS_CONTENT_TYPE: &str = "application/vnd.worldpay.payments-v6+json";
/// `Accept` of Card Payments v6.
pub const PAYMENTS_ACCEPT: &str = "application/vnd.worldpay.payments-v6.hal+json";
/// `Accept` of Payment Queries v1.
pub const QUERIES_ACCEPT: &str = "application/vnd.worldpay.payment-queries-v1.hal+json";
