//! Event notifications: `Event-Signature` (HMAC-SHA256 over the raw body, by key id, several
//! comma-separated in any order while keys rotate) and the normalized event of each type.

use payment_core::{Currency, ErrorKind, EventKind, Money, Trust, WebhookVerifier};
use payment_worldpay::config::{WebhookSecret, parse_webhook_secrets};
use payment_worldpay::signing::{EVENT_SIGNATURE_HEADER, sign_event};
use payment_worldpay::{WorldpayWebhookVerifier, mapping};
use proptest::prelude::*;
use secrecy::SecretString;

fn body() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/event_settled.json")).unwrap()
}

fn headers(signature: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert(EVENT_SIGNATURE_HEADER, signature.parse().unwrap());
    h.insert(http::header::CONTENT_TYPE, payment_worldpay::wire::EVENTS_CONTENT_TYPE.parse().unwrap());
    h
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn verifier(pairs: &str) -> WorldpayWebhookVerifier {
    WorldpayWebhookVerifier::new(parse_webhook_secrets(pairs).unwrap())
}

#[test]
fn a_signed_event_is_accepted_and_normalized() {
    let sig = sign_event("key-2026", &secret("whsec-one"), &body());
    let event = verifier("key-2026:whsec-one").verify(&headers(&sig), &body()).unwrap();
    assert_eq!(event.provider, "worldpay");
    assert_eq!(event.id, "b5ce1ec8-2b6a-4a7b-8d9c-1f7f3d1c2a77");
    assert_eq!(event.kind, EventKind::ChargeCaptured);
    assert_eq!(event.reference.as_deref(), Some("order-7731"));
    assert_eq!(event.amount, Some(Money::new(1250, Currency::GBP)));
    assert_eq!(event.trust, Trust::Verified);
    assert_eq!(event.object_id, None, "Worldpay names the payment by its reference");
    assert_eq!(event.occurred_at.unwrap().to_rfc3339(), "2026-11-30T09:12:44Z");
    assert_eq!(event.raw["eventDetails"]["type"], "settled");
}

#[test]
fn tampered_wrong_key_and_missing_signatures_are_refused_with_400() {
    let v = verifier("key-2026:whsec-one");
    let sig = sign_event("key-2026", &secret("whsec-one"), &body());
    let mut tampered = body();
    let at = tampered.iter().position(|b| *b == b'5').unwrap();
    tampered[at] = b'9';
    for (headers, body) in [
        (headers(&sig), tampered.clone()),
        (headers(&sign_event("key-2026", &secret("not-the-secret"), &body())), body()),
        (headers(&sign_event("other-key", &secret("whsec-one"), &body())), body()),
        (http::HeaderMap::new(), body()),
        (headers("key-2026/SHA256/zz"), body()),
    ] {
        let e = v.verify(&headers, &body).unwrap_err();
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Authentication, Some(400)), "{e}");
        assert!(!e.to_string().contains("whsec"), "{e}");
    }
    let unconfigured = WorldpayWebhookVerifier::new(Vec::new()).verify(&headers(&sig), &body()).unwrap_err();
    assert!(unconfigured.message().contains("webhook_secrets"), "{unconfigured}");
}

#[test]
fn several_signatures_in_either_order_and_a_rotated_key_are_accepted() {
    let old = sign_event("key-old", &secret("whsec-old"), &body());
    let new = sign_event("key-new", &secret("whsec-new"), &body());
    // Hex in upper case is the same signature.
    let (id, hex) = new.split_once("/SHA256/").unwrap();
    let new_upper = format!("{id}/SHA256/{}", hex.to_uppercase());
    for header in [format!("{old},{new}"), format!("{new_upper}, {old}")] {
        // Before, during and after the rotation.
        for pairs in ["key-old:whsec-old", "key-old:whsec-old,key-new:whsec-new", "key-new:whsec-new"] {
            assert!(verifier(pairs).verify(&headers(&header), &body()).is_ok(), "{pairs} with {header}");
        }
    }
    assert!(verifier("key-new:whsec-new").verify(&headers(&old), &body()).is_err(), "a retired key is refused");
}

/// An unauthenticated caller listing thousands of signatures gets the work of a few: only the
/// first `MAX_EVENT_SIGNATURES` are read (one HMAC per configured secret they name), so a good
/// signature must come among them.
#[test]
fn a_header_of_thousands_of_signatures_is_read_only_so_far() {
    use payment_worldpay::signing::{MAX_EVENT_SIGNATURES, parse_event_signatures};
    let good = sign_event("k1", &secret("whsec-one"), &body());
    let bad = format!("k1/SHA256/{}", "0".repeat(64));
    let flood = vec![bad.clone(); 4000].join(",");
    assert_eq!(parse_event_signatures(&flood).len(), MAX_EVENT_SIGNATURES);
    let v = verifier("k1:whsec-one");
    assert!(v.verify(&headers(&flood), &body()).is_err());
    let early = format!("{bad},{good},{flood}");
    assert!(v.verify(&headers(&early), &body()).is_ok(), "a good signature among the first is found");
    let late = format!("{flood},{good}");
    assert!(v.verify(&headers(&late), &body()).is_err(), "nothing past the cap is read");
}

#[test]
fn every_documented_type_maps_and_unknown_types_are_kept() {
    let table = [
        ("sentForAuthorization", EventKind::ChargePending),
        ("authorized", EventKind::ChargeAuthorized),
        ("sentForSettlement", EventKind::ChargePending),
        ("settled", EventKind::ChargeCaptured),
        ("refused", EventKind::ChargeFailed),
        ("error", EventKind::ChargeFailed),
        ("settlementFailed", EventKind::ChargeFailed),
        ("cancelled", EventKind::ChargeCanceled),
        ("expired", EventKind::ChargeExpired),
        ("sentForRefund", EventKind::RefundPending),
        ("refunded", EventKind::RefundSucceeded),
        ("refundFailed", EventKind::RefundFailed),
    ];
    for (t, kind) in table {
        assert_eq!(mapping::event_kind(t), kind, "{t}");
    }
    let body = String::from_utf8(body()).unwrap().replace("\"settled\"", "\"chargebackRaised\"");
    let e = mapping::event(body.as_bytes()).unwrap();
    assert_eq!((e.kind.as_str(), e.kind.provider_type()), ("unknown", Some("chargebackRaised")));
}

#[test]
fn secrets_never_show() {
    let s = parse_webhook_secrets("k:very-secret-value").unwrap();
    assert!(!format!("{s:?}").contains("very-secret-value"));
    let v =
        WorldpayWebhookVerifier::new(vec![WebhookSecret { key_id: "k".into(), secret: secret("very-secret-value") }]);
    assert!(!format!("{v:?}").contains("very-secret-value"));
}

proptest! {
    #[test]
    fn any_body_and_header_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), header in ".{0,120}") {
        let v = verifier("k:s");
        if let Ok(h) = header.parse::<http::HeaderValue>() {
            let mut headers = http::HeaderMap::new();
            headers.insert(EVENT_SIGNATURE_HEADER, h);
            let _ = v.verify(&headers, &body);
        }
        let _ = mapping::event(&body);
    }

    #[test]
    fn a_signature_over_any_body_verifies_only_that_body(body in proptest::collection::vec(any::<u8>(), 0..200), flip in 0usize..200) {
        let sig = sign_event("k", &secret("s"), &body);
        let v = verifier("k:s");
        prop_assert!(v.signed(&sig, &body));
        if !body.is_empty() {
            let mut other = body.clone();
            let i = flip % other.len();
            other[i] ^= 1;
            prop_assert!(!v.signed(&sig, &other));
        }
    }
}

#[test]
fn the_driver_builds_a_verifier_only_with_secrets() {
    let none =
        payment_worldpay::signing::webhook_verifier(&payment_core::ProviderSettings::new("worldpay")).err().unwrap();
    assert!(none.message().contains("PAYMENT_WORLDPAY_WEBHOOK_SECRETS"), "{none}");
    let s = payment_core::ProviderSettings::new("worldpay").with("webhook_secrets", "k:s");
    assert!(payment_worldpay::signing::webhook_verifier(&s).is_ok());
}
