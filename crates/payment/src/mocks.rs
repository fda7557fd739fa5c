//! The stateful HTTP mocks of the compiled-in providers (feature `mock`), for `payment mock`, the
//! demo and tests: each driver's mock, started the one way the mock kit defines.

use std::sync::Arc;

pub use payment_mock_kit::console::ConsoleIndex;
pub use payment_mock_kit::{
    AuthenticationResult, FaultKind, FaultPlan, FaultRule, MockControl, MockDriver, MockHandle, MockObject,
    MockOptions, MockServer, OperationPaths, SigningKeys,
};
pub use payment_mock_kit::{keys, redact};

use crate::transport::EngineBuilder;
use crate::{PaymentClient, ProviderDriver, ProviderSettings, Result};

/// The compiled-in drivers that have a mock, with it.
pub fn drivers() -> Vec<(&'static ProviderDriver, &'static MockDriver)> {
    crate::drivers().into_iter().filter_map(|d| MockDriver::of(d).map(|m| (d, m))).collect()
}

/// Starts `driver`'s mock with `options`.
pub async fn start(driver: &ProviderDriver, options: MockOptions) -> Result<MockHandle> {
    let mock = MockDriver::of(driver)
        .ok_or_else(|| crate::Error::config(format!("{} has no mock in this build", driver.name)))?;
    (mock.start)(options).await
}

/// A client of `driver` on a fresh embedded mock (`mode = "mock"`): the mock's settings (its URL,
/// the credentials and keys it accepts) over the caller's, the mock kept alive with the client.
pub async fn connect_embedded(
    driver: &'static ProviderDriver,
    settings: ProviderSettings,
    engine: EngineBuilder,
) -> Result<PaymentClient> {
    let handle = start(driver, MockOptions::default()).await?;
    let mut merged = ProviderSettings::new(driver.name);
    for key in settings.keys().filter(|k| *k != "mode") {
        if let Some(value) = settings.get(key) {
            merged.set(key, value);
        }
    }
    for key in handle.settings.keys() {
        if let Some(value) = handle.settings.get(key) {
            merged.set(key, value);
        }
    }
    let client = driver.connect_with(merged, engine).await?;
    Ok(client.keeping(Arc::new(handle.server)))
}
