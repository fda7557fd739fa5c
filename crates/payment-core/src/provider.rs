//! The object-safe `Provider` trait that every provider client implements.

use std::any::Any;
use std::fmt::{Debug, Display};

use crate::capabilities::Capabilities;
use crate::charge::Charge;
use crate::refund::Refund;

/// A payment provider behind the neutral API; used as `Arc<dyn Provider>`.
pub trait Provider: Charge + Refund + Send + Sync + Debug + Display {
    /// The provider's name as in config and `payment providers` (`payjp`, `pingpp`, …).
    fn name(&self) -> &'static str;
    /// What it supports.
    fn capabilities(&self) -> &'static Capabilities;
    /// The concrete client, for its provider-only methods (`client.native::<PayjpClient>()`).
    fn as_any(&self) -> &dyn Any;
}

/// Implements [`Provider`] for a client type from the provider's driver, which states its name
/// and capabilities once.
///
/// `payment_core::provider_impl!(PayjpClient, crate::DRIVER);`
#[macro_export]
macro_rules! provider_impl {
    ($client:ty, $driver:path) => {
        impl $crate::Provider for $client {
            fn name(&self) -> &'static str {
                $driver.name
            }
            fn capabilities(&self) -> &'static $crate::Capabilities {
                $driver.capabilities
            }
            fn as_any(&self) -> &dyn ::std::any::Any {
                self
            }
        }
    };
}

/// Declares a provider crate's standard modules (docs/architecture.md §11: `capabilities`,
/// `client`, `config`, `fixtures`, `mapping`, `mock` behind the crate's `mock` feature,
/// `signing`, `wire`), its `NAME`, and its `DRIVER` built from them: the one place a provider
/// states its name and description. A crate missing a standard file does not compile. The
/// client's `with_engine(config, engine)` and the config's `from_settings` and `mode` are what
/// `connect` uses; `mode = "mock"` is refused there (the facade starts the embedded mock).
///
/// ```ignore
/// payment_core::provider_crate! {
///     name: "payjp",
///     description: "PAY.JP v1 (Japan): cards in JPY",
///     client: PayjpClient,
///     config: PayjpConfig,
/// }
/// ```
#[macro_export]
macro_rules! provider_crate {
    (name: $name:literal, description: $description:literal, client: $client:ident, config: $config:ident $(,)?) => {
        pub mod capabilities;
        pub mod client;
        pub mod config;
        pub mod fixtures;
        pub mod mapping;
        #[cfg(feature = "mock")]
        pub mod mock;
        pub mod signing;
        pub mod wire;

        pub use capabilities::CAPABILITIES;
        pub use client::$client;
        pub use config::$config;

        /// The provider's name in config and records.
        pub const NAME: &str = $name;

        /// The driver the `payment` facade registers.
        pub static DRIVER: $crate::ProviderDriver = $crate::ProviderDriver {
            name: NAME,
            description: $description,
            capabilities: &CAPABILITIES,
            config_keys: config::CONFIG_KEYS,
            connect: |settings, engine| ::std::boxed::Box::pin(connect(settings, engine)),
            fixtures: fixtures::fixtures,
            #[cfg(feature = "mock")]
            mock: Some(&mock::MOCK),
            #[cfg(not(feature = "mock"))]
            mock: None,
            webhooks: Some(signing::webhook_verifier),
        };

        async fn connect(
            settings: $crate::ProviderSettings,
            engine: $crate::transport::EngineBuilder,
        ) -> $crate::Result<$crate::PaymentClient> {
            let config = $config::from_settings(&settings)?;
            if config.mode == $crate::Mode::Mock {
                return Err($crate::config::mock_unavailable(NAME));
            }
            Ok($crate::PaymentClient::new(::std::sync::Arc::new($client::with_engine(config, engine)?)))
        }
    };
}
