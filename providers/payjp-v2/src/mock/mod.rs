//! The stateful PAY.JP v2 mock (feature `mock`): payment methods and customers (test mode),
//! Payment Flows with 3-D Secure on a card's first use and PayPay's payer, capture, cancel,
//! refunds, cursor lists, events and webhooks, Bearer or Basic auth with any `sk_test_…` key,
//! `Idempotency-Key` replay, RFC 9457 problems, and every fault of the mock kit. Its URL
//! replaces `https://api.pay.jp` for PAY.JP's official v2 SDK too.

mod flows;
mod objects;
mod pages;
mod refunds;
mod reply;
mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer, MockStats, TestInput};
use serde_json::json;

use state::Account;

/// The mock's shared state; also its hooks for the kit.
#[derive(Clone)]
pub struct PayjpV2Mock {
    kit: Arc<MockKit>,
    account: Arc<Mutex<Account>>,
    // The `X-Payjp-Webhook-Token` its webhooks carry.
    webhook_token: Arc<str>,
}

impl PayjpV2Mock {
    /// A fresh mock with ids from `seed`.
    pub fn new(seed: u64) -> PayjpV2Mock {
        PayjpV2Mock {
            kit: MockKit::new(seed),
            account: Arc::default(),
            webhook_token: Arc::from(format!("whook_v2mock_{seed:016x}")),
        }
    }

    /// The webhook token this mock's deliveries carry.
    pub fn webhook_token(&self) -> &str {
        &self.webhook_token
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.kit.clock.now().unix()
    }

    /// Records an event for each change (`data` is the object as it is now) and, when a
    /// webhook URL is set, delivers it with the token.
    fn emit(&self, changes: flows::Changes) {
        if changes.is_empty() {
            return;
        }
        let now = self.now();
        let deliver = self.kit.webhooks.enabled();
        let events: Vec<serde_json::Value> = {
            let mut account = self.account();
            changes
                .into_iter()
                .filter_map(|(event_type, id)| {
                    let data = match event_type.split('.').next() {
                        Some("refund") => account.refunds.get(&id).map(|r| json!(r.wire)),
                        _ => account.flows.get(&id).map(|f| json!(f.wire)),
                    }?;
                    Some(account.record_event(&self.kit.ids, now, event_type, data, i64::from(deliver)))
                })
                .collect()
        };
        if !deliver {
            return;
        }
        for event in events {
            self.kit.webhooks.emit(
                &self.kit.clock,
                payment_mock_kit::OutgoingWebhook {
                    event_type: event["type"].as_str().unwrap_or_default().to_owned(),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        (crate::signing::WEBHOOK_TOKEN_HEADER.into(), self.webhook_token.to_string()),
                    ],
                    body: event.to_string().into_bytes(),
                },
            );
        }
    }

    /// Serves this mock as `options` say (address, faults).
    pub async fn serve(self, options: &MockOptions) -> payment_core::Result<MockServer> {
        let router = routes::routes(self.clone());
        payment_mock_kit::serve(self.kit.clone(), Arc::new(self), router, options).await
    }
}

impl MockHooks for PayjpV2Mock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> axum::response::Response {
        reply::for_status(status, message)
    }

    /// PAY.JP retries a failed delivery 3 times, 3 minutes apart (as v1).
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[180, 180, 180]
    }

    /// PayPay confirms a payment its payer approved (a flow still waiting is approved first).
    fn complete_charge(&self, id: &str) -> Result<serde_json::Value, payment_mock_kit::ControlError> {
        let now = self.now();
        let outcome = self.account().settle(id, now);
        let (flow, changes) = outcome.map_err(|(status, message)| payment_mock_kit::ControlError::new(status, message))?;
        self.emit(changes);
        Ok(flow)
    }

    fn authenticate_charge(
        &self,
        id: &str,
        result: payment_mock_kit::AuthenticationResult,
    ) -> Result<serde_json::Value, payment_mock_kit::ControlError> {
        let now = self.now();
        let outcome = self.account().authenticate(id, now, result);
        let (status, changes) = outcome.map_err(|(status, message)| payment_mock_kit::ControlError::new(status, message))?;
        self.emit(changes);
        // PAY.JP moves the flow on by itself: `complete_charge` needs no data.
        Ok(json!({"payment_flow": id, "status": status, "data": null}))
    }

    fn stats(&self) -> MockStats {
        let account = self.account();
        MockStats {
            charges: account.flows.len(),
            refunds: account.refunds.len(),
            captures: account.captures_applied,
            charges_by_reference: account.references(),
        }
    }

    fn objects(&self, limit: usize) -> payment_mock_kit::MockObjects {
        self.account().objects(limit)
    }

    fn reset(&self) {
        *self.account() = Account::default();
    }
}

/// PAY.JP v2's mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver = MockDriver { start: start_boxed, paths: operation_paths, test_data };

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/v2/payment_flows"],
        Operation::CaptureCharge => &["/v2/payment_flows/*/capture"],
        Operation::CancelCharge => &["/v2/payment_flows/*/cancel"],
        // Completing reads the flow; only a flow waiting for confirmation is sent anything.
        Operation::CompleteCharge => &["/v2/payment_flows/*/confirm"],
        Operation::CreateRefund => &["/v2/payment_refunds"],
        payment_core::non_mutations!() => &[],
    }
}

/// What the mock does with each test input, for `payment providers --test-data`.
fn test_data() -> Vec<TestInput> {
    use payment_payjp::mock::cards;
    let prefix = crate::mapping::TEST_CUSTOMER_PREFIX;
    let mut out = vec![
        TestInput::new(format!("customer {prefix}<number>"), "a customer whose default card is <number>, authenticated at registration"),
        TestInput::new(format!("customer {prefix}4242424242424242"), "succeeds"),
    ];
    out.extend(cards::DECLINE_CARDS.iter().map(|(n, code, _)| {
        TestInput::new(format!("customer {prefix}{n} (or card {n})"), format!("declined: 402 {code}"))
    }));
    out.push(TestInput::new(
        format!("card {} (and the other success cards) registered by API", cards::SUCCESS_CARDS[0]),
        "authenticated at registration: 3-D Secure only when asked",
    ));
    out.push(TestInput::new("any other card registered by API", "3-D Secure on its first payment (the page at /v2/mock/3ds/{id})"));
    out.push(TestInput::new(format!("3-D Secure: card {}", cards::TDS_FRICTIONLESS), "frictionless: verified without a question"));
    out.push(TestInput::new(format!("3-D Secure: card {}", cards::TDS_REFUSED), "authentication fails: 402 three_d_secure_failed in last_payment_error"));
    out.push(TestInput::new(format!("3-D Secure: card {}", cards::TDS_THEN_DECLINED), "authenticates, then declined: card_declined"));
    out.push(TestInput::new("3-D Secure or PayPay unfinished for 30 minutes of mock time", "card: fails three_d_secure_expired; PayPay: canceled (expired)"));
    out.push(TestInput::new("channel paypay", "requires_action: the payer pays or declines at /v2/mock/paypay/{id}; processing until mock-control complete"));
    out.push(TestInput::new("secret key sk_live_…", "refused: 401 (the mock takes test keys only)"));
    out
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a fresh PAY.JP v2 mock; any `sk_test_…` key is accepted, an `sk_live_…` key is refused.
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let mock = PayjpV2Mock::new(options.seed());
    let token = mock.webhook_token().to_owned();
    let server = mock.serve(&options).await?;
    let settings =
        ProviderSettings::new(crate::NAME)
            .with("secret_key", "sk_test_mock")
            .with("webhook_token", token.clone())
            // Test mode: cards register as PAY.JP's would, code written for v1 runs unchanged.
            .with("registration_email", "test-cards@example.com");
    let mut files = Vec::new();
    if let Some(dir) = &options.keys_dir {
        let path = dir.join("payjp_v2_webhook_token");
        payment_mock_kit::keys::write_secret(&path, token.as_bytes())?;
        files.push(path);
    }
    let handle = MockHandle::new(server, settings).with_key_files(files);
    Ok(handle.with_bad_key(ProviderSettings::new(crate::NAME).with("secret_key", "sk_live_wrong")))
}
