//! The stateful PAY.JP v1 mock (feature `mock`): tokens from test cards, charges with capture,
//! refunds (cumulative, 180-day window), reauth, authorization expiry, offset lists, Basic auth
//! with any `sk_test_…` key, `Idempotency-Key` replay, PAY.JP's own error bodies, and every fault
//! of the mock kit. Its URL replaces `https://api.pay.jp` for the official SDKs too.

mod auth_page;
pub mod cards;
mod objects;
mod reply;
mod routes;
mod state;
mod tds;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer, MockStats};

pub use cards::{brand, decline_for};
use state::Account;

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct PayjpMock {
    kit: Arc<MockKit>,
    account: Arc<Mutex<Account>>,
    // The `X-Payjp-Webhook-Token` its webhooks carry.
    webhook_token: Arc<str>,
}

impl PayjpMock {
    /// A fresh mock with ids from `seed`.
    pub fn new(seed: u64) -> PayjpMock {
        PayjpMock {
            kit: MockKit::new(seed),
            account: Arc::default(),
            webhook_token: Arc::from(format!("whook_mock_{seed:016x}")),
        }
    }

    /// The webhook token this mock's deliveries carry.
    pub fn webhook_token(&self) -> &str {
        &self.webhook_token
    }

    /// Queues PAY.JP's event for a state change the reply reports (`data` is the charge itself).
    fn notify(&self, reply: &Result<payment_mock_kit::Reply, payment_mock_kit::Reply>, event_type: &str) {
        let Ok(reply) = reply else { return };
        if !(200..300).contains(&reply.status) || !self.kit.webhooks.enabled() {
            return;
        }
        let event = serde_json::json!({
            "id": self.kit.ids.next("evnt_", 29, payment_mock_kit::IdAlphabet::Hex),
            "object": "event",
            "livemode": false,
            "created": self.now(),
            "type": event_type,
            "pending_webhooks": 1,
            "data": reply.body,
        });
        self.kit.webhooks.emit(
            &self.kit.clock,
            payment_mock_kit::OutgoingWebhook {
                event_type: event_type.to_owned(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    (crate::signing::WEBHOOK_TOKEN_HEADER.into(), self.webhook_token.to_string()),
                ],
                body: event.to_string().into_bytes(),
            },
        );
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
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

impl MockHooks for PayjpMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        reply::for_status(status, message).into_response()
    }

    /// PAY.JP retries a failed delivery 3 times, 3 minutes apart.
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[180, 180, 180]
    }

    fn authenticate_charge(
        &self,
        id: &str,
        result: payment_mock_kit::AuthenticationResult,
    ) -> Result<serde_json::Value, payment_mock_kit::ControlError> {
        let now = self.now();
        let status = self
            .account()
            .authenticate(id, now, result)
            .map_err(|(status, message)| payment_mock_kit::ControlError::new(status, message))?;
        // PAY.JP tracks the step itself: `complete_charge` needs no data.
        Ok(serde_json::json!({"charge": id, "three_d_secure_status": status, "data": null}))
    }

    fn stats(&self) -> MockStats {
        let account = self.account();
        MockStats {
            charges: account.charges.len(),
            refunds: account.refunds_applied,
            captures: account.captures_applied,
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

/// PAY.JP's mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver = MockDriver { start: start_boxed, paths: operation_paths, test_data: cards::test_data };

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/v1/charges"],
        Operation::CaptureCharge => &["/v1/charges/*/capture"],
        Operation::CancelCharge => &["/v1/charges/*/refund"],
        Operation::CompleteCharge => &["/v1/charges/*/tds_finish"],
        Operation::CreateRefund => &["/v1/charges/*/refund"],
        payment_core::non_mutations!() => &[],
    }
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a fresh PAY.JP mock; any `sk_test_…` key is accepted, an `sk_live_…` key is refused.
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let mock = PayjpMock::new(options.seed());
    let token = mock.webhook_token().to_owned();
    let server = mock.serve(&options).await?;
    let settings =
        ProviderSettings::new(crate::NAME)
        .with("secret_key", "sk_test_mock")
        .with("public_key", "pk_test_mock")
        .with("webhook_token", token.clone());
    // `--keys-dir` gets the token too, so `payment webhook serve` can be pointed at it unedited.
    let mut files = Vec::new();
    if let Some(dir) = &options.keys_dir {
        let path = dir.join("payjp_webhook_token");
        payment_mock_kit::keys::write_secret(&path, token.as_bytes())?;
        files.push(path);
    }
    let handle = MockHandle::new(server, settings).with_key_files(files);
    Ok(handle.with_bad_key(ProviderSettings::new(crate::NAME).with("secret_key", "sk_live_wrong")))
}
