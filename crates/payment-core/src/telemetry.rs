//! What the library tells an operator: the names of its spans' attributes and of its metrics, and
//! the metrics themselves (OpenTelemetry, feature `otel`).
//!
//! Spans are `tracing` spans named the OpenTelemetry way (`otel.name`, `otel.kind`, the HTTP client
//! semantic conventions), so a `tracing-opentelemetry` layer exports them as they are; without a
//! subscriber they cost a disabled callsite. Metrics go to OpenTelemetry's global meter provider
//! when the `otel` feature is on, and nowhere otherwise. Instruments are made at the first record:
//! install the meter provider before the first payment.
//!
//! Nothing here ever carries a secret, a card number, personal data or a whole idempotency key:
//! attributes are names the library chose (provider, account, operation, outcome, reasons), URL
//! templates, and a hash of the key ([`key_hash`]).

use std::time::Duration;

use crate::error::{Error, ErrorKind, Outcome};

/// Metric: how long one HTTP attempt took, in seconds (histogram; HTTP client semantic conventions).
pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
/// Metric: how long one payment operation took, retries included, in seconds (histogram).
pub const OPERATION_DURATION: &str = "payment.operation.duration";
/// Metric: payment operations by outcome (counter).
pub const OPERATIONS: &str = "payment.operations";
/// Metric: attempts the engine sent again, by reason (counter).
pub const RETRIES: &str = "payment.retries";
/// Metric: each account's circuit breaker, 0 closed, 1 half-open, 2 open (gauge).
pub const BREAKER_STATE: &str = "payment.breaker.state";
/// Metric: how long one journal commit took, in seconds (histogram).
pub const JOURNAL_COMMIT_DURATION: &str = "payment.journal.commit.duration";
/// Metric: how many transitions one journal commit made durable (histogram).
pub const JOURNAL_COMMIT_BATCH_SIZE: &str = "payment.journal.commit.batch_size";
/// Metric: webhook deliveries by result (counter).
pub const WEBHOOK_DELIVERIES: &str = "payment.webhook.deliveries";
/// Every metric the library records.
pub const METRICS: &[&str] = &[
    HTTP_CLIENT_REQUEST_DURATION,
    OPERATION_DURATION,
    OPERATIONS,
    RETRIES,
    BREAKER_STATE,
    JOURNAL_COMMIT_DURATION,
    JOURNAL_COMMIT_BATCH_SIZE,
    WEBHOOK_DELIVERIES,
];

/// The first 16 hex digits of the key's SHA-256: enough to follow one payment through spans and
/// logs, not the key itself (which replays the payment's answer to whoever holds it).
pub fn key_hash(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    crate::hex::lower(&digest.as_ref()[..8])
}

/// What became of an operation, as a span attribute and a metric label: `success`, `declined`,
/// `unknown` (money may have moved), `action_required` (the customer must act) or `error`.
pub fn outcome_of<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(e) if e.outcome() == Outcome::Unknown => "unknown",
        Err(e) => match e.kind() {
            ErrorKind::CardDeclined(_) => "declined",
            ErrorKind::ActionRequired => "action_required",
            _ => "error",
        },
    }
}

/// The span of one logical operation (`payment create_charge`); the engine's attempts, the
/// journal's writes and the routing decisions under it are its children.
pub fn operation_span(provider: &'static str, account: &str, operation: &str, key: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        target: "payment::operation",
        "payment.operation",
        otel.name = format_args!("payment {operation}"),
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        payment.provider = provider,
        payment.account = account,
        payment.operation = operation,
        payment.outcome = tracing::field::Empty,
        payment.decline_reason = tracing::field::Empty,
        payment.idempotency_key_hash = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if let Some(key) = key.filter(|_| !span.is_disabled()) {
        span.record("payment.idempotency_key_hash", key_hash(key));
    }
    span
}

/// Records an operation's end on its span and in the operation metrics.
pub fn operation_ended<T>(
    span: &tracing::Span,
    (provider, account, operation): (&'static str, &str, &str),
    result: &Result<T, Error>,
    elapsed: Duration,
) {
    let outcome = outcome_of(result);
    let reason = match result {
        Err(e) => e.decline_reason().map(|r| r.as_str()),
        Ok(_) => None,
    };
    if !span.is_disabled() {
        span.record("payment.outcome", outcome);
        if let Some(reason) = reason {
            span.record("payment.decline_reason", reason);
        }
        if let Err(e) = result {
            span.record("error.type", e.kind().as_str());
            span.record("otel.status_code", "error");
            if let Some(key) = e.idempotency_key() {
                span.record("payment.idempotency_key_hash", key_hash(key.as_str()));
            }
        }
    }
    metrics::operation(provider, account, operation, outcome, reason, elapsed);
}

pub(crate) use metrics::http_attempt;
pub use metrics::{breaker_state, journal_commit, retry, webhook_delivery};

#[cfg(feature = "otel")]
mod metrics {
    //! The instruments, made once from the global meter provider.
    use std::sync::OnceLock;
    use std::time::Duration;

    use opentelemetry::KeyValue;
    use opentelemetry::metrics::{Counter, Gauge, Histogram};

    struct Instruments {
        http: Histogram<f64>,
        operation: Histogram<f64>,
        operations: Counter<u64>,
        retries: Counter<u64>,
        breaker: Gauge<u64>,
        commit: Histogram<f64>,
        batch: Histogram<u64>,
        webhooks: Counter<u64>,
    }

    /// Seconds buckets from 5 ms to 60 s: payment calls are slower than the SDK's web defaults.
    const SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

    fn instruments() -> &'static Instruments {
        static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
        INSTRUMENTS.get_or_init(|| {
            let meter = opentelemetry::global::meter("payment");
            let seconds = |name: &'static str, what: &'static str| {
                meter
                    .f64_histogram(name)
                    .with_unit("s")
                    .with_description(what)
                    .with_boundaries(SECONDS.to_vec())
                    .build()
            };
            Instruments {
                http: seconds(super::HTTP_CLIENT_REQUEST_DURATION, "Duration of HTTP client requests."),
                operation: seconds(super::OPERATION_DURATION, "Duration of payment operations, retries included."),
                operations: meter
                    .u64_counter(super::OPERATIONS)
                    .with_unit("{operation}")
                    .with_description("Payment operations by outcome.")
                    .build(),
                retries: meter
                    .u64_counter(super::RETRIES)
                    .with_unit("{attempt}")
                    .with_description("Attempts sent again, by reason.")
                    .build(),
                breaker: meter
                    .u64_gauge(super::BREAKER_STATE)
                    .with_unit("1")
                    .with_description("Circuit breaker per account: 0 closed, 1 half-open, 2 open.")
                    .build(),
                commit: seconds(super::JOURNAL_COMMIT_DURATION, "Duration of one journal commit."),
                batch: meter
                    .u64_histogram(super::JOURNAL_COMMIT_BATCH_SIZE)
                    .with_unit("{transition}")
                    .with_description("Transitions made durable by one journal commit.")
                    .with_boundaries(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0])
                    .build(),
                webhooks: meter
                    .u64_counter(super::WEBHOOK_DELIVERIES)
                    .with_unit("{delivery}")
                    .with_description("Webhook deliveries by result.")
                    .build(),
            }
        })
    }

    pub(super) fn operation(
        provider: &'static str,
        account: &str,
        operation: &str,
        outcome: &'static str,
        reason: Option<&'static str>,
        elapsed: Duration,
    ) {
        let mut labels = vec![
            KeyValue::new("payment.provider", provider),
            KeyValue::new("payment.account", account.to_owned()),
            KeyValue::new("payment.operation", operation.to_owned()),
            KeyValue::new("payment.outcome", outcome),
        ];
        if let Some(reason) = reason {
            labels.push(KeyValue::new("payment.decline_reason", reason));
        }
        let i = instruments();
        i.operation.record(elapsed.as_secs_f64(), &labels);
        i.operations.add(1, &labels);
    }

    /// One HTTP attempt: method, URL template, server, and the status or the error's type.
    pub(crate) fn http_attempt(
        (method, template, address, port): (&str, &str, &str, u16),
        status: Option<u16>,
        error_type: Option<&str>,
        elapsed: Duration,
    ) {
        let mut labels = vec![
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("url.template", template.to_owned()),
            KeyValue::new("server.address", address.to_owned()),
            KeyValue::new("server.port", i64::from(port)),
        ];
        if let Some(status) = status {
            labels.push(KeyValue::new("http.response.status_code", i64::from(status)));
        }
        if let Some(error) = error_type {
            labels.push(KeyValue::new("error.type", error.to_owned()));
        }
        instruments().http.record(elapsed.as_secs_f64(), &labels);
    }

    /// An attempt the engine sends again, and why (`timeout`, `503`, …).
    pub fn retry(provider: &'static str, operation: &str, reason: &str) {
        let labels = [
            KeyValue::new("payment.provider", provider),
            KeyValue::new("payment.operation", operation.to_owned()),
            KeyValue::new("error.type", reason.to_owned()),
        ];
        instruments().retries.add(1, &labels);
    }

    /// An account's breaker changed state (0 closed, 1 half-open, 2 open).
    pub fn breaker_state(account: &str, state: u64) {
        let labels = [KeyValue::new("payment.account", account.to_owned())];
        instruments().breaker.record(state, &labels);
    }

    /// One journal commit of `batch` transitions to `store` (`sqlite`, `postgres`, `memory`).
    pub fn journal_commit(store: &'static str, batch: usize, elapsed: Duration) {
        let labels = [KeyValue::new("payment.journal.store", store)];
        let i = instruments();
        i.commit.record(elapsed.as_secs_f64(), &labels);
        i.batch.record(batch as u64, &labels);
    }

    /// One webhook delivery and what became of it (`accepted`, `duplicate`, `rejected`, …).
    pub fn webhook_delivery(provider: &str, result: &'static str) {
        let labels =
            [KeyValue::new("payment.provider", provider.to_owned()), KeyValue::new("payment.webhook.result", result)];
        instruments().webhooks.add(1, &labels);
    }
}

#[cfg(not(feature = "otel"))]
mod metrics {
    //! Without the `otel` feature every record is a no-op the compiler removes.
    use std::time::Duration;

    pub(super) fn operation(_: &'static str, _: &str, _: &str, _: &'static str, _: Option<&'static str>, _: Duration) {}

    pub(crate) fn http_attempt(_: (&str, &str, &str, u16), _: Option<u16>, _: Option<&str>, _: Duration) {}

    /// An attempt the engine sends again, and why (`timeout`, `503`, …).
    pub fn retry(_: &'static str, _: &str, _: &str) {}

    /// An account's breaker changed state (0 closed, 1 half-open, 2 open).
    pub fn breaker_state(_: &str, _: u64) {}

    /// One journal commit of `batch` transitions to `store` (`sqlite`, `postgres`, `memory`).
    pub fn journal_commit(_: &'static str, _: usize, _: Duration) {}

    /// One webhook delivery and what became of it (`accepted`, `duplicate`, `rejected`, …).
    pub fn webhook_delivery(_: &str, _: &'static str) {}
}

/// Whether metrics are recorded: the `otel` feature is on.
pub const METRICS_ENABLED: bool = cfg!(feature = "otel");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_hash_is_short_stable_and_not_the_key() {
        let h = key_hash("order-1234-secret-ish");
        assert_eq!(h.len(), 16);
        assert_eq!(h, key_hash("order-1234-secret-ish"));
        assert_ne!(h, key_hash("order-1235-secret-ish"));
        assert!(!h.contains("order"));
    }

    #[test]
    fn outcomes_are_named() {
        use crate::error::DeclineReason;
        assert_eq!(outcome_of(&Ok::<(), Error>(())), "success");
        let declined = Error::new(ErrorKind::CardDeclined(DeclineReason::ExpiredCard), "no");
        assert_eq!(outcome_of(&Err::<(), _>(declined)), "declined");
        let unknown = Error::new(ErrorKind::Timeout, "cut").into_outcome_unknown();
        assert_eq!(outcome_of(&Err::<(), _>(unknown)), "unknown");
        assert_eq!(outcome_of(&Err::<(), _>(Error::invalid("bad"))), "error");
    }
}
