//! The stateful Worldpay Access mock (feature `mock`): discovery, authorize (Try magic cardholder
//! names, Luhn-checked PANs), settle / partial settle / cancel / refund / partial refund through
//! single-use links reissued after every change, events by link and by `transactionRef`+`entity`,
//! Payment Queries with `next` links, media types (415/406), Basic auth (401 for user `denied`),
//! schema errors with `jsonPath`, duplicate references, `WP-CorrelationId` on every answer, and the
//! kit's faults. `sentFor*` stages turn final after a minute of mock clock.

mod routes;
mod schema;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use payment_mock_kit::{IdAlphabet, MockHooks, MockKit, MockServer, MockStats};
use serde_json::{Value, json};

use state::Book;
pub use state::FINAL_AFTER;

/// A status and a Worldpay error (or success) body.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(status: u16, body: Value) -> Reply {
        Reply { status, body }
    }

    fn error(status: u16, name: &str, message: &str) -> Reply {
        Reply { status, body: json!({"errorName": name, "message": message}) }
    }

    fn validation(name: &str, message: &str, path: &str) -> Reply {
        Reply { status: 400, body: schema::body(vec![schema::child(name, message, path)]) }
    }

    fn into_response_with(self, correlation: String) -> Response {
        let status =
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = if status.is_success() { crate::wire::PAYMENTS_ACCEPT } else { "application/json" };
        (
            status,
            [
                (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
                (axum::http::HeaderName::from_static("wp-correlationid"), correlation),
            ],
            self.body.to_string(),
        )
            .into_response()
    }
}

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct WorldpayMock {
    kit: Arc<MockKit>,
    book: Arc<Mutex<Book>>,
}

impl WorldpayMock {
    /// A fresh mock with ids from `seed`.
    pub fn new(seed: u64) -> WorldpayMock {
        WorldpayMock { kit: MockKit::new(seed), book: Arc::default() }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.kit.clock.now().unix()
    }

    fn correlation(&self) -> String {
        let id = self.kit.ids.next("", 32, IdAlphabet::Hex);
        format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..])
    }

    fn respond(&self, reply: Reply) -> Response {
        reply.into_response_with(self.correlation())
    }

    /// Serves the mock at `addr`.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<MockServer> {
        let router = routes::routes(self.clone());
        MockServer::start(self.kit.clone(), Arc::new(self), router, addr).await
    }
}

impl MockHooks for WorldpayMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        let name = match status {
            404 => "endpointNotFound",
            413 => "bodyDoesNotMatchSchema",
            500..=599 => "internalErrorOccurred",
            _ => "unknownError",
        };
        self.respond(Reply::error(status, name, message))
    }

    fn stats(&self) -> MockStats {
        let book = self.book();
        MockStats { charges: book.len(), refunds: book.refunds_applied, charges_by_reference: book.references() }
    }
}

/// Starts a fresh Worldpay mock at `addr`.
pub async fn start(addr: SocketAddr) -> std::io::Result<MockServer> {
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(13);
    WorldpayMock::new(seed).serve(addr).await
}
