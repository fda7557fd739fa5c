//! The mock's Payments API (2024-06-01) spoken to over raw HTTP with the documented shapes: a
//! 3-D Secure payment taken, its device data collected and its challenge answered by a browser
//! on the mock's pages, then settled and refunded by the `_actions` it offers; and hostile input.

use payment_mock_kit::{MockOptions, MockServer};
use payment_worldpay::mock::WorldpayMock;
use serde_json::{Value, json};

struct Api {
    server: MockServer,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Api { server: WorldpayMock::new(33).serve(&MockOptions::default()).await.unwrap(), http }
    }

    fn url(&self, target: &str) -> String {
        if target.starts_with("http") { target.to_owned() } else { format!("{}{target}", self.server.url()) }
    }

    /// A Payments API call with the documented headers, minus those named in `omit`.
    async fn call(&self, method: reqwest::Method, target: &str, body: Option<Value>, omit: &[&str]) -> (u16, Value) {
        let mut r = self.http.request(method, self.url(target)).basic_auth("user", Some("secret"));
        for (name, value) in [("accept", "application/json"), ("wp-api-version", "2024-06-01")] {
            if !omit.contains(&name) {
                r = r.header(name, value);
            }
        }
        if let Some(b) = body {
            if !omit.contains(&"content-type") {
                r = r.header("content-type", "application/json");
            }
            r = r.body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, target: &str, body: Option<Value>) -> (u16, Value) {
        self.call(reqwest::Method::POST, target, body, &[]).await
    }

    /// A browser posting a form to one of the mock's pages: status, `Location`, page text.
    async fn form(&self, target: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let resp = self
            .http
            .post(self.url(target))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        (resp.status().as_u16(), location, resp.text().await.unwrap())
    }
}

fn payment(reference: &str, holder: &str, auto: bool) -> Value {
    json!({"transactionReference": reference, "merchant": {"entity": "default"},
        "instruction": {"method": "card", "narrative": {"line1": "Mind Palace"}, "value": {"currency": "GBP", "amount": 250},
            "paymentInstrument": {"type": "plain", "cardHolderName": holder, "cardNumber": "4444333322221111",
                "expiryDate": {"month": 5, "year": 2030}, "cvc": "123"},
            "settlement": {"auto": auto},
            "threeDS": {"type": "integrated", "mode": "always", "challenge": {"returnUrl": "https://shop.example/3ds/back"},
                "deviceData": {"acceptHeader": "text/html", "userAgentHeader": "Mozilla/5.0", "channel": "browser"}}},
        "channel": "ecom"})
}

fn action<'a>(body: &'a Value, name: &str) -> &'a str {
    body["_actions"][name]["href"].as_str().unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[tokio::test]
async fn a_challenged_payment_is_authenticated_in_the_browser_then_settled_and_refunded() {
    let api = Api::start().await;
    let (status, taken) = api.post("/api/payments", Some(payment("3ds-1", "Bob", false))).await;
    assert_eq!((status, taken["outcome"].as_str()), (201, Some("3dsDeviceDataRequired")), "{taken}");
    let ddc = &taken["deviceDataCollection"];
    assert_eq!(ddc["bin"], "444433");
    // The browser posts the hidden form; the page posts the session id back to its parent.
    let (status, _, page) =
        api.form(ddc["url"].as_str().unwrap(), &[("JWT", ddc["jwt"].as_str().unwrap()), ("Bin", "444433")]).await;
    assert_eq!(status, 200, "{page}");
    let session = page.split("<code id=session>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    assert!(page.contains("profile.completed"), "{page}");
    // A wrong collection reference is refused with its jsonPath; the right one is challenged.
    let supply = action(&taken, "supply3dsDeviceData").to_owned();
    let (status, wrong) = api.post(&supply, Some(json!({"collectionReference": "not-it"}))).await;
    assert_eq!(status, 400, "{wrong}");
    assert_eq!(wrong["validationErrors"][0]["jsonPath"], "$.collectionReference");
    let (status, challenged) = api.post(&supply, Some(json!({"collectionReference": session}))).await;
    assert_eq!((status, challenged["outcome"].as_str()), (201, Some("3dsChallenged")), "{challenged}");
    let (status, used) = api.post(&supply, Some(json!({"collectionReference": session}))).await;
    assert_eq!((status, used["errorName"].as_str()), (400, Some("transactionHasAlreadyBeenProcessed")));
    // Asked before the customer answered: the same challenge, and its link still stands.
    let complete = action(&challenged, "complete3dsChallenge").to_owned();
    let (_, early) = api.post(&complete, None).await;
    assert_eq!(early["outcome"], "3dsChallenged", "{early}");
    // The customer answers on the issuer's page and goes back to the shop.
    let jwt = challenged["challenge"]["jwt"].as_str().unwrap();
    let (status, _, question) = api.form(challenged["challenge"]["url"].as_str().unwrap(), &[("JWT", jwt)]).await;
    assert!(status == 200 && question.contains("Authenticate"), "{question}");
    let (status, back, _) = api.form("/3ds/challenge/answer", &[("JWT", jwt), ("result", "success")]).await;
    assert_eq!((status, back.as_deref()), (303, Some("https://shop.example/3ds/back")));
    let (status, authorized) = api.post(&complete, None).await;
    assert_eq!((status, authorized["outcome"].as_str()), (201, Some("authorized")), "{authorized}");
    assert_eq!(authorized["threeDS"]["outcome"], "authenticated");
    // Read by the link it was first answered with, then settled and refunded by its actions.
    let first = supply.split("/api/payments/").nth(1).unwrap().split('/').next().unwrap();
    let (_, read) = api.call(reqwest::Method::GET, &format!("/api/payments/{first}"), None, &[]).await;
    assert_eq!(read["lastEvent"], "Authorized", "{read}");
    let (status, settled) = api.post(action(&read, "settlePayment"), None).await;
    assert_eq!((status, settled["outcome"].as_str()), (202, Some("sentForSettlement")), "{settled}");
    let body = json!({"value": {"currency": "GBP", "amount": 100}, "reference": "part-1"});
    let (status, refunded) = api.post(action(&settled, "partiallyRefundPayment"), Some(body)).await;
    assert_eq!((status, refunded["outcome"].as_str()), (202, Some("sentForPartialRefund")), "{refunded}");
}

#[tokio::test]
async fn frictionless_and_failed_issuers_decide_after_device_data() {
    let api = Api::start().await;
    for (reference, holder, outcome) in [
        ("3ds-f", "3ds2-frictionless-identified", "sentForSettlement"),
        ("3ds-x", "3ds2-frictionless-failed", "3dsAuthenticationFailed"),
    ] {
        let (_, taken) = api.post("/api/payments", Some(payment(reference, holder, true))).await;
        let jwt = taken["deviceDataCollection"]["jwt"].as_str().unwrap();
        let (_, _, page) = api.form("/3ds/collect", &[("JWT", jwt)]).await;
        let session = page.split("<code id=session>").nth(1).and_then(|s| s.split('<').next()).unwrap();
        let supply = action(&taken, "supply3dsDeviceData");
        let (status, decided) = api.post(supply, Some(json!({"collectionReference": session}))).await;
        assert_eq!((status, decided["outcome"].as_str()), (201, Some(outcome)), "{decided}");
    }
}

#[tokio::test]
async fn headers_bodies_and_pages_refuse_what_is_not_documented() {
    let api = Api::start().await;
    let (status, e) =
        api.call(reqwest::Method::POST, "/api/payments", Some(payment("h-1", "Bob", false)), &["wp-api-version"]).await;
    assert_eq!((status, e["headerName"].as_str()), (400, Some("WP-Api-Version")), "{e}");
    let (status, _) =
        api.call(reqwest::Method::POST, "/api/payments", Some(payment("h-2", "Bob", false)), &["content-type"]).await;
    assert_eq!(status, 415);
    let mut no_agent = payment("h-3", "Bob", false);
    no_agent["instruction"]["threeDS"]["deviceData"] = json!({"acceptHeader": "text/html"});
    let (status, e) = api.post("/api/payments", Some(no_agent)).await;
    assert_eq!(status, 400);
    assert_eq!(e["validationErrors"][0]["jsonPath"], "$.instruction.threeDS.deviceData.userAgentHeader", "{e}");
    let mut unknown = payment("h-4", "Bob", false);
    unknown["instruction"]["surprise"] = json!(1);
    assert_eq!(api.post("/api/payments", Some(unknown)).await.0, 400);
    let (status, _) = api.post("/api/payments", Some(payment("dup", "Bob", false))).await;
    assert_eq!(status, 201);
    let (status, e) = api.post("/api/payments", Some(payment("dup", "Bob", false))).await;
    assert_eq!((status, e["errorName"].as_str()), (400, Some("transactionReferenceIsADuplicate")));
    // Unknown links and verbs, hostile tokens on the pages: typed refusals, never a panic.
    assert_eq!(api.call(reqwest::Method::GET, "/api/payments/n%C3%A9ant", None, &[]).await.0, 404);
    assert_eq!(api.post("/api/payments/abc/explode", None).await.0, 404);
    assert_eq!(api.post("/api/payments/abc/3dsChallenges", None).await.0, 404);
    for fields in [
        vec![("JWT", "<script>")],
        vec![("JWT", "ddc_unknown")],
        vec![],
        vec![("JWT", "é".repeat(5000).leak() as &str)],
    ] {
        let (status, _, page) = api.form("/3ds/collect", &fields).await;
        assert_eq!(status, 400, "{page}");
        assert!(!page.contains("<script>alert"), "{page}");
    }
    let (status, _, _) = api.form("/3ds/challenge/answer", &[("JWT", "acs_nope"), ("result", "success")]).await;
    assert_eq!(status, 400);
    let (status, _, _) = api.form("/3ds/challenge/answer", &[("JWT", "acs_nope"), ("result", "maybe")]).await;
    assert_eq!(status, 400);
}
