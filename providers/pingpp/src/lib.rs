#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod capabilities;
pub mod client;
pub mod config;
pub mod mapping;
#[cfg(feature = "mock")]
pub mod mock;
pub mod pagination;
pub mod signing;
pub mod wire;

use std::sync::Arc;

use payment_core::{Error, Mode, PaymentClient, ProviderDriver, ProviderSettings, Result};

pub use capabilities::CAPABILITIES;
pub use client::PingppClient;
pub use config::PingppConfig;
pub use signing::PingppWebhookVerifier;
pub use wire::ApiError as PingppApiError;

/// The provider's name in config and records.
pub const NAME: &str = "pingpp";

/// The driver the `payment` facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "Ping++ (China): Alipay, WeChat Pay and other channels in CNY",
    capabilities: &CAPABILITIES,
    connect: |settings| Box::pin(connect(settings)),
};

async fn connect(settings: ProviderSettings) -> Result<PaymentClient> {
    let config = PingppConfig::from_settings(&settings)?;
    match config.mode {
        Mode::Live => Ok(PaymentClient::new(Arc::new(PingppClient::new(config)?))),
        Mode::Mock => connect_mock(config).await,
    }
}

#[cfg(feature = "mock")]
async fn connect_mock(config: PingppConfig) -> Result<PaymentClient> {
    let addr = "127.0.0.1:0".parse().map_err(|_| Error::config("bad loopback address"))?;
    let (server, keys) = mock::start_signing(addr, None)
        .await
        .map_err(|e| Error::config(format!("cannot start the Ping++ mock: {e}")))?;
    let config = config
        .with_base_url(server.url())?
        .with_private_key(keys.merchant_private)
        .with_platform_public_key(keys.platform_public);
    Ok(PaymentClient::with_keep_alive(Arc::new(PingppClient::new(config)?), Arc::new(server)))
}

#[cfg(not(feature = "mock"))]
async fn connect_mock(_config: PingppConfig) -> Result<PaymentClient> {
    Err(Error::config("pingpp mode = \"mock\" needs the `mock` feature (enable `mock` on the `payment` crate)"))
}
