//! Decoding payloads shaped like Worldpay's documentation, with extra fields, extra link
//! relations and a 1,100-character link added; and the request carrying only documented fields.

use payment_core::{ChargeStatus, ErrorKind};
use payment_worldpay::mapping::{self, ChargeKey};
use payment_worldpay::wire::{
    AuthorizeRequest, AuthorizeResponse, CardExpiry, EventsResponse, Instruction, Merchant, Narrative,
    PaymentInstrument, PaymentSummary, QueryPage, Value,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn authorized_answer_with_unknown_fields_links_and_a_long_href() {
    let r: AuthorizeResponse = serde_json::from_slice(&fixture("authorized.json")).unwrap();
    assert_eq!(r.outcome, "authorized");
    let cancel = r.links.href("payments:cancel").unwrap();
    assert!(cancel.len() > 1100, "long hrefs are kept whole");
    assert!(r.links.href("payments:someFutureRelation").is_some());
    assert!(r.links.href("payments:settle").unwrap().ends_with("/full/eyJrIjoiazNhYjYzMiJ9"));
    assert_eq!(r.links.curies.len(), 1);
}

#[test]
fn refused_answer_carries_its_code() {
    let r: AuthorizeResponse = serde_json::from_slice(&fixture("refused.json")).unwrap();
    assert_eq!((r.outcome.as_str(), r.code.as_deref()), ("refused", Some("5")));
    assert_eq!(mapping::decline_reason(r.code.as_deref().unwrap()), payment_core::DeclineReason::DoNotHonor);
}

#[test]
fn events_accept_v7_relations_for_v6_names() {
    let e: EventsResponse = serde_json::from_slice(&fixture("events.json")).unwrap();
    assert_eq!(mapping::status_from_event(&e.last_event), ChargeStatus::Authorized);
    assert!(e.links.href("payments:partialCancel").is_some(), "cardPayments: curie found under the payments: name");
}

#[test]
fn query_page_decodes_and_keeps_the_next_link_opaque() {
    let page: QueryPage = serde_json::from_slice(&fixture("query_page.json")).unwrap();
    assert_eq!(
        page.links.href("next"),
        Some("https://try.access.worldpay.com/paymentQueries/payments?page=opaque%3D%3D")
    );
    let p: PaymentSummary = serde_json::from_value(page.embedded.payments[0].clone()).unwrap();
    let key = ChargeKey {
        r: p.transaction_reference.clone(),
        e: p.entity.clone().unwrap(),
        a: p.value.amount,
        c: p.value.currency.clone(),
        l: None,
    };
    let created = payment_core::Timestamp::parse_rfc3339(&p.timestamp).unwrap();
    let record = mapping::record(
        &key,
        mapping::status_from_query(&p.last_event),
        &p.last_event,
        created,
        page.embedded.payments[0].clone().into(),
    )
    .unwrap();
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.amount.to_string(), "GBP 12.00");
    assert_eq!(record.reference.as_deref(), Some("Memory265-13/08/1876"));
}

#[test]
fn schema_errors_name_the_path() {
    let e = mapping::error(400, &fixture("error_schema.json"), Some("6f1c2b9e-1d2a"));
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("$.instruction.value.amount"));
    assert_eq!(e.request_id(), Some("6f1c2b9e-1d2a"));
    let native = e.provider_error::<payment_worldpay::WorldpayApiError>().unwrap();
    assert_eq!(native.validation_errors[0].error_name, "fieldIsMissing");
}

#[test]
fn the_request_holds_only_documented_fields() {
    let request = AuthorizeRequest {
        transaction_reference: "Memory265-13/08/1876".into(),
        merchant: Merchant { entity: "default".into() },
        instruction: Instruction {
            narrative: Narrative { line1: "Mind Palace".into(), line2: None },
            value: Value { currency: "GBP".into(), amount: 250 },
            payment_instrument: PaymentInstrument {
                kind: "card/plain".into(),
                card_number: Some("4444333322221111".into()),
                card_expiry_date: Some(CardExpiry { month: 5, year: 2035 }),
                card_holder_name: None,
                cvc: None,
                href: None,
            },
        },
        request_auto_settlement: None,
        channel: None,
    };
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"transactionReference": "Memory265-13/08/1876", "merchant": {"entity": "default"},
            "instruction": {"narrative": {"line1": "Mind Palace"}, "value": {"currency": "GBP", "amount": 250},
            "paymentInstrument": {"type": "card/plain", "cardNumber": "4444333322221111", "cardExpiryDate": {"month": 5, "year": 2035}}}})
    );
    let mut extra = json.clone();
    extra["surprise"] = serde_json::json!(1);
    assert!(
        serde_json::from_value::<AuthorizeRequest>(extra).is_err(),
        "our own request type refuses undocumented fields"
    );
}

mod properties {
    use payment_core::ChargeId;
    use payment_worldpay::mapping::{self, ChargeKey};
    use proptest::prelude::*;

    proptest! {
        /// Any bytes with any status give an error, never a panic.
        #[test]
        fn error_bodies_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..200), corr in proptest::option::of(".{0,20}")) {
            let _ = mapping::error(status, &body, corr.as_deref());
        }

        /// Any text as a charge id is either ours or `NotFound`, never a panic; ours round-trip.
        #[test]
        fn charge_ids(text in ".{0,80}", r in "[-A-Za-z0-9_/]{1,64}", a in any::<i64>()) {
            let _ = ChargeKey::from_id(&ChargeId::new(text));
            let key = ChargeKey { r, e: "default".into(), a, c: "GBP".into(), l: None };
            prop_assert_eq!(ChargeKey::from_id(&key.to_id()).unwrap(), key);
        }

        /// Any event name maps to some state.
        #[test]
        fn event_names(name in ".{0,30}") {
            let _ = mapping::status_from_event(&name);
            let _ = mapping::status_from_query(&name);
        }
    }
}

#[test]
fn a_partial_refunds_event_names_its_payment_and_the_refund_by_its_own_reference() {
    let refunded = mapping::event(&fixture("event_refunded_partial.json")).unwrap();
    assert_eq!(refunded.kind, payment_core::EventKind::RefundSucceeded);
    assert_eq!(refunded.reference.as_deref(), Some("order-7731"), "the payment");
    assert_eq!(refunded.refund_reference.as_deref(), Some("partial-refund-reference"), "the refund");
    assert_eq!(refunded.amount, Some(payment_core::Money::new(125, payment_core::Currency::GBP)));
    let settled = mapping::event(&fixture("event_settled.json")).unwrap();
    assert_eq!((settled.reference.as_deref(), settled.refund_reference), (Some("order-7731"), None));
}
