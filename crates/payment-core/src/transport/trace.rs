//! Tracing: a layer with one span per HTTP attempt (method and path), and the one log line per
//! attempt the engine writes when the attempt ends (status, latency, what it does next).

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt};
use tower::{Layer, Service};
use tracing::Instrument;

use super::call::{Call, Phase};
use super::http::{HttpRequest, HttpResponse, TransportError};

/// Wraps each attempt in a `payment.http` span.
#[derive(Debug, Clone, Copy)]
pub struct TraceLayer {
    provider: &'static str,
}

impl TraceLayer {
    /// A layer that tags spans with the provider's name.
    pub fn new(provider: &'static str) -> TraceLayer {
        TraceLayer { provider }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner, provider: self.provider }
    }
}

/// The service [`TraceLayer`] makes.
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
    provider: &'static str,
}

impl<S> Service<HttpRequest> for Trace<S>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = TransportError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = TransportError;
    type Future = BoxFuture<'static, Result<HttpResponse, TransportError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        // Only method and path: query strings and headers may carry secrets or personal data.
        let span = tracing::debug_span!(
            "payment.http",
            provider = self.provider,
            method = %request.method(),
            path = request.uri().path(),
        );
        self.inner.call(request).instrument(span).boxed()
    }
}

/// Which attempt of which call a log line is about.
pub(super) struct Attempt<'a> {
    pub(super) provider: &'static str,
    pub(super) call: &'a Call,
    pub(super) number: u32,
    pub(super) phase: Phase,
}

/// The line of an attempt the call's deadline cut off in flight: no answer, and no retry.
pub(super) fn log_cut_off(
    Attempt { provider, call, number, phase }: Attempt<'_>,
    (method, path, sent): (&http::Method, &str, Instant),
    deadline: Duration,
) {
    let key = call.key.as_ref().map(|k| k.as_str()).unwrap_or("-");
    let latency_ms = sent.elapsed().as_millis() as u64;
    let deadline_ms = deadline.as_millis() as u64;
    tracing::debug!(
        target: "payment::attempt",
        provider, operation = call.operation.as_str(), %method, path, status = "none", attempt = number,
        phase = ?phase, idempotency_key = key, latency_ms, deadline_ms, error = "cut off by the call's deadline", "attempt"
    );
}

/// The one debug line per attempt: what went out, what came back, and what the engine does next.
pub(super) fn log_attempt(
    Attempt { provider, call, number, phase }: Attempt<'_>,
    (method, path, sent): (&http::Method, &str, Instant),
    result: &std::result::Result<HttpResponse, TransportError>,
    retry_in: Option<Duration>,
) {
    let key = call.key.as_ref().map(|k| k.as_str()).unwrap_or("-");
    let latency_ms = sent.elapsed().as_millis() as u64;
    let retry_in_ms = retry_in.map(|d| d.as_millis() as u64);
    let operation = call.operation.as_str();
    match result {
        Ok(r) => tracing::debug!(
            target: "payment::attempt",
            provider, operation, %method, path, status = r.status().as_u16(), attempt = number,
            phase = ?phase, idempotency_key = key, latency_ms, retry_in_ms, "attempt"
        ),
        Err(e) => tracing::debug!(
            target: "payment::attempt",
            provider, operation, %method, path, status = "none", attempt = number,
            phase = ?phase, idempotency_key = key, latency_ms, retry_in_ms, error = %e, "attempt"
        ),
    }
}
