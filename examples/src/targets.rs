//! Per-provider setup shared by the soak, the benchmarks and the examples, for every compiled-in
//! driver with a mock: a fresh mock and a client whose engine the caller configures.

use std::sync::Arc;

use payment::mocks::{MockControl, MockOptions, MockServer};
use payment::transport::EngineBuilder;
use payment::{ChargeRecord, ChargeStatus, PaymentClient, ProviderDriver};

/// Every compiled-in driver with an HTTP mock.
pub fn all() -> Vec<&'static ProviderDriver> {
    payment::mocks::drivers().into_iter().map(|(driver, _)| driver).collect()
}

/// The compiled-in driver named `name` that has a mock.
pub fn named(name: &str) -> Result<&'static ProviderDriver, String> {
    all().into_iter().find(|d| d.name == name).ok_or_else(|| format!("no mock for a provider named {name:?}"))
}

/// A running mock and a client for it.
pub struct Target {
    /// The client (keeps the mock alive).
    pub client: PaymentClient,
    /// The mock's control handle.
    pub control: MockControl,
    /// The mock's base URL.
    pub url: String,
    /// The settings the client was connected with (the mock's accepted credentials).
    pub settings: payment::ProviderSettings,
}

/// Starts a fresh mock of `driver` and a client on it with `engine`.
pub async fn start(driver: &'static ProviderDriver, engine: EngineBuilder) -> Result<Target, String> {
    start_with(driver, engine, MockOptions::default()).await
}

/// Starts a fresh mock of `driver` with `options` (webhooks to a URL, say) and a client on it.
pub async fn start_with(
    driver: &'static ProviderDriver,
    engine: EngineBuilder,
    options: MockOptions,
) -> Result<Target, String> {
    let handle = payment::mocks::start(driver, options).await.map_err(|e| e.to_string())?;
    let client = driver.connect_with(handle.settings.clone(), engine).await.map_err(|e| e.to_string())?;
    let control = handle.control();
    let url = handle.url().to_owned();
    let settings = handle.settings.clone();
    Ok(Target { client: client.keeping(Arc::new(handle.server)), control, url, settings })
}

/// Pays an asynchronous charge at its embedded mock and reads it back; synchronous ones come back as they are.
pub async fn settle(client: &PaymentClient, charge: ChargeRecord) -> payment::Result<ChargeRecord> {
    if !matches!(charge.status, ChargeStatus::RequiresAction | ChargeStatus::Pending) {
        return Ok(charge);
    }
    let Some(server) = client.keep_alive::<MockServer>() else { return Ok(charge) };
    server.control().complete_charge(charge.id.as_str()).map_err(|e| payment::Error::config(e.to_string()))?;
    client.retrieve_charge(&charge.id).await
}
