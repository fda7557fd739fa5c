//! Payloads shaped like Justap's documentation (grpc-gateway JSON) decode into neutral records
//! exactly, and arbitrary input never panics a decoder.

use payment_core::{ChargeStatus, Currency, ErrorKind, Money, RefundStatus};
use payment_justap::mapping;
use proptest::prelude::*;

#[test]
fn a_documented_charge_decodes_exactly() {
    let record = mapping::charge_from_body(include_bytes!("fixtures/charge.json")).unwrap();
    assert_eq!(record.id.as_str(), "charge_8a8sdf888888");
    assert_eq!(record.amount, Money::new(1, Currency::CNY), "0.01 yuan is one fen");
    assert_eq!(record.status, ChargeStatus::RequiresAction);
    assert_eq!(record.reference.as_deref(), Some("2023052412345678"));
    assert_eq!(record.next_action.as_ref().unwrap().data["channel"], "WechatpayLite");
    assert_eq!(record.metadata.get("order"), Some(&"1001".to_owned()));
    assert!(record.raw.field("x_future_field").is_some(), "unknown fields are kept in raw");
    let paid = mapping::charge_from_body(include_bytes!("fixtures/charge_paid.json")).unwrap();
    assert_eq!(paid.status, ChargeStatus::Succeeded);
    assert_eq!(paid.amount, Money::new(1234, Currency::CNY));
    assert_eq!(paid.amount_refunded, Money::new(100, Currency::CNY));
}

#[test]
fn the_borrowed_view_and_the_full_wire_charge_give_the_same_record() {
    for body in [&include_bytes!("fixtures/charge.json")[..], include_bytes!("fixtures/charge_paid.json")] {
        let viewed = mapping::charge_from_body(body).unwrap();
        let wrapped: payment_justap::wire::Wrapped<payment_justap::wire::Charge> =
            serde_json::from_slice(body).unwrap();
        let full = mapping::charge_record(&wrapped.data, viewed.raw.clone()).unwrap();
        let without_time = |mut r: payment_core::ChargeRecord| {
            r.created = payment_core::Timestamp::from_unix(0);
            r
        };
        assert_eq!(without_time(viewed), without_time(full));
    }
}

#[test]
fn lists_and_refunds_decode() {
    let (charges, more) = mapping::charges_from_body(include_bytes!("fixtures/charge_list.json")).unwrap();
    assert!(more);
    assert_eq!(charges.len(), 2);
    assert_eq!(
        charges[1].raw.field("charge_id").unwrap(),
        charges[1].id.as_str(),
        "each raw item goes with its record"
    );
    let refund = mapping::refund_from_body(include_bytes!("fixtures/refund.json")).unwrap();
    assert_eq!(refund.amount, Money::new(100, Currency::CNY));
    assert_eq!(refund.status, RefundStatus::Succeeded);
    let (refunds, more) = mapping::refunds_from_body(include_bytes!("fixtures/refund_list.json")).unwrap();
    assert!(!more);
    assert_eq!(refunds.len(), 1);
}

#[test]
fn grpc_gateway_errors_map_to_kinds() {
    let e = mapping::error(409, include_bytes!("fixtures/error_mismatch.json"));
    assert_eq!(e.kind(), ErrorKind::IdempotencyConflict);
    assert_eq!(e.provider_code(), Some("ALREADY_EXISTS"));
    let e = mapping::error(401, br#"{"code":16,"message":"signature verification failed","details":[]}"#);
    assert_eq!(e.kind(), ErrorKind::Authentication);
}

#[test]
fn an_amount_that_is_not_whole_fen_is_refused() {
    let body = br#"{"object":"Charge","data":{"charge_id":"charge_1","amount":0.015,"currency":"CNY"}}"#;
    assert_eq!(mapping::charge_from_body(body).unwrap_err().kind(), ErrorKind::Integrity);
    let usd = br#"{"object":"Charge","data":{"charge_id":"charge_1","amount":1.00,"currency":"USD"}}"#;
    assert_eq!(mapping::charge_from_body(usd).unwrap_err().kind(), ErrorKind::Integrity);
}

#[test]
fn raw_keeps_the_amounts_as_spelled_and_escaped_text_reads_back() {
    let body =
        br#"{"object":"Charge","data":{"charge_id":"charge_1","channel":"AlipayQR","amount":12.30,"amount_refund":0.10,
        "currency":"CNY","description":"\u652f\u4ed8 \"x\"","metadata":{"n":7,"s":"\u00e9","o":{"a":1}},
        "credential":{"AlipayQR":{"qr_code":"https://qr"}}}}"#;
    let (record, channel) = mapping::charge_and_channel_from_body(body).unwrap();
    assert_eq!(channel, "AlipayQR");
    assert!(record.raw.as_str().contains(r#""amount":12.30"#), "{}", record.raw);
    assert_eq!(record.amount, Money::new(1230, Currency::CNY));
    assert_eq!(record.amount_refunded, Money::new(10, Currency::CNY));
    assert_eq!(record.description.as_deref(), Some("支付 \"x\""));
    assert_eq!(record.metadata["n"], "7");
    assert_eq!(record.metadata["s"], "é");
    assert_eq!(record.metadata["o"], r#"{"a":1}"#);
    let action = record.next_action.unwrap();
    assert_eq!(action.data["credential"]["AlipayQR"]["qr_code"], "https://qr");
    assert_eq!(action.data["channel"], "AlipayQR");
}

#[test]
fn malformed_answers_are_decode_errors() {
    for body in [
        &br#"{"object":"Charge"}"#[..],
        br#"{"data":[1]}"#,
        br#"{"data":{"charge_id":"c","amount":1e3}}"#,
        br#"{"data":{"charge_id":"c","amount":"ten"}}"#,
        br#"{"data":{"charge_id":"c","amount":1.00,"amount_refund":true}}"#,
        br#"{"data":{"charge_id":"c","amount":1.00}} trailing"#,
        b"not json",
    ] {
        let e = mapping::charge_from_body(body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{}", String::from_utf8_lossy(body));
    }
}

proptest! {
    #[test]
    fn every_fen_amount_reads_back_exactly(fen in 0i64..10_000_000_000, other in "[a-z]{0,8}") {
        let text = format!("{}.{:02}", fen / 100, fen % 100);
        let body = format!(r#"{{"object":"Charge","data":{{"charge_id":"c","x":"{other}","amount":{text},"amount_refund":{text},"paid":true}}}}"#);
        let record = mapping::charge_from_body(body.as_bytes()).unwrap();
        prop_assert_eq!(record.amount, Money::new(fen, Currency::CNY));
        prop_assert_eq!(record.amount_refunded, Money::new(fen, Currency::CNY));
        prop_assert_eq!(record.raw.field("x"), Some(serde_json::Value::String(other)));
        let amount_text = format!(r#""amount":{text}"#);
        prop_assert!(record.raw.as_str().contains(&amount_text));
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), amount in "-?[0-9]{0,20}(\\.[0-9]{0,6})?", ts in "\\PC{0,20}") {
        let _ = mapping::charge_from_body(&bytes);
        let _ = mapping::refund_from_body(&bytes);
        let _ = mapping::charges_from_body(&bytes);
        let _ = mapping::refunds_from_body(&bytes);
        let _ = mapping::error(400, &bytes);
        let charge = format!(r#"{{"object":"Charge","data":{{"charge_id":"c","amount":{amount},"paid_ts":{ts:?},"created_at":{ts:?}}}}}"#);
        let _ = mapping::charge_from_body(charge.as_bytes());
        let refund = format!(r#"{{"object":"Refund","data":{{"refund_id":"r","charge_id":"c","amount":{amount},"status":{ts:?}}}}}"#);
        let _ = mapping::refund_from_body(refund.as_bytes());
    }
}
