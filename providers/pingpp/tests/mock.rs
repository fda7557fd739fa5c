//! The Ping++ mock spoken to as the official SDKs would: signed JSON requests, both auth forms,
//! bracketed queries; and its webhooks checked by the client's verifier.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use payment_core::crypto::RsaPrivateKey;
use payment_core::{EventKind, EventRecord, Timestamp, WebhookVerifier};
use payment_mock_kit::{MockOptions, MockServer};
use payment_pingpp::mock::PingppMock;
use payment_pingpp::{PingppWebhookVerifier, signing};
use serde_json::{Value, json};

fn key() -> Arc<RsaPrivateKey> {
    static KEY: OnceLock<Arc<RsaPrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(RsaPrivateKey::generate().unwrap())).clone()
}

struct Sdk {
    server: MockServer,
    http: reqwest::Client,
}

enum Auth {
    Bearer,
    Basic,
}

impl Sdk {
    async fn start(mock: PingppMock) -> Sdk {
        Sdk { server: mock.serve(&MockOptions::default()).await.unwrap(), http: reqwest::Client::new() }
    }

    async fn signed() -> Sdk {
        Sdk::start(PingppMock::new(1).with_merchant_key(key().public_key().unwrap())).await
    }

    /// Sends a request, signing `signed_uri`/`signed_body`/`ts` (which a test may make differ from what is sent).
    async fn raw(
        &self,
        method: reqwest::Method,
        uri: &str,
        body: &str,
        sign: Option<(&str, &str, i64)>,
        auth: Auth,
    ) -> (u16, Value) {
        let ts = Timestamp::now().unix();
        let mut r = self
            .http
            .request(method, format!("{}{uri}", self.server.url()))
            .header("content-type", "application/json")
            .body(body.to_owned());
        r = match auth {
            Auth::Bearer => r.bearer_auth("sk_test_sdk"),
            Auth::Basic => r.basic_auth("sk_test_sdk", Some("")),
        };
        if let Some((signed_body, signed_uri, signed_ts)) = sign {
            let signature =
                signing::sign_request(&key(), signed_body.as_bytes(), signed_uri, &signed_ts.to_string()).unwrap();
            r = r.header(signing::TIMESTAMP_HEADER, signed_ts.to_string()).header(signing::SIGNATURE_HEADER, signature);
        } else {
            r = r.header(signing::TIMESTAMP_HEADER, ts.to_string());
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn call(&self, method: reqwest::Method, uri: &str, body: &str) -> (u16, Value) {
        let ts = Timestamp::now().unix();
        self.raw(method, uri, body, Some((body, uri, ts)), Auth::Bearer).await
    }

    async fn charge(&self, order_no: &str) -> Value {
        let body =
            json!({"order_no": order_no, "app": {"id": "app_1Gqj58ynP0mHeX1q"}, "channel": "alipay", "amount": 1000,
            "client_ip": "127.0.0.1", "currency": "cny", "subject": "Your Subject", "body": "Your Body"})
            .to_string();
        let (s, c) = self.call(reqwest::Method::POST, "/v1/charges", &body).await;
        assert_eq!(s, 200, "{c}");
        c
    }
}

#[tokio::test]
async fn signatures_are_required_and_checked() {
    let sdk = Sdk::signed().await;
    let body = json!({"order_no": "o1", "app": {"id": "app_1Gqj58ynP0mHeX1q"}, "channel": "alipay", "amount": 100,
        "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b"})
    .to_string();
    let now = Timestamp::now().unix();
    let (s, e) = sdk.raw(reqwest::Method::POST, "/v1/charges", &body, None, Auth::Bearer).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("missing_signature")));
    assert_eq!(e["error"]["message"], "没有提供签名串，需要在 header 中加入签名串。");
    let tampered = body.replace("100", "101");
    let (s, e) =
        sdk.raw(reqwest::Method::POST, "/v1/charges", &tampered, Some((&body, "/v1/charges", now)), Auth::Bearer).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_signature")), "tampered body");
    let (s, e) =
        sdk.raw(reqwest::Method::POST, "/v1/charges", &body, Some((&body, "/v1/refunds", now)), Auth::Bearer).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_signature")), "wrong path");
    let (s, e) = sdk
        .raw(reqwest::Method::POST, "/v1/charges", &body, Some((&body, "/v1/charges", now - 3600)), Auth::Bearer)
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("timestamp_out_of_range")));
    let (s, c) =
        sdk.raw(reqwest::Method::POST, "/v1/charges", &body, Some((&body, "/v1/charges", now)), Auth::Basic).await;
    assert_eq!(s, 200, "Basic auth works too: {c}");
    let uri = "/v1/charges?app%5Bid%5D=app_1Gqj58ynP0mHeX1q&limit=3";
    let (s, l) = sdk.raw(reqwest::Method::GET, uri, "", Some(("", uri, now)), Auth::Bearer).await;
    assert_eq!(s, 200, "the query is part of what is signed: {l}");
    assert!(l.get("count").is_none(), "Ping++ lists have no count");
    let (s, _) = sdk.raw(reqwest::Method::GET, uri, "", Some(("", "/v1/charges", now)), Auth::Bearer).await;
    assert_eq!(s, 400, "signing the path without the query fails");
}

#[tokio::test]
async fn charges_lists_and_the_one_month_window() {
    let sdk = Sdk::start(PingppMock::new(2)).await;
    let old = sdk.charge("old001").await;
    assert_eq!((old["paid"].as_bool(), old["credential"]["object"].as_str()), (Some(false), Some("credential")));
    assert!(old["id"].as_str().unwrap().len() == 27);
    sdk.http
        .post(format!("{}/__mock__/clock/advance", sdk.server.url()))
        .body(r#"{"seconds":2678400}"#)
        .send()
        .await
        .unwrap();
    let newer: Vec<String> = futures_ids(&sdk, 3).await;
    let (s, e) = sdk.call(reqwest::Method::GET, "/v1/charges?limit=10", "").await;
    assert_eq!((s, e["error"]["param"].as_str()), (400, Some("app[id]")));
    let (_, l) = sdk.call(reqwest::Method::GET, "/v1/charges?app%5Bid%5D=app_1Gqj58ynP0mHeX1q&limit=10", "").await;
    assert_eq!(l["data"].as_array().unwrap().len(), 3, "only the last month by default");
    let (_, l) = sdk
        .call(reqwest::Method::GET, "/v1/charges?app%5Bid%5D=app_1Gqj58ynP0mHeX1q&created%5Bgte%5D=0&limit=10", "")
        .await;
    assert_eq!(l["data"].as_array().unwrap().len(), 4);
    // newer is newest first: [new002, new001, new000]; the page just newer than new000 is new001.
    let uri = format!("/v1/charges?app%5Bid%5D=app_1Gqj58ynP0mHeX1q&limit=1&ending_before={}", newer[2]);
    let (_, l) = sdk.call(reqwest::Method::GET, &uri, "").await;
    assert_eq!(l["data"][0]["id"].as_str(), Some(newer[1].as_str()), "ending_before walks towards newer");
    assert_eq!(l["has_more"], true);
    let (s, e) = sdk
        .call(
            reqwest::Method::POST,
            "/v1/charges",
            &json!({"order_no": "old001", "app": {"id": "app_1Gqj58ynP0mHeX1q"},
        "channel": "alipay", "amount": 1, "client_ip": "::1", "currency": "cny", "subject": "s", "body": "b"})
            .to_string(),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("order_no_used")));
    let (s, e) = sdk
        .call(
            reqwest::Method::POST,
            "/v1/charges",
            &json!({"order_no": "x1", "app": {"id": "app_1Gqj58ynP0mHeX1q"},
        "channel": "wx_pub", "amount": 1, "client_ip": "::1", "currency": "cny", "subject": "s", "body": "b"})
            .to_string(),
        )
        .await;
    assert_eq!((s, e["error"]["param"].as_str()), (400, Some("extra[open_id]")));
}

async fn futures_ids(sdk: &Sdk, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(sdk.charge(&format!("new{i:03}")).await["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    ids
}

#[tokio::test]
async fn refunds_go_pending_then_succeeded_and_reverse_only_unpaid() {
    let sdk = Sdk::start(PingppMock::new(3).with_refund_delay(60)).await;
    let c = sdk.charge("r001").await;
    let id = c["id"].as_str().unwrap();
    let (s, e) = sdk.call(reqwest::Method::POST, &format!("/v1/charges/{id}/refunds"), r#"{"description":"x"}"#).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("charge_unpaid")));
    sdk.server.control().complete_charge(id).unwrap();
    let (s, e) = sdk.call(reqwest::Method::POST, &format!("/v1/charges/{id}/reverse"), "{}").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("charge_paid")));
    let (s, e) = sdk.call(reqwest::Method::POST, &format!("/v1/charges/{id}/refunds"), r#"{"amount":300}"#).await;
    assert_eq!((s, e["error"]["param"].as_str()), (400, Some("description")), "description is required");
    let (_, r) = sdk
        .call(reqwest::Method::POST, &format!("/v1/charges/{id}/refunds"), r#"{"amount":300,"description":"damaged"}"#)
        .await;
    assert_eq!((r["status"].as_str(), r["succeed"].as_bool()), (Some("pending"), Some(false)));
    let rid = r["id"].as_str().unwrap();
    let (_, c) = sdk.call(reqwest::Method::GET, &format!("/v1/charges/{id}"), "").await;
    assert_eq!(
        (c["refunded"].as_bool(), c["amount_refunded"].as_i64()),
        (Some(true), Some(0)),
        "only succeeded refunds count"
    );
    sdk.http
        .post(format!("{}/__mock__/clock/advance", sdk.server.url()))
        .body(r#"{"seconds":61}"#)
        .send()
        .await
        .unwrap();
    let (_, r) = sdk.call(reqwest::Method::GET, &format!("/v1/charges/{id}/refunds/{rid}"), "").await;
    assert_eq!(r["status"], "succeeded");
    let (_, c) = sdk.call(reqwest::Method::GET, &format!("/v1/charges/{id}"), "").await;
    assert_eq!(c["amount_refunded"], 300);
    let (s, e) = sdk
        .call(reqwest::Method::POST, &format!("/v1/charges/{id}/refunds"), r#"{"amount":701,"description":"x"}"#)
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("refund_amount_exceeded")));
    let unpaid = sdk.charge("r002").await;
    let (s, c) =
        sdk.call(reqwest::Method::POST, &format!("/v1/charges/{}/reverse", unpaid["id"].as_str().unwrap()), "{}").await;
    assert_eq!((s, c["reversed"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn completing_a_charge_sends_a_signed_webhook_the_verifier_accepts() {
    let received: Arc<Mutex<Vec<(axum::http::HeaderMap, Bytes)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mock = PingppMock::new(4).with_webhook_url(hook);
    let verifier = PingppWebhookVerifier::new(mock.platform_public_key().unwrap());
    let sdk = Sdk::start(mock.clone()).await;
    let c = sdk.charge("w001").await;
    sdk.server.control().complete_charge(c["id"].as_str().unwrap()).unwrap();
    for _ in 0..100 {
        if mock.deliveries().first().is_some_and(|d| d.state == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(mock.deliveries()[0].last_status, Some(200));
    let (headers, body) = received.lock().unwrap()[0].clone();
    let event = verifier.verify(&headers, &body).unwrap();
    assert_eq!(event.kind, EventKind::ChargeSucceeded);
    let EventRecord::Charge(charge) = event.record else { panic!("a charge") };
    assert_eq!(charge.reference.as_deref(), Some("w001"));
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert!(verifier.verify(&headers, &tampered).is_err(), "a changed body fails");
}

#[tokio::test]
async fn the_client_walks_both_directions() {
    use payment_core::{CreateCharge, Currency, ListCharges, Money, PaymentSource, RequestOptions};
    let server =
        PingppMock::new(8).with_merchant_key(key().public_key().unwrap()).serve(&MockOptions::default()).await.unwrap();
    let config = payment_pingpp::PingppConfig::new("sk_test_walk", "app_1Gqj58ynP0mHeX1q")
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_private_key(key());
    let client = payment_pingpp::PingppClient::new(config).unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut request = CreateCharge::new(Money::new(100 + i, Currency::CNY), PaymentSource::channel("alipay"))
            .reference(format!("walk{i:03}"));
        request.payer_ip = Some("127.0.0.1".into());
        ids.push(payment_core::Charge::create_charge(&client, request, &RequestOptions::default()).await.unwrap().id);
    }
    let query = ListCharges { page_size: Some(2), ..ListCharges::default() };
    let forward = payment_core::Charge::list_charges(&client, query.clone()).collect_all().await.unwrap();
    let forward_ids: Vec<_> = forward.iter().map(|c| c.id.clone()).collect();
    assert_eq!(forward_ids, ids.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    let backward = client.list_charges_newer_than(&ids[1], query).collect_all().await.unwrap();
    let backward_ids: Vec<_> = backward.iter().map(|c| c.id.clone()).collect();
    assert_eq!(backward_ids, ids[2..].to_vec(), "from the anchor towards newer, oldest first");
}

/// A charge sent while the connection reset (nothing reached Ping++) is proven absent by its
/// order lookup only when that lookup read everything: with more than one page of charges in
/// the window, the first page not holding it proves nothing, and the call is unknown instead of
/// being sent again (the charge could be on the page not read).
#[tokio::test]
async fn an_order_lookup_that_leaves_a_page_unread_proves_nothing() {
    use payment_core::{CreateCharge, Currency, ErrorKind, Money, PaymentSource, RequestOptions};
    use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};
    let server =
        PingppMock::new(9).with_merchant_key(key().public_key().unwrap()).serve(&MockOptions::default()).await.unwrap();
    let config = payment_pingpp::PingppConfig::new("sk_test_pages", "app_1Gqj58ynP0mHeX1q")
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_private_key(key());
    let client = payment_pingpp::PingppClient::new(config).unwrap();
    let charge = |order: String| {
        let mut request =
            CreateCharge::new(Money::new(100, Currency::CNY), PaymentSource::channel("alipay")).reference(order);
        request.payer_ip = Some("127.0.0.1".into());
        request
    };
    let reset = || FaultPlan::new(vec![FaultRule::always(FaultKind::ResetBeforeCommit).methods(&["POST"]).times(1)]);
    // Few charges: the lookup reads them all, proves the order absent, and the charge is sent again.
    server.control().set_faults(reset()).unwrap();
    let options = RequestOptions::default();
    payment_core::Charge::create_charge(&client, charge("pagesfirst".into()), &options).await.unwrap();
    for i in 0..100 {
        payment_core::Charge::create_charge(&client, charge(format!("pages{i:03}")), &RequestOptions::default())
            .await
            .unwrap();
    }
    server.control().set_faults(reset()).unwrap();
    let e = payment_core::Charge::create_charge(&client, charge("pageslast".into()), &options).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert_eq!(server.control().stats().charges, 101, "never sent again on a partial lookup");
}
