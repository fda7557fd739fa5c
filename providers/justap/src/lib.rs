#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod capabilities;
pub mod client;
pub mod config;
pub mod fixtures;
pub mod mapping;
#[cfg(feature = "mock")]
pub mod mock;
pub mod pagination;
pub mod signing;
pub mod wire;

use std::sync::Arc;

use payment_core::transport::EngineBuilder;
use payment_core::{Mode, PaymentClient, ProviderDriver, ProviderSettings, Result};

pub use capabilities::CAPABILITIES;
pub use client::JustapClient;
pub use config::JustapConfig;
pub use wire::ApiError as JustapApiError;

/// The provider's name in config and records.
pub const NAME: &str = "justap";

/// The driver the `payment` facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "Justap (China): Alipay, WeChat Pay and UnionPay channels in CNY, RSA-signed",
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
    let config = JustapConfig::from_settings(&settings)?;
    if config.mode == Mode::Mock {
        return Err(payment_core::config::mock_unavailable(NAME));
    }
    Ok(PaymentClient::new(Arc::new(JustapClient::with_engine(config, engine)?)))
}
