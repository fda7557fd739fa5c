//! The PAY.JP mock spoken to as an official SDK would: raw form bodies, Basic auth, Python-style booleans.

use payment_mock_kit::{FaultKind, FaultPlan, FaultRule, MockOptions, MockServer};
use payment_payjp::mock::PayjpMock;
use serde_json::Value;

struct Sdk {
    server: MockServer,
    http: reqwest::Client,
}

impl Sdk {
    async fn start() -> Sdk {
        Sdk { server: PayjpMock::new(3).serve(&MockOptions::default()).await.unwrap(), http: reqwest::Client::new() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: &str, key: Option<&str>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.server.url()))
            .basic_auth("sk_test_sdk", Some(""))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, body, None).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, "", None).await
    }

    async fn token(&self, number: &str) -> String {
        let (s, t) = self
            .post(
                "/v1/tokens",
                &format!("card%5Bnumber%5D={number}&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2035&card%5Bcvc%5D=123"),
            )
            .await;
        assert_eq!(s, 200, "{t}");
        t["id"].as_str().unwrap().to_owned()
    }

    async fn advance(&self, seconds: u64) {
        self.http
            .post(format!("{}/__mock__/clock/advance", self.server.url()))
            .body(format!("{{\"seconds\":{seconds}}}"))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn authorize_with_python_booleans_then_capture() {
    let sdk = Sdk::start().await;
    let tok = sdk.token("4242424242424242").await;
    let (s, c) =
        sdk.post("/v1/charges", &format!("amount=3500&currency=jpy&card={tok}&capture=False&expiry_days=3")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!((c["paid"].as_bool(), c["captured"].as_bool()), (Some(true), Some(false)));
    assert!(c["expired_at"].as_i64().unwrap() > c["created"].as_i64().unwrap());
    for key in [
        "id",
        "object",
        "livemode",
        "created",
        "amount",
        "currency",
        "paid",
        "captured",
        "captured_at",
        "expired_at",
        "card",
        "customer",
        "description",
        "failure_code",
        "failure_message",
        "fee_rate",
        "refunded",
        "amount_refunded",
        "refund_reason",
        "subscription",
        "metadata",
        "three_d_secure_status",
        "term_id",
    ] {
        assert!(c.get(key).is_some(), "charge lacks {key}");
    }
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("ch_") && id.len() == 33);
    let (s, c) = sdk.post(&format!("/v1/charges/{id}/capture"), "amount=3000").await;
    assert_eq!(s, 200, "{c}");
    assert_eq!((c["captured"].as_bool(), c["amount_refunded"].as_i64()), (Some(true), Some(500)));
    let (s, e) = sdk.post(&format!("/v1/charges/{id}/capture"), "").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("already_captured")));
}

#[tokio::test]
async fn auth_errors_are_payjps_own() {
    let sdk = Sdk::start().await;
    let r = sdk.http.get(format!("{}/v1/charges", sdk.server.url())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "auth_error");
    assert_eq!(body["error"]["code"], "no_api_key");
    let r = sdk
        .http
        .get(format!("{}/v1/charges", sdk.server.url()))
        .basic_auth("pk_test_public", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn idempotency_key_replays_and_conflicts() {
    let sdk = Sdk::start().await;
    let tok = sdk.token("4242424242424242").await;
    let body = format!("amount=1000&currency=jpy&card={tok}");
    let (s1, a) = sdk.call(reqwest::Method::POST, "/v1/charges", &body, Some("order-1")).await;
    let (s2, b) = sdk.call(reqwest::Method::POST, "/v1/charges", &body, Some("order-1")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a, b, "the replay is the same charge");
    let (s, e) = sdk
        .call(reqwest::Method::POST, "/v1/charges", &format!("amount=2000&currency=jpy&card={tok}"), Some("order-1"))
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("idempotency_conflict")));
    let (s, e) = sdk.call(reqwest::Method::POST, "/v1/charges", &body, Some("bad key!")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_idempotency_key")));
    let (s, e) = sdk.post("/v1/charges", &body).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("token_already_used")));
}

#[tokio::test]
async fn refunds_accumulate_and_the_window_closes_after_180_days() {
    let sdk = Sdk::start().await;
    let tok = sdk.token("5555555555554444").await;
    let (_, c) = sdk.post("/v1/charges", &format!("amount=1000&currency=jpy&card={tok}")).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (_, c) = sdk.post(&format!("/v1/charges/{id}/refund"), "amount=300&refund_reason=partial").await;
    assert_eq!((c["amount_refunded"].as_i64(), c["refunded"].as_bool()), (Some(300), Some(true)));
    let (s, e) = sdk.post(&format!("/v1/charges/{id}/refund"), "amount=800").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("refund_amount_gt_net")));
    sdk.advance(181 * 86_400).await;
    let (s, e) = sdk.post(&format!("/v1/charges/{id}/refund"), "amount=100").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("refund_limit_exceeded")));
}

#[tokio::test]
async fn authorizations_expire_and_reauth_extends_them() {
    let sdk = Sdk::start().await;
    let tok = sdk.token("3530111333300000").await;
    let (_, c) =
        sdk.post("/v1/charges", &format!("amount=1000&currency=jpy&card={tok}&capture=false&expiry_days=1")).await;
    assert_eq!(c["card"]["brand"], "JCB");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, c) = sdk.post(&format!("/v1/charges/{id}/reauth"), "expiry_days=5").await;
    assert_eq!(s, 200, "{c}");
    sdk.advance(2 * 86_400).await;
    let (s, _) = sdk.post(&format!("/v1/charges/{id}/capture"), "").await;
    assert_eq!(s, 200, "reauth moved the expiry");
    let tok = sdk.token("4242424242424242").await;
    let (_, c) =
        sdk.post("/v1/charges", &format!("amount=1000&currency=jpy&card={tok}&capture=false&expiry_days=1")).await;
    sdk.advance(2 * 86_400).await;
    let (s, e) = sdk.post(&format!("/v1/charges/{}/capture", c["id"].as_str().unwrap()), "").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("charge_expired")));
}

#[tokio::test]
async fn updates_lists_and_validation() {
    let sdk = Sdk::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let tok = sdk.token("4242424242424242").await;
        let (_, c) =
            sdk.post("/v1/charges", &format!("amount={}&currency=jpy&card={tok}&metadata%5Bn%5D={i}", 100 + i)).await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let (_, c) =
        sdk.post(&format!("/v1/charges/{}", ids[0]), "description=updated&metadata%5Bn%5D=&metadata%5Bk%5D=v").await;
    assert_eq!(c["description"], "updated");
    assert_eq!(c["metadata"], serde_json::json!({"k": "v"}), "an empty value unsets a key");
    let (_, page) = sdk.get("/v1/charges?limit=2&offset=1").await;
    assert_eq!((page["object"].as_str(), page["url"].as_str()), (Some("list"), Some("/v1/charges")));
    assert_eq!((page["count"].as_u64(), page["has_more"].as_bool()), (Some(2), Some(true)));
    assert_eq!(page["data"][0]["id"].as_str(), Some(ids[3].as_str()), "newest first");
    let (_, last) = sdk.get("/v1/charges?limit=2&offset=4").await;
    assert_eq!((last["count"].as_u64(), last["has_more"].as_bool()), (Some(1), Some(false)));
    let (s, e) = sdk.get("/v1/charges?limit=101").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_querystring")));
    let (s, e) = sdk.post("/v1/charges", "amount=1000&currency=jpy&card=tok_x&capture=maybe").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_boolean")));
    let (s, e) = sdk.post("/v1/charges", "amount=1000&currency=usd").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_currency")));
    let (s, e) = sdk.post("/v1/charges", "amount=49&currency=jpy").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_amount")));
    let (s, e) = sdk.post("/v1/charges", "amount=1000&currency=jpy&sneaky=1").await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("no_allowed_param")));
    let (s, e) = sdk.get("/v1/charges/ch_nope").await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn declines_record_a_failed_charge() {
    let sdk = Sdk::start().await;
    let tok = sdk.token("4000000000000069").await;
    let (s, e) = sdk.post("/v1/charges", &format!("amount=1000&currency=jpy&card={tok}")).await;
    assert_eq!(
        (s, e["error"]["type"].as_str(), e["error"]["code"].as_str()),
        (402, Some("card_error"), Some("expired_card"))
    );
    let failed = e["error"]["charge"].as_str().unwrap();
    let (_, c) = sdk.get(&format!("/v1/charges/{failed}")).await;
    assert_eq!((c["paid"].as_bool(), c["failure_code"].as_str()), (Some(false), Some("expired_card")));
    let (s, e) = sdk
        .post("/v1/tokens", "card%5Bnumber%5D=4242424242424241&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2035")
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (400, Some("invalid_number"), Some("card[number]"))
    );
}

#[tokio::test]
async fn over_capacity_is_an_injectable_fault() {
    let sdk = Sdk::start().await;
    let rule = FaultRule::always(FaultKind::Status { status: 429, retry_after: None }).times(1);
    sdk.server.control().set_faults(FaultPlan::new(vec![rule])).unwrap();
    let (s, e) = sdk.get("/v1/charges").await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["type"].as_str()),
        (429, Some("over_capacity"), Some("client_error"))
    );
    let (s, _) = sdk.get("/v1/charges").await;
    assert_eq!(s, 200);
}
