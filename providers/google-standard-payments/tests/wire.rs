//! Payloads shaped like Google's documentation examples (Payment Processor Service v1) decode and
//! encode exactly; arbitrary input never panics a decoder.

use payment_core::serde_adapters::Micros;
use payment_core::{Currency, Money};
use payment_google_standard_payments::mapping;
use payment_google_standard_payments::wire::{
    CaptureRequest, CaptureResponse, CaptureResult, EchoResponse, ErrorResponse, RefundRequest, RefundResponse,
    RefundResult,
};
use proptest::prelude::*;

#[test]
fn the_documented_capture_round_trips() {
    let text = r#"{"requestHeader":{"requestId":"bWVyY2hhbnQgdHJhbnNhY3Rpb24gaWQ","requestTimestamp":"1502220196077","protocolVersion":{"major":1,"minor":0,"revision":0}},"paymentIntegratorAccountId":"InvisiCashUSA_USD","transactionDescription":"Google - Music","currencyCode":"INR","amount":"728000000","captureContext":{},"googlePaymentToken":"ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ"}"#;
    let capture: CaptureRequest = serde_json::from_str(text).unwrap();
    assert_eq!(capture.request_header.request_timestamp, 1_502_220_196_077);
    assert_eq!(capture.amount.to_money(Currency::INR).unwrap(), Money::new(72_800, Currency::INR));
    assert_eq!(serde_json::to_string(&capture).unwrap(), text, "written back byte for byte");
    let answer: CaptureResponse = serde_json::from_str(
        r#"{"responseHeader":{"responseTimestamp":"1481900013178"},"result":"SUCCESS","paymentIntegratorTransactionId":"aW50ZWdyYXRvciB0cmFuc2FjdGlvbiBpZA"}"#,
    )
    .unwrap();
    assert_eq!(answer.result, CaptureResult::Success);
    assert_eq!(answer.response_header.response_timestamp, 1_481_900_013_178);
}

#[test]
fn the_documented_refund_and_echo_decode() {
    let refund: RefundRequest = serde_json::from_str(r#"{"requestHeader":{"protocolVersion":{"major":1,"minor":0,"revision":0},"requestId":"liUrreQY233839dfFFb24gaQM","requestTimestamp":"1502220434778"},"paymentIntegratorAccountId":"InvisiCashUSA_USD","captureRequestId":"bWVyY2hhbnQgdHJhbnNhY3Rpb24gaWQ","currencyCode":"INR","refundAmount":"208000000"}"#).unwrap();
    assert_eq!(refund.refund_amount, Micros(208_000_000));
    let answer: RefundResponse = serde_json::from_str(r#"{"responseHeader":{"responseTimestamp":"1481900013178"},"result":"SUCCESS","paymentIntegratorRefundId":"cmVmdW5kIGlkZW50aWZpZXINCg"}"#).unwrap();
    assert_eq!(answer.result, RefundResult::Success);
    let echo: EchoResponse = serde_json::from_str(r#"{"responseHeader":{"responseTimestamp":"1481900013178"},"clientMessage":"client message","serverMessage":"debug id"}"#).unwrap();
    assert_eq!(echo.client_message, "client message");
}

#[test]
fn unknown_result_codes_are_kept_and_declines_map() {
    let answer: CaptureResponse =
        serde_json::from_str(r#"{"responseHeader":{"responseTimestamp":"1"},"result":"SOMETHING_NEW"}"#).unwrap();
    assert_eq!(answer.result, CaptureResult::Unknown("SOMETHING_NEW".into()));
    assert_eq!(serde_json::to_value(&answer.result).unwrap(), "SOMETHING_NEW");
    let e = mapping::capture_declined(&answer.result);
    assert_eq!(e.provider_code(), Some("SOMETHING_NEW"));
    let error: ErrorResponse = serde_json::from_str(r#"{"responseHeader":{"responseTimestamp":"1"},"errorResponseCode":"PRECONDITION_VIOLATION","errorDescription":"refund amount exceeds the amount remaining on the transaction","paymentIntegratorErrorIdentifier":"dbg-1"}"#).unwrap();
    let e = mapping::error(400, Some(&serde_json::to_vec(&error).unwrap()));
    assert_eq!(e.kind(), payment_core::ErrorKind::InvalidRequest);
    assert_eq!(e.request_id(), Some("dbg-1"));
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), text in "\\PC{0,40}", id in "[ -~]{0,60}") {
        let _ = serde_json::from_slice::<CaptureRequest>(&bytes);
        let _ = serde_json::from_slice::<CaptureResponse>(&bytes);
        let _ = serde_json::from_slice::<RefundResponse>(&bytes);
        let _ = mapping::error(400, Some(&bytes));
        let _ = mapping::ChargeKey::from_id(&payment_core::ChargeId::new(format!("gsp1.{id}")));
        let _ = payment_google_standard_payments::jose::jws_verify(
            &payment_google_standard_payments::jose::KeyRing::single(None, KEY.clone()), &text);
        let answer = format!(r#"{{"responseHeader":{{"responseTimestamp":{text:?}}},"result":{text:?}}}"#);
        let _ = serde_json::from_str::<CaptureResponse>(&answer);
    }
}

static KEY: std::sync::LazyLock<payment_core::crypto::RsaPublicKey> =
    std::sync::LazyLock::new(|| payment_core::crypto::RsaPrivateKey::generate().unwrap().public_key().unwrap());
