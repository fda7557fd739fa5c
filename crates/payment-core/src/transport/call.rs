//! How a provider describes one logical call to the engine.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::http::{HttpRequest, HttpResponse, parse_retry_after};
use crate::capabilities::IdempotencyCapabilities;
use crate::error::Result;
use crate::idempotency::{IdempotencyKey, IdempotencySupport};
use crate::operation::Operation;

/// Builds the request for one attempt; called again on every attempt so signatures and
/// timestamps are fresh, while the body and idempotency key stay the same.
pub type RequestFn = Arc<dyn Fn() -> Result<HttpRequest> + Send + Sync>;

/// A request function made by `make` the first time an attempt needs it: what a lookup uses, so
/// the happy path (no lookup) never builds or parses its URL.
pub fn lazy_request<F>(make: impl Fn() -> F + Send + Sync + 'static) -> RequestFn
where
    F: Fn() -> Result<HttpRequest> + Send + Sync + 'static,
{
    let built: std::sync::OnceLock<F> = std::sync::OnceLock::new();
    Arc::new(move || built.get_or_init(&make)())
}

/// Sorts a provider's HTTP response into what the engine should do with it.
pub type Classifier = fn(&HttpResponse) -> ReplyClass;

/// What a response means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyClass {
    /// Success or a definite error: hand it to the provider.
    Final,
    /// The provider refused to process it for now (429, Ping++ 403): always safe to repeat.
    RateLimited {
        /// The provider's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The provider failed (5xx): the request may have taken effect.
    Unavailable {
        /// The provider's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The natural key (order number, transaction reference) was already used.
    DuplicateRejected,
}

/// 429 is a rate limit; 500, 502, 503 and 504 are unavailability; everything else is final.
pub fn default_classify(response: &HttpResponse) -> ReplyClass {
    let retry_after = parse_retry_after(response.headers());
    match response.status().as_u16() {
        429 => ReplyClass::RateLimited { retry_after },
        500 | 502 | 503 | 504 => ReplyClass::Unavailable { retry_after },
        _ => ReplyClass::Final,
    }
}

/// Which request an attempt sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The operation itself.
    Send,
    /// The lookup by natural key after an ambiguous failure (`RejectDuplicate`).
    Lookup,
}

/// What a lookup answer says about the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupAnswer {
    /// It exists: the operation took effect.
    Found,
    /// It certainly does not exist: sending again is safe.
    Absent,
    /// The answer settles nothing (an error the lookup cannot read).
    Unknown,
}

/// How to find the object a `RejectDuplicate` operation may have created.
#[derive(Clone)]
pub struct Lookup {
    /// Builds the lookup request (a read).
    pub request: RequestFn,
    /// Reads any lookup answer that is not a rate limit or an outage (those are retried).
    pub found: Arc<dyn Fn(&HttpResponse) -> LookupAnswer + Send + Sync>,
}

/// One logical call: the operation, how repeats are honoured, and how to build each attempt.
#[derive(Clone)]
pub struct Call {
    pub(crate) operation: Operation,
    pub(crate) idempotency: IdempotencySupport,
    pub(crate) key: Option<IdempotencyKey>,
    pub(crate) reference: Option<String>,
    pub(crate) request: RequestFn,
    pub(crate) lookup: Option<Lookup>,
    pub(crate) classify: Classifier,
    pub(crate) deadline: Option<Duration>,
}

impl Call {
    /// A call of `operation`, repeated as the provider's `capabilities` say it honours repeats.
    pub fn new(
        operation: Operation,
        capabilities: &IdempotencyCapabilities,
        request: impl Fn() -> Result<HttpRequest> + Send + Sync + 'static,
    ) -> Call {
        // A read named on a write would make it "safe" to resend after a lost answer.
        debug_assert!(
            operation.is_mutation() || matches!(operation, Operation::Native(_)),
            "Call::new({operation}): reads are made with Call::read"
        );
        Call::with_support(operation, capabilities.support(operation), Arc::new(request))
    }

    /// A read: safe to repeat at any time.
    pub fn read(operation: Operation, request: impl Fn() -> Result<HttpRequest> + Send + Sync + 'static) -> Call {
        Call::with_support(operation, IdempotencySupport::Safe, Arc::new(request))
    }

    fn with_support(operation: Operation, idempotency: IdempotencySupport, request: RequestFn) -> Call {
        Call {
            operation,
            idempotency,
            key: None,
            reference: None,
            request,
            lookup: None,
            classify: default_classify,
            deadline: None,
        }
    }

    /// The idempotency key, reported in errors whose outcome is unknown.
    pub fn key(mut self, key: IdempotencyKey) -> Call {
        self.key = Some(key);
        self
    }

    /// The natural key (reference), reported in errors whose outcome is unknown.
    pub fn reference(mut self, reference: impl Into<String>) -> Call {
        self.reference = Some(reference.into());
        self
    }

    /// How to look the object up after an ambiguous failure (`RejectDuplicate` operations).
    pub fn lookup(mut self, lookup: Lookup) -> Call {
        self.lookup = Some(lookup);
        self
    }

    /// The provider's classification of responses (default: [`default_classify`]).
    pub fn classify(mut self, classify: Classifier) -> Call {
        self.classify = classify;
        self
    }

    /// A deadline for the whole call, retries included.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Call {
        if deadline.is_some() {
            self.deadline = deadline;
        }
        self
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.operation)
            .field("idempotency", &self.idempotency)
            .field("key", &self.key)
            .field("reference", &self.reference)
            .field("lookup", &self.lookup.is_some())
            .finish_non_exhaustive()
    }
}
