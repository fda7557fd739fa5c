//! Builds an [`Engine`]: the HTTP stack under the retry loop (timeouts, concurrency, user layers).

use std::sync::Arc;
use std::time::Duration;

use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceBuilder};

use super::engine::{Engine, EngineInner};
use super::http::{HttpRequest, HttpResponse, HttpService, ReqwestService, TransportError};
use super::sleep::{Sleeper, TokioSleeper};
use super::template::UrlTemplates;
use crate::error::{Error, Result};
use crate::retry::{ExponentialBackoff, RetryPolicy, TransportFailure};

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
    templates: UrlTemplates,
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
            templates: UrlTemplates::default(),
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

    /// The current retry policy, no longer retrying a connection that could not be made (see
    /// [`crate::retry::FailFastOnConnect`]).
    pub fn fail_fast_on_connect(mut self) -> Self {
        self.policy = Arc::new(crate::retry::FailFastOnConnect::new(self.policy));
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

    /// The URL templates of the provider's requests, what spans and metrics name each attempt by
    /// (`/v1/charges/{id}`); each provider's client sets its own.
    pub fn url_templates(mut self, templates: UrlTemplates) -> Self {
        self.templates = templates;
        self
    }

    /// The longest a call through this engine may take unless a request says otherwise: its
    /// `call_timeout`, else the retry policy's `max_elapsed`; `None` when neither bounds it.
    pub fn deadline(&self) -> Option<Duration> {
        self.call_timeout.or_else(|| self.policy.max_elapsed())
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
                templates: self.templates,
            }),
        })
    }
}
