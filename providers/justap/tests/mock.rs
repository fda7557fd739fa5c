//! The Justap mock's rules over raw HTTP: signatures, both route families, wrappers and number
//! encodings, duplicate order numbers, refund deduplication, charges closing after their ttl.

use std::time::Duration;

use payment_core::crypto::RsaPrivateKey;
use payment_justap::mock::{DEFAULT_TTL, JustapMock};
use payment_justap::signing;
use payment_mock_kit::{MockOptions, MockServer};
use serde_json::{Value, json};

const KEY: &str = include_str!("fixtures/merchant_private.pem");

async fn start() -> (MockServer, RsaPrivateKey) {
    let key = RsaPrivateKey::from_pem(KEY).unwrap();
    let mock = JustapMock::new(3).with_merchant_key(key.public_key().unwrap());
    (mock.serve(&MockOptions::default()).await.unwrap(), key)
}

struct Sent {
    status: u16,
    text: String,
}

impl Sent {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

/// Sends a signed request; `tamper` changes the signed headers after signing.
async fn send(
    server: &MockServer,
    key: &RsaPrivateKey,
    method: &str,
    path: &str,
    body: &str,
    tamper: impl FnOnce(&mut signing::SignedHeaders),
) -> Sent {
    let ts = payment_core::Timestamp::now().unix().to_string();
    let mut signed = signing::sign(key, body.as_bytes(), &ts, &signing::nonce().unwrap()).unwrap();
    tamper(&mut signed);
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.url());
    let request = if method == "POST" { client.post(url).body(body.to_owned()) } else { client.get(url) };
    let r = request
        .header("X-Justap-Api-Key", "sk_test_mocktest")
        .header("Content-Type", "application/json")
        .header(signing::TIME_HEADER, &signed.timestamp)
        .header(signing::NONCE_HEADER, &signed.nonce)
        .header(signing::BODY_HASH_HEADER, &signed.body_hash)
        .header(signing::SIGNATURE_HEADER, &signed.signature)
        .send()
        .await
        .unwrap();
    Sent { status: r.status().as_u16(), text: r.text().await.unwrap() }
}

fn charge_body(trade: &str, amount: &str) -> String {
    format!(
        r#"{{"app_id":"app_1","merchant_trade_id":"{trade}","amount":{amount},"currency":"CNY","channel":"AlipayQR","subject":"s","body":"b","client_ip":"127.0.0.1"}}"#
    )
}

#[tokio::test]
async fn every_request_needs_the_key_and_a_valid_signature() {
    let (server, key) = start().await;
    let body = charge_body("t1", "12.34");
    let plain =
        reqwest::Client::new().post(format!("{}/v1/charges", server.url())).body(body.clone()).send().await.unwrap();
    assert_eq!(plain.status(), 401);
    let e: Value = plain.json().await.unwrap();
    assert_eq!(e["code"], 16, "grpc-gateway shape: {e}");
    for (tamper, why) in [
        (
            Box::new(|s: &mut signing::SignedHeaders| s.nonce.push('x'))
                as Box<dyn FnOnce(&mut signing::SignedHeaders)>,
            "nonce",
        ),
        (Box::new(|s: &mut signing::SignedHeaders| s.body_hash = "0".repeat(32)), "body hash"),
        (Box::new(|s: &mut signing::SignedHeaders| s.timestamp = "1000000000".into()), "stale timestamp"),
        (Box::new(|s: &mut signing::SignedHeaders| s.signature = "AAAA".into()), "signature"),
    ] {
        let sent = send(&server, &key, "POST", "/v1/charges", &body, tamper).await;
        assert_eq!(sent.status, 401, "{why}: {}", sent.text);
        assert_eq!(sent.json()["code"], 16);
    }
    let other = RsaPrivateKey::generate().unwrap();
    assert_eq!(send(&server, &other, "POST", "/v1/charges", &body, |_| {}).await.status, 401, "someone else's key");
    let ok = send(&server, &key, "POST", "/v1/charges", &body, |_| {}).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(server.control().stats().charges, 1, "refused requests changed nothing");
}

#[tokio::test]
async fn answers_carry_wrappers_decimal_yuan_and_int64_strings_on_both_route_families() {
    let (server, key) = start().await;
    let created = send(&server, &key, "POST", "/transaction/v1/charges", &charge_body("t2", "0.10"), |_| {}).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert!(created.text.contains(r#""amount":0.10"#), "yuan written exactly: {}", created.text);
    let v = created.json();
    assert_eq!(v["object"], "Charge");
    let id = v["data"]["charge_id"].as_str().unwrap().to_owned();
    assert!(v["data"]["expired_ts"].is_string(), "int64 as a string: {v}");
    assert!(v["data"]["paid_at"].is_null() && v["data"].get("paid_ts").is_none_or(Value::is_null));
    assert!(v["data"]["created_at"].as_str().unwrap().ends_with('Z'));
    let read = send(&server, &key, "GET", &format!("/v1/charges/{id}?app_id=app_1"), "", |_| {}).await;
    assert_eq!(read.json()["data"]["charge_id"], id.as_str());
    let by_trade = send(&server, &key, "GET", "/v1/charges/merchant_trade_id/t2?app_id=app_1", "", |_| {}).await;
    assert_eq!(by_trade.json()["data"]["charge_id"], id.as_str());
    let other_app = send(&server, &key, "GET", &format!("/v1/charges/{id}?app_id=app_2"), "", |_| {}).await;
    assert_eq!((other_app.status, other_app.json()["code"].clone()), (404, json!(5)));
    let list = send(&server, &key, "GET", "/v1/charges?app_id=app_1&limit=5", "", |_| {}).await.json();
    assert_eq!((list["object"].clone(), list["has_more"].clone()), (json!("ChargeList"), json!(false)));
    let unknown = send(&server, &key, "GET", "/v1/charges?app_id=app_1&created[gte]=1", "", |_| {}).await;
    assert_eq!(unknown.status, 400, "dotted filters, not brackets: {}", unknown.text);
    let fine = send(&server, &key, "POST", "/v1/charges", &charge_body("t3", "1.234"), |_| {}).await;
    assert_eq!((fine.status, fine.json()["code"].clone()), (400, json!(3)), "more decimals than fen");
}

#[tokio::test]
async fn a_used_order_number_is_already_exists() {
    let (server, key) = start().await;
    assert_eq!(send(&server, &key, "POST", "/v1/charges", &charge_body("dup", "1.00"), |_| {}).await.status, 200);
    let again = send(&server, &key, "POST", "/v1/charges", &charge_body("dup", "1.00"), |_| {}).await;
    assert_eq!((again.status, again.json()["code"].clone()), (409, json!(6)));
    assert_eq!(server.control().stats().charges, 1);
}

#[tokio::test]
async fn refunds_are_deduplicated_by_merchant_refund_id() {
    let (server, key) = start().await;
    let created = send(&server, &key, "POST", "/v1/charges", &charge_body("r1", "10.00"), |_| {}).await.json();
    let id = created["data"]["charge_id"].as_str().unwrap().to_owned();
    let refund = |amount: &str, rid: &str| {
        format!(
            r#"{{"app_id":"app_1","charge_id":"{id}","merchant_refund_id":"{rid}","description":"d","amount":{amount}}}"#
        )
    };
    let unpaid = send(&server, &key, "POST", "/v1/refunds", &refund("1.00", "a"), |_| {}).await;
    assert_eq!((unpaid.status, unpaid.json()["code"].clone()), (400, json!(9)));
    server.control().complete_charge(&id).unwrap();
    let first = send(&server, &key, "POST", "/v1/refunds", &refund("2.50", "a"), |_| {}).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = send(&server, &key, "POST", "/v1/refunds", &refund("2.50", "a"), |_| {}).await;
    assert_eq!(again.json()["data"]["refund_id"], first.json()["data"]["refund_id"], "the same refund");
    let mismatch = send(&server, &key, "POST", "/v1/refunds", &refund("3.00", "a"), |_| {}).await;
    assert_eq!(mismatch.status, 409);
    assert!(mismatch.json()["message"].as_str().unwrap().contains("IdempotentParameterMismatch"));
    assert_eq!(server.control().stats().refunds, 1);
    let over = send(&server, &key, "POST", "/v1/refunds", &refund("7.51", "b"), |_| {}).await;
    assert_eq!(over.status, 400, "more than the 7.50 left");
    let list = send(&server, &key, "GET", &format!("/v1/refunds?app_id=app_1&charge_id={id}"), "", |_| {}).await.json();
    assert_eq!((list["object"].clone(), list["total"].clone()), (json!("RefundList"), json!(1)));
    let legacy =
        send(&server, &key, "GET", &format!("/transaction/v1/charges/{id}/refunds?app_id=app_1"), "", |_| {}).await;
    assert_eq!(legacy.json()["total"], 1);
    let charge = send(&server, &key, "GET", &format!("/v1/charges/{id}?app_id=app_1"), "", |_| {}).await;
    assert!(charge.text.contains(r#""amount_refund":2.50"#), "{}", charge.text);
}

#[tokio::test]
async fn unpaid_charges_close_after_their_ttl_and_reverse_closes_them() {
    let (server, key) = start().await;
    let a = send(&server, &key, "POST", "/v1/charges", &charge_body("c1", "1.00"), |_| {}).await.json();
    let b = send(&server, &key, "POST", "/v1/charges", &charge_body("c2", "1.00"), |_| {}).await.json();
    let (a, b) =
        (a["data"]["charge_id"].as_str().unwrap().to_owned(), b["data"]["charge_id"].as_str().unwrap().to_owned());
    let reversed =
        send(&server, &key, "POST", &format!("/v1/charges/{a}/reverse"), r#"{"app_id":"app_1"}"#, |_| {}).await;
    assert_eq!(reversed.json()["data"]["reversed"], true, "{}", reversed.text);
    assert!(server.control().complete_charge(&a).is_err(), "a reversed charge cannot be paid");
    server.control().advance_clock(Duration::from_secs(DEFAULT_TTL as u64 + 1));
    let lapsed = send(&server, &key, "GET", &format!("/v1/charges/{b}?app_id=app_1"), "", |_| {}).await.json();
    assert_eq!(lapsed["data"]["closed"], true);
    assert!(lapsed["data"]["closed_ts"].is_string());
    assert!(server.control().complete_charge(&b).is_err(), "a closed charge cannot be paid");
}

#[tokio::test]
async fn a_lost_create_answer_is_recovered_by_merchant_trade_id_not_a_second_charge() {
    use payment_core::transport::{EngineBuilder, RecordingSleeper};
    use payment_core::{CreateCharge, Currency, Money, PaymentClient, PaymentSource, RequestOptions};
    use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};

    let (server, key) = start().await;
    let config = payment_justap::JustapConfig::new("sk_test_recover", "app_1", std::sync::Arc::new(key))
        .and_then(|c| c.with_base_url(server.url()))
        .unwrap();
    let engine = EngineBuilder::new("justap").sleeper(std::sync::Arc::new(RecordingSleeper::default()));
    let client =
        PaymentClient::new(std::sync::Arc::new(payment_justap::JustapClient::with_engine(config, engine).unwrap()));
    let control = server.control();
    control
        .set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).times(1)]))
        .unwrap();
    let mut request = CreateCharge::new(Money::new(1234, Currency::CNY), PaymentSource::channel("WechatpayNative"))
        .reference("lost0001");
    request.payer_ip = Some("203.0.113.9".into());
    let charge = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    assert_eq!(charge.amount, Money::new(1234, Currency::CNY));
    assert_eq!(control.stats().charges, 1, "exactly one charge");
    let paths: Vec<String> = control.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert_eq!(paths[0], "POST /v1/charges");
    assert!(paths[1].starts_with("GET /v1/charges/merchant_trade_id/lost0001?app_id=app_1"), "{paths:?}");
}

#[tokio::test]
async fn the_api_key_and_the_private_key_never_show() {
    use payment_core::{CreateCharge, Currency, Money, PaymentClient, PaymentSource, RequestOptions};
    let (server, _) = start().await;
    let secret = "sk_test_NeverShowThisKey77";
    // Signed with a key the mock does not hold: refused, and the error must not carry secrets.
    let stranger = std::sync::Arc::new(RsaPrivateKey::generate().unwrap());
    let pem = stranger.to_pkcs8_pem().unwrap();
    let config = payment_justap::JustapConfig::new(secret, "app_1", stranger)
        .and_then(|c| c.with_base_url(server.url()))
        .unwrap();
    let client = PaymentClient::new(std::sync::Arc::new(payment_justap::JustapClient::new(config).unwrap()));
    let mut request = CreateCharge::new(Money::new(100, Currency::CNY), PaymentSource::channel("AlipayQR"));
    request.payer_ip = Some("127.0.0.1".into());
    let e = client.create_charge(request, &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), payment_core::ErrorKind::Authentication, "{e}");
    let body_line = pem.lines().nth(1).unwrap();
    for shown in [format!("{e}"), format!("{e:?}"), e.to_json().to_string(), format!("{client}"), format!("{client:?}")]
    {
        assert!(!shown.contains(secret) && !shown.contains("NeverShow"), "{shown}");
        assert!(!shown.contains(body_line) && !shown.contains("PRIVATE KEY"), "{shown}");
    }
    let logged = server.control().requests();
    assert!(
        logged.iter().all(|r| r.header("x-justap-api-key") == Some("[redacted]")),
        "the mock checks it; even its request log does not show it"
    );
}
