//! The stateful GSP mock (feature `mock`): the crate's own [`ProcessorService`] over an in-memory
//! [`Ledger`], served by the mock kit (faults, control endpoints, request log). Content faults
//! (`extra_fields`, `alter_amount`) are applied inside the encryption, as only the processor can.

mod ledger;
mod objects;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::future::BoxFuture;
use payment_core::crypto::RsaPublicKey;
use payment_core::{Operation, ProviderSettings};
use payment_mock_kit::{
    ContentFault, ContentFaultApplied, FaultKind, MockDriver, MockHandle, MockHooks, MockKit, MockOptions, MockServer,
    MockStats, SigningKeys,
};

pub use ledger::{DECLINING_TOKENS, Ledger};

use crate::processor::ProcessorService;
use crate::signing::{Encoding, Envelope};

/// The PIAID the mock processor knows.
pub const MOCK_PIAID: &str = "MockProcessor_Account";

/// The mock: the processor service over a ledger, and the kit.
#[derive(Clone)]
pub struct GspMock {
    kit: Arc<MockKit>,
    service: ProcessorService,
    ledger: Arc<Ledger>,
    // The processor's side, to read a request's id and to seal its notifications.
    envelope: Arc<Envelope>,
}

impl GspMock {
    /// A mock processor that signs with `keys.platform`, decrypts with it, and trusts `keys.merchant`.
    pub fn new(seed: u64, keys: &SigningKeys) -> payment_core::Result<GspMock> {
        let kit = MockKit::new(seed);
        let ledger = Arc::new(Ledger::new(seed, kit.clone()));
        let envelope = Envelope::new(keys.platform.clone(), None, keys.merchant_public()?, None);
        let notifier = Envelope::new(keys.platform.clone(), None, keys.merchant_public()?, None);
        Ok(GspMock {
            kit,
            service: ProcessorService::new(MOCK_PIAID, envelope, ledger.clone()),
            ledger,
            envelope: Arc::new(notifier),
        })
    }

    /// A mock trusting `caller` with its own `processor` key, for tests that bring their own keys.
    pub fn with_keys(seed: u64, processor: Arc<payment_core::crypto::RsaPrivateKey>, caller: RsaPublicKey) -> GspMock {
        let kit = MockKit::new(seed);
        let ledger = Arc::new(Ledger::new(seed, kit.clone()));
        let envelope = Envelope::new(processor.clone(), None, caller.clone(), None);
        GspMock {
            kit,
            service: ProcessorService::new(MOCK_PIAID, envelope, ledger.clone()),
            ledger,
            envelope: Arc::new(Envelope::new(processor, None, caller, None)),
        }
    }

    /// Also takes OpenPGP bodies, with the processor's secret key and the caller's public key.
    #[cfg(feature = "pgp")]
    pub fn with_pgp(mut self, envelope: crate::pgp::PgpEnvelope) -> GspMock {
        self.service = self.service.with_pgp(envelope);
        self
    }

    /// The processor service inside.
    pub fn service(&self) -> &ProcessorService {
        &self.service
    }

    fn routes(&self) -> Router {
        let route = |method: &'static str| {
            post(
                move |State(m): State<GspMock>,
                      headers: axum::http::HeaderMap,
                      fault: Option<Extension<ContentFault>>,
                      body: Bytes| async move {
                    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                    m.answer(method, &body, Encoding::of_content_type(content_type), fault.map(|Extension(f)| f)).await
                },
            )
        };
        Router::new()
            .route("/v1/capture", route("capture"))
            .route("/v1/refund", route("refund"))
            .route("/v1/echo", route("echo"))
            .with_state(self.clone())
    }

    async fn answer(
        &self,
        method: &'static str,
        body: &[u8],
        encoding: Encoding,
        fault: Option<ContentFault>,
    ) -> Response {
        let changed = std::sync::atomic::AtomicBool::new(false);
        let hooks = self.clone();
        let transform = |v: &mut serde_json::Value| {
            let did = match &fault {
                Some(ContentFault(FaultKind::ExtraFields)) => payment_mock_kit::middleware::add_extra_fields(v),
                Some(ContentFault(FaultKind::AlterAmount)) => hooks.alter_amount(v),
                _ => false,
            };
            changed.store(did, std::sync::atomic::Ordering::Relaxed);
            did
        };
        let (captures, refunds) = (self.ledger.captures(), self.ledger.refunds_applied());
        let answer = self.service.handle(method, body, encoding, Some(&transform)).await;
        if self.ledger.captures() > captures || self.ledger.refunds_applied() > refunds {
            self.notify(method, body, encoding);
        }
        let mut response = answer.into_response();
        if fault.is_some() {
            response.extensions_mut().insert(ContentFaultApplied(changed.load(std::sync::atomic::Ordering::Relaxed)));
        }
        response
    }

    /// Queues the processor's `captureResultNotification` / `refundResultNotification` for a
    /// capture or refund it just applied, sealed like every message to the caller.
    fn notify(&self, method: &str, request: &[u8], encoding: Encoding) {
        // Notifications go out in the JOSE envelope only (the PGP keys are the request's).
        if !self.kit.webhooks.enabled() || encoding != Encoding::Jose {
            return;
        }
        let Ok(json) = self.envelope.open(request) else { return };
        let Ok(request) = serde_json::from_slice::<serde_json::Value>(&json) else { return };
        let Some(id) = request["requestHeader"]["requestId"].as_str() else { return };
        let now = self.kit.clock.now().unix() * 1000;
        let header = serde_json::json!({"protocolVersion": {"major": 1, "minor": 1, "revision": 0},
            "requestId": self.kit.ids.next("", 22, payment_mock_kit::IdAlphabet::Alphanumeric), "requestTimestamp": now.to_string()});
        let (event_type, notification) = if method == "capture" {
            (
                "captureResultNotification",
                serde_json::json!({"requestHeader": header, "paymentIntegratorAccountId": MOCK_PIAID,
                "captureRequestId": id, "captureResult": {"captureResultCode": "SUCCESS"}}),
            )
        } else {
            (
                "refundResultNotification",
                serde_json::json!({"requestHeader": header, "paymentIntegratorAccountId": MOCK_PIAID,
                "refundRequestId": id, "refundResult": "SUCCESS"}),
            )
        };
        let Ok(body) = self.envelope.seal(notification.to_string().as_bytes()) else { return };
        let event = payment_mock_kit::OutgoingWebhook {
            event_type: event_type.to_owned(),
            headers: vec![("content-type".into(), crate::signing::JOSE_CONTENT_TYPE.into())],
            body: body.into_bytes(),
        };
        self.kit.webhooks.emit(&self.kit.clock, event);
    }

    /// Serves this mock as `options` say (address, faults).
    pub async fn serve(self, options: &MockOptions) -> payment_core::Result<MockServer> {
        let router = self.routes();
        payment_mock_kit::serve(self.kit.clone(), Arc::new(self), router, options).await
    }
}

impl MockHooks for GspMock {
    fn provider(&self) -> &'static str {
        crate::NAME
    }

    fn error_response(&self, status: u16, message: &str) -> Response {
        let code = match status {
            404 => Some("INVALID_IDENTIFIER"),
            400 | 413 => Some("INVALID_FIELD_VALUE"),
            _ => None,
        };
        self.service.error(status, code, message, Encoding::Jose).into_response()
    }

    /// Google documents no redelivery schedule for notifications (unknown); a day of doubling waits.
    fn webhook_retry_schedule(&self) -> &'static [u64] {
        &[10, 20, 40, 80, 160, 320, 640, 1_280, 2_560, 5_120, 10_240, 20_480, 40_960]
    }

    fn stats(&self) -> MockStats {
        MockStats {
            charges: self.ledger.captures(),
            refunds: self.ledger.refunds_applied(),
            captures: 0,
            charges_by_reference: self.ledger.references(),
        }
    }

    fn objects(&self, limit: usize) -> payment_mock_kit::MockObjects {
        self.ledger.objects(limit)
    }

    fn reset(&self) {
        self.ledger.clear();
    }
}

/// GSP's mock for the rest of the workspace (`payment mock`, the demo, the conformance suite).
pub static MOCK: MockDriver =
    MockDriver { start: start_boxed, paths: operation_paths, test_data: ledger::test_data };

/// Where each mutating operation's own request goes at this mock.
fn operation_paths(operation: Operation) -> &'static [&'static str] {
    match operation {
        Operation::CreateCharge => &["/v1/capture"],
        Operation::CaptureCharge => &[],
        Operation::CancelCharge => &[],
        Operation::CompleteCharge => &[],
        Operation::CreateRefund => &["/v1/refund"],
        payment_core::non_mutations!() => &[],
    }
}

fn start_boxed(options: MockOptions) -> BoxFuture<'static, payment_core::Result<MockHandle>> {
    Box::pin(start(options))
}

/// Starts a mock processor for PIAID [`MOCK_PIAID`]: it trusts the options' (or fresh) merchant
/// key and signs with their platform key; `--keys-dir` gets `google-standard-payments_merchant_private.pem`
/// (ours: signs requests, decrypts answers) and `google-standard-payments_platform_public.pem`
/// (the processor's: requests are encrypted to it).
pub async fn start(options: MockOptions) -> payment_core::Result<MockHandle> {
    let (keys, key_files) = SigningKeys::for_mock(&options, crate::NAME)?;
    let server = GspMock::new(options.seed(), &keys)?.serve(&options).await?;
    let settings = |private: String| {
        ProviderSettings::new(crate::NAME)
            .with("payment_integrator_account_id", MOCK_PIAID)
            .with("private_key", private)
    };
    let good = settings(keys.merchant_private_pem()?).with("integrator_public_key", keys.platform_public_pem()?);
    // Signs with a key the processor does not trust: the processor answers 401.
    let bad = settings(keys.platform.to_pkcs8_pem()?).with("integrator_public_key", keys.platform_public_pem()?);
    Ok(MockHandle::new(server, good).with_bad_key(bad).with_key_files(key_files))
}
