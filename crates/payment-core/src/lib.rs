//! Neutral types and traits of the payment framework, and its idempotent retry engine.
//!
//! Providers implement [`Charge`] and [`Refund`] (and so [`Provider`]); apps hold a
//! [`PaymentClient`]. Money is integer minor units ([`Money`]); every failure is one [`Error`].
#![forbid(unsafe_code)]

mod account;
pub mod action;
pub mod capabilities;
pub mod charge;
pub mod client;
pub mod config;
pub mod crypto;
mod currency;
pub mod error;
pub mod fixtures;
pub mod hex;
pub mod idempotency;
pub mod journaling;
pub mod json_text;
pub mod money;
pub mod operation;
pub mod pagination;
pub mod provider;
pub mod raw_json;
pub mod refund;
pub mod registry;
pub mod retry;
pub mod serde_adapters;
mod settings;
pub mod source;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod transport;
pub mod webhook;

pub use action::{Authentication, AuthenticationMode, Browser, CompletionData, NextAction, NextActionKind};
pub use capabilities::{
    AmountLimit, Capabilities, ChargeCapabilities, IdempotencyCapabilities, ListCapabilities, ListStyle,
    RefundCapabilities, SourceCapabilities,
};
pub use charge::{
    Charge, ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, CreateCharge, ListCharges, ListOrder,
    REFUNDED_IN_PART, REFUNDED_PER_JOURNAL, RELEASED_AT_CAPTURE, RESERVED_METADATA, is_reserved_metadata,
};
pub use client::{CallJournal, PaymentClient};
pub use config::{Account, Config, Mode, ProviderSettings};
pub use error::{DeclineReason, Error, ErrorKind, Outcome, Result};
pub use fixtures::{AuthenticationFixtures, Fixtures};
pub use idempotency::{IdempotencyKey, IdempotencySupport, RequestOptions, fit_key};
pub use journaling::{Mutation, MutationOutput};
pub use json_text::JsonText;
pub use money::{Currency, Money, MoneyError};
pub use operation::{NativeOperation, Operation};
pub use pagination::{Keyed, ListPaginator, Page, PageCursor, Paginate};
pub use provider::Provider;
pub use raw_json::RawJson;
pub use refund::{CreateRefund, ListRefunds, Refund, RefundId, RefundRecord, RefundStatus};
pub use registry::{ConfigKey, KnownProvider, ProviderDriver, Registry};
pub use retry::{ExponentialBackoff, FailFastOnConnect, Jitter, Once, Retry, RetryDecision, RetryPolicy};
pub use source::{CardDetails, NEUTRAL_CHANNELS, PaymentSource};
pub use time::Timestamp;
pub use webhook::{DeliveryClaim, EventKind, EventRecord, Trust, WebhookAck, WebhookEvent, WebhookVerifier};

pub use async_trait::async_trait;
