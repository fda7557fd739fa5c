//! What every provider's stateful mock shares: an axum server on a real loopback socket, an
//! in-memory store, a controllable clock, id generators, an idempotency table, a body limit, a
//! request log, seeded fault injection, control endpoints under `/__mock__/`, and a browser
//! console over them (`/__mock__/console`).
#![forbid(unsafe_code)]

pub mod alter;
pub mod clock;
pub mod console;
pub mod control;
pub mod driver;
pub mod faults;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod kit;
pub mod middleware;
pub mod objects;
pub mod pages;
pub mod redact;
pub mod reply;
pub mod rng;
pub mod server;
pub mod store;
pub mod webhooks;

pub use clock::MockClock;
pub use control::MockControl;
pub use driver::{MockDriver, MockHandle, MockOptions, OperationPaths, TestInput, serve};
pub use faults::{FaultKind, FaultPlan, FaultRule};
pub use idempotency::{Claim, ClaimGuard, IdempotencyTable, StoredResponse};
pub use ids::{IdAlphabet, IdGen};
pub use keys::SigningKeys;
pub use kit::{AuthenticationResult, ControlError, LoggedRequest, MockHooks, MockKit, MockStats};
pub use middleware::{ContentFault, ContentFaultApplied, SignedBody};
pub use objects::{MockObject, MockObjects};
pub use reply::Reply;
pub use server::MockServer;
pub use store::Store;
pub use webhooks::{Delivery, OutgoingWebhook, WebhookOutbox};

pub use axum;
