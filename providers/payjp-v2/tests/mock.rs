//! The PAY.JP v2 mock spoken to as PAY.JP's v2 SDK speaks (JSON, Bearer or Basic, empty-bodied
//! POSTs), and the neutral client against it: what the conformance suite does not cover.

use payment_core::{
    Authentication, Charge as _, ChargeStatus, CompletionData, CreateCharge, CreateRefund, Currency, ErrorKind,
    ListCharges, Money, PaymentSource, Refund as _, RefundStatus, RequestOptions,
};
use payment_mock_kit::{AuthenticationResult, MockOptions, MockServer};
use payment_payjp_v2::config::AuthScheme;
use payment_payjp_v2::mock::PayjpV2Mock;
use payment_payjp_v2::{PayjpV2Client, PayjpV2Config};
use serde_json::{Value, json};

struct Sdk {
    server: MockServer,
    http: reqwest::Client,
}

impl Sdk {
    async fn start() -> Sdk {
        Sdk { server: PayjpV2Mock::new(5).serve(&MockOptions::default()).await.unwrap(), http: reqwest::Client::new() }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, String, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.server.url())).bearer_auth("sk_test_sdk");
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_string());
        }
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type =
            resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, content_type, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, v) = self.call(reqwest::Method::POST, path, Some(body), None).await;
        (s, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, v) = self.call(reqwest::Method::GET, path, None, None).await;
        (s, v)
    }

    fn client(&self, scheme: AuthScheme) -> PayjpV2Client {
        let config =
            PayjpV2Config::new("sk_test_client").unwrap().with_base_url(self.server.url()).unwrap().with_auth(scheme);
        PayjpV2Client::new(config).unwrap()
    }
}

#[tokio::test]
async fn creates_answer_200_with_every_field_the_sdk_requires_and_errors_are_problems() {
    let sdk = Sdk::start().await;
    let (s, flow) = sdk
        .post(
            "/v2/payment_flows",
            json!({"amount": 1000, "currency": "jpy", "customer_id": "cus_test_card_4242424242424242"}),
        )
        .await;
    assert_eq!(s, 200, "{flow}");
    for field in [
        "id",
        "livemode",
        "amount",
        "currency",
        "client_secret",
        "payment_method_types",
        "status",
        "redirect_options",
        "capture_method",
        "metadata",
        "created_at",
        "updated_at",
    ] {
        assert!(!flow[field].is_null(), "{field} missing: {flow}");
    }
    for nullable in [
        "amount_capturable",
        "amount_received",
        "customer_id",
        "description",
        "payment_method_id",
        "return_url",
        "next_action",
        "last_payment_error",
        "cancellation_reason",
        "canceled_at",
    ] {
        assert!(flow.get(nullable).is_some(), "{nullable} must be present, null or not: {flow}");
    }
    assert_eq!(flow["status"], "requires_confirmation");
    assert!(flow["created_at"].as_str().unwrap().ends_with('Z'));
    // The SDK sends bodiless POSTs with no bytes at all: they are `{}`.
    let id = flow["id"].as_str().unwrap();
    let (s, _, confirmed) =
        sdk.call(reqwest::Method::POST, &format!("/v2/payment_flows/{id}/confirm"), None, None).await;
    assert_eq!((s, confirmed["status"].as_str()), (200, Some("succeeded")), "{confirmed}");
    // A float amount, a wrong currency and an unknown field are each named.
    let (s, content_type, e) = sdk
        .call(reqwest::Method::POST, "/v2/payment_flows", Some(json!({"amount": 1000.0, "currency": "jpy"})), None)
        .await;
    assert_eq!((s, content_type.as_str()), (422, "application/problem+json"), "{e}");
    assert_eq!(e["errors"], json!([{"field": "amount", "message": "Input should be a valid integer"}]));
    let (_, e) = sdk.post("/v2/payment_flows", json!({"amount": 1000, "currency": "jpy", "colour": "red"})).await;
    assert_eq!(e["errors"][0]["field"], "colour");
    let (_, e) =
        sdk.post("/v2/payment_flows", json!({"amount": 1000, "currency": "jpy", "return_url": "https://x"})).await;
    assert_eq!(e["errors"][0]["field"], "return_url", "return_url needs confirm: {e}");
    let (s, e) = sdk.post(&format!("/v2/payment_flows/{id}/capture"), json!({})).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_status")), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("The current status is succeeded"), "{e}");
    for field in ["type", "title", "status"] {
        assert!(!e[field].is_null(), "{field}: {e}");
    }
    let (s, e) = sdk.get("/v2/payment_flows/pfw_nope").await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn idempotency_replays_the_same_body_and_refuses_another_or_a_bad_key() {
    let sdk = Sdk::start().await;
    let body =
        json!({"amount": 1000, "currency": "jpy", "customer_id": "cus_test_card_4242424242424242", "confirm": true});
    let (_, _, first) = sdk.call(reqwest::Method::POST, "/v2/payment_flows", Some(body.clone()), Some("k-1")).await;
    // The same body with its keys in another order is the same request.
    let reordered: Value = serde_json::from_str(
        r#"{"confirm":true,"customer_id":"cus_test_card_4242424242424242","currency":"jpy","amount":1000}"#,
    )
    .unwrap();
    let (_, _, again) = sdk.call(reqwest::Method::POST, "/v2/payment_flows", Some(reordered), Some("k-1")).await;
    assert_eq!(first["id"], again["id"]);
    let (_, flows) = sdk.get("/v2/payment_flows").await;
    assert_eq!(flows["data"].as_array().unwrap().len(), 1, "one flow: {flows}");
    let (s, _, e) = sdk
        .call(reqwest::Method::POST, "/v2/payment_flows", Some(json!({"amount": 999, "currency": "jpy"})), Some("k-1"))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("idempotency_conflict")));
    let (s, _, e) = sdk.call(reqwest::Method::POST, "/v2/payment_flows", Some(body), Some("bad key!")).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_idempotency_key")));
}

#[tokio::test]
async fn a_card_needs_an_email_or_phone_and_is_authenticated_on_first_use_only() {
    let sdk = Sdk::start().await;
    let card = json!({"number": "4000000000003220", "exp_month": 12, "exp_year": 2035, "cvc": "123"});
    let (s, e) =
        sdk.post("/v2/payment_methods", json!({"type": "card", "card": card, "billing_details": {"name": "A"}})).await;
    assert_eq!((s, e["errors"][0]["field"].as_str()), (422, Some("billing_details")), "{e}");
    let (_, pm) = sdk
        .post(
            "/v2/payment_methods",
            json!({"type": "card", "card": card, "billing_details": {"phone": "+819012345678"}}),
        )
        .await;
    assert!(pm.get("card").unwrap().get("number").is_none(), "the number never comes back: {pm}");
    assert_eq!(pm["billing_details"]["address"]["zip"], Value::Null, "address is always an object");
    let (_, customer) = sdk.post("/v2/customers", json!({"payment_method_id": pm["id"]})).await;
    let flow = json!({"amount": 1000, "currency": "jpy", "customer_id": customer["id"], "confirm": true, "return_url": "https://shop.example/back"});
    let (_, first) = sdk.post("/v2/payment_flows", flow.clone()).await;
    assert_eq!(first["status"], "requires_action", "{first}");
    let page = first["next_action"]["redirect_to_url"]["url"].as_str().unwrap().to_owned();
    // The issuer's page asks; its button sends the browser back with the secret.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert!(browser.get(&page).send().await.unwrap().text().await.unwrap().contains("id=\"authenticate\""));
    let back = browser.post(format!("{page}/result")).form(&[("result", "success")]).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://shop.example/back?client_secret=pfw_"), "{location}");
    let (_, done) = sdk.get(&format!("/v2/payment_flows/{}", first["id"].as_str().unwrap())).await;
    assert_eq!(done["status"], "succeeded");
    let (_, second) = sdk.post("/v2/payment_flows", flow).await;
    assert_eq!((second["status"].as_str(), &second["next_action"]), (Some("succeeded"), &Value::Null), "{second}");
}

#[tokio::test]
async fn an_authorization_lapses_after_seven_days_and_an_unfinished_step_after_thirty_minutes() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let mut request = CreateCharge::new(
        Money::new(1000, Currency::JPY),
        payment_payjp_v2::fixtures::test_customer("4242424242424242"),
    );
    request.capture = false;
    let held = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    assert_eq!(held.status, ChargeStatus::Authorized);
    let card = payment_core::CardDetails::new("4000000000003220", 12, 2035, Some("123")).unwrap();
    let asked = CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card))
        .authenticate(Authentication::required("https://shop.example/back").email("a@example.com"));
    let waiting = client.create_charge(asked, &RequestOptions::default()).await.unwrap();
    assert_eq!(waiting.status, ChargeStatus::RequiresAction);
    sdk.server.control().advance_clock(std::time::Duration::from_secs(31 * 60));
    let e = client.complete_charge(&waiting.id, &CompletionData::none(), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(payment_core::DeclineReason::AuthenticationExpired), "{e}");
    sdk.server.control().advance_clock(std::time::Duration::from_secs(7 * 86_400));
    let lapsed = client.retrieve_charge(&held.id).await.unwrap();
    assert_eq!(lapsed.status, ChargeStatus::Canceled);
    assert_eq!(lapsed.raw.to_value()["cancellation_reason"], "expired");
    let e = client.capture_charge(&held.id, None, &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn paypay_is_paid_in_the_payers_app_then_confirmed_and_refunds_start_pending() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Basic);
    let source = PaymentSource::Channel {
        name: "paypay".into(),
        extra: [("return_url".to_owned(), json!("https://shop.example/paid"))].into_iter().collect(),
    };
    let created = client
        .create_charge(CreateCharge::new(Money::new(700, Currency::JPY), source), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(created.status, ChargeStatus::RequiresAction);
    let action = created.next_action.clone().unwrap();
    assert!(action.url.as_deref().unwrap().contains("/v2/mock/paypay/"), "{action:?}");
    let e = client.complete_charge(&created.id, &CompletionData::none(), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ActionRequired);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back =
        browser.post(format!("{}/result", action.url.unwrap())).form(&[("result", "approve")]).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(client.retrieve_charge(&created.id).await.unwrap().status, ChargeStatus::Pending, "processing");
    sdk.server.control().complete_charge(created.id.as_str()).unwrap();
    let paid = client.complete_charge(&created.id, &CompletionData::none(), &RequestOptions::default()).await.unwrap();
    assert_eq!((paid.status, paid.amount_captured.minor), (ChargeStatus::Succeeded, 700));
    let refund = client
        .create_refund(
            CreateRefund::partial(created.id.clone(), Money::new(200, Currency::JPY)),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(refund.status, RefundStatus::Pending);
    // A pending refund counts as refunded: the money is on its way back.
    assert_eq!(client.retrieve_charge(&created.id).await.unwrap().amount_refunded.minor, 200);
    sdk.server.control().advance_clock(std::time::Duration::from_secs(61));
    assert_eq!(client.retrieve_refund(&created.id, &refund.id).await.unwrap().status, RefundStatus::Succeeded);
}

#[tokio::test]
async fn a_full_refund_after_partial_ones_refunds_the_rest_and_reads_sum_the_refunds() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let charge = client
        .create_charge(
            CreateCharge::new(
                Money::new(1000, Currency::JPY),
                payment_payjp_v2::fixtures::test_customer("4242424242424242"),
            ),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        client
            .create_refund(
                CreateRefund::partial(charge.id.clone(), Money::new(100, Currency::JPY)),
                &RequestOptions::default(),
            )
            .await
            .unwrap();
    }
    let rest = client.create_refund(CreateRefund::full(charge.id.clone()), &RequestOptions::default()).await.unwrap();
    assert_eq!(rest.amount.minor, 700);
    let read = client.retrieve_charge(&charge.id).await.unwrap();
    assert_eq!((read.amount_captured.minor, read.amount_refunded.minor), (1000, 1000));
    let listed: Vec<_> = client.list_refunds(&charge.id, Default::default()).collect_all().await.unwrap();
    assert_eq!(listed.len(), 4);
    let e = client.create_refund(CreateRefund::full(charge.id.clone()), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.provider_code(), Some("already_refunded"));
    // A free-text reason rides in metadata; PAY.JP's own reasons go as `reason`.
    let other = client
        .create_charge(
            CreateCharge::new(
                Money::new(1000, Currency::JPY),
                payment_payjp_v2::fixtures::test_customer("4242424242424242"),
            ),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    let mut asked = CreateRefund::partial(other.id.clone(), Money::new(100, Currency::JPY));
    asked.reason = Some("damaged in transit".into());
    let r = client.create_refund(asked, &RequestOptions::default()).await.unwrap();
    assert_eq!(r.reason.as_deref(), Some("damaged in transit"));
    assert_eq!(r.raw.to_value()["reason"], Value::Null);
}

#[tokio::test]
async fn a_flow_waiting_for_confirmation_is_confirmed_by_complete_and_lists_apply_the_window() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let (_, flow) = sdk
        .post(
            "/v2/payment_flows",
            json!({"amount": 1200, "currency": "jpy", "customer_id": "cus_test_card_4242424242424242"}),
        )
        .await;
    let id = payment_core::ChargeId::new(flow["id"].as_str().unwrap());
    assert_eq!(client.retrieve_charge(&id).await.unwrap().status, ChargeStatus::Pending);
    let done = client.complete_charge(&id, &CompletionData::none(), &RequestOptions::default()).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);
    sdk.server.control().advance_clock(std::time::Duration::from_secs(3600));
    let cutoff = payment_core::Timestamp::from_unix(sdk.server.control().kit().clock.now().unix());
    let later = client
        .create_charge(
            CreateCharge::new(
                Money::new(800, Currency::JPY),
                payment_payjp_v2::fixtures::test_customer("4242424242424242"),
            ),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    let all: Vec<_> =
        client.list_charges(ListCharges { page_size: Some(1), ..Default::default() }).collect_all().await.unwrap();
    assert_eq!(all.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![later.id.clone(), id.clone()]);
    let recent: Vec<_> = client
        .list_charges(ListCharges { created_from: Some(cutoff), ..Default::default() })
        .collect_all()
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].id, later.id);
}

#[tokio::test]
async fn a_card_without_email_or_phone_and_a_live_key_are_refused_before_any_request() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let card = payment_core::CardDetails::new("4242424242424242", 12, 2035, Some("123")).unwrap();
    let e = client
        .create_charge(
            CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card.clone())),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("email or phone"), "{e}");
    let live = PayjpV2Config::new("sk_live_x").unwrap().with_base_url(sdk.server.url()).unwrap();
    let request = CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card))
        .authenticate(Authentication::required("https://shop.example").email("a@example.com"));
    let e = PayjpV2Client::new(live).unwrap().create_charge(request, &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(sdk.server.control().requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_customer_step_can_be_answered_by_the_control_endpoint() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let card = payment_core::CardDetails::new("4000000000003220", 12, 2035, Some("123")).unwrap();
    let asked = CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card))
        .authenticate(Authentication::required("https://shop.example/back").email("a@example.com"));
    let waiting = client.create_charge(asked, &RequestOptions::default()).await.unwrap();
    let answer = sdk.server.control().authenticate_charge(waiting.id.as_str(), AuthenticationResult::Failure).unwrap();
    assert_eq!(answer["status"], "requires_payment_method");
    let e = client.complete_charge(&waiting.id, &CompletionData::none(), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(payment_core::DeclineReason::AuthenticationFailed));
    // The declined flow is closed: nobody can pay it later with another method.
    let (_, closed) = sdk.get(&format!("/v2/payment_flows/{}", waiting.id)).await;
    assert_eq!(
        (closed["status"].as_str(), closed["cancellation_reason"].as_str()),
        (Some("canceled"), Some("abandoned"))
    );
    let read = client.retrieve_charge(&waiting.id).await.unwrap();
    assert_eq!(read.status, ChargeStatus::Failed);
    assert_eq!(read.failure.unwrap().code, "three_d_secure_failed");
    let again =
        client.complete_charge(&waiting.id, &CompletionData::none(), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(again.kind(), e.kind(), "completing again gives the same decline");
    let (_, events) = sdk.get(&format!("/v2/events?resource_id={}", waiting.id)).await;
    let types: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["payment_flow.canceled", "payment_flow.payment_failed", "payment_flow.requires_action"]);
}

#[tokio::test]
async fn records_never_keep_the_client_secret_but_the_app_can_ask_for_it() {
    use secrecy::ExposeSecret;
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let request = CreateCharge::new(
        Money::new(1000, Currency::JPY),
        payment_payjp_v2::fixtures::test_customer("4242424242424242"),
    );
    let created = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    let secret = client.client_secret(&created.id).await.unwrap();
    assert!(secret.expose_secret().starts_with(&format!("{}_secret_", created.id)));
    let read = client.retrieve_charge(&created.id).await.unwrap();
    let listed = client.list_charges(ListCharges::default()).collect_all().await.unwrap();
    for record in [&created, &read, &listed[0]] {
        let shown = format!("{record:?} {}", record.raw.as_str());
        assert!(!shown.contains(secret.expose_secret()), "{shown}");
        assert_eq!(record.raw.to_value()["client_secret"], payment_payjp_v2::mapping::SECRET_REMOVED);
    }
}

#[tokio::test]
async fn a_decline_closes_its_flow_and_reads_stay_declined() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let source = payment_payjp_v2::fixtures::test_customer("4000000000000069");
    let e = client
        .create_charge(CreateCharge::new(Money::new(1000, Currency::JPY), source), &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(payment_core::DeclineReason::ExpiredCard), "{e}");
    let (_, flows) = sdk.get("/v2/payment_flows?customer_id=cus_test_card_4000000000000069").await;
    let flow = &flows["data"][0];
    assert_eq!(
        (flow["status"].as_str(), flow["cancellation_reason"].as_str()),
        (Some("canceled"), Some("abandoned")),
        "{flow}"
    );
    let read = client.retrieve_charge(&payment_core::ChargeId::new(flow["id"].as_str().unwrap())).await.unwrap();
    assert_eq!((read.status, read.failure.map(|f| f.code)), (ChargeStatus::Failed, Some("expired_card".to_owned())));
    assert!(
        !read.metadata.contains_key(payment_payjp_v2::mapping::KEY_METADATA),
        "the key stays out of the app's metadata"
    );
}

#[tokio::test]
async fn a_cards_registration_answers_lost_after_commit_register_it_once() {
    use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let rules = ["/v2/payment_methods", "/v2/customers", "/v2/payment_flows"]
        .iter()
        .map(|p| FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path(p).times(1))
        .collect();
    sdk.server.control().set_faults(FaultPlan::new(rules)).unwrap();
    let card = payment_core::CardDetails::new("4242424242424242", 12, 2035, Some("123")).unwrap();
    let mut authentication = Authentication::required("https://shop.example/back").email("a@example.com");
    authentication.mode = payment_core::AuthenticationMode::Automatic;
    let request =
        CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card)).authenticate(authentication);
    let charge = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    assert_eq!(charge.status, ChargeStatus::Succeeded, "a registered test card is authenticated: {charge:?}");
    let log = sdk.server.control().requests();
    for path in ["/v2/payment_methods", "/v2/customers", "/v2/payment_flows"] {
        let answers: std::collections::BTreeSet<String> = log
            .iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .map(|r| serde_json::from_str::<Value>(&r.answer).unwrap()["id"].as_str().unwrap().to_owned())
            .collect();
        let sent = log.iter().filter(|r| r.method == "POST" && r.path == path).count();
        assert_eq!((sent, answers.len()), (2, 1), "{path}: sent twice (the first answer lost), made once");
    }
    assert_eq!(sdk.server.control().stats().charges, 1);
}

#[tokio::test]
async fn a_customers_payment_method_is_charged_by_its_id_and_a_cancel_takes_a_reason() {
    let sdk = Sdk::start().await;
    let client = sdk.client(AuthScheme::Bearer);
    let card = json!({"number": "5555555555554444", "exp_month": 12, "exp_year": 2035, "cvc": "123"});
    let (_, first) = sdk
        .post(
            "/v2/payment_methods",
            json!({"type": "card", "card": card, "billing_details": {"email": "a@example.com"}}),
        )
        .await;
    let (_, second) = sdk
        .post(
            "/v2/payment_methods",
            json!({"type": "card", "card": card, "billing_details": {"email": "a@example.com"}}),
        )
        .await;
    let (_, customer) = sdk.post("/v2/customers", json!({"payment_method_id": first["id"]})).await;
    let second_id = second["id"].as_str().unwrap();
    let (s, _) =
        sdk.post(&format!("/v2/payment_methods/{second_id}/attach"), json!({"customer_id": customer["id"]})).await;
    assert_eq!(s, 200);
    let mut request = CreateCharge::new(Money::new(900, Currency::JPY), PaymentSource::Token(second_id.to_owned()));
    request.capture = false;
    let held = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    assert_eq!(held.raw.to_value()["payment_method_id"], second_id, "the method named, not the customer's default");
    let e = client.cancel_with_reason(&held.id, Some("lost_interest"), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let canceled = client.cancel_with_reason(&held.id, Some("duplicate"), &RequestOptions::default()).await.unwrap();
    assert_eq!(
        (canceled.status, canceled.raw.to_value()["cancellation_reason"].as_str()),
        (ChargeStatus::Canceled, Some("duplicate"))
    );
    let again = client.cancel_charge(&held.id, &RequestOptions::default()).await.unwrap();
    assert_eq!(again.status, ChargeStatus::Canceled, "a canceled flow is the answer to a second cancel");
    // A payment method on no customer cannot be charged.
    let (_, loose) = sdk.post("/v2/payment_methods", json!({"type": "paypay"})).await;
    let e = client
        .create_charge(
            CreateCharge::new(
                Money::new(900, Currency::JPY),
                PaymentSource::Token(loose["id"].as_str().unwrap().into()),
            ),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("attached to no customer"), "{e}");
}
