#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "processor")]
pub mod backend;
pub mod capabilities;
pub mod client;
pub mod config;
pub mod fixtures;
pub mod jose;
pub mod mapping;
#[cfg(feature = "mock")]
pub mod mock;
#[cfg(feature = "pgp")]
pub mod pgp;
#[cfg(feature = "processor")]
pub mod processor;
pub mod signing;
pub mod wire;

use std::sync::Arc;

use payment_core::transport::EngineBuilder;
use payment_core::{Mode, PaymentClient, ProviderDriver, ProviderSettings, Result};

pub use capabilities::CAPABILITIES;
pub use client::GspClient;
pub use config::GspConfig;
pub use wire::ErrorResponse as GspErrorResponse;

/// The provider's name in config and records.
pub const NAME: &str = "google-standard-payments";

/// The driver the `payment` facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "Google Standard Payments (processor v1): captures and refunds of Google payment tokens, JWS in JWE",
    capabilities: &CAPABILITIES,
    config_keys: config::CONFIG_KEYS,
    connect: |settings, engine| Box::pin(connect(settings, engine)),
    fixtures: fixtures::fixtures,
    #[cfg(feature = "mock")]
    mock: Some(&mock::MOCK),
    #[cfg(not(feature = "mock"))]
    mock: None,
    webhooks: Some(signing::webhook_verifier),
};

async fn connect(settings: ProviderSettings, engine: EngineBuilder) -> Result<PaymentClient> {
    let config = GspConfig::from_settings(&settings)?;
    if config.mode == Mode::Mock {
        return Err(payment_core::config::mock_unavailable(NAME));
    }
    Ok(PaymentClient::new(Arc::new(GspClient::with_engine(config, engine)?)))
}
