//! 3-D Secure through the client and the mock as a browser would see it: create with
//! `three_d_secure=true`, the issuer's page at the next action's URL, back to the return URL,
//! then `tds_finish`.

use payment_core::{
    Authentication, Charge, ChargeStatus, CompletionData, CreateCharge, Currency, DeclineReason, ErrorKind, Money,
    NextActionKind, PaymentSource, RequestOptions,
};
use payment_mock_kit::{AuthenticationResult, MockOptions, MockServer};
use payment_payjp::mock::PayjpMock;
use payment_payjp::{PayjpClient, PayjpConfig};

const RETURN_URL: &str = "https://shop.example/checkout/done?order=42";

struct Setup {
    server: MockServer,
    client: PayjpClient,
    browser: reqwest::Client,
}

async fn setup() -> Setup {
    let server = PayjpMock::new(31).serve(&MockOptions::default()).await.unwrap();
    let config = PayjpConfig::new("sk_test_tds_secret")
        .unwrap()
        .with_base_url(server.url())
        .unwrap()
        .with_public_key("pk_test_tds_public")
        .unwrap();
    let client = PayjpClient::new(config).unwrap();
    // A browser that shows redirects instead of following them off to the shop.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Setup { server, client, browser }
}

fn card(number: &str) -> PaymentSource {
    PaymentSource::Card(payment_core::CardDetails::new(number, 12, 2035, Some("123")).unwrap())
}

fn charge(number: &str) -> CreateCharge {
    CreateCharge::new(Money::new(1200, Currency::JPY), card(number))
        .authenticate(Authentication::required(RETURN_URL).email("buyer@example.com"))
}

fn key(k: &str) -> RequestOptions {
    RequestOptions::with_key(payment_core::IdempotencyKey::new(k).unwrap())
}

impl Setup {
    /// Opens the next action's URL; the page's HTML, or where it sent the browser.
    async fn open(&self, url: &str) -> (u16, String, Option<String>) {
        let r = self.browser.get(url).send().await.unwrap();
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        (r.status().as_u16(), r.text().await.unwrap(), location)
    }

    /// Clicks one of the page's buttons.
    async fn click(&self, charge: &str, page: &str, result: &str) -> (u16, Option<String>) {
        let back_url = page.split("name=\"back_url\" value=\"").nth(1).unwrap().split('"').next().unwrap();
        let r = self
            .browser
            .post(format!("{}/v1/tds/{charge}/result", self.server.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("back_url={back_url}&result={result}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
    }
}

#[tokio::test]
async fn challenged_then_authenticated_charges_once() {
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242"), &key("tds-ok")).await.unwrap();
    assert_eq!(created.status, ChargeStatus::RequiresAction);
    let action = created.next_action.clone().unwrap();
    assert_eq!(action.kind, NextActionKind::Redirect);
    assert_eq!(action.method.as_deref(), Some("GET"));
    assert_eq!(action.expires_at.unwrap().unix(), created.created.unix() + 1800);
    let url = action.url.unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/v1/tds/{}/start?publickey=pk_test_tds_public&back_url=",
            s.server.url(),
            created.id
        )),
        "{url}"
    );
    assert!(!url.contains("sk_test"), "the secret key never shows in the URL");

    // Completing before the customer acted: a typed error, nothing changed.
    let early = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-early")).await.unwrap_err();
    assert_eq!(early.kind(), ErrorKind::ActionRequired, "{early}");
    assert_eq!(s.client.retrieve_charge(&created.id).await.unwrap().status, ChargeStatus::RequiresAction);

    let (status, page, _) = s.open(&url).await;
    assert_eq!(status, 200);
    for button in ["Authenticate", "Fail", "Abandon"] {
        assert!(page.contains(button), "{page}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"), "no external resources: {page}");
    let (status, back) = s.click(created.id.as_str(), &page, "success").await;
    assert_eq!((status, back.as_deref()), (303, Some(RETURN_URL)));

    let done = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-done")).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);
    assert_eq!(done.amount_captured, Money::new(1200, Currency::JPY));
    // Completing again (another key): the same result, no second authorization.
    let again = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-again")).await.unwrap();
    assert_eq!((again.id.clone(), again.status), (done.id.clone(), ChargeStatus::Succeeded));
    assert_eq!(s.server.control().stats().charges, 1);
}

#[tokio::test]
async fn authorize_only_completes_to_authorized_and_captures_later() {
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242").authorize_only(), &key("tds-auth")).await.unwrap();
    s.server.control().authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    let done = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-auth-done")).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Authorized);
    let captured = s.client.capture_charge(&created.id, None, &key("tds-auth-cap")).await.unwrap();
    assert_eq!(captured.status, ChargeStatus::Succeeded);
}

#[tokio::test]
async fn failed_authentication_is_its_own_decline() {
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242"), &key("tds-fail")).await.unwrap();
    let (_, page, _) = s.open(created.next_action.as_ref().unwrap().url.as_deref().unwrap()).await;
    let (status, back) = s.click(created.id.as_str(), &page, "failure").await;
    assert_eq!((status, back.as_deref()), (303, Some(RETURN_URL)));
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-fail-done")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::AuthenticationFailed), "{e}");
    let read = s.client.retrieve_charge(&created.id).await.unwrap();
    assert_eq!(read.status, ChargeStatus::Failed);
    // Again: the same decline, read from the charge.
    let again = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-fail-2")).await.unwrap_err();
    assert_eq!(again.kind(), e.kind(), "{again}");
}

#[tokio::test]
async fn an_abandoned_flow_expires_after_thirty_minutes() {
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242"), &key("tds-abandon")).await.unwrap();
    let (_, page, _) = s.open(created.next_action.as_ref().unwrap().url.as_deref().unwrap()).await;
    assert_eq!(s.click(created.id.as_str(), &page, "abandon").await.0, 303);
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-ab-1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ActionRequired, "{e}");
    s.server.control().advance_clock(std::time::Duration::from_secs(1801));
    let read = s.client.retrieve_charge(&created.id).await.unwrap();
    assert_eq!(read.status, ChargeStatus::Failed);
    assert_eq!(read.failure.unwrap().code, "three_d_secure_expired");
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-ab-2")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::AuthenticationExpired), "{e}");
}

#[tokio::test]
async fn frictionless_refused_and_declined_after_authentication_cards() {
    let s = setup().await;
    // Frictionless: the page sends the browser straight back, verified.
    let created = s.client.create_charge(charge("4000000000003055"), &key("tds-fl")).await.unwrap();
    let (status, _, back) = s.open(created.next_action.as_ref().unwrap().url.as_deref().unwrap()).await;
    assert_eq!((status, back.as_deref()), (303, Some(RETURN_URL)));
    let done = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-fl-done")).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);

    let created = s.client.create_charge(charge("4000008400001280"), &key("tds-rf")).await.unwrap();
    let (status, _, _) = s.open(created.next_action.as_ref().unwrap().url.as_deref().unwrap()).await;
    assert_eq!(status, 303);
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-rf-done")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::AuthenticationFailed), "{e}");

    let created = s.client.create_charge(charge("4000008400001629"), &key("tds-dc")).await.unwrap();
    s.server.control().authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-dc-done")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::DoNotHonor), "{e}");
    assert_eq!(e.provider_code(), Some("card_declined"));
}

#[tokio::test]
async fn a_back_url_not_signed_with_the_secret_key_is_refused_by_the_page() {
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242"), &key("tds-forged")).await.unwrap();
    let forged = payment_payjp::tds::back_url("https://evil.example/", &"sk_test_someone_else".to_owned().into());
    let url = payment_payjp::tds::start_url(s.server.url(), created.id.as_str(), "pk_test_tds_public", &forged);
    let (status, page, back) = s.open(&url).await;
    assert_eq!((status, back), (400, None), "{page}");
    assert!(page.contains("does not verify"), "{page}");
    assert!(!page.contains("sk_test"), "{page}");
}

#[tokio::test]
async fn what_the_redirect_needs_is_checked_before_any_request() {
    let s = setup().await;
    let no_public_key =
        PayjpClient::new(PayjpConfig::new("sk_test_x").unwrap().with_base_url(s.server.url()).unwrap()).unwrap();
    let e = no_public_key.create_charge(charge("4242424242424242"), &key("tds-np")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("PAYMENT_PAYJP_PUBLIC_KEY"), "{e}");
    let mut no_return = charge("4242424242424242");
    no_return.authentication.as_mut().unwrap().return_url = None;
    let e = s.client.create_charge(no_return, &key("tds-nr")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert!(s.server.control().requests().is_empty(), "nothing was sent");
    assert!(PayjpConfig::new("sk_test_x").unwrap().with_public_key("pk_live_x").is_err(), "test and live keys mixed");
}

#[tokio::test]
async fn a_second_completion_whose_read_fails_is_unknown_not_a_failure() {
    use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};
    let s = setup().await;
    let created = s.client.create_charge(charge("4242424242424242"), &key("tds-read")).await.unwrap();
    s.server.control().authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-read-1")).await.unwrap();
    let reads_fail = FaultRule::always(FaultKind::Status { status: 404, retry_after: None }).methods(&["GET"]);
    s.server.control().set_faults(FaultPlan::new(vec![reads_fail])).unwrap();
    let e = s.client.complete_charge(&created.id, &CompletionData::none(), &key("tds-read-2")).await.unwrap_err();
    assert_eq!(e.outcome(), payment_core::Outcome::Unknown, "the charge is paid: never a definite failure: {e}");
}

/// A `tds_finish` answered with another charge is never taken for this one's completion.
#[tokio::test]
async fn a_completion_answered_with_another_charge_is_an_integrity_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = std::fs::read(format!("{}/tests/fixtures/charge.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len());
            let _ = socket.write_all(&[head.as_bytes(), &body].concat()).await;
        }
    });
    let client = PayjpClient::new(PayjpConfig::new("sk_test_x").unwrap().with_base_url(&url).unwrap()).unwrap();
    let e = client
        .complete_charge(&payment_core::ChargeId::new("ch_other"), &CompletionData::none(), &key("tds-integrity"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("tds-integrity"));
}
