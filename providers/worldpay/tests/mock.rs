//! The Worldpay mock spoken to over raw HTTP, as any Access client would.

use payment_mock_kit::{MockOptions, MockServer};
use payment_worldpay::mock::{FINAL_AFTER, WorldpayMock};
use serde_json::{Value, json};

const V6: &str = "application/vnd.worldpay.payments-v6+json";
const V6_HAL: &str = "application/vnd.worldpay.payments-v6.hal+json";
const QUERIES: &str = "application/vnd.worldpay.payment-queries-v1.hal+json";

struct Api {
    server: MockServer,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    body: Value,
    correlation: Option<String>,
}

impl Api {
    async fn start() -> Api {
        Api {
            server: WorldpayMock::new(21).serve(&MockOptions::default()).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        target: &str,
        body: Option<Value>,
        content_type: &str,
        accept: &str,
        user: &str,
    ) -> Answer {
        let url = if target.starts_with("http") { target.to_owned() } else { format!("{}{target}", self.server.url()) };
        let mut r = self.http.request(method, url).basic_auth(user, Some("secret")).header("accept", accept);
        if let Some(b) = body {
            r = r.header("content-type", content_type).body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let correlation = resp.headers().get("wp-correlationid").map(|v| v.to_str().unwrap().to_owned());
        Answer { status: resp.status().as_u16(), correlation, body: resp.json().await.unwrap_or(Value::Null) }
    }

    async fn post(&self, target: &str, body: Option<Value>) -> Answer {
        self.send(reqwest::Method::POST, target, body, V6, V6_HAL, "user").await
    }

    async fn get(&self, target: &str, accept: &str) -> Answer {
        self.send(reqwest::Method::GET, target, None, V6, accept, "user").await
    }

    async fn authorize(&self, reference: &str, holder: &str, amount: i64) -> Answer {
        self.post("/payments/authorizations", Some(request(reference, holder, amount, "4444333322221111"))).await
    }
}

fn request(reference: &str, holder: &str, amount: i64, pan: &str) -> Value {
    json!({"transactionReference": reference, "merchant": {"entity": "default"},
        "instruction": {"narrative": {"line1": "Mind Palace"}, "value": {"currency": "GBP", "amount": amount},
        "paymentInstrument": {"type": "card/plain", "cardNumber": pan, "cardHolderName": holder, "cardExpiryDate": {"month": 5, "year": 2030}}}})
}

fn href<'a>(body: &'a Value, rel: &str) -> &'a str {
    body["_links"][rel]["href"].as_str().unwrap_or_else(|| panic!("no {rel} in {body}"))
}

#[tokio::test]
async fn media_types_auth_and_schema() {
    let api = Api::start().await;
    let body = request("ref-1", "Bob", 250, "4444333322221111");
    let a = api
        .send(reqwest::Method::POST, "/payments/authorizations", Some(body.clone()), "application/json", V6_HAL, "user")
        .await;
    assert_eq!((a.status, a.body["errorName"].as_str()), (415, Some("unsupportedContentType")));
    let a =
        api.send(reqwest::Method::POST, "/payments/authorizations", Some(body.clone()), V6, "text/html", "user").await;
    assert_eq!(
        (a.status, a.body["errorName"].as_str(), a.body["headerName"].as_str()),
        (406, Some("unsupportedAcceptHeader"), Some("Accept"))
    );
    let a = api.send(reqwest::Method::POST, "/payments/authorizations", Some(body.clone()), V6, V6, "denied").await;
    assert_eq!((a.status, a.body["errorName"].as_str()), (401, Some("accessDenied")));
    assert!(a.correlation.is_some(), "WP-CorrelationId on errors too");
    let mut extra = body.clone();
    extra["instruction"]["colour"] = json!("red");
    let a = api.post("/payments/authorizations", Some(extra)).await;
    assert_eq!(a.body["errorName"], "bodyDoesNotMatchSchema");
    assert_eq!(a.body["validationErrors"][0]["errorName"], "unrecognizedField");
    assert_eq!(a.body["validationErrors"][0]["jsonPath"], "$.instruction.colour");
    let a = api.post("/payments/authorizations", Some(request("ref-2", "Bob", 250, "4444333322221112"))).await;
    assert_eq!(a.body["validationErrors"][0]["errorName"], "panFailedLuhnCheck");
    let a = api.send(reqwest::Method::POST, "/payments/authorizations", None, V6, V6_HAL, "user").await;
    assert_eq!(a.status, 415);
    let root = api.get("/", V6_HAL).await;
    assert!(href(&root.body, "payments:authorize").ends_with("/payments/authorizations"));
    let missing = api.get("/nowhere", V6_HAL).await;
    assert_eq!((missing.status, missing.body["errorName"].as_str()), (404, Some("endpointNotFound")));
    assert!(missing.correlation.is_some());
}

#[tokio::test]
async fn magic_names_and_duplicates() {
    let api = Api::start().await;
    let a = api.authorize("ref-r", "REFUSED", 100).await;
    assert_eq!((a.status, a.body["outcome"].as_str(), a.body["code"].as_str()), (201, Some("refused"), Some("5")));
    assert!(a.body["_links"].get("payments:settle").is_none(), "a refusal offers no settle");
    let a = api.authorize("ref-r51", "REFUSED51", 100).await;
    assert_eq!(a.body["code"], "51");
    let a = api.authorize("ref-e", "ERROR", 100).await;
    assert_eq!((a.status, a.body["errorName"].as_str()), (500, Some("internalErrorOccurred")));
    let a = api.authorize("ref-ok", "Bob", 100).await;
    assert_eq!((a.status, a.body["outcome"].as_str()), (201, Some("authorized")));
    assert!(a.correlation.is_some());
    let again = api.authorize("ref-ok", "Bob", 100).await;
    assert_eq!((again.status, again.body["errorName"].as_str()), (400, Some("transactionReferenceIsADuplicate")));
}

#[tokio::test]
async fn links_follow_the_state_and_are_single_use() {
    let api = Api::start().await;
    let a = api.authorize("ref-life", "Bob", 1000).await;
    let partial = href(&a.body, "payments:partialSettle").to_owned();
    let over =
        api.post(&partial, Some(json!({"value": {"currency": "GBP", "amount": 1001}, "reference": "ps-1"}))).await;
    assert_eq!(over.body["validationErrors"][0]["jsonPath"], "$.value.amount");
    let wrong =
        api.post(&partial, Some(json!({"value": {"currency": "EUR", "amount": 100}, "reference": "ps-1"}))).await;
    assert_eq!(wrong.body["validationErrors"][0]["jsonPath"], "$.value.currency");
    let settled =
        api.post(&partial, Some(json!({"value": {"currency": "GBP", "amount": 400}, "reference": "ps-1"}))).await;
    assert_eq!(settled.status, 202);
    for rel in
        ["payments:refund", "payments:partialRefund", "payments:partialSettle", "payments:cancel", "payments:events"]
    {
        assert!(settled.body["_links"].get(rel).is_some(), "after a partial settle {rel} is offered");
    }
    let reused =
        api.post(&partial, Some(json!({"value": {"currency": "GBP", "amount": 100}, "reference": "ps-2"}))).await;
    assert_eq!((reused.status, reused.body["errorName"].as_str()), (400, Some("transactionHasAlreadyBeenProcessed")));
    let events = api.get(href(&settled.body, "payments:events"), V6_HAL).await;
    assert_eq!(events.body["lastEvent"], "Sent for Settlement");
    api.http
        .post(format!("{}/__mock__/clock/advance", api.server.url()))
        .body(format!("{{\"seconds\":{FINAL_AFTER}}}"))
        .send()
        .await
        .unwrap();
    let recovery = api.get("/payments/events?transactionRef=ref-life&entity=default", V6_HAL).await;
    assert_eq!(recovery.body["lastEvent"], "Settled", "sentFor* turns final on the mock clock");
    let cancel = href(&recovery.body, "payments:cancel").to_owned();
    let canceled = api.post(&cancel, None).await;
    assert_eq!(canceled.status, 202);
    let after = api.get("/payments/events?transactionRef=ref-life&entity=default", V6_HAL).await;
    assert!(after.body["_links"].get("payments:partialSettle").is_none(), "nothing left to settle once canceled");
    let refund = href(&after.body, "payments:partialRefund").to_owned();
    let too_much =
        api.post(&refund, Some(json!({"value": {"currency": "GBP", "amount": 401}, "reference": "pr-1"}))).await;
    assert_eq!(
        too_much.body["validationErrors"][0]["jsonPath"], "$.value.amount",
        "refunds never exceed what was settled"
    );
    let missing = api.get("/payments/events?transactionRef=nope&entity=default", V6_HAL).await;
    assert_eq!(missing.status, 404);
    let bad_link = api.post("/payments/settlements/full/eyJrIjoieCJ9.unknown", None).await;
    assert_eq!((bad_link.status, bad_link.body["errorName"].as_str()), (404, Some("resourceNotFound")));
}

#[tokio::test]
async fn payment_queries_page_with_next_links() {
    let api = Api::start().await;
    for i in 0..5 {
        api.authorize(&format!("q-{i}"), "Bob", 100 + i).await;
    }
    let start = payment_core::Timestamp::from_unix(payment_core::Timestamp::now().unix() - 3600).to_rfc3339();
    let end = payment_core::Timestamp::from_unix(payment_core::Timestamp::now().unix() + 3600).to_rfc3339();
    let first = api.get(&format!("/paymentQueries/payments?startDate={start}&endDate={end}&pageSize=2"), QUERIES).await;
    assert_eq!(first.body["_embedded"]["payments"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["_embedded"]["payments"][0]["transactionReference"], "q-4", "newest first");
    let mut seen = 2;
    let mut next = first.body["_links"]["next"]["href"].as_str().map(str::to_owned);
    while let Some(n) = next {
        let page = api.get(&n, QUERIES).await;
        seen += page.body["_embedded"]["payments"].as_array().unwrap().len();
        next = page.body["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 5);
    let bad = api.get(&format!("/paymentQueries/payments?startDate={start}&endDate={end}&pageSize=301"), QUERIES).await;
    assert_eq!((bad.status, bad.body["errorName"].as_str()), (400, Some("invalidPageSize")));
    let by_ref = api.get("/paymentQueries/payments?transactionReference=q-3", QUERIES).await;
    let id = by_ref.body["_embedded"]["payments"][0]["paymentId"].as_str().unwrap().to_owned();
    let one = api.get(&format!("/paymentQueries/payments/{id}"), QUERIES).await;
    assert_eq!(one.body["events"][0]["eventName"], "authorizationSucceeded");
    let none = api.get("/paymentQueries/payments/payNOPE", QUERIES).await;
    assert_eq!((none.status, none.body["errorName"].as_str()), (404, Some("paymentNotFound")));
}
