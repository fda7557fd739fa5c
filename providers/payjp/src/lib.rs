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
pub use client::PayjpClient;
pub use config::PayjpConfig;
pub use signing::PayjpWebhookVerifier;
pub use wire::ApiError as PayjpApiError;

/// The provider's name in config and records.
pub const NAME: &str = "payjp";

/// The driver the `payment` facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "PAY.JP v1 (Japan): cards in JPY",
    capabilities: &CAPABILITIES,
    connect: |settings| Box::pin(connect(settings)),
};

async fn connect(settings: ProviderSettings) -> Result<PaymentClient> {
    let config = PayjpConfig::from_settings(&settings)?;
    match config.mode {
        Mode::Live => Ok(PaymentClient::new(Arc::new(PayjpClient::new(config)?))),
        Mode::Mock => connect_mock(config).await,
    }
}

#[cfg(feature = "mock")]
async fn connect_mock(config: PayjpConfig) -> Result<PaymentClient> {
    let addr = "127.0.0.1:0".parse().map_err(|_| Error::config("bad loopback address"))?;
    let server = mock::start(addr).await.map_err(|e| Error::config(format!("cannot start the PAY.JP mock: {e}")))?;
    let client = PayjpClient::new(config.with_base_url(server.url())?)?;
    Ok(PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server)))
}

#[cfg(not(feature = "mock"))]
async fn connect_mock(_config: PayjpConfig) -> Result<PaymentClient> {
    Err(Error::config("payjp mode = \"mock\" needs the `mock` feature (enable `mock` on the `payment` crate)"))
}
