//! The stateful Ping++ mock (feature `mock`): Bearer or Basic auth with any `sk_test_…` key,
//! request signatures checked once a merchant public key is registered, charges that stay unpaid
//! with a channel credential until `POST /__mock__/charges/{id}/complete` pays them (and sends a
//! signed `charge.succeeded` webhook when a URL is set), reverse, refunds `pending` -> `succeeded`
//! on the mock clock, cursor lists without `count`, and every fault of the kit.

mod channels;
mod objects;
mod reply;
mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{
    ControlError, IdAlphabet, IdGen, MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer, MockStats,
    SigningKeys,
};

pub use channels::CHANNELS;
use state::Account;

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct PingppMock {
    kit: Arc<MockKit>,
    account: Arc<Mutex<Account>>,
    merchant_public: Option<RsaPublicKey>,
    platform: Arc<OnceLock<Result<Arc<RsaPrivateKey>, String>>>,
}

impl PingppMock {
    /// A fresh mock (no request signatures checked) with ids from `seed`.
    pub fn new(seed: u64) -> PingppMock {
        PingppMock { kit: MockKit::new(seed), account: Arc::default(), merchant_public: None, platform: Arc::default() }
    }

    /// Registers the merchant's public key: from now on every request must be signed with its private half.
    pub fn with_merchant_key(mut self, key: RsaPublicKey) -> PingppMock {
        self.merchant_public = Some(key);
        self
    }

    /// Signs webhooks with this platform key instead of one made on first use.
    pub fn with_platform_key(self, key: Arc<RsaPrivateKey>) -> PingppMock {
        let _ = self.platform.set(Ok(key));
        self
    }

    /// Sends signed events to `url`: `charge.succeeded` when a charge is paid, `refund.succeeded`
    /// when a refund is (retried on non-2xx, see [`MockHooks::webhook_retry_schedule`]).
    pub fn with_webhook_url(self, url: impl Into<String>) -> PingppMock {
        self.kit.webhooks.configure(&url.into(), RETRY_SCHEDULE);
        self
    }

    /// Refunds stay `pending` this many seconds of mock clock.
    pub fn with_refund_delay(self, seconds: i64) -> PingppMock {
        self.account().refund_delay = seconds.max(0);
        self
    }

    /// Ping++'s (the mock's) signing key for webhooks, made on first use.
    pub fn platform_key(&self) -> Result<Arc<RsaPrivateKey>, String> {
        self.platform.get_or_init(|| RsaPrivateKey::generate().map(Arc::new).map_err(|e| e.to_string())).clone()
    }

    /// What a client verifies webhooks with.
    pub fn platform_public_key(&self) -> Result<RsaPublicKey, String> {
        self.platform_key()?.public_key().map_err(|e| e.to_string())
    }

    /// Webhooks queued or sent so far.
    pub fn deliveries(&self) -> Vec<payment_mock_kit::Delivery> {
        self.kit.webhooks.deliveries()
    }

    fn merchant_public_key(&self) -> Option<RsaPublicKey> {
        self.merchant_public.clone()
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ids(&self) -> &IdGen {
        &self.kit.ids
    }

    fn now(&self) -> i64 {
        self.kit.clock.now().unix()
    }

    fn refund_delay(&self) -> i64 {
        self.account().refund_delay
    }

    /// Serves this mock as `options` say (address, faults).
    pub async fn serve(self, options: &MockOptions) -> payment_core::Result<MockServer> {
        let router = routes::routes(self.clone());
        payment_mock_kit::serve(self.kit.clone(), Arc::new(self), router, options).await
    }

    /// Queues a signed event (`data.object` wraps the resource) `after` seconds of mock time on.
    pub(crate) fn send_webhook(
        &self,
        event_type: &str,
        object: serde_json::Value,
        after: i64,
    ) -> Result<(), ControlError> {
        if !self.kit.webhooks.enabled() {
            return Ok(());
        }
        let key = self.platform_key().map_err(|e| ControlError::new(500, e))?;
        let id = self.kit.ids.next("evt_", 24, IdAlphabet::Alphanumeric);
        let event = serde_json::json!({"id": id, "object": "event", "created": self.now() + after, "livemode": false,
            "type": event_type, "data": {"object": object}, "pending_webhooks": 1, "request": null});
        let body = event.to_string().into_bytes();
        let header = crate::signing::sign_webhook(&key, &body).map_err(|e| ControlError::new(500, e.to_string()))?;
        let event = payment_mock_kit::OutgoingWebhook {
            event_type: event_type.to_owned(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("X-Pingplusplus-Signature".into(), header),
            ],
            body,
        };
        self.kit.webhooks.emit_after(&self.kit.clock, after, event);
        Ok(())
    }
}

/// Ping++ documents no retry schedule (unknown); Justap, built the same way, retries up to 10 times
/// within 25 hours, so the mock does that.
const RETRY_SCHEDULE: &[u64] = &[15, 15, 30, 180, 600, 1_800, 3_600, 7_200, 21_600, 54_000];

impl MockHooks for PingppMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        reply::for_status(status, message).into_response()
    }

    fn complete_charge(&self, id: &str) -> Result<serde_json::Value, ControlError> {
        let charge = self.account().pay(&self.kit.ids, id, self.now()).map_err(|m| ControlError::new(404, m))?;
        self.send_webhook("charge.succeeded", charge.clone(), 0)?;
        Ok(charge)
    }

    fn webhook_retry_schedule(&self) -> &'static [u64] {
        RETRY_SCHEDULE
    }

    fn stats(&self) -> MockStats {
        let account = self.account();
        MockStats {
            charges: account.charges.len(),
            refunds: account.refunds_applied,
            captures: 0,
            charges_by_reference: account.references(),
        }
    }

    fn objects(&self, limit: usize) -> payment_mock_kit::MockObjects {
        self.account().objects(self.now(), limit)
    }

    fn reset(&self) {
        self.account().reset();
    }
}

/// Ping++'s mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver =
    MockDriver { start: start_boxed, paths: operation_paths, test_data: channels::test_data };

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/v1/charges"],
        Operation::CaptureCharge => &[],
        Operation::CancelCharge => &["/v1/charges/*/reverse"],
        Operation::CompleteCharge => &[],
        Operation::CreateRefund => &["/v1/charges/*/refunds"],
        payment_core::non_mutations!() => &[],
    }
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a Ping++ mock that checks request signatures with the options' (or fresh) keys; writes
/// `pingpp_merchant_private.pem` and `pingpp_platform_public.pem` into the options' `keys_dir`.
/// Any `sk_test_…` key and `app_` id is accepted; an `sk_live_…` key is refused.
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let (keys, key_files) = SigningKeys::for_mock(&options, crate::NAME)?;
    let mock = PingppMock::new(options.seed())
        .with_merchant_key(keys.merchant_public()?)
        .with_platform_key(keys.platform.clone());
    let server = mock.serve(&options).await?;
    let client = |secret: &str| {
        keys.client_settings(
            ProviderSettings::new(crate::NAME).with("secret_key", secret).with("app_id", "app_MockMockMock0001"),
        )
    };
    Ok(MockHandle::new(server, client("sk_test_mock")?)
        .with_bad_key(client("sk_live_wrong")?)
        .with_key_files(key_files))
}
