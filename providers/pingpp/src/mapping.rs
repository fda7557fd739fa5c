//! Ping++ wire objects <-> neutral records, and Ping++ errors -> `ErrorKind`.

use payment_core::{
    ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, Currency, DeclineReason as D, Error, ErrorKind as K,
    EventKind, EventRecord, JsonText, Money, NextAction, NextActionKind, RawJson, RefundId, RefundRecord, RefundStatus, Result,
    Timestamp, Trust, WebhookEvent,
};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

use crate::NAME;
use crate::wire::{Charge, ErrorBody, Event, Refund};

/// Fen from a neutral amount; only CNY can be represented.
pub fn fen(amount: Money) -> Result<i64> {
    amount.minor_in(Currency::CNY).map_err(Error::from)
}

fn cny(currency: &str, minor: i64) -> Result<Money> {
    Money::echoed(currency, minor, Currency::CNY)
}

/// The fields of a charge a neutral record needs, read straight from its JSON text (strings
/// borrowed where they carry no escapes), or borrowed from a decoded wire charge. The credential,
/// refunds and other objects stay in `raw`; the credential is parsed only for a next action.
#[derive(Debug, serde::Deserialize)]
pub struct ChargeView<'a> {
    #[serde(borrow)]
    id: JsonText<'a>,
    created: i64,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(borrow)]
    channel: JsonText<'a>,
    #[serde(borrow)]
    order_no: JsonText<'a>,
    amount: i64,
    #[serde(borrow)]
    currency: JsonText<'a>,
    #[serde(default)]
    time_expire: Option<i64>,
    #[serde(default)]
    amount_refunded: i64,
    #[serde(default, borrow)]
    failure_code: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    failure_msg: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    metadata: BTreeMap<JsonText<'a>, JsonText<'a>>,
    #[serde(default, borrow)]
    description: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    credential: Option<&'a RawValue>,
}

impl<'a> ChargeView<'a> {
    /// The view of a decoded wire charge (its credential is passed beside it).
    pub fn of(c: &'a Charge) -> ChargeView<'a> {
        let text = |t: &'a str| JsonText::from(t);
        let optional = |t: &'a Option<String>| t.as_deref().map(JsonText::from);
        ChargeView {
            id: text(&c.id),
            created: c.created,
            paid: c.paid,
            reversed: c.reversed,
            channel: text(&c.channel),
            order_no: text(&c.order_no),
            amount: c.amount,
            currency: text(&c.currency),
            time_expire: c.time_expire,
            amount_refunded: c.amount_refunded,
            failure_code: optional(&c.failure_code),
            failure_msg: optional(&c.failure_msg),
            metadata: c.metadata.iter().map(|(k, v)| (text(k), text(v))).collect(),
            description: optional(&c.description),
            credential: None,
        }
    }
}

/// Where a Ping++ charge is, in neutral terms, at `now` (an unpaid charge past `time_expire` is over).
pub fn status(c: &Charge, now: Timestamp) -> ChargeStatus {
    status_of(&ChargeView::of(c), now)
}

fn status_of(c: &ChargeView<'_>, now: Timestamp) -> ChargeStatus {
    if c.paid {
        ChargeStatus::Succeeded
    } else if c.failure_code.is_some() {
        ChargeStatus::Failed
    } else if c.reversed || c.time_expire.is_some_and(|t| t < now.unix()) {
        ChargeStatus::Canceled
    } else {
        ChargeStatus::RequiresAction
    }
}

/// A neutral record from a Ping++ charge; `raw` is the JSON it came from.
pub fn charge_record(c: &Charge, raw: RawJson) -> Result<ChargeRecord> {
    record_of(ChargeView::of(c), || c.credential.clone(), raw)
}

fn record_of(c: ChargeView<'_>, credential: impl FnOnce() -> serde_json::Value, raw: RawJson) -> Result<ChargeRecord> {
    let amount = cny(&c.currency, c.amount)?;
    let zero = Money::zero(Currency::CNY);
    let status = status_of(&c, Timestamp::now());
    Ok(ChargeRecord {
        provider: NAME.to_owned(),
        id: ChargeId::new(c.id.as_str()),
        status,
        amount,
        amount_captured: if c.paid { amount } else { zero },
        amount_refunded: Money::new(c.amount_refunded, Currency::CNY),
        reference: Some(c.order_no.as_str().to_owned()),
        description: c.description.map(JsonText::into_owned),
        metadata: c
            .metadata
            .into_iter()
            .filter(|(k, _)| !payment_core::is_reserved_metadata(k.as_str()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        created: Timestamp::from_unix(c.created),
        next_action: (status == ChargeStatus::RequiresAction).then(|| NextAction {
            expires_at: c.time_expire.map(Timestamp::from_unix),
            // Built directly: `json!` would re-serialize the credential tree instead of moving it.
            ..NextAction::with_data(
                NextActionKind::ChannelCredential,
                serde_json::Value::Object(serde_json::Map::from_iter([
                    ("channel".to_owned(), serde_json::Value::from(c.channel.as_str())),
                    ("credential".to_owned(), credential()),
                ])),
            )
        }),
        failure: c.failure_code.map(|code| ChargeFailure {
            code: code.into_owned(),
            message: c.failure_msg.map(JsonText::into_owned).unwrap_or_default(),
            reason: None,
        }),
        raw,
    })
}

/// A neutral record from a Ping++ refund.
pub fn refund_record(r: &Refund, raw: RawJson) -> Result<RefundRecord> {
    let status = match r.status.as_str() {
        "succeeded" => RefundStatus::Succeeded,
        "failed" => RefundStatus::Failed,
        "pending" => RefundStatus::Pending,
        other => {
            return Err(Error::new(K::Decode, format!("unknown Ping++ refund status {other:?}")));
        }
    };
    Ok(RefundRecord {
        provider: NAME.to_owned(),
        id: RefundId::new(r.id.clone()),
        charge_id: ChargeId::new(r.charge.clone()),
        status,
        amount: Money::new(r.amount, Currency::CNY),
        reason: r.description.clone(),
        created: Timestamp::from_unix(r.created),
        raw,
    })
}

/// A neutral charge record straight from its JSON text (kept as `raw`), and the channel it was
/// made through.
pub fn charge_and_channel_from_raw(raw: RawJson) -> Result<(ChargeRecord, String)> {
    // The view borrows from `raw`, so the record is built first and `raw` moved in after.
    let (record, channel) = charge_of_text(raw.as_str(), RawJson::null())?;
    Ok((ChargeRecord { raw, ..record }, channel))
}

/// A charge answer's body as a record and its channel: the view borrows from the body, so the
/// text kept as `raw` is copied once and no placeholder is made.
pub fn charge_and_channel_from_body(body: &[u8]) -> Result<(ChargeRecord, String)> {
    let text: &RawValue = serde_json::from_slice(body).map_err(|e| Error::decode("a Ping++ charge", e))?;
    charge_of_text(text.get(), RawJson::from_raw(text))
}

fn charge_of_text(text: &str, raw: RawJson) -> Result<(ChargeRecord, String)> {
    let view: ChargeView<'_> = serde_json::from_str(text).map_err(|e| Error::decode("a Ping++ charge", e))?;
    let channel = view.channel.as_str().to_owned();
    let credential = view.credential;
    let parse_credential = || credential.and_then(|c| serde_json::from_str(c.get()).ok()).unwrap_or_default();
    Ok((record_of(view, parse_credential, raw)?, channel))
}

/// A neutral charge record straight from its JSON text (kept as `raw`).
pub fn charge_from_raw(raw: RawJson) -> Result<ChargeRecord> {
    charge_and_channel_from_raw(raw).map(|(record, _)| record)
}

/// A neutral refund record straight from its JSON text (kept as `raw`).
pub fn refund_from_raw(raw: RawJson) -> Result<RefundRecord> {
    let wire: Refund = serde_json::from_str(raw.as_str()).map_err(|e| Error::decode("a Ping++ refund", e))?;
    refund_record(&wire, raw)
}

/// The JSON text of an answer's body, checked to be JSON.
pub fn raw_body(what: &str, body: &[u8]) -> Result<RawJson> {
    RawJson::from_slice(body).map_err(|e| Error::decode(what, e))
}

/// Codes the mock sends (Ping++'s own code list was not retrievable; these are documented as the mock's).
#[rustfmt::skip]
pub const ERROR_CODES: &[(&str, K, &str)] = &[
    ("order_no_used", K::Conflict, "the order number was used by another charge"),
    ("missing_signature", K::Authentication, "signing is on for the app and no signature was sent"),
    ("invalid_signature", K::Authentication, "the request signature does not verify"),
    ("timestamp_out_of_range", K::Authentication, "the request timestamp is too far from Ping++'s clock"),
    ("invalid_api_key", K::Authentication, "the secret key is wrong"),
    ("app_not_found", K::NotFound, "no such app"),
    ("resource_missing", K::NotFound, "no such charge or refund"),
    ("charge_unpaid", K::Conflict, "an unpaid charge cannot be refunded"),
    ("charge_paid", K::Conflict, "a paid charge cannot be reversed"),
    ("refund_amount_exceeded", K::InvalidRequest, "the refund is more than what is left"),
    ("charge_refunded", K::Conflict, "the charge is refunded in full"),
    ("channel_declined", K::CardDeclined(D::Other), "the channel refused the payment"),
    ("rate_limited", K::RateLimited, "too many requests"),
];

/// The kind for an HTTP status and code: the table first, then the status (403 is a rate limit at Ping++).
pub fn error_kind(status: u16, code: Option<&str>) -> K {
    if let Some(row) = code.and_then(|c| ERROR_CODES.iter().find(|(k, _, _)| *k == c)) {
        return row.1;
    }
    match status {
        401 => K::Authentication,
        402 => K::CardDeclined(D::Other),
        403 | 429 => K::RateLimited,
        404 => K::NotFound,
        409 => K::Conflict,
        500..=599 => K::ProviderUnavailable,
        _ => K::InvalidRequest,
    }
}

/// A neutral error from any Ping++ error response.
pub fn error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error: api }) => {
            let kind = error_kind(status, api.code.as_deref());
            let code = api.code.clone().unwrap_or_else(|| api.error_type.clone());
            // The one refusal a setting fixes: say which (Ping++'s own words stay in provider_message).
            let message = match api.code.as_deref() {
                Some("missing_signature") => format!(
                    "Ping++ requires signed requests for this app and none was signed: set `private_key_path` in \
                     [pingpp] or {} (the private key whose public half is registered with Ping++)",
                    payment_core::config::env_var_name(NAME, "private_key_path")
                ),
                _ => api.message.clone(),
            };
            Error::new(kind, message)
                .with_provider_code(code)
                .with_provider_message(api.message.clone())
                .with_source(api)
        }
        // The docs tell clients to fall back to the status when the body is not JSON.
        Err(_) => Error::unreadable_body(error_kind(status, None), status, body),
    }
}

/// A neutral webhook event from a Ping++ event (its signature covers the body: `Verified`).
pub fn event(event: Event) -> Result<WebhookEvent> {
    let whole = serde_json::to_value(&event).unwrap_or_default();
    let raw = event.data.object;
    let kind = match event.event_type.as_str() {
        "charge.succeeded" => EventKind::ChargeSucceeded,
        "refund.succeeded" => EventKind::RefundSucceeded,
        other => EventKind::Unknown { provider_type: other.to_owned() },
    };
    let record = match raw.get("object").and_then(|o| o.as_str()) {
        Some("charge") => EventRecord::Charge(Box::new(charge_from_raw(raw.into())?)),
        Some("refund") => EventRecord::Refund(Box::new(refund_from_raw(raw.into())?)),
        _ => EventRecord::Other(raw),
    };
    let (object_id, reference, amount) = match &record {
        EventRecord::Charge(c) => (Some(c.id.to_string()), c.reference.clone(), Some(c.amount)),
        EventRecord::Refund(r) => (Some(r.id.to_string()), None, Some(r.amount)),
        EventRecord::Other(_) => (None, None, None),
    };
    Ok(WebhookEvent {
        id: event.id,
        provider: crate::NAME.to_owned(),
        kind,
        object_id,
        reference,
        refund_reference: None,
        amount,
        trust: Trust::Verified,
        occurred_at: Some(Timestamp::from_unix(event.created)),
        record,
        raw: whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_status_fallbacks() {
        for (code, kind, why) in ERROR_CODES {
            assert_eq!(error_kind(400, Some(code)), *kind, "{code}");
            assert!(!why.is_empty());
        }
        assert_eq!(error_kind(403, None), K::RateLimited, "Ping++ rate-limits with 403");
        assert_eq!(error_kind(429, Some("whatever")), K::RateLimited);
        assert_eq!(error_kind(402, None), K::CardDeclined(D::Other));
        let e = error(400, br#"{"error":{"type":"invalid_request_error","message":"\u63d0\u4f9b\u4e86\u65e0\u6548\u7684\u7b7e\u540d","code":"invalid_signature"}}"#);
        assert_eq!(e.kind(), K::Authentication);
        assert_eq!(e.provider_message(), Some("提供了无效的签名"));
        assert_eq!(error(502, b"Bad Gateway").kind(), K::ProviderUnavailable);
        let unsigned = error(
            401,
            "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"没有提供签名串\",\"code\":\"missing_signature\"}}"
                .as_bytes(),
        );
        assert!(unsigned.message().contains("PAYMENT_PINGPP_PRIVATE_KEY_PATH"), "{unsigned}");
        assert_eq!(unsigned.provider_message(), Some("没有提供签名串"));
    }

    #[test]
    fn statuses() {
        let mut c: Charge = serde_json::from_value(serde_json::json!({
            "id":"ch_1","created":1,"channel":"alipay","order_no":"o1","amount":100,"currency":"cny","time_expire": 4_102_444_800_i64})).unwrap();
        let now = Timestamp::from_unix(2_000_000_000);
        assert_eq!(status(&c, now), ChargeStatus::RequiresAction);
        c.reversed = true;
        assert_eq!(status(&c, now), ChargeStatus::Canceled);
        c.reversed = false;
        c.time_expire = Some(10);
        assert_eq!(status(&c, now), ChargeStatus::Canceled, "lapsed unpaid");
        c.paid = true;
        assert_eq!(status(&c, now), ChargeStatus::Succeeded);
        assert_eq!(fen(Money::new(1234, Currency::CNY)).unwrap(), 1234);
        assert!(fen(Money::new(1, Currency::JPY)).is_err());
    }
}
