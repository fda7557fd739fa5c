//! Provider drivers (the one plug-in point of a provider) and the registry of those compiled in
//! (a plain value, no global state).

use std::any::Any;
use std::fmt;

use futures::future::BoxFuture;

use crate::capabilities::Capabilities;
use crate::client::PaymentClient;
use crate::config::{Config, ProviderSettings};
use crate::error::{Error, Result};
use crate::fixtures::Fixtures;
use crate::transport::EngineBuilder;
use crate::webhook::WebhookVerifier;

/// A provider the framework knows of, and the facade feature that compiles it in.
#[derive(Debug, Clone, Copy)]
pub struct KnownProvider {
    /// The name used in config.
    pub name: &'static str,
    /// The `payment` crate feature that compiles it in (empty: not implemented in this version).
    pub feature: &'static str,
}

/// One setting a provider reads from its `[table]` or `PAYMENT_<PROVIDER>_<KEY>`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKey {
    /// The key (`secret_key`).
    pub name: &'static str,
    /// One line about it.
    pub doc: &'static str,
    /// Whether it must be set to reach the real API.
    pub required: bool,
}

/// Builds a provider's webhook verifier from its settings.
pub type WebhookBuilder = fn(&ProviderSettings) -> Result<Box<dyn WebhookVerifier>>;

/// Everything the rest of the workspace knows of a provider; each provider crate exports one as
/// `DRIVER`, and the facade lists them.
pub struct ProviderDriver {
    /// The provider's name.
    pub name: &'static str,
    /// One line about it.
    pub description: &'static str,
    /// What it supports.
    pub capabilities: &'static Capabilities,
    /// The settings it reads besides the common `mode`, `base_url` and `timeout`.
    pub config_keys: &'static [ConfigKey],
    /// Builds a client from settings over `engine` (starting the embedded mock when `mode = "mock"`).
    pub connect: fn(ProviderSettings, EngineBuilder) -> BoxFuture<'static, Result<PaymentClient>>,
    /// What the demo, the examples and the conformance suite charge with.
    pub fixtures: fn() -> Fixtures,
    /// The provider's stateful mock: a `payment_mock_kit::MockDriver` when the crate's `mock`
    /// feature is on. Held as `Any` because the mock kit depends on this crate, not the reverse;
    /// `payment_mock_kit::MockDriver::of(driver)` reads it.
    pub mock: Option<&'static (dyn Any + Send + Sync)>,
    /// Builds the provider's webhook verifier from its settings (only its webhook keys are read);
    /// `None` when the provider's notifications are not verified by this library yet.
    pub webhooks: Option<WebhookBuilder>,
}

impl ProviderDriver {
    /// Connects with settings, over an engine with the settings' `timeout` as every call's deadline.
    pub async fn connect_with(&self, settings: ProviderSettings, engine: EngineBuilder) -> Result<PaymentClient> {
        let engine = match settings.timeout()? {
            Some(t) => engine.call_timeout(t),
            None => engine,
        };
        (self.connect)(settings, engine).await
    }
}

impl fmt::Debug for ProviderDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderDriver")
            .field("name", &self.name)
            .field("mock", &self.mock.is_some())
            .finish_non_exhaustive()
    }
}

/// The compiled-in drivers, and the providers known but not compiled in.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    drivers: Vec<&'static ProviderDriver>,
    known: &'static [KnownProvider],
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a driver (builder style).
    pub fn with(mut self, driver: &'static ProviderDriver) -> Registry {
        self.drivers.retain(|d| d.name != driver.name);
        self.drivers.push(driver);
        self
    }

    /// Names the providers that exist beyond those compiled in, so errors can say which feature to enable.
    pub fn knowing(mut self, known: &'static [KnownProvider]) -> Registry {
        self.known = known;
        self
    }

    /// The drivers, in registration order.
    pub fn drivers(&self) -> &[&'static ProviderDriver] {
        &self.drivers
    }

    /// Every provider name this registry can read settings for (compiled in or not).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.drivers.iter().map(|d| d.name).collect();
        for k in self.known {
            if !names.contains(&k.name) {
                names.push(k.name);
            }
        }
        names
    }

    /// The driver named `name`; the error says which are compiled in, or which feature to enable.
    pub fn get(&self, name: &str) -> Result<&'static ProviderDriver> {
        if let Some(d) = self.drivers.iter().find(|d| d.name == name) {
            return Ok(d);
        }
        let compiled: Vec<&str> = self.drivers.iter().map(|d| d.name).collect();
        let compiled = if compiled.is_empty() { "none".to_owned() } else { compiled.join(", ") };
        match self.known.iter().find(|k| k.name == name) {
            Some(k) if k.feature.is_empty() => Err(Error::config(format!(
                "provider `{name}` is not implemented in this version of the library (compiled in: {compiled})"
            ))),
            Some(k) => Err(Error::config(format!(
                "provider `{name}` is not compiled in: enable the `{}` feature of the `payment` crate (compiled in: {compiled})",
                k.feature
            ))),
            None => {
                let names = self.known.iter().map(|k| k.name).chain(self.drivers.iter().map(|d| d.name));
                let suggestion = crate::text::did_you_mean(name, names);
                Err(Error::config(format!("unknown provider `{name}`{suggestion}; compiled in: {compiled}")))
            }
        }
    }

    /// Connects to the provider `config` chooses, with the default engine.
    pub async fn connect(&self, config: &Config) -> Result<PaymentClient> {
        let name = config.provider_name()?;
        let driver = self.get(name)?;
        driver.connect_with(config.settings(name), EngineBuilder::new(driver.name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[KnownProvider] =
        &[KnownProvider { name: "payjp", feature: "payjp" }, KnownProvider { name: "justap", feature: "" }];

    #[test]
    fn missing_providers_say_what_to_do() {
        let empty = Registry::new().knowing(KNOWN);
        let e = empty.get("payjp").unwrap_err();
        assert!(e.message().contains("enable the `payjp` feature of the `payment` crate"), "{e}");
        let e = empty.get("justap").unwrap_err();
        assert!(e.message().contains("not implemented in this version"), "{e}");
        let e = empty.get("stripe").unwrap_err();
        assert!(e.message().contains("unknown provider `stripe`") && e.message().contains("none"), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert_eq!(empty.names(), ["payjp", "justap"]);
    }
}
