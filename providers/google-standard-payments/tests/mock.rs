//! The processor service (as the mock serves it) over raw HTTP, and the client against it: every
//! documented refusal through `ProcessorService` as its status and code, and through `GspClient`
//! as a typed error.

use std::sync::Arc;

use payment_core::crypto::RsaPrivateKey;
use payment_core::transport::{EngineBuilder, RecordingSleeper};
use payment_core::{
    CreateCharge, CreateRefund, Currency, ErrorKind, Money, PaymentClient, PaymentSource, RequestOptions,
};
use payment_google_standard_payments::mock::{GspMock, MOCK_PIAID};
use payment_google_standard_payments::signing::{Envelope, JOSE_CONTENT_TYPE};
use payment_google_standard_payments::{GspClient, GspConfig};
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule, MockOptions, MockServer};
use serde_json::{Value, json};

struct World {
    server: MockServer,
    caller: Arc<RsaPrivateKey>,
    processor: Arc<RsaPrivateKey>,
}

impl World {
    async fn start() -> World {
        let caller = Arc::new(RsaPrivateKey::generate().unwrap());
        let processor = Arc::new(RsaPrivateKey::generate().unwrap());
        let mock = GspMock::with_keys(1, processor.clone(), caller.public_key().unwrap());
        World { server: mock.serve(&MockOptions::default()).await.unwrap(), caller, processor }
    }

    fn envelope(&self, signer: &Arc<RsaPrivateKey>) -> Envelope {
        Envelope::new(signer.clone(), None, self.processor.public_key().unwrap(), None)
    }

    /// Posts `body` sealed by `signer`; returns the status and the opened answer (if it opens).
    async fn post(&self, method: &str, body: &Value, signer: &Arc<RsaPrivateKey>) -> (u16, Option<Value>) {
        let sealed = self.envelope(signer).seal(body.to_string().as_bytes()).unwrap();
        self.post_raw(method, sealed).await
    }

    async fn post_raw(&self, method: &str, body: String) -> (u16, Option<Value>) {
        let r = reqwest::Client::new()
            .post(format!("{}/v1/{method}", self.server.url()))
            .header("content-type", JOSE_CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(r.headers()["content-type"], JOSE_CONTENT_TYPE);
        let text = r.text().await.unwrap();
        let opened =
            self.envelope(&self.caller).open(text.as_bytes()).ok().map(|b| serde_json::from_slice(&b).unwrap());
        (status, opened)
    }

    fn client(&self) -> PaymentClient {
        let config =
            GspConfig::new(MOCK_PIAID, self.server.url(), self.caller.clone(), self.processor.public_key().unwrap())
                .unwrap();
        let engine = EngineBuilder::new("google-standard-payments").sleeper(Arc::new(RecordingSleeper::default()));
        PaymentClient::new(Arc::new(GspClient::with_engine(config, engine).unwrap()))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn capture(request_id: &str, amount: &str, timestamp: i64) -> Value {
    json!({"requestHeader": {"protocolVersion": {"major": 1, "minor": 0, "revision": 0}, "requestId": request_id,
            "requestTimestamp": timestamp.to_string()},
           "paymentIntegratorAccountId": MOCK_PIAID, "googlePaymentToken": "ZXhhbXBsZQ",
           "transactionDescription": "Google - Music", "currencyCode": "INR", "amount": amount, "captureContext": {}})
}

#[tokio::test]
async fn the_documented_capture_is_answered_and_replayed_with_a_fresh_timestamp() {
    let w = World::start().await;
    let (status, answer) = w.post("capture", &capture("bWVyY2hhbnQ", "728000000", now_ms()), &w.caller).await;
    let answer = answer.unwrap();
    assert_eq!((status, answer["result"].clone()), (200, json!("SUCCESS")));
    assert!(answer["responseHeader"]["responseTimestamp"].is_string());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (status, again) = w.post("capture", &capture("bWVyY2hhbnQ", "728000000", now_ms()), &w.caller).await;
    let again = again.unwrap();
    assert_eq!(status, 200);
    assert_eq!(again["paymentIntegratorTransactionId"], answer["paymentIntegratorTransactionId"], "replayed");
    assert_ne!(again["responseHeader"], answer["responseHeader"], "a fresh responseTimestamp");
    assert_eq!(w.server.control().stats().charges, 1);
}

#[tokio::test]
async fn every_documented_refusal_has_its_status_and_code() {
    let w = World::start().await;
    let code = |a: &Option<Value>| a.as_ref().map(|v| v["errorResponseCode"].clone()).unwrap_or(Value::Null);
    let stranger = Arc::new(RsaPrivateKey::generate().unwrap());
    let (s, a) = w.post("capture", &capture("r1", "728000000", now_ms()), &stranger).await;
    assert_eq!((s, code(&a)), (401, json!("INVALID_PAYLOAD_SIGNATURE")), "signed by an unknown key");
    let sealed = w.envelope(&w.caller).seal(capture("r1", "728000000", now_ms()).to_string().as_bytes()).unwrap();
    let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
    // Replacing the first character with a fixed one left 1 ciphertext in 64 unchanged.
    let first = if parts[3].starts_with('A') { 'B' } else { 'A' };
    parts[3] = format!("{first}{}", &parts[3][1..]);
    let (s, a) = w.post_raw("capture", parts.join(".")).await;
    assert_eq!((s, code(&a)), (400, json!("INVALID_PAYLOAD_ENCRYPTION")), "tampered ciphertext");
    let (s, a) = w.post("capture", &capture("r2", "728000000", now_ms() - 61_000), &w.caller).await;
    assert_eq!((s, code(&a)), (400, json!("REQUEST_TIMESTAMP_OUT_OF_RANGE")), "stale timestamp");
    let mut v2 = capture("r3", "728000000", now_ms());
    v2["requestHeader"]["protocolVersion"]["major"] = json!(2);
    assert_eq!(code(&w.post("capture", &v2, &w.caller).await.1), json!("INVALID_API_VERSION"));
    let mut other_piaid = capture("r4", "728000000", now_ms());
    other_piaid["paymentIntegratorAccountId"] = json!("SomeoneElse");
    let (s, a) = w.post("capture", &other_piaid, &w.caller).await;
    assert_eq!((s, code(&a)), (404, json!("INVALID_IDENTIFIER")));
    let (s, a) = w.post("capture", &capture("r5", "728000001", now_ms()), &w.caller).await;
    assert_eq!((s, code(&a)), (400, json!("INVALID_FIELD_VALUE")), "micros that are not whole paise");
    // Only 200s are stored: the same requestId, corrected, is processed.
    assert_eq!(w.post("capture", &capture("r5", "728000000", now_ms()), &w.caller).await.0, 200);
    let (s, a) = w.post("capture", &capture("r5", "100000000", now_ms()), &w.caller).await;
    assert_eq!((s, code(&a)), (412, json!("IDEMPOTENCY_VIOLATION")), "the same requestId, another amount");
    let refund = |id: &str, amount: &str| {
        json!({"requestHeader": {"protocolVersion": {"major": 1, "minor": 0, "revision": 0},
        "requestId": id, "requestTimestamp": now_ms().to_string()}, "paymentIntegratorAccountId": MOCK_PIAID,
        "captureRequestId": "r5", "currencyCode": "INR", "refundAmount": amount})
    };
    let (s, a) = w.post("refund", &refund("f1", "800000000"), &w.caller).await;
    assert_eq!((s, code(&a)), (400, json!("PRECONDITION_VIOLATION")), "over-refund");
    assert_eq!(w.post("refund", &refund("f2", "728000000"), &w.caller).await.1.unwrap()["result"], "SUCCESS");
    assert_eq!(
        w.post("refund", &refund("f3", "1000000"), &w.caller).await.1.unwrap()["result"],
        "NO_MONEY_LEFT_ON_TRANSACTION"
    );
    assert_eq!(w.server.control().stats().charges, 1, "refusals captured nothing");
}

#[tokio::test]
async fn the_client_sees_each_refusal_as_a_typed_error_and_recovers_a_lost_capture() {
    let w = World::start().await;
    let client = w.client();
    let charge = |amount: i64| {
        CreateCharge::new(Money::new(amount, Currency::INR), PaymentSource::Token("ZXhhbXBsZQ".into()))
            .description("Google - Music")
    };
    let key = RequestOptions::with_key(payment_core::IdempotencyKey::new("order-9:capture").unwrap());
    w.server
        .control()
        .set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::DropAfterCommit).path("/v1/capture").times(1)]))
        .unwrap();
    let first = client.create_charge(charge(72_800), &key).await.unwrap();
    assert_eq!(w.server.control().stats().charges, 1, "the lost answer was replayed by requestId, not captured again");
    assert_eq!(w.server.control().count_requests("POST", "/v1/capture"), 2);
    let again = client.create_charge(charge(72_800), &key).await.unwrap();
    assert_eq!(again.id, first.id);
    let e = client.create_charge(charge(10_000), &key).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IdempotencyConflict, "{e}");
    let declined = client
        .create_charge(
            CreateCharge::new(Money::new(100, Currency::INR), PaymentSource::Token("x_insufficient_funds".into())),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(declined.kind(), ErrorKind::CardDeclined(payment_core::DeclineReason::InsufficientFunds));
    let over = Money::new(80_000, Currency::INR);
    let e = client
        .create_refund(CreateRefund::partial(first.id.clone(), over), &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let refund = client.create_refund(CreateRefund::full(first.id.clone()), &RequestOptions::default()).await.unwrap();
    assert_eq!(refund.amount, Money::new(72_800, Currency::INR), "a full refund from the charge id alone");
    let stranger = GspConfig::new(
        MOCK_PIAID,
        w.server.url(),
        Arc::new(RsaPrivateKey::generate().unwrap()),
        w.processor.public_key().unwrap(),
    )
    .unwrap();
    let e = PaymentClient::new(Arc::new(GspClient::new(stranger).unwrap()))
        .create_charge(charge(100), &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    let gsp = client.native::<GspClient>().unwrap();
    assert!(!gsp.echo("hello").await.unwrap().is_empty(), "the processor answers with its own message");
}

#[tokio::test]
async fn an_answer_that_does_not_verify_is_never_trusted() {
    use std::io::{Read, Write};
    let caller = Arc::new(RsaPrivateKey::generate().unwrap());
    let processor = RsaPrivateKey::generate().unwrap();
    // A 200 encrypted to the caller but signed by someone other than the processor.
    let forger = Arc::new(RsaPrivateKey::generate().unwrap());
    let forged = Envelope::new(forger, None, caller.public_key().unwrap(), None)
        .seal(br#"{"responseHeader":{"responseTimestamp":"1"},"result":"SUCCESS"}"#)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(300)));
            let mut buf = [0u8; 16384];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: {JOSE_CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{forged}",
                forged.len()
            );
        }
    });
    let config = GspConfig::new(MOCK_PIAID, &url, caller, processor.public_key().unwrap()).unwrap();
    let client = PaymentClient::new(Arc::new(GspClient::new(config).unwrap()));
    let key = RequestOptions::with_key(payment_core::IdempotencyKey::new("forged-1").unwrap());
    let e = client
        .create_charge(CreateCharge::new(Money::new(100, Currency::INR), PaymentSource::Token("t".into())), &key)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "the capture may have happened: {e}");
    assert!(e.message().contains("could not be trusted"), "{e}");
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("forged-1"));
}

#[tokio::test]
async fn keys_and_tokens_never_show() {
    let w = World::start().await;
    let pem = w.caller.to_pkcs8_pem().unwrap();
    let body_line = pem.lines().nth(1).unwrap().to_owned();
    let client = w.client();
    let token = "tok_VerySecretGoogleToken_insufficient_funds";
    let e = client
        .create_charge(
            CreateCharge::new(Money::new(100, Currency::INR), PaymentSource::Token(token.into())),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::CardDeclined(_)), "{e}");
    let config =
        GspConfig::new(MOCK_PIAID, w.server.url(), w.caller.clone(), w.processor.public_key().unwrap()).unwrap();
    for shown in [
        format!("{e}"),
        format!("{e:?}"),
        e.to_json().to_string(),
        format!("{client}"),
        format!("{client:?}"),
        format!("{config:?}"),
    ] {
        assert!(!shown.contains(&body_line) && !shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains("VerySecretGoogleToken"), "{shown}");
    }
    let logged = w.server.control().requests();
    assert!(logged.iter().all(|r| !r.body.contains("VerySecretGoogleToken")), "the token only travels encrypted");
}
