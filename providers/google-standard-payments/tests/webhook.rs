//! The processor's notifications to us: `captureResultNotification` and
//! `refundResultNotification`, opened like any GSP message and answered with the protected reply.

use std::sync::Arc;

use payment_core::crypto::RsaPrivateKey;
use payment_core::{ErrorKind, EventKind, ProviderSettings, Trust, WebhookVerifier};
use payment_google_standard_payments::signing::{Envelope, GspNotificationVerifier, Protection, webhook_verifier};
use proptest::prelude::*;

struct Sides {
    ours: GspNotificationVerifier,
    processor: Envelope,
    us: Arc<RsaPrivateKey>,
    them: Arc<RsaPrivateKey>,
}

fn sides() -> Sides {
    let us = Arc::new(RsaPrivateKey::generate().unwrap());
    let them = Arc::new(RsaPrivateKey::generate().unwrap());
    let ours = GspNotificationVerifier::new(Protection::Jose(Envelope::new(
        us.clone(),
        None,
        them.public_key().unwrap(),
        None,
    )));
    let processor = Envelope::new(them.clone(), None, us.public_key().unwrap(), None);
    Sides { ours, processor, us, them }
}

const CAPTURE: &str = r#"{"requestHeader":{"protocolVersion":{"major":1,"minor":1,"revision":0},"requestId":"KcgwSKrV76eVNDUbsZ4UA3","requestTimestamp":"1481852928293"},"paymentIntegratorAccountId":"InvisiCashUSA_USD","captureRequestId":"awNaC510cefae3IJdNEvW2","captureResult":{"captureResultCode":"SUCCESS"},"paymentIntegratorTransactionId":"tx-1"}"#;

const REFUND: &str = r#"{"requestHeader":{"protocolVersion":{"major":1,"minor":1,"revision":0},"requestId":"refnote-1","requestTimestamp":"1481852928293"},"paymentIntegratorAccountId":"InvisiCashUSA_USD","refundRequestId":"rf-77","refundResult":"SUCCESS","paymentIntegratorRefundId":"r-1"}"#;

#[test]
fn a_capture_result_opens_and_is_answered_with_the_protected_reply() {
    let s = sides();
    let body = s.processor.seal(CAPTURE.as_bytes()).unwrap();
    let event = s.ours.verify(&http::HeaderMap::new(), body.as_bytes()).unwrap();
    assert_eq!((event.id.as_str(), event.kind.clone()), ("KcgwSKrV76eVNDUbsZ4UA3", EventKind::ChargeSucceeded));
    assert_eq!((event.reference.as_deref(), event.trust), (Some("awNaC510cefae3IJdNEvW2"), Trust::Verified));
    assert_eq!(event.occurred_at.unwrap().unix(), 1_481_852_928);
    let ack = s.ours.acknowledge(&event).unwrap();
    assert_eq!(ack.status, 200);
    assert!(ack.content_type.unwrap().starts_with("application/jose"));
    let reply: serde_json::Value = serde_json::from_slice(&s.processor.open(&ack.body).unwrap()).unwrap();
    assert_eq!(reply["result"], "SUCCESS");
    assert!(reply["responseHeader"]["responseTimestamp"].as_str().unwrap().parse::<u64>().is_ok());
}

#[test]
fn refund_results_and_failures_map() {
    let s = sides();
    let body = s.processor.seal(REFUND.as_bytes()).unwrap();
    let event = s.ours.verify(&http::HeaderMap::new(), body.as_bytes()).unwrap();
    assert_eq!((event.kind.clone(), event.reference.as_deref()), (EventKind::RefundSucceeded, Some("rf-77")));
    let failed = CAPTURE.replace("\"SUCCESS\"", "\"INSUFFICIENT_FUNDS\"");
    let body = s.processor.seal(failed.as_bytes()).unwrap();
    assert_eq!(s.ours.verify(&http::HeaderMap::new(), body.as_bytes()).unwrap().kind, EventKind::ChargeFailed);
}

#[test]
fn a_body_that_does_not_open_gets_googles_404() {
    let s = sides();
    let stranger = Envelope::new(Arc::new(RsaPrivateKey::generate().unwrap()), None, s.us.public_key().unwrap(), None);
    for body in [stranger.seal(CAPTURE.as_bytes()).unwrap().into_bytes(), b"not jose".to_vec()] {
        let e = s.ours.verify(&http::HeaderMap::new(), &body).unwrap_err();
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Authentication, Some(404)));
    }
    let _ = &s.them;
}

#[test]
fn the_driver_builds_the_verifier_from_the_clients_keys() {
    let s = sides();
    let settings = ProviderSettings::new("google-standard-payments")
        .with("payment_integrator_account_id", "MockProcessor_Account")
        .with("private_key", s.us.to_pkcs8_pem().unwrap())
        .with("integrator_public_key", s.them.public_key().unwrap().to_pem());
    let v = webhook_verifier(&settings).unwrap();
    let body = s.processor.seal(CAPTURE.as_bytes()).unwrap();
    assert!(v.verify(&http::HeaderMap::new(), body.as_bytes()).is_ok());
    assert!(webhook_verifier(&ProviderSettings::new("google-standard-payments")).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let v = GspNotificationVerifier::new(Protection::Jose(Envelope::new(key(), None, key().public_key().unwrap(), None)));
        let _ = v.verify(&http::HeaderMap::new(), &body);
    }

    #[test]
    fn any_opened_json_never_panics(json in "\\{.{0,200}\\}") {
        let _ = payment_google_standard_payments::mapping::notification_event(json.as_bytes());
    }
}

fn key() -> Arc<RsaPrivateKey> {
    static KEY: std::sync::OnceLock<Arc<RsaPrivateKey>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Arc::new(RsaPrivateKey::generate().unwrap())).clone()
}
