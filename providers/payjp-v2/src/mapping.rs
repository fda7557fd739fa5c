//! PAY.JP v2 objects <-> neutral records, and every v2 error -> `ErrorKind`.

use std::collections::BTreeMap;

use payment_core::{
    ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, Currency, Error, ErrorKind as K,
    EventKind, EventRecord, Money, NextAction, NextActionKind, RawJson, RefundId, RefundRecord, RefundStatus, Result,
    Timestamp, Trust, WebhookEvent,
};
use serde::Deserialize as _;
use serde_json::Value;

use crate::NAME;
use crate::wire::{Event, PaymentFlow, PaymentRefund, Problem};

pub use payment_payjp::mapping::{REFERENCE_KEY, outgoing_metadata, yen};

/// The mock's test customers: `cus_test_card_<number>` has card `<number>` as its default
/// payment method, authenticated at registration.
pub const TEST_CUSTOMER_PREFIX: &str = "cus_test_card_";

/// The metadata key that carries the charge's idempotency key: a flow a decline answered (402,
/// no flow in the answer) is found by it and closed.
pub const KEY_METADATA: &str = "payment_idempotency_key";

/// The refund reasons PAY.JP v2 takes; any other neutral reason rides in metadata.
pub const REFUND_REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

/// The metadata key that carries a free-text refund reason.
pub const REASON_KEY: &str = "refund_reason";

fn jpy(currency: &str, minor: i64) -> Result<Money> {
    Money::echoed(currency, minor, Currency::JPY)
}

fn time(text: &str) -> Result<Timestamp> {
    // Never a made-up time: a list's window would drop the record without a word.
    Timestamp::parse_rfc3339(text)
        .map_err(|_| Error::new(K::Decode, format!("PAY.JP v2 sent a time this library cannot read: {text:?}")))
}

/// A metadata value as text (PAY.JP v2 allows strings, integers and booleans).
pub fn metadata_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where a flow is, in neutral terms. A flow back at `requires_payment_method` with a
/// `last_payment_error` was declined (or failed authentication): this library never confirms it
/// again, so that is its end.
pub fn status(flow: &PaymentFlow) -> ChargeStatus {
    match flow.status.as_str() {
        // Declined, and either still open or closed by this library after the decline.
        "requires_payment_method" | "canceled" if flow.last_payment_error.is_some() => ChargeStatus::Failed,
        "requires_action" => ChargeStatus::RequiresAction,
        "requires_capture" => ChargeStatus::Authorized,
        "succeeded" => ChargeStatus::Succeeded,
        "canceled" => ChargeStatus::Canceled,
        // requires_payment_method, requires_confirmation, processing, and any new status.
        _ => ChargeStatus::Pending,
    }
}

/// The URL of a `next_action`, wherever it is: its shape is undocumented, so the Stripe-like
/// `redirect_to_url.url`, then a top-level `url`.
pub fn action_url(next_action: &Value) -> Option<&str> {
    next_action
        .get("redirect_to_url")
        .and_then(|r| r.get("url"))
        .or_else(|| next_action.get("url"))
        .and_then(Value::as_str)
}

fn next_action(flow: &PaymentFlow) -> Option<NextAction> {
    let raw = flow.next_action.as_ref()?;
    let url = action_url(raw).map(str::to_owned);
    // A web page is a redirect; any other scheme (`paypay://`) opens the payer's app.
    let web = url.as_deref().is_none_or(|u| u.starts_with("https://") || u.starts_with("http://"));
    let kind = if web { NextActionKind::Redirect } else { NextActionKind::AppLink };
    Some(NextAction {
        kind,
        url,
        method: Some("GET".into()),
        fields: BTreeMap::new(),
        expires_at: None,
        data: raw.clone(),
    })
}

fn failure(flow: &PaymentFlow) -> Option<ChargeFailure> {
    let error = flow.last_payment_error.as_ref()?;
    let code = error.get("code").and_then(Value::as_str).unwrap_or("card_declined").to_owned();
    let message = error.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(ChargeFailure {
        reason: match error_kind(402, Some(&code)) {
            K::CardDeclined(reason) => Some(reason),
            _ => None,
        },
        code,
        message,
    })
}

/// A neutral record from a flow; `refunded` is the yen its refunds took back (a flow does not
/// say: the client sums its refunds).
pub fn charge_record(flow: &PaymentFlow, refunded: i64, raw: RawJson) -> Result<ChargeRecord> {
    let amount = jpy(&flow.currency, flow.amount)?;
    let mut reference = None;
    let mut metadata = BTreeMap::new();
    for (k, v) in &flow.metadata {
        if k == REFERENCE_KEY {
            reference = Some(metadata_text(v));
        } else if k != KEY_METADATA && !payment_core::is_reserved_metadata(k) {
            metadata.insert(k.clone(), metadata_text(v));
        }
    }
    let status = status(flow);
    let received = flow.amount_received.unwrap_or(0);
    Ok(ChargeRecord {
        provider: NAME.to_owned(),
        id: ChargeId::new(flow.id.clone()),
        status,
        amount,
        amount_captured: Money::new(received, Currency::JPY),
        amount_refunded: Money::new(refunded, Currency::JPY),
        reference,
        description: flow.description.clone(),
        metadata,
        created: time(&flow.created_at)?,
        next_action: if status == ChargeStatus::RequiresAction { next_action(flow) } else { None },
        failure: if status == ChargeStatus::Failed { failure(flow) } else { None },
        raw,
    })
}

/// A flow and its JSON from an answer's body, without its `client_secret`.
pub fn flow_from_body(body: &[u8]) -> Result<(PaymentFlow, RawJson)> {
    let fail = |e| Error::decode("a PAY.JP v2 payment flow", e);
    let value: Value = serde_json::from_slice(body).map_err(fail)?;
    // Read from the tree by reference: the tree itself becomes the record's raw JSON.
    let flow = PaymentFlow::deserialize(&value).map_err(fail)?;
    Ok((flow, without_secret(value)))
}

/// A flow's JSON as records keep it: PAY.JP says its `client_secret` must not be stored or
/// logged, and records are both (journals, webhook inboxes, `-v`), so it is taken out.
pub fn without_secret(mut flow: Value) -> RawJson {
    if let Some(object) = flow.as_object_mut()
        && object.contains_key("client_secret")
    {
        object.insert("client_secret".into(), Value::String(SECRET_REMOVED.into()));
    }
    RawJson::from(flow)
}

/// What a record's `client_secret` says instead of the secret.
pub const SECRET_REMOVED: &str = "[removed: read it with PayjpV2Client::client_secret]";

/// Where a refund is, in neutral terms.
pub fn refund_status(status: &str) -> RefundStatus {
    match status {
        "succeeded" => RefundStatus::Succeeded,
        "failed" | "canceled" => RefundStatus::Failed,
        // pending, requires_action, and any new status: not final.
        _ => RefundStatus::Pending,
    }
}

/// Whether a refund takes (or will take) money back: every one not failed or canceled.
pub fn refund_counts(status: &str) -> bool {
    refund_status(status) != RefundStatus::Failed
}

/// A neutral record from a refund.
pub fn refund_record(refund: &PaymentRefund, raw: RawJson) -> Result<RefundRecord> {
    let reason = refund.reason.clone().or_else(|| refund.metadata.get(REASON_KEY).map(metadata_text));
    Ok(RefundRecord {
        provider: NAME.to_owned(),
        id: RefundId::new(refund.id.clone()),
        charge_id: ChargeId::new(refund.payment_flow_id.clone()),
        status: refund_status(&refund.status),
        amount: Money::new(refund.amount, Currency::JPY),
        reason,
        created: time(&refund.created_at)?,
        raw,
    })
}

/// A refund and its JSON text from an answer's body.
pub fn refund_from_body(body: &[u8]) -> Result<(PaymentRefund, RawJson)> {
    let fail = |e| Error::decode("a PAY.JP v2 refund", e);
    let text: &serde_json::value::RawValue = serde_json::from_slice(body).map_err(fail)?;
    let refund: PaymentRefund = serde_json::from_str(text.get()).map_err(fail)?;
    Ok((refund, RawJson::from_raw(text)))
}

/// The codes v2 adds to v1's (card declines keep v1's names, and v1's table answers for them).
#[rustfmt::skip]
pub const ERROR_CODES: &[(&str, K, &str)] = &[
    ("invalid_status", K::Conflict, "the flow is not in a status that allows this"),
    ("validation_error", K::InvalidRequest, "a parameter did not pass validation (errors[] names it)"),
    ("invalid_idempotency_key", K::InvalidRequest, "the Idempotency-Key is not 1-255 of [A-Za-z0-9_-]"),
    ("idempotency_conflict", K::IdempotencyConflict, "the key was used with other parameters"),
    ("idempotency_timeout", K::ProviderUnavailable, "the first request with this key is still running: it may yet land"),
    ("idempotency_infrastructure_error", K::ProviderUnavailable, "PAY.JP's idempotency store failed"),
    ("rate_limit_exceeded", K::RateLimited, "too many requests"),
    ("not_found", K::NotFound, "no such object or URL"),
    ("unauthorized", K::Authentication, "the secret key is missing or wrong"),
];

/// The kind for a code: v2's own, then v1's card and system codes, then the status.
pub fn error_kind(status: u16, code: Option<&str>) -> K {
    if let Some(row) = code.and_then(|c| ERROR_CODES.iter().find(|(k, _, _)| *k == c)) {
        return row.1;
    }
    payment_payjp::mapping::error_kind(status, code)
}

/// A neutral error from a v2 error answer (any body: problem+json or not).
pub fn error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => {
            let kind = error_kind(status, problem.code.as_deref());
            let mut message = problem.detail.clone().unwrap_or_else(|| problem.title.clone());
            // A 422 names each field: the fix is in the field's name.
            for f in problem.errors.iter().flatten() {
                message.push_str(&format!("; {}: {}", f.field, f.message));
            }
            let code = problem.code.clone().unwrap_or_else(|| problem.title.to_ascii_lowercase().replace(' ', "_"));
            Error::new(kind, message.clone()).with_provider_message(message).with_provider_code(code).with_source(problem)
        }
        Err(_) => Error::unreadable_body(error_kind(status, None), status, body),
    }
}

/// A neutral webhook event. The token covers the sender, not the body: `SenderOnly`, so read
/// the flow back before acting (an event's flow carries no refunded amount).
pub fn event(event: &Event) -> Result<WebhookEvent> {
    let mut raw = serde_json::to_value(event).unwrap_or_default();
    if let Some(data) = raw.get_mut("data") {
        *data = without_secret(data.take()).to_value();
    }
    let object = event.data.get("object").and_then(Value::as_str);
    let record = match object {
        Some("payment_flow") => {
            let flow: PaymentFlow =
                serde_json::from_value(event.data.clone()).map_err(|e| Error::decode("the event's payment flow", e))?;
            EventRecord::Charge(Box::new(charge_record(&flow, 0, without_secret(event.data.clone()))?))
        }
        Some("payment_refund") => {
            let refund: PaymentRefund =
                serde_json::from_value(event.data.clone()).map_err(|e| Error::decode("the event's refund", e))?;
            EventRecord::Refund(Box::new(refund_record(&refund, RawJson::from(event.data.clone()))?))
        }
        _ => EventRecord::Other(event.data.clone()),
    };
    let kind = match (event.event_type.as_str(), &record) {
        ("payment_flow.succeeded", _) => EventKind::ChargeSucceeded,
        ("payment_flow.payment_failed", _) => EventKind::ChargeFailed,
        ("payment_flow.canceled", _) => EventKind::ChargeCanceled,
        ("payment_flow.amount_capturable_updated", _) => EventKind::ChargeAuthorized,
        ("payment_flow.processing" | "payment_flow.requires_action", _) => EventKind::ChargePending,
        ("refund.created" | "refund.updated" | "refund.succeeded", EventRecord::Refund(r)) => match r.status {
            RefundStatus::Succeeded => EventKind::RefundSucceeded,
            RefundStatus::Pending => EventKind::RefundPending,
            RefundStatus::Failed => EventKind::RefundFailed,
        },
        (other, _) => EventKind::Unknown { provider_type: other.to_owned() },
    };
    let (object_id, reference, amount) = match &record {
        EventRecord::Charge(c) => (Some(c.id.to_string()), c.reference.clone(), Some(c.amount)),
        EventRecord::Refund(r) => (Some(r.id.to_string()), None, Some(r.amount)),
        EventRecord::Other(_) => (None, None, None),
    };
    Ok(WebhookEvent {
        id: event.id.clone(),
        provider: NAME.to_owned(),
        kind,
        object_id,
        reference,
        refund_reference: None,
        amount,
        trust: Trust::SenderOnly,
        occurred_at: Timestamp::parse_rfc3339(&event.created_at).ok(),
        record,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::DeclineReason as D;

    fn flow(json: Value) -> PaymentFlow {
        serde_json::from_value(json).unwrap()
    }

    fn base(status: &str) -> Value {
        serde_json::json!({"object":"payment_flow","id":"pfw_1","livemode":false,"amount":1000,"currency":"jpy",
            "client_secret":"pfw_1_secret_x","payment_method_types":["card"],"status":status,
            "redirect_options":{"include_client_secret":true},"capture_method":"manual","metadata":{"payment_reference":"o-1","n":3,"b":true},
            "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"})
    }

    #[test]
    fn statuses_map_and_a_declined_flow_is_failed() {
        for (s, want) in [
            ("requires_payment_method", ChargeStatus::Pending),
            ("requires_confirmation", ChargeStatus::Pending),
            ("processing", ChargeStatus::Pending),
            ("requires_action", ChargeStatus::RequiresAction),
            ("requires_capture", ChargeStatus::Authorized),
            ("succeeded", ChargeStatus::Succeeded),
            ("canceled", ChargeStatus::Canceled),
            ("brand_new", ChargeStatus::Pending),
        ] {
            assert_eq!(status(&flow(base(s))), want, "{s}");
        }
        // Declined and then closed: still the decline.
        let mut closed = base("canceled");
        closed["last_payment_error"] = serde_json::json!({"code":"card_declined","message":"Card declined."});
        assert_eq!(status(&flow(closed)), ChargeStatus::Failed);
        let mut unreadable = base("succeeded");
        unreadable["created_at"] = serde_json::json!("yesterday");
        assert_eq!(charge_record(&flow(unreadable), 0, RawJson::null()).unwrap_err().kind(), K::Decode);
        let mut declined = base("requires_payment_method");
        declined["last_payment_error"] = serde_json::json!({"code":"expired_card","message":"Card expired."});
        let record = charge_record(&flow(declined), 0, RawJson::null()).unwrap();
        assert_eq!(record.status, ChargeStatus::Failed);
        let failure = record.failure.unwrap();
        assert_eq!((failure.code.as_str(), failure.reason), ("expired_card", Some(D::ExpiredCard)));
    }

    #[test]
    fn metadata_values_of_any_allowed_type_become_text_and_the_reference_is_lifted() {
        let record = charge_record(&flow(base("succeeded")), 300, RawJson::null()).unwrap();
        assert_eq!(record.reference.as_deref(), Some("o-1"));
        assert_eq!(record.metadata.get("n").map(String::as_str), Some("3"));
        assert_eq!(record.metadata.get("b").map(String::as_str), Some("true"));
        assert_eq!(record.amount_refunded, Money::new(300, Currency::JPY));
        assert_eq!(record.created, Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap());
    }

    #[test]
    fn the_next_action_url_is_found_in_either_shape_and_kept_whole() {
        let mut f = base("requires_action");
        f["next_action"] = serde_json::json!({"type":"redirect_to_url","redirect_to_url":{"url":"https://x/3ds","return_url":"https://shop"}});
        let action = charge_record(&flow(f.clone()), 0, RawJson::null()).unwrap().next_action.unwrap();
        assert_eq!((action.kind, action.url.as_deref()), (NextActionKind::Redirect, Some("https://x/3ds")));
        assert_eq!(action.data["type"], "redirect_to_url");
        f["next_action"] = serde_json::json!({"url":"paypay://pay?x=1"});
        let action = charge_record(&flow(f), 0, RawJson::null()).unwrap().next_action.unwrap();
        assert_eq!((action.kind, action.url.as_deref()), (NextActionKind::AppLink, Some("paypay://pay?x=1")));
    }

    #[test]
    fn problems_map_by_code_then_status_and_name_the_fields() {
        let e = error(422, br#"{"status":422,"code":"validation_error","title":"Validation Error","type":"https://docs.pay.jp/v2/errors/validation-error",
            "detail":"The request parameters didn't pass validation.","errors":[{"field":"amount","message":"Field required"}]}"#);
        assert_eq!(e.kind(), K::InvalidRequest);
        assert!(e.message().contains("amount: Field required"), "{e}");
        assert_eq!(e.provider_error::<Problem>().unwrap().status, 422);
        let declined = error(402, br#"{"status":402,"code":"card_declined","title":"Card Declined","type":"x"}"#);
        assert_eq!(declined.kind(), K::CardDeclined(D::DoNotHonor));
        let conflict = error(409, br#"{"status":409,"code":"idempotency_conflict","title":"Conflict","type":"x"}"#);
        assert_eq!(conflict.kind(), K::IdempotencyConflict);
        let busy = error(409, br#"{"status":409,"code":"idempotency_timeout","title":"Conflict","type":"x"}"#);
        assert_eq!(busy.kind(), K::ProviderUnavailable);
        let status = error(400, br#"{"status":400,"code":"invalid_status","title":"Invalid Status","type":"x"}"#);
        assert_eq!(status.kind(), K::Conflict);
        assert_eq!(error(503, b"<html>down</html>").kind(), K::ProviderUnavailable);
        assert_eq!(error(401, b"").kind(), K::Authentication);
        let unknown = error(402, br#"{"status":402,"title":"Payment Required","type":"x","code":"brand_new"}"#);
        assert_eq!((unknown.kind(), unknown.provider_code()), (K::CardDeclined(D::Other), Some("brand_new")));
    }

    #[test]
    fn every_code_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (code, kind, why) in ERROR_CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(!why.is_empty());
            assert_eq!(error_kind(400, Some(code)), *kind);
        }
    }

    #[test]
    fn refunds_map_with_their_status() {
        for (s, want, counts) in [
            ("succeeded", RefundStatus::Succeeded, true),
            ("pending", RefundStatus::Pending, true),
            ("requires_action", RefundStatus::Pending, true),
            ("failed", RefundStatus::Failed, false),
            ("canceled", RefundStatus::Failed, false),
        ] {
            assert_eq!((refund_status(s), refund_counts(s)), (want, counts), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_is_a_typed_error(status in 400u16..600, body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let e = error(status, &body);
            proptest::prop_assert!(!e.message().is_empty() || e.provider_code().is_some());
        }

        #[test]
        fn any_flow_body_decodes_or_fails_typed(body in ".{0,300}") {
            if let Ok((flow, _)) = flow_from_body(body.as_bytes()) {
                let _ = charge_record(&flow, 0, RawJson::null());
            }
        }
    }
}
