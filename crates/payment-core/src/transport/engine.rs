//! The engine: per call, a `tower::retry::Retry` over the dispatch service and the HTTP stack.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceBuilder, ServiceExt};

use super::call::{Call, LookupAnswer, Phase, ReplyClass};
use super::dispatch::{Attempt, AttemptError, Dispatch};
use super::http::{HttpRequest, HttpResponse, HttpService, ReqwestService, TransportError, parse_retry_after};
use super::policy::EnginePolicy;
use super::sleep::{Sleeper, TokioSleeper};
use super::trace::TraceLayer;
use crate::error::{Error, ErrorKind, Result};
use crate::idempotency::{IdempotencyKey, IdempotencySupport};
use crate::retry::{AttemptFailure, ExponentialBackoff, RetryPolicy, TransportFailure};

/// Sends provider calls with the idempotency and retry rules of docs/architecture.md §4. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    provider: &'static str,
    http: HttpService,
    policy: Arc<dyn RetryPolicy>,
    sleeper: Arc<dyn Sleeper>,
    call_timeout: Option<Duration>,
}

type LayerFn = Box<dyn FnOnce(HttpService) -> HttpService + Send>;

/// Builds an [`Engine`]: retry policy, timeouts, concurrency limit, user tower layers.
pub struct EngineBuilder {
    provider: &'static str,
    client: Option<reqwest::Client>,
    policy: Arc<dyn RetryPolicy>,
    sleeper: Arc<dyn Sleeper>,
    attempt_timeout: Duration,
    connect_timeout: Duration,
    concurrency_limit: usize,
    layers: Vec<LayerFn>,
    transport: Option<HttpService>,
    call_timeout: Option<Duration>,
}

impl EngineBuilder {
    /// Defaults: exponential backoff, 30 s per attempt, 10 s to connect, 256 requests in flight.
    pub fn new(provider: &'static str) -> EngineBuilder {
        EngineBuilder {
            provider,
            client: None,
            policy: Arc::new(ExponentialBackoff::default()),
            sleeper: Arc::new(TokioSleeper),
            attempt_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency_limit: 256,
            layers: Vec::new(),
            transport: None,
            call_timeout: None,
        }
    }

    /// The deadline of every call, retries included, unless its `RequestOptions::timeout` says otherwise
    /// (config `timeout`, the CLI's `--timeout`).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// The retry policy.
    pub fn retry_policy(mut self, policy: impl RetryPolicy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// The retry policy, shared.
    pub fn retry_policy_arc(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// How retries wait (tests inject a [`super::RecordingSleeper`]).
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The limit on one attempt.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The limit on connecting.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Most HTTP requests in flight at once through this engine.
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.concurrency_limit = limit.max(1);
        self
    }

    /// Uses this `reqwest::Client` (its own timeouts and TLS settings apply under ours).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Replaces reqwest as the innermost service (a fake transport for tests, or another client).
    pub fn transport(mut self, service: HttpService) -> Self {
        self.transport = Some(service);
        self
    }

    /// Adds a tower layer around every HTTP attempt (outermost last added).
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + 'static,
        L::Service: tower::Service<HttpRequest, Response = HttpResponse, Error = TransportError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<HttpRequest>>::Future: Send + 'static,
    {
        self.layers.push(Box::new(move |s| BoxCloneSyncService::new(layer.layer(s))));
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Result<Engine> {
        let inner: HttpService = match (self.transport, self.client) {
            (Some(t), _) => t,
            (None, Some(c)) => BoxCloneSyncService::new(ReqwestService::new(c)),
            (None, None) => BoxCloneSyncService::new(ReqwestService::new(
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .build()
                    .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?,
            )),
        };
        let attempt_timeout = self.attempt_timeout;
        let stack = ServiceBuilder::new()
            .map_err(move |e: tower::BoxError| match e.downcast::<TransportError>() {
                Ok(t) => *t,
                Err(e) if e.is::<tower::timeout::error::Elapsed>() => {
                    TransportError::new(TransportFailure::Timeout, format!("no response within {attempt_timeout:?}"))
                }
                Err(e) => TransportError::new(TransportFailure::Broken, e.to_string()),
            })
            .timeout(attempt_timeout)
            .concurrency_limit(self.concurrency_limit)
            .layer(TraceLayer::new(self.provider))
            .service(inner);
        let mut http: HttpService = BoxCloneSyncService::new(stack);
        for layer in self.layers {
            http = layer(http);
        }
        Ok(Engine {
            inner: Arc::new(EngineInner {
                provider: self.provider,
                http,
                policy: self.policy,
                sleeper: self.sleeper,
                call_timeout: self.call_timeout,
            }),
        })
    }
}

impl Engine {
    /// The provider this engine sends for.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// Runs one logical call to a final response or error.
    ///
    /// Transport failures become errors here; HTTP responses (any status) are returned for the
    /// provider to decode, carrying whether the outcome is uncertain ([`HttpReply::fail`]).
    pub async fn execute(&self, call: Call) -> Result<HttpReply> {
        // The retry/timeout state is a few hundred bytes. Boxed, it stays out of every provider's
        // operation future, which would otherwise pass the 1,032 bytes glibc serves from its
        // per-thread cache and take the allocator's slow path on every charge.
        Box::pin(self.run(call)).await
    }

    async fn run(&self, call: Call) -> Result<HttpReply> {
        let provider = self.inner.provider;
        let deadline = call.deadline.or(self.inner.call_timeout).or_else(|| self.inner.policy.max_elapsed());
        // A stateful policy (a `backoff` schedule) gets a fresh copy per call, so concurrent calls
        // never reset or advance each other's delays.
        let per_call = self.inner.policy.for_call().unwrap_or_else(|| self.inner.policy.clone());
        let policy = EnginePolicy { policy: per_call, sleeper: self.inner.sleeper.clone(), deadline };
        let service = tower::retry::Retry::new(policy, Dispatch { provider, http: self.inner.http.clone() });
        let attempt = Attempt::new(call);
        let call = attempt.call.clone();
        let future = service.oneshot(attempt.clone());
        let result = match deadline {
            Some(d) => tokio::time::timeout(d, future).await.map_err(|_elapsed| d),
            None => Ok(future.await),
        };
        let st = attempt.state();
        let tag = |e: Error| {
            let mut e = e.with_provider(provider).with_operation(call.operation);
            if let Some(k) = &call.key {
                e = e.with_idempotency_key(k.clone());
            }
            if let Some(r) = &call.reference {
                e = e.with_reference(r.clone());
            }
            e
        };
        let mutating = call.idempotency != IdempotencySupport::Safe;
        match result {
            Err(limit) => {
                let e = Error::new(
                    ErrorKind::Timeout,
                    format!("deadline of {limit:?} passed after {} attempt(s)", st.attempts),
                );
                Err(tag(if mutating && (st.ambiguous || st.in_flight) { e.into_outcome_unknown() } else { e }))
            }
            // An earlier attempt may have landed even if this one could not be built.
            Ok(Err(AttemptError::Build(e))) => {
                Err(tag(if mutating && st.ambiguous { e.into_outcome_unknown() } else { e }))
            }
            Ok(Err(AttemptError::Transport(t))) => {
                let kind = if t.failure == TransportFailure::Timeout { ErrorKind::Timeout } else { ErrorKind::Network };
                let e =
                    Error::new(kind, format!("{} after {} attempt(s)", t.message, st.attempts)).with_source(t.clone());
                Err(tag(if mutating && st.ambiguous { e.into_outcome_unknown() } else { e }))
            }
            Ok(Ok(reply)) => {
                let lookup_settled = reply.phase == Phase::Lookup
                    && call.lookup.as_ref().is_some_and(|l| (l.found)(&reply.response) == LookupAnswer::Found);
                if reply.phase == Phase::Lookup && !lookup_settled {
                    // The lookup could not say, or said nothing was created and retries ran out.
                    let mut e = failure_error(st.last_failure, st.attempts);
                    if let Some(AttemptFailure::Status { retry_after: Some(after), .. }) = st.last_failure {
                        e = e.with_retry_after(after);
                    }
                    return Err(tag(if st.ambiguous { e.into_outcome_unknown() } else { e }));
                }
                // A call that ends on a duplicate rejection its lookup never explained: the natural
                // key is taken by something not visible yet, which may be this very payment.
                let unexplained_duplicate = reply.phase == Phase::Send
                    && call.lookup.is_some()
                    && (call.classify)(&reply.response) == ReplyClass::DuplicateRejected;
                Ok(HttpReply {
                    response: reply.response,
                    phase: reply.phase,
                    attempts: st.attempts,
                    uncertain: mutating && ((st.ambiguous && !lookup_settled) || unexplained_duplicate),
                    resent_after_absence: mutating && st.resent_after_absence,
                    unexplained_duplicate: mutating && unexplained_duplicate,
                    mutating,
                    earlier_duplicate: st.earlier_duplicate,
                    provider,
                    operation: call.operation,
                    key: call.key.clone(),
                    reference: call.reference.clone(),
                })
            }
        }
    }
}

fn failure_error(failure: Option<AttemptFailure>, attempts: u32) -> Error {
    let (kind, what) = match failure {
        Some(AttemptFailure::Transport(TransportFailure::Timeout)) => (ErrorKind::Timeout, "timed out".to_owned()),
        Some(AttemptFailure::Transport(_)) => (ErrorKind::Network, "the connection failed".to_owned()),
        Some(AttemptFailure::Status { status: 429, .. }) => (ErrorKind::RateLimited, "rate limited (429)".to_owned()),
        Some(AttemptFailure::Status { status, .. }) => (ErrorKind::ProviderUnavailable, format!("answered {status}")),
        None => (ErrorKind::ProviderUnavailable, "failed".to_owned()),
    };
    Error::new(kind, format!("the provider {what}; gave up after {attempts} attempt(s)"))
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("provider", &self.inner.provider)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// A provider's final HTTP response to one call.
#[derive(Debug)]
pub struct HttpReply {
    /// The response with its body.
    pub response: HttpResponse,
    /// Whether it answers the operation itself or the lookup after an ambiguous failure.
    pub phase: Phase,
    /// Attempts made (lookups included).
    pub attempts: u32,
    uncertain: bool,
    resent_after_absence: bool,
    unexplained_duplicate: bool,
    mutating: bool,
    earlier_duplicate: bool,
    provider: &'static str,
    operation: &'static str,
    key: Option<IdempotencyKey>,
    reference: Option<String>,
}

impl HttpReply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.response.status().is_success()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        self.response.body()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether an earlier attempt may have taken effect without this response settling it.
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Whether a lookup answered a duplicate rejection that no attempt of this call caused: the
    /// object found was made by an earlier call, so check that it matches this request.
    pub fn found_earlier_duplicate(&self) -> bool {
        self.phase == Phase::Lookup && self.earlier_duplicate
    }

    /// Decodes the JSON body; a mismatch is a `Decode` error naming the provider and operation
    /// (`OutcomeUnknown` after a mutating call's success answer: see [`HttpReply::tag`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.body()).map_err(|e| {
            let what = format!("the {} response (HTTP {})", self.operation, self.status());
            self.tag(Error::decode(&what, e).with_http_status(self.status()))
        })
    }

    /// Finishes a provider-mapped error: adds provider, operation, status, key and reference, and
    /// makes it `OutcomeUnknown` when an earlier attempt may have taken effect.
    pub fn fail(&self, error: Error) -> Error {
        let mut e = error.with_provider(self.provider).with_operation(self.operation).with_http_status(self.status());
        e = self.with_recovery(e);
        if e.retry_after().is_none()
            && matches!(self.status(), 429 | 503)
            && let Some(after) = parse_retry_after(self.response.headers())
        {
            e = e.with_retry_after(after);
        }
        // Uncertain and refused: a transient refusal, or any refusal of a resend after a lookup
        // found nothing (the original may be what made the resend refused), says nothing of the
        // original. A decline stands: a landed original would have made the resend a duplicate.
        if self.uncertain
            && (self.unexplained_duplicate
                || matches!(e.kind(), ErrorKind::ProviderUnavailable | ErrorKind::RateLimited | ErrorKind::Timeout)
                || (self.resent_after_absence && !matches!(e.kind(), ErrorKind::CardDeclined(_))))
        {
            e = e.into_outcome_unknown();
        }
        e
    }

    fn with_recovery(&self, mut e: Error) -> Error {
        if let Some(k) = &self.key {
            e = e.with_idempotency_key(k.clone());
        }
        if let Some(r) = &self.reference {
            e = e.with_reference(r.clone());
        }
        e
    }

    /// `Ok` for a 2xx answer; otherwise the provider's error, read from the answer by `to_error` and
    /// finished by [`HttpReply::fail`].
    pub fn ok_or(&self, to_error: impl FnOnce(&HttpReply) -> Error) -> Result<()> {
        if self.is_success() { Ok(()) } else { Err(self.fail(to_error(self))) }
    }

    /// Tags a decoding or integrity error with the provider and operation.
    ///
    /// A success answer to a mutating call that cannot be read (invalid JSON, HTML, an empty body,
    /// the wrong shape, an overflowing number) leaves the call's effect unknown: the charge may
    /// exist. Such a `Decode` error becomes `OutcomeUnknown`, carrying the key to recover with.
    /// Reads stay definite `Decode` errors.
    pub fn tag(&self, error: Error) -> Error {
        let e = error.with_provider(self.provider).with_operation(self.operation);
        if self.mutating && self.is_success() && e.kind() == ErrorKind::Decode {
            return self.with_recovery(e).into_outcome_unknown();
        }
        e
    }
}
