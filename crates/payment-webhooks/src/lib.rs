//! Serving providers' webhooks at `POST /webhooks/{provider}`: the body is read up to a limit,
//! verified on its raw bytes by the provider's own verifier, deduplicated in an inbox by provider
//! and event id, handed to the application, and acknowledged the way the provider expects.
//! Raw payloads never reach a log.
#![forbid(unsafe_code)]

mod handler;
mod inbox;
mod server;

pub use handler::{EventHandler, Rejection};
pub use inbox::{Inbox, MemoryInbox};
pub use server::{DEFAULT_BODY_LIMIT, WebhookServer};
