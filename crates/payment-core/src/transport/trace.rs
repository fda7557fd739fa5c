//! A tracing layer: one span per HTTP attempt with method and path; the engine writes the one
//! log line per attempt (status, latency, what it does next) when the attempt ends.

use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use tower::{Layer, Service};
use tracing::Instrument;

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
