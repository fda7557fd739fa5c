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

use axum::response::Response;
use payment_mock_kit::{IdAlphabet, MockHooks, MockKit, MockServer, MockStats};
use serde_json::json;

use state::Book;
pub use state::FINAL_AFTER;

pub use payment_mock_kit::Reply;

/// Worldpay's error shapes on the kit's reply.
pub trait WorldpayReply {
    /// `{errorName, message}`.
    fn error(status: u16, name: &str, message: &str) -> Reply;
    /// 400 `bodyDoesNotMatchSchema` with one child error at `path`.
    fn validation(name: &str, message: &str, path: &str) -> Reply;
}

impl WorldpayReply for Reply {
    fn error(status: u16, name: &str, message: &str) -> Reply {
        Reply::new(status, json!({"errorName": name, "message": message}))
    }

    fn validation(name: &str, message: &str, path: &str) -> Reply {
        Reply::new(400, schema::body(vec![schema::child(name, message, path)]))
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

    /// Every answer carries a fresh `WP-CorrelationId`; successes use the v6 HAL media type.
    fn respond(&self, reply: Reply) -> Response {
        let content_type =
            if (200..300).contains(&reply.status) { crate::wire::PAYMENTS_ACCEPT } else { "application/json" };
        let mut response = reply.into_json_response(content_type);
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.correlation()) {
            response.headers_mut().insert(axum::http::HeaderName::from_static("wp-correlationid"), value);
        }
        response
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
