//! The stateful PAY.JP v1 mock (feature `mock`): tokens from test cards, charges with capture,
//! refunds (cumulative, 180-day window), reauth, authorization expiry, offset lists, Basic auth
//! with any `sk_test_…` key, `Idempotency-Key` replay, PAY.JP's own error bodies, and every fault
//! of the mock kit. Its URL replaces `https://api.pay.jp` for the official SDKs too.

mod cards;
mod reply;
mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use payment_mock_kit::{MockHooks, MockKit, MockServer, MockStats};

pub use cards::{brand, decline_for};
use state::Account;

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct PayjpMock {
    kit: Arc<MockKit>,
    account: Arc<Mutex<Account>>,
}

impl PayjpMock {
    /// A fresh mock with ids from `seed`.
    pub fn new(seed: u64) -> PayjpMock {
        PayjpMock { kit: MockKit::new(seed), account: Arc::default() }
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.kit.clock.now().unix()
    }

    /// Serves this mock at `addr`.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<MockServer> {
        let router = routes::routes(self.clone());
        MockServer::start(self.kit.clone(), Arc::new(self), router, addr).await
    }
}

impl MockHooks for PayjpMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        reply::for_status(status, message).into_response()
    }

    fn stats(&self) -> MockStats {
        let account = self.account();
        MockStats {
            charges: account.charges.len(),
            refunds: account.refunds_applied,
            charges_by_reference: account.references(),
        }
    }
}

/// Starts a fresh PAY.JP mock on `addr` (use `127.0.0.1:0`).
pub async fn start(addr: SocketAddr) -> std::io::Result<MockServer> {
    PayjpMock::new(seed()).serve(addr).await
}

fn seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
}
