//! The stateful HTTP mocks of the compiled-in providers (feature `mock`), for `payment mock` and tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use futures::future::BoxFuture;

pub use payment_mock_kit::{FaultKind, FaultPlan, FaultRule, MockControl, MockServer};

/// Where and how to start a mock.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// The address (default 127.0.0.1:0).
    pub addr: Option<SocketAddr>,
    /// Where to write the keys a client needs (signing providers).
    pub keys_dir: Option<PathBuf>,
}

/// One provider's mock.
pub struct MockDriver {
    /// The provider's name.
    pub name: &'static str,
    /// Starts a fresh mock.
    pub start: fn(MockOptions) -> BoxFuture<'static, crate::Result<MockServer>>,
}

// Used by each provider's entry below; the list of features grows as providers land.
#[cfg(any(feature = "payjp", feature = "pingpp", feature = "worldpay"))]
fn loopback(options: &MockOptions) -> SocketAddr {
    options.addr.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}

#[cfg(any(feature = "payjp", feature = "pingpp", feature = "worldpay"))]
fn io_error(provider: &str, e: std::io::Error) -> crate::Error {
    crate::Error::config(format!("cannot start the {provider} mock: {e}"))
}

/// PAY.JP's mock.
#[cfg(feature = "payjp")]
pub static PAYJP: MockDriver = MockDriver {
    name: "payjp",
    start: |options| {
        Box::pin(async move { payment_payjp::mock::start(loopback(&options)).await.map_err(|e| io_error("payjp", e)) })
    },
};

/// Ping++'s mock, checking request signatures; `keys_dir` receives the keys a client needs.
#[cfg(feature = "pingpp")]
pub static PINGPP: MockDriver = MockDriver {
    name: "pingpp",
    start: |options| {
        Box::pin(async move {
            let (server, _keys) = payment_pingpp::mock::start_signing(loopback(&options), options.keys_dir.as_deref())
                .await
                .map_err(|e| io_error("pingpp", e))?;
            Ok(server)
        })
    },
};

/// Worldpay's mock (any user and non-empty password; user `denied` gets 401).
#[cfg(feature = "worldpay")]
pub static WORLDPAY: MockDriver = MockDriver {
    name: "worldpay",
    start: |options| {
        Box::pin(
            async move { payment_worldpay::mock::start(loopback(&options)).await.map_err(|e| io_error("worldpay", e)) },
        )
    },
};

/// The mocks compiled in.
pub fn drivers() -> Vec<&'static MockDriver> {
    vec![
        #[cfg(feature = "payjp")]
        &PAYJP,
        #[cfg(feature = "pingpp")]
        &PINGPP,
        #[cfg(feature = "worldpay")]
        &WORLDPAY,
    ]
}
