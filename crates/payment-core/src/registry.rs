//! Provider drivers and the registry of those compiled in (a plain value, no global state).

use std::fmt;

use futures::future::BoxFuture;

use crate::capabilities::Capabilities;
use crate::client::PaymentClient;
use crate::config::{Config, ProviderSettings};
use crate::error::{Error, Result};

/// A provider the framework knows of, and the facade feature that compiles it in.
#[derive(Debug, Clone, Copy)]
pub struct KnownProvider {
    /// The name used in config.
    pub name: &'static str,
    /// The `payment` crate feature that compiles it in (empty: not implemented in this version).
    pub feature: &'static str,
}

/// Every provider of the framework, compiled in or not.
pub const KNOWN_PROVIDERS: &[KnownProvider] = &[
    KnownProvider { name: "payjp", feature: "payjp" },
    KnownProvider { name: "pingpp", feature: "pingpp" },
    KnownProvider { name: "justap", feature: "" },
    KnownProvider { name: "worldpay", feature: "worldpay" },
    KnownProvider { name: "google-standard-payments", feature: "" },
    KnownProvider { name: "memory", feature: "(always compiled in)" },
];

/// What each provider crate exports as `DRIVER`: its name and how to connect from settings.
pub struct ProviderDriver {
    /// The provider's name.
    pub name: &'static str,
    /// One line about it.
    pub description: &'static str,
    /// What it supports.
    pub capabilities: &'static Capabilities,
    /// Builds a client from settings (starting the embedded mock when `mode = "mock"`).
    pub connect: fn(ProviderSettings) -> BoxFuture<'static, Result<PaymentClient>>,
}

impl fmt::Debug for ProviderDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderDriver").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The compiled-in drivers.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    drivers: Vec<&'static ProviderDriver>,
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

    /// The drivers, in registration order.
    pub fn drivers(&self) -> &[&'static ProviderDriver] {
        &self.drivers
    }

    /// The driver named `name`; the error says which are compiled in, or which feature to enable.
    pub fn get(&self, name: &str) -> Result<&'static ProviderDriver> {
        if let Some(d) = self.drivers.iter().find(|d| d.name == name) {
            return Ok(d);
        }
        let compiled: Vec<&str> = self.drivers.iter().map(|d| d.name).collect();
        match KNOWN_PROVIDERS.iter().find(|k| k.name == name) {
            Some(k) if k.feature.is_empty() => Err(Error::config(format!(
                "provider `{name}` is not implemented in this version of the library (compiled in: {})",
                compiled.join(", ")
            ))),
            Some(k) => Err(Error::config(format!(
                "provider `{name}` is not compiled in: enable the `{}` feature of the `payment` crate (compiled in: {})",
                k.feature,
                compiled.join(", ")
            ))),
            None => Err(Error::config(format!(
                "unknown provider `{name}`; compiled in: {}",
                if compiled.is_empty() { "none".to_owned() } else { compiled.join(", ") }
            ))),
        }
    }

    /// Connects to the provider `config` chooses.
    pub async fn connect(&self, config: &Config) -> Result<PaymentClient> {
        let name = config.provider_name()?;
        let driver = self.get(name)?;
        (driver.connect)(config.settings(name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_providers_say_what_to_do() {
        let empty = Registry::new();
        let e = empty.get("payjp").unwrap_err();
        assert!(e.message().contains("enable the `payjp` feature of the `payment` crate"), "{e}");
        let e = empty.get("justap").unwrap_err();
        assert!(e.message().contains("not implemented in this version"), "{e}");
        let e = empty.get("stripe").unwrap_err();
        assert!(e.message().contains("unknown provider `stripe`") && e.message().contains("none"), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
    }
}
