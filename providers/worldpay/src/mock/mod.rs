//! The stateful Worldpay Access mock (feature `mock`): discovery, authorize (Try magic cardholder
//! names, Luhn-checked PANs), settle / partial settle / cancel / refund / partial refund through
//! single-use links reissued after every change, events by link and by `transactionRef`+`entity`,
//! Payment Queries with `next` links, media types (415/406), Basic auth (401 for user `denied`),
//! schema errors with `jsonPath`, duplicate references, `WP-CorrelationId` on every answer, and the
//! kit's faults. `sentFor*` stages turn final after a minute of mock clock.

mod api_routes;
mod authentication;
mod objects;
mod pages;
mod routes;
mod schema;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::Response;
use futures::future::BoxFuture;
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{IdAlphabet, MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer, MockStats};
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
    // The key id and secret its `Event-Signature`s are made with.
    webhook_key: Arc<(String, String)>,
}

impl WorldpayMock {
    /// A fresh mock with ids from `seed`.
    pub fn new(seed: u64) -> WorldpayMock {
        WorldpayMock {
            kit: MockKit::new(seed),
            book: Arc::default(),
            webhook_key: Arc::new(("mock-key-1".to_owned(), format!("whsec_mock_{seed:016x}"))),
        }
    }

    /// `KEYID:SECRET` of the key its webhooks are signed with (the `webhook_secrets` setting).
    pub fn webhook_secrets(&self) -> String {
        format!("{}:{}", self.webhook_key.0, self.webhook_key.1)
    }

    /// Sends the book's new notices as event notifications, signed with `Event-Signature`.
    pub(crate) fn notify(&self, notices: Vec<state::Notice>) {
        if !self.kit.webhooks.enabled() {
            return;
        }
        for n in notices {
            let when = payment_core::Timestamp::from_unix(self.now() + n.after).to_rfc3339();
            let mut body = serde_json::json!({
                "eventId": self.kit.ids.next("", 32, payment_mock_kit::IdAlphabet::Hex),
                "eventTimestamp": when,
                "eventDetails": {
                    "classification": "card",
                    "transactionReference": n.reference,
                    "type": n.event_type,
                    "date": &when[..10],
                    "amount": {"value": n.amount, "currencyCode": n.currency},
                    "_links": {},
                },
            });
            if let Some(r) = n.action_reference {
                body["eventDetails"]["reference"] = r.into();
            }
            let body = body.to_string().into_bytes();
            let secret = secrecy::SecretString::from(self.webhook_key.1.clone());
            let signature = crate::signing::sign_event(&self.webhook_key.0, &secret, &body);
            let event = payment_mock_kit::OutgoingWebhook {
                event_type: n.event_type.to_owned(),
                headers: vec![
                    ("content-type".into(), crate::wire::EVENTS_CONTENT_TYPE.into()),
                    (crate::signing::EVENT_SIGNATURE_HEADER.into(), signature),
                ],
                body,
            };
            self.kit.webhooks.emit_after(&self.kit.clock, n.after, event);
        }
    }

    /// The book, with authentications past their window failed first (the mock's clock moves
    /// only when asked, so every reader sees them fail at the same moment).
    fn book(&self) -> MutexGuard<'_, Book> {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        book.expire_authentications(&self.kit.ids, self.now());
        book
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

    /// Serves this mock as `options` say (address, faults).
    pub async fn serve(self, options: &MockOptions) -> payment_core::Result<MockServer> {
        let router = routes::routes(self.clone());
        payment_mock_kit::serve(self.kit.clone(), Arc::new(self), router, options).await
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

    /// Worldpay retries an unacknowledged event for about a week [I: the interval is not
    /// documented; this schedule spans 6.9 days].
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[30, 60, 300, 900, 3600, 10_800, 21_600, 43_200, 86_400, 86_400, 86_400, 86_400, 86_400, 86_400]
    }

    fn stats(&self) -> MockStats {
        let book = self.book();
        MockStats {
            charges: book.len(),
            refunds: book.refunds_applied,
            captures: book.captures_applied,
            charges_by_reference: book.references(),
        }
    }

    fn objects(&self, limit: usize) -> payment_mock_kit::MockObjects {
        self.book().objects(self.now(), limit)
    }

    /// Runs the device-data page or answers the challenge of a payment taken with 3-D Secure.
    fn authenticate_charge(
        &self,
        id: &str,
        result: payment_mock_kit::AuthenticationResult,
    ) -> Result<serde_json::Value, payment_mock_kit::ControlError> {
        let key = crate::mapping::ChargeKey::from_id(&payment_core::ChargeId::new(id))
            .map_err(|e| payment_mock_kit::ControlError::new(404, e.message().to_owned()))?;
        let mut book = self.book();
        let i = book
            .index(&key.e, &key.r)
            .ok_or_else(|| payment_mock_kit::ControlError::new(404, format!("no payment {} at entity {}", key.r, key.e)))?;
        book.act_as_customer(&self.kit.ids, i, result).map_err(|e| payment_mock_kit::ControlError::new(409, e))
    }

    fn reset(&self) {
        *self.book() = Book::default();
    }
}

/// Worldpay's mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver =
    MockDriver { start: start_boxed, paths: operation_paths, test_data: routes::test_data };

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/payments/authorizations"],
        Operation::CaptureCharge => {
            &[
                "/payments/settlements/full/*",
                "/payments/settlements/*",
                "/payments/settlements/partials/*",
                "/api/payments/*/settlements",
                "/api/payments/*/partialSettlements",
            ]
        }
        Operation::CancelCharge => &["/payments/authorizations/cancellations/*", "/api/payments/*/cancellations"],
        Operation::CompleteCharge => &["/api/payments/*/3dsDeviceData", "/api/payments/*/3dsChallenges"],
        Operation::CreateRefund => {
            &[
                "/payments/settlements/refunds/full/*",
                "/payments/settlements/refunds/partials/*",
                "/api/payments/*/refunds",
                "/api/payments/*/partialRefunds",
            ]
        }
        payment_core::non_mutations!() => &[],
    }
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a fresh Worldpay mock: any user with a non-empty password is accepted, except `denied` (401).
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let mock = WorldpayMock::new(options.seed());
    let secrets = mock.webhook_secrets();
    let server = mock.serve(&options).await?;
    let client = |user: &str| {
        ProviderSettings::new(crate::NAME).with("username", user).with("password", "secret").with("entity", "default")
    };
    // `--keys-dir` gets the webhook secret too, so `payment webhook serve` can be pointed at it unedited.
    let mut files = Vec::new();
    if let Some(dir) = &options.keys_dir {
        let path = dir.join("worldpay_webhook_secrets");
        payment_mock_kit::keys::write_secret(&path, secrets.as_bytes())?;
        files.push(path);
    }
    let handle = MockHandle::new(server, client("mock").with("webhook_secrets", secrets.clone()));
    Ok(handle.with_bad_key(client("denied")).with_key_files(files))
}
