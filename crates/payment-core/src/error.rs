//! The one error type of the framework: what went wrong, whether anything happened, and what to do next.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::idempotency::IdempotencyKey;
use crate::money::MoneyError;
use crate::operation::Operation;

/// A `Result` whose error is the framework's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure this is; decides what the caller should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was malformed or not allowed in the object's state; fix it, do not retry.
    InvalidRequest,
    /// The credentials were refused.
    Authentication,
    /// The credentials are valid but may not do this.
    PermissionDenied,
    /// The object does not exist.
    NotFound,
    /// The card or account was declined; the reason says why.
    CardDeclined(DeclineReason),
    /// The object's state forbids this (e.g. already refunded in full).
    Conflict,
    /// The same idempotency key was used with a different request.
    IdempotencyConflict,
    /// The provider asked us to slow down.
    RateLimited,
    /// The provider failed or is down (5xx).
    ProviderUnavailable,
    /// No answer in time, and nothing can have happened (reads), or the deadline passed before sending.
    Timeout,
    /// The network failed before the request could have had any effect.
    Network,
    /// This provider cannot do this operation.
    Unsupported,
    /// The provider answered something inconsistent with the request (e.g. another amount).
    Integrity,
    /// The provider's response could not be read.
    Decode,
    /// The configuration is missing or wrong.
    Config,
    /// The request may or may not have taken effect; recover with the idempotency key or reference.
    OutcomeUnknown,
    /// The payment journal could not be opened, read or written.
    Journal,
    /// The customer has not finished the charge's next action yet (3-D Secure): send them to it,
    /// then complete again. Nothing changed.
    ActionRequired,
}

/// Why a card was declined, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeclineReason {
    /// Not enough funds or credit.
    InsufficientFunds,
    /// The card has expired.
    ExpiredCard,
    /// The security code was wrong.
    IncorrectCvc,
    /// The issuer or provider suspects fraud.
    FraudSuspected,
    /// A generic refusal by the issuer.
    DoNotHonor,
    /// A spending or velocity limit was reached.
    LimitExceeded,
    /// The customer failed authentication (3-D Secure).
    AuthenticationFailed,
    /// The customer did not finish authentication in the provider's time.
    AuthenticationExpired,
    /// Any other decline; see the provider code.
    Other,
}

impl ErrorKind {
    /// A stable snake_case name, used in CLI JSON and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Authentication => "authentication",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::CardDeclined(_) => "card_declined",
            ErrorKind::Conflict => "conflict",
            ErrorKind::IdempotencyConflict => "idempotency_conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ProviderUnavailable => "provider_unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Decode => "decode",
            ErrorKind::Config => "config",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::Journal => "journal",
            ErrorKind::ActionRequired => "action_required",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::CardDeclined(r) => write!(f, "card_declined ({})", r.as_str()),
            other => f.write_str(other.as_str()),
        }
    }
}

impl DeclineReason {
    /// A stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
            DeclineReason::FraudSuspected => "fraud_suspected",
            DeclineReason::DoNotHonor => "do_not_honor",
            DeclineReason::LimitExceeded => "limit_exceeded",
            DeclineReason::AuthenticationFailed => "authentication_failed",
            DeclineReason::AuthenticationExpired => "authentication_expired",
            DeclineReason::Other => "other",
        }
    }
}

/// Whether it is known what the failed call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing happened, or it is known exactly what happened.
    Definite,
    /// The request may have taken effect; recover with the idempotency key or reference.
    Unknown,
}

/// The framework's error: one struct for every provider, with the native error one downcast away.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    outcome: Outcome,
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
    provider: &'static str,
    operation: Option<Operation>,
    http_status: Option<u16>,
    provider_code: Option<String>,
    provider_message: Option<String>,
    request_id: Option<String>,
    idempotency_key: Option<IdempotencyKey>,
    reference: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human message. `OutcomeUnknown` makes the outcome unknown.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let retryable = matches!(
            kind,
            ErrorKind::RateLimited | ErrorKind::ProviderUnavailable | ErrorKind::Timeout | ErrorKind::Network
        );
        Error {
            inner: Box::new(Inner {
                kind,
                outcome: if kind == ErrorKind::OutcomeUnknown { Outcome::Unknown } else { Outcome::Definite },
                message: message.into(),
                retryable,
                retry_after: None,
                provider: "",
                operation: None,
                http_status: None,
                provider_code: None,
                provider_message: None,
                request_id: None,
                idempotency_key: None,
                reference: None,
                source: None,
            }),
        }
    }

    /// Shorthand for [`ErrorKind::InvalidRequest`].
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidRequest, message)
    }

    /// Shorthand for [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for [`ErrorKind::Decode`], keeping the parse error as the source.
    pub fn decode(what: &str, err: impl StdError + Send + Sync + 'static) -> Error {
        Error::new(ErrorKind::Decode, format!("could not decode {what}: {err}")).with_source(err)
    }

    /// An error answer whose body the provider's error format cannot read; the kind comes from the status.
    pub fn unreadable_body(kind: ErrorKind, status: u16, body: &[u8]) -> Error {
        let snippet: String = String::from_utf8_lossy(body).chars().take(120).collect();
        Error::new(kind, format!("HTTP {status} with a body that is not the provider's error format: {snippet:?}"))
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// Sets the provider name.
    pub fn with_provider(mut self, provider: &'static str) -> Error {
        self.inner.provider = provider;
        self
    }

    /// The same error with what the caller can do about it appended to its message.
    pub fn with_advice(mut self, advice: &str) -> Error {
        self.inner.message = format!("{}; {advice}", self.inner.message);
        self
    }

    /// Sets the operation that failed.
    pub fn with_operation(mut self, operation: Operation) -> Error {
        self.inner.operation = Some(operation);
        self
    }

    /// Sets the HTTP status the provider answered with.
    pub fn with_http_status(mut self, status: u16) -> Error {
        self.inner.http_status = Some(status);
        self
    }

    /// Sets the provider's own error code.
    pub fn with_provider_code(mut self, code: impl Into<String>) -> Error {
        self.inner.provider_code = Some(code.into());
        self
    }

    /// Sets the provider's own error message.
    pub fn with_provider_message(mut self, message: impl Into<String>) -> Error {
        self.inner.provider_message = Some(message.into());
        self
    }

    /// Sets the provider's request / correlation id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Error {
        self.inner.request_id = Some(id.into());
        self
    }

    /// Sets the idempotency key to recover with.
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Error {
        self.inner.idempotency_key = Some(key);
        self
    }

    /// Sets the merchant reference (order number) to recover with.
    pub fn with_reference(mut self, reference: impl Into<String>) -> Error {
        self.inner.reference = Some(reference.into());
        self
    }

    /// Sets how long the provider asked us to wait.
    pub fn with_retry_after(mut self, after: Duration) -> Error {
        self.inner.retry_after = Some(after);
        self
    }

    /// Overrides whether retrying the same call may succeed.
    pub fn with_retryable(mut self, retryable: bool) -> Error {
        self.inner.retryable = retryable;
        self
    }

    /// Keeps the underlying (native) error, reachable through [`Error::provider_error`] and `source()`.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Turns this error into an `OutcomeUnknown`: the request may have taken effect.
    pub fn into_outcome_unknown(mut self) -> Error {
        if self.inner.kind != ErrorKind::OutcomeUnknown {
            self.inner.message = format!("outcome unknown: {}", self.inner.message);
        }
        self.inner.kind = ErrorKind::OutcomeUnknown;
        self.inner.outcome = Outcome::Unknown;
        self.inner.retryable = true;
        self
    }

    /// Keeps the kind (an `Integrity` error stays one) but makes the outcome unknown: the provider
    /// acted on the request, and what it did cannot be taken at its word.
    pub fn with_outcome_unknown(mut self) -> Error {
        if self.inner.outcome != Outcome::Unknown {
            self.inner.message = format!("outcome unknown: {}", self.inner.message);
        }
        self.inner.outcome = Outcome::Unknown;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether it is known what happened.
    pub fn outcome(&self) -> Outcome {
        self.inner.outcome
    }

    /// The human message (never contains secrets).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether repeating the same call (same key) may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// How long the provider asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider's name, or `""` when no provider was involved.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The operation that failed, when one was named.
    pub fn operation(&self) -> Option<Operation> {
        self.inner.operation
    }

    /// The HTTP status of the provider's answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// The provider's own error code.
    pub fn provider_code(&self) -> Option<&str> {
        self.inner.provider_code.as_deref()
    }

    /// The provider's own error message.
    pub fn provider_message(&self) -> Option<&str> {
        self.inner.provider_message.as_deref()
    }

    /// The provider's request / correlation id, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The idempotency key the call used; retry with it to recover.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.inner.idempotency_key.as_ref()
    }

    /// The merchant reference the call used.
    pub fn reference(&self) -> Option<&str> {
        self.inner.reference.as_deref()
    }

    /// The decline reason when this is a card decline.
    pub fn decline_reason(&self) -> Option<DeclineReason> {
        match self.inner.kind {
            ErrorKind::CardDeclined(r) => Some(r),
            _ => None,
        }
    }

    /// The provider's native error, when it is of type `T`.
    pub fn provider_error<T: StdError + 'static>(&self) -> Option<&T> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref::<T>())
    }

    /// A JSON object `{kind, message, provider, provider_code, outcome, idempotency_key, …}` for CLIs and logs.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.inner.kind.as_str(),
            "decline_reason": self.decline_reason().map(|r| r.as_str()),
            "message": self.inner.message,
            "provider": if self.inner.provider.is_empty() { None } else { Some(self.inner.provider) },
            "operation": self.inner.operation.map(Operation::as_str),
            "provider_code": self.inner.provider_code,
            "provider_message": self.inner.provider_message,
            "http_status": self.inner.http_status,
            "request_id": self.inner.request_id,
            "outcome": self.inner.outcome,
            "retryable": self.inner.retryable,
            "retry_after_ms": self.inner.retry_after.map(|d| d.as_millis() as u64),
            "idempotency_key": self.inner.idempotency_key.as_ref().map(|k| k.as_str()),
            "reference": self.inner.reference,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if !i.provider.is_empty() {
            write!(f, "{}", i.provider)?;
            if let Some(operation) = i.operation {
                write!(f, " {operation}")?;
            }
            f.write_str(": ")?;
        }
        write!(f, "{}: {}", i.kind, i.message)?;
        if let Some(code) = &i.provider_code {
            write!(f, " [code {code}]")?;
        }
        if let Some(status) = i.http_status {
            write!(f, " [http {status}]")?;
        }
        if let Some(id) = &i.request_id {
            write!(f, " [request {id}]")?;
        }
        if i.outcome == Outcome::Unknown {
            if let Some(key) = &i.idempotency_key {
                write!(f, " [retry with idempotency key {}]", key.as_str())?;
            }
            if let Some(reference) = &i.reference {
                write!(f, " [reference {reference}]")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("outcome", &i.outcome)
            .field("message", &i.message)
            .field("provider", &i.provider)
            .field("operation", &i.operation)
            .field("http_status", &i.http_status)
            .field("provider_code", &i.provider_code)
            .field("request_id", &i.request_id)
            .field("idempotency_key", &i.idempotency_key)
            .field("reference", &i.reference)
            .field("retry_after", &i.retry_after)
            .finish_non_exhaustive()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<MoneyError> for Error {
    fn from(e: MoneyError) -> Error {
        Error::invalid(e.to_string()).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("native {code}")]
    struct Native {
        code: String,
    }

    #[test]
    fn display_is_one_line_with_context() {
        let e = Error::new(ErrorKind::CardDeclined(DeclineReason::InsufficientFunds), "card was declined")
            .with_provider("payjp")
            .with_operation(Operation::CreateCharge)
            .with_provider_code("insufficient_funds")
            .with_http_status(402);
        let text = e.to_string();
        assert_eq!(
            text,
            "payjp create_charge: card_declined (insufficient_funds): card was declined [code insufficient_funds] [http 402]"
        );
        assert!(!text.contains('\n'));
        assert_eq!(e.decline_reason(), Some(DeclineReason::InsufficientFunds));
        assert!(!e.is_retryable());
    }

    #[test]
    fn outcome_unknown_names_the_key() {
        let key = IdempotencyKey::new("order-42-attempt").unwrap();
        let e = Error::new(ErrorKind::Timeout, "no response after sending")
            .with_idempotency_key(key.clone())
            .into_outcome_unknown();
        assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
        assert_eq!(e.outcome(), Outcome::Unknown);
        assert!(e.to_string().contains("retry with idempotency key order-42-attempt"));
        assert_eq!(e.to_json()["idempotency_key"], "order-42-attempt");
        assert_eq!(e.to_json()["outcome"], "unknown");
    }

    #[test]
    fn native_error_is_one_downcast_away() {
        let e = Error::new(ErrorKind::InvalidRequest, "bad").with_source(Native { code: "x".into() });
        assert_eq!(e.provider_error::<Native>().unwrap().code, "x");
        assert!(e.provider_error::<std::io::Error>().is_none());
        assert!(StdError::source(&e).is_some());
    }

    #[test]
    fn kinds_have_defaults_for_retryability() {
        assert!(Error::new(ErrorKind::RateLimited, "slow down").is_retryable());
        assert!(!Error::new(ErrorKind::Authentication, "no").is_retryable());
        assert_eq!(Error::new(ErrorKind::Timeout, "t").outcome(), Outcome::Definite);
    }
}
