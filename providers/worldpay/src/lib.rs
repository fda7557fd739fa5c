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
pub use client::WorldpayClient;
pub use config::WorldpayConfig;
pub use wire::ApiError as WorldpayApiError;

/// The provider's name in config and records.
pub const NAME: &str = "worldpay";

/// The driver the `payment` facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "Worldpay Access (global): cards in any currency",
    capabilities: &CAPABILITIES,
    connect: |settings| Box::pin(connect(settings)),
};

async fn connect(settings: ProviderSettings) -> Result<PaymentClient> {
    let config = WorldpayConfig::from_settings(&settings)?;
    match config.mode {
        Mode::Live => Ok(PaymentClient::new(Arc::new(WorldpayClient::new(config)?))),
        Mode::Mock => connect_mock(config).await,
    }
}

#[cfg(feature = "mock")]
async fn connect_mock(config: WorldpayConfig) -> Result<PaymentClient> {
    let addr = "127.0.0.1:0".parse().map_err(|_| Error::config("bad loopback address"))?;
    let server = mock::start(addr).await.map_err(|e| Error::config(format!("cannot start the Worldpay mock: {e}")))?;
    let client = WorldpayClient::new(config.with_base_url(server.url())?)?;
    Ok(PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server)))
}

#[cfg(not(feature = "mock"))]
async fn connect_mock(_config: WorldpayConfig) -> Result<PaymentClient> {
    Err(Error::config("worldpay mode = \"mock\" needs the `mock` feature (enable `mock` on the `payment` crate)"))
}
