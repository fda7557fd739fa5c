//! Justap wire objects <-> neutral records (yuan <-> fen exactly), and grpc-gateway errors -> `ErrorKind`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize as _;
use serde_json::value::RawValue;

use payment_core::serde_adapters::{DecimalNumber, option_int64_string};
use payment_core::{
    ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, Currency, Error, ErrorKind as K, Money, NextAction, NextActionKind, RawJson,
    RefundId, RefundRecord, RefundStatus, Result, Timestamp,
};

use crate::NAME;
use crate::wire::{ApiError, Charge, RawList, Refund, Wrapped};

/// The yuan of a neutral amount; only CNY can be represented (fen are exact two-decimal yuan).
pub fn yuan(amount: Money) -> Result<DecimalNumber> {
    amount.minor_in(Currency::CNY).map_err(Error::from)?;
    Ok(DecimalNumber::from_money(amount))
}

/// An amount Justap echoed: yuan in `currency` (absent means CNY, Justap's default); another
/// currency, or more decimals than fen, is an `Integrity` error.
pub fn echoed(amount: &DecimalNumber, currency: Option<&str>) -> Result<Money> {
    let currency = currency.filter(|c| !c.is_empty()).unwrap_or("CNY");
    let money = amount
        .to_money(Currency::CNY)
        .map_err(|e| Error::new(K::Integrity, format!("Justap answered the amount {amount}, not whole fen: {e}")))?;
    Money::echoed(currency, money.minor, Currency::CNY)
}

fn time(text: Option<&str>) -> Option<Timestamp> {
    text.filter(|t| !t.is_empty()).and_then(|t| Timestamp::parse_rfc3339(t).ok())
}

fn strings<'a>(metadata: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>) -> BTreeMap<String, String> {
    metadata
        .into_iter()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
        .collect()
}

/// Metadata as text: a string value as itself, anything else as its JSON.
fn metadata_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let map = BTreeMap::<String, &'de RawValue>::deserialize(d)?;
    // A key only the library writes never comes from the provider's metadata.
    map.into_iter()
        .filter(|(k, _)| !payment_core::is_reserved_metadata(k))
        .map(|(k, v)| match v.get().starts_with('"') {
            true => serde_json::from_str::<String>(v.get()).map(|text| (k, text)).map_err(serde::de::Error::custom),
            false => Ok((k, v.get().to_owned())),
        })
        .collect()
}

/// What the payer's app needs, as the record's next action carries it.
enum Credential<'a> {
    /// Read off a decoded wire charge.
    Tree(&'a serde_json::Value),
    /// Still the answer's text: parsed only when the charge waits for the payer.
    Text(Option<&'a RawValue>),
}

impl Credential<'_> {
    fn to_value(&self) -> serde_json::Value {
        match self {
            Credential::Tree(tree) => (*tree).clone(),
            Credential::Text(text) => text.and_then(|t| serde_json::from_str(t.get()).ok()).unwrap_or_default(),
        }
    }
}

/// The fields of a charge a neutral record needs, read straight from the answer's text (strings
/// borrowed where they carry no escapes, the amounts by their exact decimal text), or borrowed
/// from a decoded wire charge.
#[derive(serde::Deserialize)]
pub struct ChargeView<'a> {
    #[serde(borrow)]
    charge_id: Cow<'a, str>,
    #[serde(default, borrow)]
    merchant_trade_id: Cow<'a, str>,
    #[serde(default, borrow)]
    channel: Cow<'a, str>,
    #[serde(default)]
    amount: Option<DecimalNumber>,
    #[serde(default)]
    amount_refund: Option<DecimalNumber>,
    #[serde(default)]
    currency: Option<Cow<'a, str>>,
    #[serde(default)]
    description: Option<Cow<'a, str>>,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    created_at: Option<Cow<'a, str>>,
    #[serde(default)]
    time_expire: Option<Cow<'a, str>>,
    #[serde(default, with = "option_int64_string")]
    expired_ts: Option<i64>,
    #[serde(default)]
    failure_code: Option<Cow<'a, str>>,
    #[serde(default)]
    failure_msg: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "metadata_text")]
    metadata: BTreeMap<String, String>,
    #[serde(default, borrow)]
    credential: Option<&'a RawValue>,
}

impl<'a> ChargeView<'a> {
    /// The view of a decoded wire charge.
    pub fn of(c: &'a Charge) -> ChargeView<'a> {
        let text = |t: &'a Option<String>| t.as_deref().map(Cow::Borrowed);
        ChargeView {
            charge_id: Cow::Borrowed(&c.charge_id),
            merchant_trade_id: Cow::Borrowed(&c.merchant_trade_id),
            channel: Cow::Borrowed(&c.channel),
            amount: Some(c.amount.clone()),
            amount_refund: c.amount_refund.clone(),
            currency: text(&c.currency),
            description: text(&c.description),
            paid: c.paid,
            reversed: c.reversed,
            closed: c.closed,
            created_at: text(&c.created_at),
            time_expire: text(&c.time_expire),
            expired_ts: c.expired_ts,
            failure_code: text(&c.failure_code),
            failure_msg: text(&c.failure_msg),
            metadata: strings(&c.metadata),
            credential: None,
        }
    }
}

/// Where a Justap charge is, in neutral terms (`now` decides whether an unpaid charge has lapsed).
pub fn status(c: &Charge, now: Timestamp) -> ChargeStatus {
    status_of(&ChargeView::of(c), now)
}

fn status_of(c: &ChargeView<'_>, now: Timestamp) -> ChargeStatus {
    let lapsed = c.expired_ts.is_some_and(|t| t <= now.unix())
        || time(c.time_expire.as_deref()).is_some_and(|t| t.unix() <= now.unix());
    if c.paid {
        ChargeStatus::Succeeded
    } else if c.failure_code.as_deref().is_some_and(|f| !f.is_empty()) {
        ChargeStatus::Failed
    } else if c.reversed || c.closed || lapsed {
        ChargeStatus::Canceled
    } else {
        ChargeStatus::RequiresAction
    }
}

/// A neutral record from a Justap charge; `raw` is the JSON it came from.
pub fn charge_record(c: &Charge, raw: RawJson) -> Result<ChargeRecord> {
    record_of(ChargeView::of(c), &Credential::Tree(&c.credential), raw)
}

fn record_of(c: ChargeView<'_>, credential: &Credential<'_>, raw: RawJson) -> Result<ChargeRecord> {
    let amount = c.amount.as_ref().ok_or_else(|| Error::new(K::Decode, "a Justap charge without its amount"))?;
    let amount = echoed(amount, c.currency.as_deref())?;
    let refunded = match &c.amount_refund {
        Some(r) => echoed(r, c.currency.as_deref())?,
        None => Money::zero(Currency::CNY),
    };
    let status = status_of(&c, Timestamp::now());
    let created = time(c.created_at.as_deref()).unwrap_or_else(Timestamp::now);
    Ok(ChargeRecord {
        provider: NAME.to_owned(),
        id: ChargeId::new(c.charge_id.as_ref()),
        status,
        amount,
        amount_captured: if c.paid { amount } else { Money::zero(Currency::CNY) },
        amount_refunded: refunded,
        reference: Some(c.merchant_trade_id.as_ref().to_owned()).filter(|r| !r.is_empty()),
        description: c.description.as_deref().filter(|d| !d.is_empty()).map(str::to_owned),
        metadata: c.metadata,
        created,
        next_action: (status == ChargeStatus::RequiresAction).then(|| NextAction {
            expires_at: c.expired_ts.map(Timestamp::from_unix),
            // Built directly: `json!` would re-serialize the credential tree instead of moving it.
            ..NextAction::with_data(
                NextActionKind::ChannelCredential,
                serde_json::Value::Object(serde_json::Map::from_iter([
                    ("channel".to_owned(), serde_json::Value::from(c.channel.as_ref())),
                    ("credential".to_owned(), credential.to_value()),
                ])),
            )
        }),
        failure: c.failure_code.as_deref().filter(|f| !f.is_empty()).map(|code| ChargeFailure {
            code: code.to_owned(),
            message: c.failure_msg.as_deref().unwrap_or_default().to_owned(),
            reason: None,
        }),
        raw,
    })
}

/// A neutral record from a Justap refund.
pub fn refund_record(r: &Refund, raw: RawJson) -> Result<RefundRecord> {
    let status = match (r.status.as_deref(), r.is_success) {
        (_, true) | (Some("succeeded" | "success" | "SUCCEEDED"), _) => RefundStatus::Succeeded,
        (Some("failed" | "FAILED"), _) => RefundStatus::Failed,
        _ if r.failure_code.as_deref().is_some_and(|f| !f.is_empty()) => RefundStatus::Failed,
        (None | Some("" | "pending" | "PENDING" | "processing"), _) => RefundStatus::Pending,
        (Some(other), _) => return Err(Error::new(K::Decode, format!("unknown Justap refund status {other:?}"))),
    };
    let created = time(r.created_at.as_deref()).or(r.created.map(Timestamp::from_unix)).unwrap_or_else(Timestamp::now);
    Ok(RefundRecord {
        provider: NAME.to_owned(),
        id: RefundId::new(r.refund_id.clone()),
        charge_id: ChargeId::new(r.charge_id.clone()),
        status,
        amount: echoed(&r.amount, None)?,
        reason: r.description.clone().filter(|d| !d.is_empty()),
        created,
        raw,
    })
}

fn decode<'a, T: serde::Deserialize<'a>>(what: &str, text: &'a [u8]) -> Result<T> {
    // Straight from the text: amounts are read by their decimal spelling, never through f64.
    serde_json::from_slice(text).map_err(|e| Error::decode(what, e))
}

/// A charge from its JSON object, with the channel it was made through.
fn charge_of_data(data: &RawValue) -> Result<(ChargeRecord, String)> {
    let view: ChargeView<'_> = decode("a Justap charge", data.get().as_bytes())?;
    let channel = view.channel.clone().into_owned();
    let credential = Credential::Text(view.credential);
    Ok((record_of(view, &credential, RawJson::from_raw(data))?, channel))
}

fn refund_of_data(data: &RawValue) -> Result<RefundRecord> {
    let refund: Refund = decode("a Justap refund", data.get().as_bytes())?;
    refund_record(&refund, RawJson::from_raw(data))
}

/// A charge from a `{"object":"Charge","data":…}` answer, and the channel it was made through:
/// `data` is kept as `raw`, text as it came, and the record's fields are read from that text.
pub fn charge_and_channel_from_body(body: &[u8]) -> Result<(ChargeRecord, String)> {
    let wrapped: Wrapped<&RawValue> = decode("a Justap charge", body)?;
    charge_of_data(wrapped.data)
}

/// A charge from a `{"object":"Charge","data":…}` answer.
pub fn charge_from_body(body: &[u8]) -> Result<ChargeRecord> {
    charge_and_channel_from_body(body).map(|(record, _)| record)
}

/// A refund from a `{"object":"Refund","data":…}` answer.
pub fn refund_from_body(body: &[u8]) -> Result<RefundRecord> {
    let wrapped: Wrapped<&RawValue> = decode("a Justap refund", body)?;
    refund_of_data(wrapped.data)
}

/// A page of charges and whether more follow.
pub fn charges_from_body(body: &[u8]) -> Result<(Vec<ChargeRecord>, bool)> {
    let list: RawList<'_> = decode("a Justap charge list", body)?;
    let items = list.data.iter().map(|c| charge_of_data(c).map(|(record, _)| record)).collect::<Result<_>>()?;
    Ok((items, list.has_more))
}

/// A page of refunds and whether more follow.
pub fn refunds_from_body(body: &[u8]) -> Result<(Vec<RefundRecord>, bool)> {
    let list: RawList<'_> = decode("a Justap refund list", body)?;
    let items = list.data.iter().map(|r| refund_of_data(r)).collect::<Result<_>>()?;
    Ok((items, list.has_more))
}

/// The gRPC status codes, by number, with the kind each means here.
#[rustfmt::skip]
pub const GRPC_CODES: &[(i32, &str, K)] = &[
    (1, "CANCELLED", K::ProviderUnavailable),
    (2, "UNKNOWN", K::ProviderUnavailable),
    (3, "INVALID_ARGUMENT", K::InvalidRequest),
    (4, "DEADLINE_EXCEEDED", K::ProviderUnavailable),
    (5, "NOT_FOUND", K::NotFound),
    (6, "ALREADY_EXISTS", K::Conflict),
    (7, "PERMISSION_DENIED", K::PermissionDenied),
    (8, "RESOURCE_EXHAUSTED", K::RateLimited),
    (9, "FAILED_PRECONDITION", K::Conflict),
    (10, "ABORTED", K::Conflict),
    (11, "OUT_OF_RANGE", K::InvalidRequest),
    (12, "UNIMPLEMENTED", K::Unsupported),
    (13, "INTERNAL", K::ProviderUnavailable),
    (14, "UNAVAILABLE", K::ProviderUnavailable),
    (15, "DATA_LOSS", K::ProviderUnavailable),
    (16, "UNAUTHENTICATED", K::Authentication),
];

/// The message Justap sends when a merchant id is reused with other parameters.
pub const PARAMETER_MISMATCH: &str = "IdempotentParameterMismatch";

/// The kind for an HTTP status and gRPC code: the code first, then the status.
pub fn error_kind(status: u16, code: Option<i32>, message: &str) -> K {
    if message.contains(PARAMETER_MISMATCH) {
        return K::IdempotencyConflict;
    }
    if let Some(row) = code.filter(|c| *c != 0).and_then(|c| GRPC_CODES.iter().find(|(n, _, _)| *n == c)) {
        return row.2;
    }
    match status {
        400 => K::InvalidRequest,
        401 => K::Authentication,
        403 => K::PermissionDenied,
        404 => K::NotFound,
        409 => K::Conflict,
        429 => K::RateLimited,
        500..=599 => K::ProviderUnavailable,
        _ => K::InvalidRequest,
    }
}

/// A neutral error from any Justap error answer.
pub fn error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(api) if api.code != 0 || !api.message.is_empty() => {
            let kind = error_kind(status, Some(api.code), &api.message);
            let name = GRPC_CODES.iter().find(|(n, _, _)| *n == api.code).map(|r| r.1.to_owned());
            Error::new(kind, api.message.clone())
                .with_provider_code(name.unwrap_or_else(|| api.code.to_string()))
                .with_provider_message(api.message.clone())
                .with_source(api)
        }
        _ => Error::unreadable_body(error_kind(status, None, ""), status, body),
    }
}

/// The normalized kind of a notification's `event`.
pub fn event_kind(event: &str) -> payment_core::EventKind {
    use payment_core::EventKind as E;
    match event {
        "charge.paid" => E::ChargeSucceeded,
        "charge.pending" => E::ChargePending,
        "charge.canceled" | "charge.closed" | "charge.reversed" => E::ChargeCanceled,
        "charge.refunded" => E::RefundSucceeded,
        other => E::Unknown { provider_type: other.to_owned() },
    }
}

/// Whether the notification's own (sealed) flags say what the envelope's event says.
fn sealed_flags_confirm(kind: &payment_core::EventKind, n: &crate::wire::Notification) -> bool {
    use payment_core::EventKind as E;
    match kind {
        E::ChargeSucceeded => n.is_paid == Some(true),
        E::ChargePending => n.is_paid == Some(false),
        E::ChargeCanceled => n.is_closed == Some(true) || n.is_reversed == Some(true),
        E::RefundSucceeded => n.is_refund == Some(true),
        _ => false,
    }
}

/// A normalized event from a notification (already opened, or taken unencrypted).
pub fn notification_event(
    event: &str,
    notification: &[u8],
    trust: payment_core::Trust,
    raw: serde_json::Value,
) -> Result<payment_core::WebhookEvent> {
    let n: crate::wire::Notification = serde_json::from_slice(notification)
        .map_err(|e| Error::decode("the Justap notification", e).with_provider(crate::NAME))?;
    let kind = event_kind(event);
    let charge = n.charge_id.clone().or_else(|| match &n.charge_no {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(x)) => Some(x.to_string()),
        _ => None,
    });
    let figure = if kind == payment_core::EventKind::RefundSucceeded { &n.amount_refund } else { &n.amount_total };
    let amount = figure.as_ref().map(|a| echoed(a, n.currency.as_deref())).transpose()?;
    let occurred_at = match &n.notify_time {
        Some(serde_json::Value::String(t)) => Timestamp::parse_rfc3339(t).ok(),
        Some(serde_json::Value::Number(x)) => x.as_i64().map(Timestamp::from_unix),
        _ => None,
    };
    // The envelope's `event` is not sealed: its kind is believed only where the sealed flags
    // say the same; otherwise the event is the sender's word alone, read back before trusted.
    let trust = if trust == payment_core::Trust::Verified && !sealed_flags_confirm(&kind, &n) {
        payment_core::Trust::SenderOnly
    } else {
        trust
    };
    // Deduplicated by what is sealed, never by the envelope's text.
    let id = n.notify_id.clone().unwrap_or_else(|| {
        format!(
            "{}:{}",
            charge.as_deref().unwrap_or("?"),
            payment_core::hex::lower(&payment_core::crypto::sha256(notification)[..12])
        )
    });
    Ok(payment_core::WebhookEvent {
        id,
        provider: crate::NAME.to_owned(),
        kind,
        object_id: charge,
        reference: n.merchant_trade_id,
        refund_reference: None,
        amount,
        trust,
        occurred_at,
        record: payment_core::EventRecord::Other(serde_json::from_slice(notification).unwrap_or_default()),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        assert_eq!(error_kind(400, Some(3), "bad"), K::InvalidRequest);
        assert_eq!(error_kind(404, Some(5), "no"), K::NotFound);
        assert_eq!(error_kind(409, Some(6), "merchant_trade_id exists"), K::Conflict);
        assert_eq!(error_kind(409, Some(6), "IdempotentParameterMismatch: other amount"), K::IdempotencyConflict);
        assert_eq!(error_kind(401, Some(16), "sig"), K::Authentication);
        assert_eq!(error_kind(429, Some(8), "slow"), K::RateLimited);
        assert_eq!(error_kind(503, None, ""), K::ProviderUnavailable);
        let e = error(401, br#"{"code":16,"message":"signature mismatch","details":[]}"#);
        assert_eq!(e.kind(), K::Authentication);
        assert_eq!(e.provider_code(), Some("UNAUTHENTICATED"));
        assert_eq!(e.provider_error::<ApiError>().unwrap().code, 16);
        assert_eq!(error(502, b"<html>bad gateway</html>").kind(), K::ProviderUnavailable);
    }

    #[test]
    fn yuan_is_exact_and_cny_only() {
        assert_eq!(yuan(Money::new(1234, Currency::CNY)).unwrap().as_str(), "12.34");
        assert_eq!(yuan(Money::new(1, Currency::CNY)).unwrap().as_str(), "0.01");
        assert_eq!(yuan(Money::new(1, Currency::USD)).unwrap_err().kind(), K::InvalidRequest);
        let exact = DecimalNumber::parse("0.10").unwrap();
        assert_eq!(echoed(&exact, Some("CNY")).unwrap(), Money::new(10, Currency::CNY));
        let fine = DecimalNumber::parse("12.345").unwrap();
        assert_eq!(echoed(&fine, Some("CNY")).unwrap_err().kind(), K::Integrity);
        assert_eq!(echoed(&exact, Some("USD")).unwrap_err().kind(), K::Integrity);
        assert_eq!(echoed(&exact, None).unwrap().currency, Currency::CNY);
    }
}
