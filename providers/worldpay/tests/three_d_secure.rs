//! 3-D Secure through the client and the mock where answers go missing or repeat: a step is
//! never taken for the customer, a lost answer is never a failure or a success it was not, and a
//! reference held by another payment is never this one.

use payment_core::{
    Authentication, Charge, ChargeStatus, CompletionData, CreateCharge, Currency, ErrorKind, Money, NextActionKind,
    Outcome, PaymentSource, RequestOptions,
};
use payment_mock_kit::{AuthenticationResult, FaultKind, FaultPlan, FaultRule, MockControl, MockOptions, MockServer};
use payment_worldpay::mock::WorldpayMock;
use payment_worldpay::{WorldpayClient, WorldpayConfig};

struct Setup {
    server: MockServer,
    client: WorldpayClient,
}

async fn setup() -> Setup {
    let server = WorldpayMock::new(41).serve(&MockOptions::default()).await.unwrap();
    let config = WorldpayConfig::new("user", "secret", "default").unwrap().with_base_url(server.url()).unwrap();
    Setup { client: WorldpayClient::new(config).unwrap(), server }
}

fn charge(reference: &str, amount: i64) -> CreateCharge {
    let mut card = payment_core::CardDetails::new("4444333322221111", 5, 2030, Some("123")).unwrap();
    card.holder_name = Some("Bob".into());
    CreateCharge::new(Money::new(amount, Currency::GBP), PaymentSource::Card(card))
        .reference(reference)
        .authenticate(Authentication::required("https://shop.example/back").browser("text/html", "Mozilla/5.0 (test)"))
}

impl Setup {
    fn control(&self) -> MockControl {
        self.server.control()
    }

    fn posts_to(&self, verb: &str) -> usize {
        self.control().requests().iter().filter(|r| r.method == "POST" && r.path.ends_with(verb)).count()
    }
}

#[tokio::test]
async fn device_data_supplied_twice_never_answers_the_challenge_for_the_customer() {
    let s = setup().await;
    let created = s.client.create_charge(charge("tds-twice", 1000), &RequestOptions::default()).await.unwrap();
    let answer = s.control().authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    let data = CompletionData(answer["data"].clone());
    let challenged = s.client.complete_charge(&created.id, &data, &RequestOptions::default()).await.unwrap();
    assert_eq!(challenged.next_action.unwrap().kind, NextActionKind::Challenge);
    // The same device data again (a frame posting twice, a journal resending): nothing is posted.
    let e = s.client.complete_charge(&created.id, &data, &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
    assert_eq!(s.posts_to("/3dsChallenges"), 0, "the challenge was answered for the customer");
    assert_eq!(s.posts_to("/3dsDeviceData"), 1);
    let read = s.client.retrieve_charge(&created.id).await.unwrap();
    assert_eq!(read.status, ChargeStatus::RequiresAction);
    assert_eq!(read.next_action.unwrap().kind, NextActionKind::Challenge, "a read names the step waiting");
}

#[tokio::test]
async fn a_lost_answer_to_taking_the_payment_is_unknown_never_a_charge_without_its_step() {
    let s = setup().await;
    let lose = FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path("/api/payments");
    s.control().set_faults(FaultPlan::new(vec![lose])).unwrap();
    let e = s.client.create_charge(charge("tds-lost", 1000), &RequestOptions::default()).await.unwrap_err();
    s.control().clear_faults();
    assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
    assert!(e.message().contains("held the customer's step"), "{e}");
    assert_eq!(s.control().stats().charges_by_reference.get("tds-lost"), Some(&1), "taken once");
}

#[tokio::test]
async fn a_reference_another_payment_holds_is_a_conflict_not_that_payment() {
    let s = setup().await;
    s.client.create_charge(charge("tds-ref", 1000), &RequestOptions::default()).await.unwrap();
    let e = s.client.create_charge(charge("tds-ref", 2500), &RequestOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IdempotencyConflict, "{e}");
    assert_eq!(s.control().stats().charges_by_reference.get("tds-ref"), Some(&1));
}

#[tokio::test]
async fn a_failed_authentication_reads_back_with_its_own_reason() {
    let s = setup().await;
    let created = s.client.create_charge(charge("tds-failed", 1000), &RequestOptions::default()).await.unwrap();
    for _ in 0..2 {
        let answer = s.control().authenticate_charge(created.id.as_str(), AuthenticationResult::Failure).unwrap();
        let _ = s
            .client
            .complete_charge(&created.id, &CompletionData(answer["data"].clone()), &RequestOptions::default())
            .await;
    }
    let read = s.client.retrieve_charge(&created.id).await.unwrap();
    assert_eq!(read.status, ChargeStatus::Failed);
    let e = read.failure_error();
    assert_eq!(e.kind(), ErrorKind::CardDeclined(payment_core::DeclineReason::AuthenticationFailed), "{e}");
}

#[test]
fn the_v6_card_never_shows_in_debug() {
    let card = payment_worldpay::wire::PaymentInstrument {
        kind: "card/plain".into(),
        card_number: Some("4444333322221111".into()),
        card_expiry_date: None,
        card_holder_name: Some("Bob".into()),
        cvc: Some("123".into()),
        href: None,
    };
    let shown = format!("{card:?}");
    assert!(!shown.contains("4444333322221111") && !shown.contains("\"123\""), "{shown}");
}

#[tokio::test]
async fn an_answer_with_links_and_actions_both_reads() {
    // The Payments API answers a settle with `_links.self` beside `_actions`.
    let body = r#"{"outcome":"sentForSettlement","_links":{"self":{"href":"https://try.access.worldpay.com/api/payments/eyJr"}},
        "_actions":{"refundPayment":{"href":"https://try.access.worldpay.com/api/payments/eyJr/refunds","method":"POST"}}}"#;
    let events: payment_worldpay::wire::EventsResponse =
        serde_json::from_str(&body.replace("outcome", "lastEvent")).unwrap();
    assert!(events.href("payments:refund").unwrap().ends_with("/refunds"));
    let key = payment_worldpay::mapping::ChargeKey {
        r: "r".into(),
        e: "default".into(),
        a: 1000,
        c: "GBP".into(),
        l: Some("eyJr".into()),
    };
    let raw = payment_core::RawJson::from_slice(body.as_bytes()).unwrap();
    let record = payment_worldpay::mapping::record(
        &key,
        ChargeStatus::Succeeded,
        "sentForSettlement",
        payment_core::Timestamp::now(),
        raw,
    )
    .unwrap();
    assert_eq!(record.amount_captured, Money::new(1000, Currency::GBP));
}
