//! Justap notifications: `data` RSA "private-encrypted" by the platform and opened with its
//! public key (which proves the sender), unencrypted ones refused unless configured, the event
//! table, and exact yuan amounts.

use base64::Engine as _;
use payment_core::crypto::RsaPrivateKey;
use payment_core::{Currency, ErrorKind, EventKind, Money, ProviderSettings, Trust, WebhookVerifier};
use payment_justap::signing::{JustapWebhookVerifier, seal_notification, webhook_verifier};
use proptest::prelude::*;

fn platform() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(include_str!("fixtures/merchant_private.pem")).unwrap()
}

fn notification() -> serde_json::Value {
    serde_json::json!({
        "object": "notification", "trade_type": 2, "notify_id": "ntf_0001", "notify_time": "2026-11-30T09:12:44Z",
        "charge_no": 17_263_548_190_001_u64, "app_id": "app_1", "app_mode": "test", "channel": "AlipayQR",
        "merchant_trade_id": "order-88", "amount_total": 12.34, "amount_settle": 12.34, "amount_refund": 0,
        "currency": "CNY", "charge_status": 2, "is_paid": true, "subject": "Order 88", "a_future_field": {"x": 1}
    })
}

fn none() -> http::HeaderMap {
    http::HeaderMap::new()
}

#[test]
fn an_encrypted_notification_opens_with_the_platform_key_and_is_verified() {
    let key = platform();
    let body = seal_notification(&key, "charge.paid", &notification()).unwrap();
    let v = JustapWebhookVerifier::new(Some(key.public_key().unwrap()), false);
    let e = v.verify(&none(), &body).unwrap();
    assert_eq!((e.provider.as_str(), e.id.as_str()), ("justap", "ntf_0001"));
    assert_eq!((e.kind.clone(), e.trust), (EventKind::ChargeSucceeded, Trust::Verified));
    assert_eq!(e.object_id.as_deref(), Some("17263548190001"));
    assert_eq!(e.reference.as_deref(), Some("order-88"));
    assert_eq!(e.amount, Some(Money::new(1234, Currency::CNY)), "yuan read exactly");
    assert_eq!(e.occurred_at.unwrap().to_rfc3339(), "2026-11-30T09:12:44Z");
    assert_eq!(e.raw["is_encrypted"], true);
}

#[test]
fn tampered_or_foreign_notifications_are_refused() {
    let key = platform();
    let v = JustapWebhookVerifier::new(Some(key.public_key().unwrap()), false);
    let body = seal_notification(&key, "charge.paid", &notification()).unwrap();
    let mut envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut sealed = base64::engine::general_purpose::STANDARD.decode(envelope["data"].as_str().unwrap()).unwrap();
    sealed[40] ^= 1;
    envelope["data"] = base64::engine::general_purpose::STANDARD.encode(&sealed).into();
    let e = v.verify(&none(), envelope.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    let stranger = RsaPrivateKey::generate().unwrap();
    let foreign = seal_notification(&stranger, "charge.paid", &notification()).unwrap();
    assert_eq!(v.verify(&none(), &foreign).unwrap_err().kind(), ErrorKind::Authentication);
    let not_base64 = br#"{"event":"charge.paid","is_encrypted":true,"data":"!!!"}"#;
    assert_eq!(v.verify(&none(), not_base64).unwrap_err().kind(), ErrorKind::Authentication);
}

#[test]
fn unencrypted_notifications_are_refused_unless_taken_as_sender_only() {
    let plain =
        serde_json::json!({"event": "charge.refunded", "is_encrypted": false, "data": notification()}).to_string();
    let strict = JustapWebhookVerifier::new(Some(platform().public_key().unwrap()), false);
    let e = strict.verify(&none(), plain.as_bytes()).unwrap_err();
    assert!(e.message().contains("webhook_accept_unencrypted"), "{e}");
    let lenient = JustapWebhookVerifier::new(None, true);
    let event = lenient.verify(&none(), plain.as_bytes()).unwrap();
    assert_eq!((event.kind.clone(), event.trust), (EventKind::RefundSucceeded, Trust::SenderOnly));
    assert_eq!(event.amount, Some(Money::new(0, Currency::CNY)), "a refund event states the refunded amount");
}

/// Only `data` is sealed: an envelope whose `event` the sealed flags do not confirm is the
/// sender's word alone (read back before trusted), and the dedupe id never comes from it.
#[test]
fn an_envelope_event_the_sealed_flags_do_not_confirm_is_not_verified() {
    let key = platform();
    let v = JustapWebhookVerifier::new(Some(key.public_key().unwrap()), false);
    // A paid charge's sealed notification under a forged "charge.refunded".
    let forged = v.verify(&none(), &seal_notification(&key, "charge.refunded", &notification()).unwrap()).unwrap();
    assert_eq!((forged.kind.clone(), forged.trust), (EventKind::RefundSucceeded, Trust::SenderOnly));
    let mut refunded = notification();
    refunded["is_refund"] = true.into();
    let real = v.verify(&none(), &seal_notification(&key, "charge.refunded", &refunded).unwrap()).unwrap();
    assert_eq!(real.trust, Trust::Verified, "confirmed by the sealed is_refund");
    // Without a notify_id, two envelopes of one sealed notification share one id.
    let mut anonymous = notification();
    anonymous.as_object_mut().unwrap().remove("notify_id");
    let a = v.verify(&none(), &seal_notification(&key, "charge.paid", &anonymous).unwrap()).unwrap();
    let b = v.verify(&none(), &seal_notification(&key, "charge.closed", &anonymous).unwrap()).unwrap();
    assert_eq!(a.id, b.id, "the envelope's event is not part of the id");
    assert!(!a.id.contains("charge."), "{}", a.id);
}

#[test]
fn the_event_table_and_unknown_types() {
    for (t, k) in [
        ("charge.paid", EventKind::ChargeSucceeded),
        ("charge.pending", EventKind::ChargePending),
        ("charge.canceled", EventKind::ChargeCanceled),
        ("charge.closed", EventKind::ChargeCanceled),
        ("charge.reversed", EventKind::ChargeCanceled),
        ("charge.refunded", EventKind::RefundSucceeded),
    ] {
        assert_eq!(payment_justap::mapping::event_kind(t), k, "{t}");
    }
    assert_eq!(payment_justap::mapping::event_kind("royalty.created").provider_type(), Some("royalty.created"));
}

#[test]
fn the_driver_needs_the_key_or_an_explicit_choice() {
    let e = webhook_verifier(&ProviderSettings::new("justap")).err().unwrap();
    assert!(e.message().contains("PAYMENT_JUSTAP_PLATFORM_PUBLIC_KEY_PATH"), "{e}");
    assert!(webhook_verifier(&ProviderSettings::new("justap").with("webhook_accept_unencrypted", "true")).is_ok());
}

proptest! {
    #[test]
    fn any_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400), data in "[A-Za-z0-9+/=]{0,700}") {
        let v = JustapWebhookVerifier::new(Some(platform().public_key().unwrap()), true);
        let _ = v.verify(&none(), &body);
        let envelope = serde_json::json!({"event": "charge.paid", "is_encrypted": true, "data": data}).to_string();
        let _ = v.verify(&none(), envelope.as_bytes());
    }
}
