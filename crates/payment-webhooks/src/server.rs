//! `WebhookServer`: the axum `Router` (itself a tower `Service`) at `POST /webhooks/{provider}`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, Request, StatusCode};
use payment_core::{DeliveryClaim, ErrorKind, ProviderDriver, ProviderSettings, WebhookVerifier};

use crate::handler::{EventHandler, Rejection};
use crate::inbox::Inbox;

/// A delivery's answer: an error as JSON, or the provider's acknowledgement.
enum Answer {
    Json(String),
    Ack(payment_core::WebhookAck),
}

/// The largest body read (1 MiB): providers' events are a few kilobytes.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How long a connection may take to send a request's headers, and its body.
pub const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections served at once; more wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// How long a delivery holds its event while the application handles it; a handling that dies
/// without a word frees the event when this runs out, for the provider's next delivery.
pub const DEFAULT_HANDLER_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a provider path does: verify with its keys, or say why it cannot.
enum Endpoint {
    Verifier(Box<dyn WebhookVerifier>),
    NoKeys(String),
}

struct Inner {
    endpoints: BTreeMap<String, Endpoint>,
    inbox: Arc<dyn Inbox>,
    handler: Arc<dyn EventHandler>,
    body_limit: usize,
    /// Milliseconds (settable on a server already shared).
    handler_lease_ms: std::sync::atomic::AtomicU64,
    /// Milliseconds a connection has for a request's headers, and again for its body.
    read_timeout_ms: std::sync::atomic::AtomicU64,
    max_connections: std::sync::atomic::AtomicUsize,
}

/// Serves every configured provider's webhooks; cheap to clone.
#[derive(Clone)]
pub struct WebhookServer {
    inner: Arc<Inner>,
}

impl WebhookServer {
    /// A server for `drivers`, each verifier built from `settings(name)`; a provider whose
    /// webhook keys are missing answers its path with 400 saying which to set.
    pub fn for_drivers(
        drivers: &[&ProviderDriver],
        settings: impl Fn(&str) -> ProviderSettings,
        inbox: Arc<dyn Inbox>,
        handler: Arc<dyn EventHandler>,
    ) -> WebhookServer {
        let endpoints = drivers
            .iter()
            .map(|d| {
                let endpoint = match d.webhooks {
                    Some(build) => match build(&settings(d.name)) {
                        Ok(v) => Endpoint::Verifier(v),
                        Err(e) => Endpoint::NoKeys(e.message().to_owned()),
                    },
                    None => Endpoint::NoKeys(format!("{} webhooks are not verified by this version", d.name)),
                };
                (d.name.to_owned(), endpoint)
            })
            .collect();
        WebhookServer::of(endpoints, inbox, handler)
    }

    fn of(
        endpoints: BTreeMap<String, Endpoint>,
        inbox: Arc<dyn Inbox>,
        handler: Arc<dyn EventHandler>,
    ) -> WebhookServer {
        WebhookServer {
            inner: Arc::new(Inner {
                endpoints,
                inbox,
                handler,
                body_limit: DEFAULT_BODY_LIMIT,
                handler_lease_ms: std::sync::atomic::AtomicU64::new(millis(DEFAULT_HANDLER_LEASE)),
                read_timeout_ms: std::sync::atomic::AtomicU64::new(millis(DEFAULT_READ_TIMEOUT)),
                max_connections: std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_CONNECTIONS),
            }),
        }
    }

    /// A server with one verifier per provider name, given directly.
    pub fn with_verifiers(
        verifiers: Vec<(String, Box<dyn WebhookVerifier>)>,
        inbox: Arc<dyn Inbox>,
        handler: Arc<dyn EventHandler>,
    ) -> WebhookServer {
        let endpoints = verifiers.into_iter().map(|(n, v)| (n, Endpoint::Verifier(v))).collect();
        WebhookServer::of(endpoints, inbox, handler)
    }

    /// The same server holding each event at most `lease` while the application handles it.
    pub fn with_handler_lease(self, lease: std::time::Duration) -> WebhookServer {
        self.inner.handler_lease_ms.store(millis(lease), Ordering::Relaxed);
        self
    }

    /// The same server giving a connection `timeout` for a request's headers, and again for its
    /// body (a slow sender is cut off: 408 for a body, the connection closed for headers).
    pub fn with_read_timeout(self, timeout: std::time::Duration) -> WebhookServer {
        self.inner.read_timeout_ms.store(millis(timeout), Ordering::Relaxed);
        self
    }

    /// The same server serving at most `n` connections at once (the rest wait to be accepted).
    pub fn with_max_connections(self, n: usize) -> WebhookServer {
        self.inner.max_connections.store(n.max(1), Ordering::Relaxed);
        self
    }

    fn read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.inner.read_timeout_ms.load(Ordering::Relaxed))
    }

    /// Providers whose deliveries are verified, and those that answer with why not.
    pub fn providers(&self) -> Vec<(String, Option<String>)> {
        self.inner
            .endpoints
            .iter()
            .map(|(name, e)| match e {
                Endpoint::Verifier(_) => (name.clone(), None),
                Endpoint::NoKeys(why) => (name.clone(), Some(why.clone())),
            })
            .collect()
    }

    /// The routes: `POST /webhooks/{provider}`. A `Router` is a tower `Service`, so it can be
    /// served by axum, hyper or any tower stack.
    pub fn router(&self) -> Router {
        Router::new().route("/webhooks/{provider}", post(receive)).with_state(self.clone())
    }

    /// Serves the routes on `listener` until the process ends: each connection has the read
    /// timeout for a request's headers (and the handler for its body), and at most the set
    /// number are served at once.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let router = self.router();
        let slots = Arc::new(tokio::sync::Semaphore::new(self.inner.max_connections.load(Ordering::Relaxed)));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else { return Ok(()) };
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted: the next one may not.
                Err(e) => {
                    tracing::debug!(target: "payment::webhooks", error = %e, "accept failed");
                    continue;
                }
            };
            let (router, header_timeout) = (router.clone(), self.read_timeout());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move { tower::ServiceExt::oneshot(router, request.map(Body::new)).await }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                if let Err(e) = connection.await {
                    tracing::debug!(target: "payment::webhooks", error = %e, "a connection ended with an error");
                }
                drop(slot);
            });
        }
    }

    /// Takes one delivery: the status to answer and its body.
    pub async fn deliver(&self, provider: &str, headers: &HeaderMap, body: &[u8]) -> (StatusCode, String) {
        let (status, _, answer) = self.take(provider, headers, body).await;
        (status, String::from_utf8_lossy(&answer).into_owned())
    }

    /// Takes one delivery: the status, content type and body to answer with.
    async fn take(&self, provider: &str, headers: &HeaderMap, body: &[u8]) -> (StatusCode, Option<String>, Vec<u8>) {
        let json = Some("application/json".to_owned());
        let (status, answer) = self.take_json(provider, headers, body).await;
        match answer {
            Answer::Json(text) => (status, json, text.into_bytes()),
            Answer::Ack(ack) => {
                (StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK), ack.content_type, ack.body)
            }
        }
    }

    /// Takes one delivery in its span (`payment webhook`), counted by what became of it.
    async fn take_json(&self, provider: &str, headers: &HeaderMap, body: &[u8]) -> (StatusCode, Answer) {
        // The path is the sender's to choose: only a configured provider's name is a label.
        let known = self.inner.endpoints.get_key_value(provider).map_or("unknown", |(name, _)| name.as_str());
        let span = tracing::info_span!(
            target: "payment::webhooks",
            "payment.webhook",
            otel.name = "payment webhook",
            payment.provider = known,
            payment.webhook.result = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
        );
        let taking = self.take_verdict(provider, headers, body);
        let (status, answer, result) = tracing::Instrument::instrument(taking, span.clone()).await;
        span.record("payment.webhook.result", result);
        span.record("http.response.status_code", status.as_u16());
        payment_core::telemetry::webhook_delivery(known, result);
        (status, answer)
    }

    /// Takes one delivery: the answer, and what became of it (`accepted`, `duplicate`,
    /// `in_progress`, `rejected` when it failed verification or named no provider, `failed`
    /// when it was verified but not handled).
    async fn take_verdict(
        &self,
        provider: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (StatusCode, Answer, &'static str) {
        let reject = |status: StatusCode, reason: String| {
            self.inner.handler.rejected(&Rejection {
                provider: provider.to_owned(),
                status: status.as_u16(),
                reason: reason.clone(),
            });
            let result = if status.is_server_error() { "failed" } else { "rejected" };
            (status, Answer::Json(serde_json::json!({"error": reason}).to_string()), result)
        };
        let verifier = match self.inner.endpoints.get(provider) {
            Some(Endpoint::Verifier(v)) => v,
            Some(Endpoint::NoKeys(why)) => return reject(StatusCode::BAD_REQUEST, why.clone()),
            None => return reject(StatusCode::NOT_FOUND, format!("no provider named {provider:?} here")),
        };
        let event = match verifier.verify(headers, body) {
            Ok(e) => e,
            Err(e) => {
                let status = e.http_status().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(
                    if e.kind() == ErrorKind::Authentication {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                );
                return reject(status, e.message().to_owned());
            }
        };
        let (id, name) = (event.id.clone(), event.provider.clone());
        let ack = match verifier.acknowledge(&event) {
            Ok(ack) => ack,
            Err(e) => return reject(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot answer it: {}", e.message())),
        };
        let lease = std::time::Duration::from_millis(self.inner.handler_lease_ms.load(Ordering::Relaxed));
        let token = match self.inner.inbox.claim(&name, &id, lease).await {
            Ok(DeliveryClaim::Done) => return (StatusCode::OK, Answer::Ack(ack), "duplicate"),
            Ok(DeliveryClaim::InProgress) => {
                let (status, answer, _) = reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "another delivery of this event is being handled; deliver it again later".into(),
                );
                return (status, answer, "in_progress");
            }
            Ok(DeliveryClaim::New(token)) => token,
            Err(e) => return reject(StatusCode::INTERNAL_SERVER_ERROR, format!("the inbox failed: {}", e.message())),
        };
        // Handled on a task of its own: a provider hanging up cannot cancel it half way, and
        // the task itself marks the event done, or forgets it when the application refused it
        // or panicked, so the provider's next delivery is handled.
        let (inbox, handler) = (self.inner.inbox.clone(), self.inner.handler.clone());
        let handling = tokio::spawn(async move {
            // The handler on a task of its own again, so its panic is an answer here.
            let outcome = match tokio::spawn(async move { handler.handle(event).await }).await {
                Ok(result) => result,
                Err(e) => Err(payment_core::Error::new(ErrorKind::Journal, format!("the handler failed: {e}"))),
            };
            match &outcome {
                Ok(()) => {
                    if let Err(e) = inbox.done(&name, &id, token).await {
                        tracing::warn!(target: "payment::webhooks", provider = %name, event = %id, error = %e, "could not mark a handled event done; its lease will expire");
                    }
                }
                Err(_) => {
                    let _ = inbox.forget(&name, &id, token).await;
                }
            }
            outcome
        });
        match handling.await {
            Ok(Ok(())) => (StatusCode::OK, Answer::Ack(ack), "accepted"),
            Ok(Err(e)) => {
                reject(StatusCode::INTERNAL_SERVER_ERROR, format!("the application did not take it: {}", e.message()))
            }
            Err(e) => reject(StatusCode::INTERNAL_SERVER_ERROR, format!("the handling task failed: {e}")),
        }
    }
}

async fn receive(
    State(server): State<WebhookServer>,
    Path(provider): Path<String>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let reading = tokio::time::timeout(server.read_timeout(), axum::body::to_bytes(body, server.inner.body_limit));
    let body = match reading.await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            let (status, body) = server.reject_size(&provider);
            return (status, body).into_response();
        }
        Err(_) => {
            let reason = format!("the body did not arrive within {:?}", server.read_timeout());
            server.inner.handler.rejected(&Rejection {
                provider: provider.clone(),
                status: StatusCode::REQUEST_TIMEOUT.as_u16(),
                reason: reason.clone(),
            });
            return (StatusCode::REQUEST_TIMEOUT, serde_json::json!({"error": reason}).to_string()).into_response();
        }
    };
    let (status, content_type, answer) = server.take(&provider, &parts.headers, &body).await;
    match content_type {
        Some(t) => (status, [(http::header::CONTENT_TYPE, t)], answer).into_response(),
        None => (status, answer).into_response(),
    }
}

impl WebhookServer {
    fn reject_size(&self, provider: &str) -> (StatusCode, String) {
        let reason = format!("the body is over {} bytes or could not be read", self.inner.body_limit);
        self.inner.handler.rejected(&Rejection {
            provider: provider.to_owned(),
            status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
            reason: reason.clone(),
        });
        (StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({"error": reason}).to_string())
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
