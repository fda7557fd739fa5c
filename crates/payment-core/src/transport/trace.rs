//! Tracing: one OpenTelemetry-shaped span per HTTP attempt, and the one log line per attempt the
//! engine writes when the attempt ends (status, latency, what it does next).

use std::time::{Duration, Instant};

use super::call::{Call, Phase};
use super::http::{HttpRequest, HttpResponse, TransportError};
use super::template::UrlTemplates;
use crate::retry::{AttemptFailure, TransportFailure};
use crate::telemetry;

/// One HTTP attempt as an OpenTelemetry CLIENT span (`{method} {url.template}`, the stable HTTP
/// client semantic conventions) and its `http.client.request.duration` record. Made only when a
/// subscriber listens or metrics are on, so a quiet engine builds no template.
pub(super) struct HttpAttempt {
    span: tracing::Span,
    method: http::Method,
    template: String,
    address: String,
    port: u16,
    started: Instant,
}

impl HttpAttempt {
    /// The span of `request`, the `resend`th time the same request goes out (0: the first).
    pub(super) fn start(
        provider: &'static str,
        call: &Call,
        request: &HttpRequest,
        templates: &UrlTemplates,
        resend: u32,
    ) -> Option<HttpAttempt> {
        let span = tracing::info_span!(
            target: "payment::http",
            "payment.http",
            otel.name = tracing::field::Empty,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = %request.method(),
            url.template = tracing::field::Empty,
            server.address = tracing::field::Empty,
            server.port = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            http.request.resend_count = tracing::field::Empty,
            error.type = tracing::field::Empty,
            payment.provider = provider,
            payment.operation = call.operation.as_str(),
            payment.idempotency_key_hash = tracing::field::Empty,
        );
        if span.is_disabled() && !telemetry::METRICS_ENABLED {
            return None;
        }
        let uri = request.uri();
        let template = templates.template_of(uri.path());
        let address = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
        if !span.is_disabled() {
            span.record("otel.name", format!("{} {template}", request.method()));
            span.record("url.template", template.as_str());
            span.record("server.address", address.as_str());
            span.record("server.port", port);
            if resend > 0 {
                span.record("http.request.resend_count", resend);
            }
            if let Some(key) = &call.key {
                span.record("payment.idempotency_key_hash", telemetry::key_hash(key.as_str()));
            }
        }
        Some(HttpAttempt { span, method: request.method().clone(), template, address, port, started: Instant::now() })
    }

    /// The attempt's URL template (the log line names the attempt by it too).
    pub(super) fn template(&self) -> &str {
        &self.template
    }

    /// The span to run the attempt in.
    pub(super) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The attempt ended with `result`.
    pub(super) fn ended(self, result: &std::result::Result<HttpResponse, TransportError>) {
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                self.span.record("http.response.status_code", status);
                // 4xx and 5xx are errors of a client span (semantic conventions); the status is its type.
                let error = (status >= 400).then(|| status.to_string());
                self.finish(Some(status), error.as_deref());
            }
            Err(e) => self.finish(None, Some(failure_type(e.failure))),
        }
    }

    /// The call's deadline cut the attempt off in flight.
    pub(super) fn cut_off(self) {
        self.finish(None, Some("timeout"));
    }

    fn finish(self, status: Option<u16>, error: Option<&str>) {
        if let Some(error) = error {
            self.span.record("error.type", error);
            self.span.record("otel.status_code", "error");
        }
        let labels = (self.method.as_str(), self.template.as_str(), self.address.as_str(), self.port);
        telemetry::http_attempt(labels, status, error, self.started.elapsed());
    }
}

/// The `error.type` of an attempt with no answer.
fn failure_type(failure: TransportFailure) -> &'static str {
    match failure {
        TransportFailure::Connect => "connect",
        TransportFailure::Timeout => "timeout",
        TransportFailure::Broken => "broken",
    }
}

/// Why the engine sends again, as the `payment.retries` metric's `error.type`.
pub(super) fn retry_reason(failure: AttemptFailure) -> String {
    match failure {
        AttemptFailure::Transport(t) => failure_type(t).to_owned(),
        AttemptFailure::Status { status, .. } => status.to_string(),
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
    let key = call.key.as_ref().map_or_else(|| "-".to_owned(), |k| telemetry::key_hash(k.as_str()));
    let latency_ms = sent.elapsed().as_millis() as u64;
    let deadline_ms = deadline.as_millis() as u64;
    tracing::debug!(
        target: "payment::attempt",
        provider, operation = call.operation.as_str(), %method, path, status = "none", attempt = number,
        phase = ?phase, key_hash = %key, latency_ms, deadline_ms, error = "cut off by the call's deadline", "attempt"
    );
}

/// The one debug line per attempt: what went out, what came back, and what the engine does next.
pub(super) fn log_attempt(
    Attempt { provider, call, number, phase }: Attempt<'_>,
    (method, path, sent): (&http::Method, &str, Instant),
    result: &std::result::Result<HttpResponse, TransportError>,
    retry_in: Option<Duration>,
) {
    let key = call.key.as_ref().map_or_else(|| "-".to_owned(), |k| telemetry::key_hash(k.as_str()));
    let latency_ms = sent.elapsed().as_millis() as u64;
    let retry_in_ms = retry_in.map(|d| d.as_millis() as u64);
    let operation = call.operation.as_str();
    match result {
        Ok(r) => tracing::debug!(
            target: "payment::attempt",
            provider, operation, %method, path, status = r.status().as_u16(), attempt = number,
            phase = ?phase, key_hash = %key, latency_ms, retry_in_ms, "attempt"
        ),
        Err(e) => tracing::debug!(
            target: "payment::attempt",
            provider, operation, %method, path, status = "none", attempt = number,
            phase = ?phase, key_hash = %key, latency_ms, retry_in_ms, error = %e, "attempt"
        ),
    }
}
