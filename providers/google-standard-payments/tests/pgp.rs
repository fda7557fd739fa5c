//! The PGP encoding end to end (features `mock` and `pgp`): the client and the processor service
//! speaking base64url OpenPGP, a GnuPG-made request opened by the service, and the refusals.

use std::sync::Arc;

use payment_core::{
    CreateCharge, CreateRefund, Currency, ErrorKind, IdempotencyKey, Money, PaymentClient, PaymentSource,
    RequestOptions,
};
use payment_google_standard_payments::mock::{GspMock, MOCK_PIAID};
use payment_google_standard_payments::pgp::PgpEnvelope;
use payment_google_standard_payments::signing::Encoding;
use payment_google_standard_payments::{GspClient, GspConfig};
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule, MockOptions, MockServer};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn caller_side() -> PgpEnvelope {
    PgpEnvelope::from_armored(&fixture("pgp_caller_secret.asc"), &fixture("pgp_processor_public.asc")).unwrap()
}

async fn start() -> MockServer {
    // The JOSE keys are not used here; PGP requests are answered with the PGP keys.
    let jose = Arc::new(payment_core::crypto::RsaPrivateKey::generate().unwrap());
    let processor =
        PgpEnvelope::from_armored(&fixture("pgp_processor_secret.asc"), &fixture("pgp_caller_public.asc")).unwrap();
    GspMock::with_keys(3, jose.clone(), jose.public_key().unwrap())
        .with_pgp(processor)
        .serve(&MockOptions::default())
        .await
        .unwrap()
}

fn client(server: &MockServer, envelope: PgpEnvelope) -> PaymentClient {
    let config = GspConfig::new_pgp(MOCK_PIAID, server.url(), envelope).unwrap();
    PaymentClient::new(Arc::new(GspClient::new(config).unwrap()))
}

#[tokio::test]
async fn captures_and_refunds_travel_as_openpgp_and_a_lost_answer_is_replayed() {
    let server = start().await;
    let client = client(&server, caller_side());
    server
        .control()
        .set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::DropAfterCommit).path("/v1/capture").times(1)]))
        .unwrap();
    let key = RequestOptions::with_key(IdempotencyKey::new("pgp-capture-1").unwrap());
    let charge = client
        .create_charge(
            CreateCharge::new(Money::new(1234, Currency::KWD), PaymentSource::Token("ZXhhbXBsZQ".into())),
            &key,
        )
        .await
        .unwrap();
    assert_eq!(server.control().stats().charges, 1, "replayed by requestId");
    let requests = server.control().requests();
    assert!(requests.iter().all(|r| r.header("content-type") == Some(Encoding::Pgp.content_type())), "{requests:?}");
    assert!(requests.iter().all(|r| !r.body.contains("requestId")), "the body is encrypted");
    let refund = client
        .create_refund(
            CreateRefund::partial(charge.id.clone(), Money::new(234, Currency::KWD)),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(refund.amount, Money::new(234, Currency::KWD));
    let over = client
        .create_refund(CreateRefund::partial(charge.id, Money::new(1001, Currency::KWD)), &RequestOptions::default())
        .await;
    assert_eq!(over.unwrap_err().kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn a_gnupg_request_is_opened_and_a_forged_one_refused() {
    let server = start().await;
    // GnuPG signed (SHA-384) and encrypted (AES-256) it long ago: it opens, and is refused for its age.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/echo", server.url()))
        .header("content-type", Encoding::Pgp.content_type())
        .body(fixture("gpg_message.b64url"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], Encoding::Pgp.content_type());
    let answer: serde_json::Value =
        serde_json::from_slice(&caller_side().open(&r.bytes().await.unwrap()).unwrap()).unwrap();
    assert_eq!(answer["errorResponseCode"], "REQUEST_TIMESTAMP_OUT_OF_RANGE", "decrypted and verified first");
    // Signed with the processor's own key instead of the caller's.
    let forger =
        PgpEnvelope::from_armored(&fixture("pgp_processor_secret.asc"), &fixture("pgp_processor_public.asc")).unwrap();
    let e = client(&server, forger)
        .create_charge(
            CreateCharge::new(Money::new(1, Currency::KWD), PaymentSource::Token("t".into())),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(server.control().stats().charges, 0);
}
