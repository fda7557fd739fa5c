//! A provider's mock as the rest of the workspace starts it: [`MockDriver`] (reached from the
//! provider's `ProviderDriver`), [`MockOptions`] in, [`MockHandle`] out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use futures::future::BoxFuture;
use payment_core::{Error, Operation, ProviderDriver, ProviderSettings, Result};

use crate::control::MockControl;
use crate::faults::FaultPlan;
use crate::keys::SigningKeys;
use crate::kit::{MockHooks, MockKit};
use crate::server::{LOOPBACK_ANY_PORT, MockServer};

/// Where and how to start a mock.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// The address (default `127.0.0.1:0`).
    pub addr: Option<SocketAddr>,
    /// Faults active from the first request.
    pub faults: Option<FaultPlan>,
    /// Where a signing mock writes the keys a client needs.
    pub keys_dir: Option<PathBuf>,
    /// The id seed (default: from the clock).
    pub seed: Option<u64>,
    /// Keys a signing mock uses instead of generating its own (RSA generation is slow; tests share one set).
    pub signing_keys: Option<SigningKeys>,
    /// Where the mock POSTs its provider's webhooks on each state change (none: not sent).
    pub webhook_url: Option<String>,
}

impl MockOptions {
    /// The address to bind.
    pub fn addr(&self) -> Result<SocketAddr> {
        match self.addr {
            Some(a) => Ok(a),
            None => LOOPBACK_ANY_PORT.parse().map_err(|_| Error::config("bad loopback address")),
        }
    }

    /// The id seed.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(11)
        })
    }

    /// The given signing keys, or fresh ones.
    pub fn signing_keys(&self) -> Result<SigningKeys> {
        match &self.signing_keys {
            Some(k) => Ok(k.clone()),
            None => SigningKeys::generate(),
        }
    }
}

/// A running mock and what a client needs to use it.
#[derive(Debug)]
pub struct MockHandle {
    /// The server (stops when dropped).
    pub server: MockServer,
    /// Settings that point a client at this mock: `base_url`, accepted test credentials, signing keys.
    pub settings: ProviderSettings,
    /// Settings whose credentials this mock refuses, when it can be made to refuse any.
    pub bad_key_settings: Option<ProviderSettings>,
    /// The key files written to `keys_dir`.
    pub key_files: Vec<PathBuf>,
}

impl MockHandle {
    /// A handle whose client settings are `settings` with this server's `base_url`.
    pub fn new(server: MockServer, settings: ProviderSettings) -> MockHandle {
        let settings = settings.with("base_url", server.url());
        MockHandle { server, settings, bad_key_settings: None, key_files: Vec::new() }
    }

    /// The settings whose credentials this mock refuses (`base_url` added).
    pub fn with_bad_key(mut self, settings: ProviderSettings) -> MockHandle {
        self.bad_key_settings = Some(settings.with("base_url", self.server.url()));
        self
    }

    /// Records the key files written.
    pub fn with_key_files(mut self, files: Vec<PathBuf>) -> MockHandle {
        self.key_files = files;
        self
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The typed control handle.
    pub fn control(&self) -> MockControl {
        self.server.control()
    }
}

/// The path patterns of a mutating operation's own request (`*` matches one path segment), so a
/// fault can hit the request that matters and not a sub-request before it (a token, a lookup).
/// Empty for an operation the provider has not, and for reads.
pub type OperationPaths = fn(Operation) -> &'static [&'static str];

/// How to start a provider's stateful mock; a provider crate's `ProviderDriver::mock` points at one.
pub struct MockDriver {
    /// Starts a fresh mock.
    pub start: fn(MockOptions) -> BoxFuture<'static, Result<MockHandle>>,
    /// Where each mutating operation's own request goes.
    pub paths: OperationPaths,
    /// The inputs this mock treats specially (test cards, channels, magic names), read from the
    /// tables the mock itself decides by: what `payment providers --test-data` prints.
    pub test_data: fn() -> Vec<TestInput>,
}

/// One input a mock treats specially, and what it does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestInput {
    /// What to send (`card 4000000000000002`, `channel alipay`, `token …insufficient_funds…`).
    pub input: String,
    /// What the mock does with it (`declined: card_declined`).
    pub effect: String,
}

impl TestInput {
    /// An input and its effect.
    pub fn new(input: impl Into<String>, effect: impl Into<String>) -> TestInput {
        TestInput { input: input.into(), effect: effect.into() }
    }
}

impl MockDriver {
    /// The mock of `driver`, when its crate was built with the `mock` feature.
    pub fn of(driver: &ProviderDriver) -> Option<&'static MockDriver> {
        driver.mock.and_then(|m| m.downcast_ref::<MockDriver>())
    }
}

impl std::fmt::Debug for MockDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockDriver").finish_non_exhaustive()
    }
}

/// Serves a provider's routes the way every mock starts: the options' address, the options' faults.
pub async fn serve(
    kit: Arc<MockKit>,
    hooks: Arc<dyn MockHooks>,
    routes: Router,
    options: &MockOptions,
) -> Result<MockServer> {
    let provider = hooks.provider();
    if let Some(plan) = &options.faults {
        plan.validate().map_err(|m| Error::config(format!("{provider} mock faults: {m}")))?;
        kit.set_faults(plan.clone());
    }
    if let Some(url) = &options.webhook_url {
        kit.webhooks.configure(url, hooks.webhook_retry_schedule());
    }
    MockServer::start(kit, hooks, routes, options.addr()?)
        .await
        .map_err(|e| Error::config(format!("cannot start the {provider} mock: {e}")))
}
