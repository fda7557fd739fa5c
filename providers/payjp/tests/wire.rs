//! Decoding payloads shaped like PAY.JP's documentation (with fields added that we do not know).

use payment_core::{ChargeStatus, Currency, DeclineReason, ErrorKind, EventKind, EventRecord, Money};
use payment_payjp::mapping;
use payment_payjp::wire::{Charge, Event, List};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn charge_with_unknown_fields_decodes() {
    let body = fixture("charge.json");
    let wire: Charge = serde_json::from_slice(&body).unwrap();
    assert_eq!(wire.card.as_ref().unwrap().last4.as_deref(), Some("4242"));
    let record = mapping::charge_from_body(&body).unwrap();
    let raw = payment_core::RawJson::from_slice(&body).unwrap();
    assert_eq!(mapping::charge_record(&wire, raw).unwrap(), record, "the view and the full wire charge agree");
    assert_eq!(record.id.as_str(), "ch_fa990a4c10672a93053a774730b0a");
    assert_eq!(record.status, ChargeStatus::Succeeded);
    assert_eq!(record.amount, Money::new(3500, Currency::JPY));
    assert_eq!(record.amount_captured, record.amount);
    assert_eq!(record.created.to_rfc3339(), "2015-06-01T03:06:23Z");
    assert!(record.raw.field("a_field_added_next_year").is_some(), "raw keeps what is not modelled");
    let json = serde_json::to_value(&record).unwrap();
    for key in [
        "provider",
        "id",
        "status",
        "amount",
        "amount_captured",
        "amount_refunded",
        "reference",
        "description",
        "metadata",
        "created",
        "next_action",
        "failure",
        "raw",
    ] {
        assert!(json.get(key).is_some(), "record JSON lacks {key}");
    }
    assert_eq!(json["amount"], serde_json::json!({"minor": 3500, "currency": "JPY"}));
}

#[test]
fn list_envelope_and_reference_in_metadata() {
    let body = fixture("list.json");
    let list: List<Box<serde_json::value::RawValue>> = serde_json::from_slice(&body).unwrap();
    assert!(list.has_more);
    assert_eq!(list.count, 1);
    let wire: Charge = serde_json::from_str(list.data[0].get()).unwrap();
    let record = mapping::charge_record(&wire, list.data[0].clone().into()).unwrap();
    assert_eq!(mapping::charge_from_raw(list.data[0].clone().into()).unwrap(), record);
    assert_eq!(record.status, ChargeStatus::Authorized);
    assert_eq!(record.reference.as_deref(), Some("order-17"));
    assert_eq!(record.metadata.get("shop").map(String::as_str), Some("tokyo"));
    assert!(!record.metadata.contains_key(mapping::REFERENCE_KEY));
    assert_eq!(record.amount_captured.minor, 0);
}

#[test]
fn errors_decode_with_their_kind_and_native_error() {
    let e = mapping::error(402, &fixture("error_card.json"));
    assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::DoNotHonor));
    assert_eq!(e.provider_code(), Some("card_declined"));
    let native = e.provider_error::<payment_payjp::PayjpApiError>().unwrap();
    assert_eq!(native.charge.as_deref(), Some("ch_fa990a4c10672a93053a774730b0a"));
    assert_eq!(native.param.as_deref(), Some("card"));

    let e = mapping::error(400, &fixture("error_invalid_number.json"));
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.provider_error::<payment_payjp::PayjpApiError>().unwrap().param.as_deref(), Some("card[number]"));

    let e = mapping::error(429, &fixture("error_over_capacity.json"));
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.is_retryable());
}

#[test]
fn refund_event_decodes_to_a_neutral_event() {
    let event: Event = serde_json::from_slice(&fixture("event.json")).unwrap();
    let neutral = mapping::event(event).unwrap();
    assert_eq!(neutral.kind, EventKind::RefundSucceeded);
    assert_eq!(neutral.provider, "payjp");
    assert_eq!(neutral.trust, payment_core::Trust::SenderOnly, "a token does not cover the body");
    assert!(neutral.id.starts_with("evnt_") && neutral.occurred_at.is_some());
    assert_eq!(neutral.summary()["kind"], "refund_succeeded");
    let EventRecord::Charge(charge) = neutral.record else { panic!("expected a charge") };
    assert_eq!(neutral.object_id.as_deref(), Some(charge.id.as_str()));
    assert_eq!(charge.amount_refunded, Money::new(1000, Currency::JPY));
}

#[test]
fn garbage_never_panics() {
    for body in [&b""[..], b"{", b"null", b"[]", b"{\"error\":null}", b"{\"error\":{\"status\":\"x\"}}", &[0xff, 0xfe]]
    {
        let e = mapping::error(500, body);
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
        assert!(serde_json::from_slice::<Charge>(body).is_err());
    }
    let wrong_currency: Charge =
        serde_json::from_value(serde_json::json!({"id":"ch_1","created":1,"amount":1,"currency":"usd"})).unwrap();
    assert_eq!(
        mapping::charge_record(&wrong_currency, payment_core::RawJson::null()).unwrap_err().kind(),
        ErrorKind::Integrity
    );
}

mod properties {
    use payment_payjp::mapping;
    use payment_payjp::wire::Charge;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes with any status give an error, never a panic.
        #[test]
        fn error_bodies_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = mapping::error(status, &body);
        }

        /// Any JSON either fails to decode or maps to a record (or a typed error), never a panic.
        #[test]
        fn charges_never_panic(mut value in json(), amount in any::<i64>(), currency in "[a-z]{0,4}") {
            if let serde_json::Value::Object(map) = &mut value {
                map.insert("id".into(), "ch_x".into());
                map.insert("created".into(), 0.into());
                map.insert("amount".into(), amount.into());
                map.insert("currency".into(), currency.into());
            }
            let text = serde_json::to_vec(&value).unwrap();
            let viewed = mapping::charge_from_body(&text);
            if let Ok(c) = serde_json::from_value::<Charge>(value) {
                let full = mapping::charge_record(&c, payment_core::RawJson::from_slice(&text).unwrap());
                // Both read the same fields: they agree on success or failure, and on the record.
                prop_assert_eq!(viewed.is_ok(), full.is_ok());
                if let (Ok(a), Ok(b)) = (viewed, full) {
                    prop_assert_eq!(a, b);
                }
            }
        }

        /// The token check and the event decoder take any header and body without panicking.
        #[test]
        fn verifying_anything_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), token in "[ -~]{0,60}") {
            let v = payment_payjp::PayjpWebhookVerifier::new(secrecy::SecretString::from("whook_x".to_owned()));
            let mut h = http::HeaderMap::new();
            if let Ok(value) = token.parse() {
                h.insert(payment_payjp::signing::WEBHOOK_TOKEN_HEADER, value);
            }
            let _ = payment_core::WebhookVerifier::verify(&v, &h, &body);
            h.insert(payment_payjp::signing::WEBHOOK_TOKEN_HEADER, "whook_x".parse().unwrap());
            let _ = payment_core::WebhookVerifier::verify(&v, &h, &body);
        }
    }
}
