//! Decoding payloads shaped like PAY.JP's v2 documentation and SDK models (with fields added that
//! we do not know).

use payment_core::{ChargeStatus, Currency, ErrorKind, EventKind, EventRecord, Money, NextActionKind, RefundStatus};
use payment_payjp_v2::mapping;
use payment_payjp_v2::wire::{Event, List, PaymentFlow, Problem};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_flow_decodes_with_unknown_fields_and_loses_its_secret() {
    let (flow, raw) = mapping::flow_from_body(&fixture("payment_flow.json")).unwrap();
    let record = mapping::charge_record(&flow, 300, raw).unwrap();
    assert_eq!(record.id.as_str(), "pfw_xxxxx");
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.amount, Money::new(1000, Currency::JPY));
    assert_eq!((record.amount_captured.minor, record.amount_refunded.minor), (800, 300));
    assert_eq!(record.reference.as_deref(), Some("order-77"));
    assert_eq!(record.metadata.get("n").map(String::as_str), Some("3"));
    assert_eq!(record.created.to_rfc3339(), "2026-01-01T00:00:00Z");
    assert!(record.raw.field("a_field_added_next_year").is_some(), "raw keeps what is not modelled");
    assert!(!record.raw.as_str().contains("secret_yyyyy"), "{}", record.raw.as_str());
}

#[test]
fn the_documented_errors_map_with_their_fields() {
    let e = mapping::error(400, &fixture("error_invalid_status.json"));
    assert_eq!((e.kind(), e.provider_code()), (ErrorKind::Conflict, Some("invalid_status")));
    assert!(e.message().contains("The current status is succeeded"), "{e}");
    let e = mapping::error(422, &fixture("error_validation.json"));
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(
        e.message().contains("amount: Field required") && e.message().contains("currency: Input should be 'jpy'"),
        "{e}"
    );
    let problem = e.provider_error::<Problem>().unwrap();
    assert_eq!(problem.errors.as_ref().map(Vec::len), Some(2));
}

#[test]
fn a_list_and_a_paypay_step_decode() {
    let list: List<PaymentFlow> = serde_json::from_slice(&fixture("list.json")).unwrap();
    assert!(list.has_more && list.url == "/v2/payment_flows");
    let record = mapping::charge_record(&list.data[0], 0, payment_core::RawJson::null()).unwrap();
    assert_eq!(record.status, ChargeStatus::RequiresAction);
    let action = record.next_action.unwrap();
    assert_eq!((action.kind, action.url.as_deref()), (NextActionKind::Redirect, Some("https://paypay.example/pay/2")));
}

#[test]
fn a_refund_and_its_event_decode() {
    let (refund, raw) = mapping::refund_from_body(&fixture("payment_refund.json")).unwrap();
    let record = mapping::refund_record(&refund, raw).unwrap();
    assert_eq!((record.status, record.amount.minor), (RefundStatus::Pending, 300));
    assert_eq!((record.charge_id.as_str(), record.reason.as_deref()), ("pfw_xxxxx", Some("requested_by_customer")));
    let event: Event = serde_json::from_slice(&fixture("event.json")).unwrap();
    let verified = mapping::event(&event).unwrap();
    assert_eq!(verified.kind, EventKind::RefundSucceeded);
    assert!(matches!(verified.record, EventRecord::Refund(ref r) if r.id.as_str() == "pyr_1"));
}

proptest::proptest! {
    #[test]
    fn any_event_or_refund_body_is_decoded_or_refused(body in ".{0,300}") {
        if let Ok(event) = serde_json::from_str::<Event>(&body) {
            let _ = mapping::event(&event);
        }
        let _ = mapping::refund_from_body(body.as_bytes());
        let _ = mapping::error(402, body.as_bytes());
    }
}
