//! The stateful Justap mock (feature `mock`): the API key, RSA request signatures checked with the
//! merchant's public key (timestamps within five minutes), both route families, `{object, data}`
//! wrappers with yuan decimals and int64 strings, duplicate `merchant_trade_id`s refused, refunds
//! deduplicated by `merchant_refund_id` (`IdempotentParameterMismatch` on other parameters), unpaid
//! charges closed after their `ttl` on the mock clock, grpc-gateway errors, and every fault of the kit.

mod objects;
mod reply;
mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use payment_core::crypto::RsaPublicKey;
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{
    ControlError, IdGen, MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer, MockStats, SigningKeys,
};

use state::Account;
pub use state::DEFAULT_TTL;

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct JustapMock {
    kit: Arc<MockKit>,
    account: Arc<Mutex<Account>>,
    merchant_public: Option<Arc<RsaPublicKey>>,
    // Encrypts its notifications (`is_encrypted`); without it they go out unencrypted.
    platform: Option<Arc<payment_core::crypto::RsaPrivateKey>>,
}

impl JustapMock {
    /// A fresh mock (signatures not checked until a merchant key is registered) with ids from `seed`.
    pub fn new(seed: u64) -> JustapMock {
        JustapMock { kit: MockKit::new(seed), account: Arc::default(), merchant_public: None, platform: None }
    }

    /// Encrypts notifications with this platform key (a client opens them with its public half).
    pub fn with_platform_key(mut self, key: Arc<payment_core::crypto::RsaPrivateKey>) -> JustapMock {
        self.platform = Some(key);
        self
    }

    /// Queues Justap's notification `{event, is_encrypted, data}` for a charge (its wire JSON),
    /// with `refunded` the amount a refund returned.
    pub(crate) fn notify(&self, event: &str, charge: &serde_json::Value, refunded: Option<&serde_json::Value>) {
        if !self.kit.webhooks.enabled() {
            return;
        }
        let now = self.now();
        let notification = serde_json::json!({
            "object": "notification",
            "trade_type": 2,
            "notify_id": self.kit.ids.next("ntf_", 24, payment_mock_kit::IdAlphabet::Alphanumeric),
            "notify_time": payment_core::Timestamp::from_unix(now).to_rfc3339(),
            "charge_id": charge["charge_id"],
            "charge_no": charge["charge_id"],
            "app_id": charge["app_id"],
            "channel": charge["channel"],
            "merchant_trade_id": charge["merchant_trade_id"],
            "amount_total": charge["amount"],
            "amount_refund": refunded.cloned().unwrap_or_else(|| charge["amount_refund"].clone()),
            "currency": charge["currency"],
            "is_paid": charge["paid"],
            "is_refund": refunded.is_some() || charge["refunded"].as_bool().unwrap_or(false),
            "is_reversed": charge["reversed"],
            "is_closed": charge["closed"],
        });
        let body = match &self.platform {
            Some(key) => match crate::signing::seal_notification(key, event, &notification) {
                Ok(b) => b,
                Err(_) => return,
            },
            None => serde_json::json!({"event": event, "is_encrypted": false, "data": notification})
                .to_string()
                .into_bytes(),
        };
        let event = payment_mock_kit::OutgoingWebhook {
            event_type: event.to_owned(),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        };
        self.kit.webhooks.emit(&self.kit.clock, event);
    }

    /// Registers the merchant's public key: from now on every request must be signed with its private half.
    pub fn with_merchant_key(mut self, key: RsaPublicKey) -> JustapMock {
        self.merchant_public = Some(Arc::new(key));
        self
    }

    fn merchant_public_key(&self) -> Option<&RsaPublicKey> {
        self.merchant_public.as_deref()
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

    /// Serves this mock as `options` say (address, faults).
    pub async fn serve(self, options: &MockOptions) -> payment_core::Result<MockServer> {
        let router = routes::routes(self.clone());
        payment_mock_kit::serve(self.kit.clone(), Arc::new(self), router, options).await
    }
}

impl MockHooks for JustapMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        reply::for_status(status, message).into_response()
    }

    fn complete_charge(&self, id: &str) -> Result<serde_json::Value, ControlError> {
        let charge = self.account().pay(&self.kit.ids, id, self.now()).map_err(|m| ControlError::new(404, m))?;
        self.notify("charge.paid", &charge, None);
        Ok(charge)
    }

    /// Justap re-sends a notification not answered 2xx up to 10 times within 25 hours.
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[15, 15, 30, 180, 600, 1_800, 3_600, 7_200, 21_600, 54_000]
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
        *self.account() = Account::default();
    }
}

/// Justap's mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver = MockDriver { start: start_boxed, paths: operation_paths, test_data };

/// What the mock does with its channels, for `payment providers --test-data`.
fn test_data() -> Vec<payment_mock_kit::TestInput> {
    use payment_mock_kit::TestInput;
    vec![
        TestInput::new(
            format!("channel {}", crate::client::CHANNELS.join(", ")),
            "a pending charge with the channel's credential; the payer pays with `payment mock-control complete ID`",
        ),
        TestInput::new(
            "an unpaid charge",
            format!("closes after {DEFAULT_TTL} s on the mock clock (`payment mock-control clock advance`)"),
        ),
    ]
}

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/v1/charges"],
        Operation::CaptureCharge => &[],
        Operation::CancelCharge => &["/v1/charges/*/reverse"],
        Operation::CompleteCharge => &[],
        Operation::CreateRefund => &["/v1/refunds"],
        payment_core::non_mutations!() => &[],
    }
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a Justap mock that checks request signatures with the options' (or fresh) keys; writes
/// `justap_merchant_private.pem` and `justap_platform_public.pem` into the options' `keys_dir`.
/// Any `sk_test_…` or `TEST_…` key is accepted; an `sk_live_…` key is refused.
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let (keys, key_files) = SigningKeys::for_mock(&options, crate::NAME)?;
    let server = JustapMock::new(options.seed())
        .with_merchant_key(keys.merchant_public()?)
        .with_platform_key(keys.platform.clone())
        .serve(&options)
        .await?;
    let client = |api_key: &str| {
        keys.client_settings(
            ProviderSettings::new(crate::NAME).with("api_key", api_key).with("app_id", "app_mock_0001"),
        )
    };
    Ok(MockHandle::new(server, client("sk_test_mock")?)
        .with_bad_key(client("sk_live_wrong")?)
        .with_key_files(key_files))
}
