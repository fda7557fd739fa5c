//! Decoding payloads shaped like Ping++'s documentation (with fields added that we do not know).

use payment_core::{ChargeStatus, Currency, ErrorKind, EventKind, EventRecord, Money, RefundStatus};
use payment_pingpp::mapping;
use payment_pingpp::wire::{Charge, Event, List, Refund};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn paid_charge_decodes() {
    let body = fixture("charge.json");
    let wire: Charge = serde_json::from_slice(&body).unwrap();
    let raw = payment_core::RawJson::from_slice(&body).unwrap();
    let record = mapping::charge_from_raw(raw.clone()).unwrap();
    assert_eq!(mapping::charge_record(&wire, raw).unwrap(), record, "the view and the full wire charge agree");
    let (from_body, channel) = mapping::charge_and_channel_from_body(&body).unwrap();
    assert_eq!(
        (from_body, channel.as_str()),
        (record.clone(), wire.channel.as_str()),
        "the body and the raw paths agree"
    );
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.amount, Money::new(100, Currency::CNY));
    assert_eq!(record.amount.to_string(), "CNY 1.00");
    assert_eq!(record.reference.as_deref(), Some("1723795491985uqclqj7"));
    assert!(record.next_action.is_none());
    assert!(record.raw.field("a_field_from_the_future").is_some());
}

#[test]
fn unpaid_charge_in_a_list_carries_its_credential() {
    let list: List<Box<serde_json::value::RawValue>> = serde_json::from_slice(&fixture("list.json")).unwrap();
    assert!(!list.has_more);
    let wire: Charge = serde_json::from_str(list.data[0].get()).unwrap();
    let record = mapping::charge_record(&wire, list.data[0].clone().into()).unwrap();
    let (viewed, channel) = mapping::charge_and_channel_from_raw(list.data[0].clone().into()).unwrap();
    assert_eq!(channel, wire.channel);
    assert_eq!(viewed, record, "the view and the full wire charge agree, credential included");
    assert_eq!(record.status, ChargeStatus::RequiresAction);
    let action = record.next_action.unwrap();
    assert_eq!(action.kind, payment_core::NextActionKind::ChannelCredential);
    assert_eq!(action.data["credential"]["alipay"]["orderInfo"], "x");
    assert_eq!(record.metadata.get("shop").map(String::as_str), Some("bj"));
}

#[test]
fn refund_decodes() {
    let body = fixture("refund.json");
    let wire: Refund = serde_json::from_slice(&body).unwrap();
    let record = mapping::refund_from_raw(payment_core::RawJson::from_slice(&body).unwrap()).unwrap();
    assert_eq!(mapping::refund_record(&wire, record.raw.clone()).unwrap(), record);
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.amount, Money::new(9, Currency::CNY));
    assert_eq!(record.charge_id.as_str(), "ch_L8qn10mLmr1GS8e5OODmHaL4");
    assert_eq!(record.reason.as_deref(), Some("Refund Description"));
}

#[test]
fn event_wraps_the_resource_in_data_object() {
    let event: Event = serde_json::from_slice(&fixture("event.json")).unwrap();
    let neutral = mapping::event(event).unwrap();
    assert_eq!(neutral.kind, EventKind::ChargeSucceeded);
    assert_eq!((neutral.provider.as_str(), neutral.trust), ("pingpp", payment_core::Trust::Verified));
    assert!(matches!(neutral.record, EventRecord::Charge(ref c) if c.status == ChargeStatus::Succeeded));
    let EventRecord::Charge(c) = &neutral.record else { unreachable!() };
    assert_eq!(
        (neutral.object_id.as_deref(), neutral.reference.as_deref()),
        (Some(c.id.as_str()), c.reference.as_deref())
    );
    assert_eq!(neutral.amount, Some(c.amount));
}

#[test]
fn errors_and_garbage() {
    let e = mapping::error(402, br#"{"error":{"type":"channel_error","message":"Channel refused","code":"channel_declined","param":"channel","detail":"x"}}"#);
    assert!(matches!(e.kind(), ErrorKind::CardDeclined(_)));
    assert_eq!(e.provider_error::<payment_pingpp::PingppApiError>().unwrap().param.as_deref(), Some("channel"));
    assert_eq!(mapping::error(403, b"{}").kind(), ErrorKind::RateLimited);
    for body in [&b""[..], b"{", b"[]", b"{\"error\":1}", &[0xff]] {
        let _ = mapping::error(500, body);
        assert!(serde_json::from_slice::<Charge>(body).is_err());
    }
    let bad: Refund = serde_json::from_value(
        serde_json::json!({"id":"re_1","amount":1,"created":1,"status":"weird","charge":"ch_1"}),
    )
    .unwrap();
    assert_eq!(mapping::refund_record(&bad, payment_core::RawJson::null()).unwrap_err().kind(), ErrorKind::Decode);
}

mod properties {
    use payment_pingpp::mapping;
    use payment_pingpp::wire::{Charge, Event, Refund};
    use proptest::prelude::*;

    proptest! {
        /// Any bytes with any status give an error, never a panic.
        #[test]
        fn error_bodies_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = mapping::error(status, &body);
        }

        /// Arbitrary field values decode or fail cleanly, and map without panicking.
        #[test]
        fn records_never_panic(amount in any::<i64>(), refunded in any::<i64>(), currency in "[a-z]{0,4}", status in "[a-z]{0,10}",
                               expire in proptest::option::of(any::<i64>()), paid in any::<bool>(), reversed in any::<bool>()) {
            let charge = serde_json::json!({"id": "ch_1", "created": 0, "channel": "alipay", "order_no": "o", "amount": amount,
                "amount_refunded": refunded, "currency": currency, "time_expire": expire, "paid": paid, "reversed": reversed});
            let viewed = mapping::charge_from_raw(charge.clone().into());
            if let Ok(c) = serde_json::from_value::<Charge>(charge.clone()) {
                let full = mapping::charge_record(&c, charge.into());
                prop_assert_eq!(viewed.is_ok(), full.is_ok());
                if let (Ok(a), Ok(b)) = (viewed, full) {
                    prop_assert_eq!(a, b);
                }
            }
            let refund = serde_json::json!({"id": "re_1", "amount": amount, "created": 0, "status": status, "charge": "ch_1"});
            let _ = mapping::refund_from_raw(refund.clone().into());
            if let Ok(r) = serde_json::from_value::<Refund>(refund.clone()) {
                let _ = mapping::refund_record(&r, refund.into());
            }
        }

        /// Events with arbitrary types and objects never panic.
        #[test]
        fn events_never_panic(kind in ".{0,20}", object in "[a-z]{0,8}") {
            let event = serde_json::json!({"id": "evt_1", "created": 0, "type": kind, "data": {"object": {"object": object, "id": "x"}}});
            if let Ok(e) = serde_json::from_value::<Event>(event) {
                let _ = mapping::event(e);
            }
        }

        /// A verifier given arbitrary signature headers and bodies answers, never panics.
        #[test]
        fn verifying_anything_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), sig in "[A-Za-z0-9+/=]{0,400}") {
            let key = payment_core::crypto::RsaPublicKey::from_pem(include_str!("fixtures/merchant_public.pem")).unwrap();
            let v = payment_pingpp::signing::PingppWebhookVerifier::new(key);
            let mut h = http::HeaderMap::new();
            if let Ok(value) = sig.parse() {
                h.insert(payment_pingpp::signing::WEBHOOK_SIGNATURE_HEADER, value);
            }
            let _ = payment_core::WebhookVerifier::verify(&v, &h, &body);
        }
    }
}
