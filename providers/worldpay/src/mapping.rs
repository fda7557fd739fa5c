//! Worldpay wire <-> neutral records: the charge id, states from both event vocabularies, refusal
//! codes, and `errorName` -> `ErrorKind`.

use base64::Engine as _;
use payment_core::{
    ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, Currency, DeclineReason as D, Error, ErrorKind as K, JsonText,
    Money, RawJson, Result, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::NAME;
use crate::wire::ApiError;

/// What a Worldpay charge id carries: everything later calls need, nothing that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeKey {
    /// `transactionReference`.
    pub r: String,
    /// `merchant.entity`.
    pub e: String,
    /// Authorized amount, minor units.
    pub a: i64,
    /// Currency code.
    pub c: String,
    /// The Payments API's `linkData` of a payment taken with 3-D Secure (absent for Card
    /// Payments authorizations, whose ids are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l: Option<String>,
}

const ID_PREFIX: &str = "wp1.";

impl ChargeKey {
    /// The key of a payment of `amount` under `reference` at `entity`, taken by Card Payments (no
    /// Payments API link yet).
    pub fn of(reference: String, entity: String, amount: Money) -> ChargeKey {
        ChargeKey { r: reference, e: entity, a: amount.minor, c: amount.currency.code().to_owned(), l: None }
    }

    /// The neutral id: `wp1.` + base64url(JSON); safe in JSON, URLs and shells.
    pub fn to_id(&self) -> ChargeId {
        use base64::Engine as _;
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut id = String::with_capacity(ID_PREFIX.len() + json.len().div_ceil(3) * 4);
        id.push_str(ID_PREFIX);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(json, &mut id);
        ChargeId::new(id)
    }

    /// Reads an id back; anything else is `NotFound` (it cannot name a Worldpay payment).
    pub fn from_id(id: &ChargeId) -> Result<ChargeKey> {
        let not_ours = || Error::new(K::NotFound, format!("{:?} is not a Worldpay charge id", truncate(id.as_str())));
        let b64 = id.as_str().strip_prefix(ID_PREFIX).ok_or_else(not_ours)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b64).map_err(|_| not_ours())?;
        serde_json::from_slice(&json).map_err(|_| not_ours())
    }

    /// The amount as money.
    pub fn money(&self) -> Result<Money> {
        Ok(Money::new(self.a, Currency::from_code(&self.c)?))
    }
}

fn truncate(s: &str) -> std::borrow::Cow<'_, str> {
    payment_core::text::first_chars(s, 40)
}

fn squash(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

/// A state from the events vocabulary (`Sent for Settlement`; camelCase aliases accepted).
pub fn status_from_event(last_event: &str) -> ChargeStatus {
    match squash(last_event).as_str() {
        "authorized" => ChargeStatus::Authorized,
        "refused" | "settlementfailed" | "error" => ChargeStatus::Failed,
        "sentforsettlement" | "sentforpartialsettlement" | "settled" | "sentforrefund" | "sentforpartialrefund"
        | "refunded" | "refundfailed" => ChargeStatus::Succeeded,
        "sentforcancellation" | "cancelled" | "canceled" | "expired" => ChargeStatus::Canceled,
        // The Payments API's outcomes while and after the issuer authenticates the customer.
        "3dsdevicedatarequired" | "3dschallenged" => ChargeStatus::RequiresAction,
        "3dsauthenticationfailed" | "3dsunavailable" | "fraudhighrisk" => ChargeStatus::Failed,
        _ => ChargeStatus::Pending,
    }
}

/// A state from the Payment Queries vocabulary (`settlementRequestSubmitted`, …).
pub fn status_from_query(last_event: &str) -> ChargeStatus {
    let e = last_event.to_ascii_lowercase();
    let stage = |prefix: &str| e.strip_prefix(prefix);
    if let Some(rest) = stage("authorization") {
        return match rest {
            "succeeded" => ChargeStatus::Authorized,
            "requested" => ChargeStatus::Pending,
            _ => ChargeStatus::Failed,
        };
    }
    if let Some(rest) = stage("sale") {
        return if rest == "succeeded" { ChargeStatus::Succeeded } else { ChargeStatus::Failed };
    }
    if let Some(rest) = stage("settlement") {
        return if rest == "failed" || rest == "timedout" { ChargeStatus::Failed } else { ChargeStatus::Succeeded };
    }
    if e.starts_with("cancellation") || e.starts_with("reversal") {
        return ChargeStatus::Canceled;
    }
    if e.starts_with("refund") {
        return ChargeStatus::Succeeded;
    }
    ChargeStatus::Pending
}

/// Whether a used `relation` link and the payment's `last_event` show the action landed: the
/// payment is where the action leads (a refund stage also follows a settlement). Worldpay's own
/// recovery for a lost action is this reading ("see whether the state moved"). It cannot tell two
/// actions of one kind apart: a partial refund (or settle) lost while another caller's partial
/// refund of the same payment landed reads as landed; its journaled refund then stays pending,
/// since no event ever names its reference.
pub fn follows_action(relation: &str, last_event: &str) -> bool {
    let e = squash(last_event);
    let settled =
        matches!(e.as_str(), "sentforsettlement" | "sentforpartialsettlement" | "settled") || refund_stage(last_event);
    match relation {
        "payments:settle" | "payments:partialSettle" => settled,
        "payments:refund" | "payments:partialRefund" => refund_stage(last_event),
        "payments:cancel" => matches!(e.as_str(), "sentforcancellation" | "cancelled" | "canceled"),
        // An issuer's step, taken: the payment is past the stage that offered it.
        "supply3dsDeviceData" => !e.is_empty() && e != "3dsdevicedatarequired",
        "complete3dsChallenge" => !e.is_empty() && e != "3dschallenged",
        _ => false,
    }
}

/// Whether the events say money moved back.
fn refund_stage(last_event: &str) -> bool {
    let e = squash(last_event);
    e.starts_with("sentforrefund") || e == "sentforpartialrefund" || e == "refunded" || e.starts_with("refund")
}

/// The names of the links an answer offers, read off its text without decoding the links.
#[derive(Deserialize)]
struct Offered<'a> {
    #[serde(rename = "_links", default, borrow)]
    links: Option<std::collections::BTreeMap<JsonText<'a>, serde::de::IgnoredAny>>,
    /// The Payments API's actions, beside its `_links.self`.
    #[serde(rename = "_actions", default, borrow)]
    actions: Option<std::collections::BTreeMap<JsonText<'a>, serde::de::IgnoredAny>>,
}

/// Whether the answer still offers any of `relations`.
fn offers(links: &std::collections::BTreeMap<JsonText<'_>, serde::de::IgnoredAny>, relations: &[&str]) -> bool {
    links.keys().any(|k| {
        relations.iter().any(|r| {
            k.as_str() == *r
                || k.strip_prefix("cardPayments:") == r.strip_prefix("payments:")
                || crate::wire::action_name(r) == Some(k.as_str())
        })
    })
}

/// The metadata key that flags amounts the events cannot give.
pub const PARTIAL_NOTE: &str = "worldpay_partial";

/// A neutral record. Worldpay's events name the stage a payment reached, not amounts, so amounts are
/// only claimed when the offered links prove the stage complete: nothing left to settle means the
/// whole amount was captured, no refund link left means the whole amount was refunded. A partial
/// stage reports zero for the unknown part and says so in `metadata[worldpay_partial]`; the exact
/// figures are in the records the capture and refund calls returned.
pub fn record(
    key: &ChargeKey,
    status: ChargeStatus,
    last_event: &str,
    created: Timestamp,
    raw: RawJson,
) -> Result<ChargeRecord> {
    let amount = key.money()?;
    let zero = Money::zero(amount.currency);
    // Only an object can offer links; any other answer has none to read.
    let offered: Offered<'_> = match raw.is_object() {
        true => serde_json::from_str(raw.as_str()).map_err(|e| Error::decode("a Worldpay answer's links", e))?,
        false => Offered { links: None, actions: None },
    };
    let mut links = offered.links.unwrap_or_default();
    links.extend(offered.actions.unwrap_or_default());
    let mut metadata = std::collections::BTreeMap::new();
    let captured = if status != ChargeStatus::Succeeded {
        zero
    } else if offers(&links, &["payments:partialSettle", "payments:settle"]) {
        metadata.insert(PARTIAL_NOTE.to_owned(), "settled in part; the amount is in the capture record".to_owned());
        zero
    } else {
        amount
    };
    let refunded = if status != ChargeStatus::Succeeded || !refund_stage(last_event) {
        zero
    } else if offers(&links, &["payments:partialRefund", "payments:refund"]) {
        metadata.insert(PARTIAL_NOTE.to_owned(), "refunded in part; the amounts are in the refund records".to_owned());
        metadata.insert(payment_core::REFUNDED_IN_PART.to_owned(), "true".to_owned());
        zero
    } else {
        captured
    };
    // The link names borrow from `raw`, which moves into the record.
    drop(links);
    Ok(ChargeRecord {
        provider: NAME.to_owned(),
        id: key.to_id(),
        status,
        amount,
        amount_captured: captured,
        amount_refunded: refunded,
        reference: Some(key.r.clone()),
        description: None,
        metadata,
        created,
        // A read knows which step waits, not where it is: that was in the answer that asked
        // for it (a journal keeps the URL from there).
        next_action: (status == ChargeStatus::RequiresAction).then(|| {
            let kind = match squash(last_event).as_str() {
                "3dschallenged" => payment_core::NextActionKind::Challenge,
                _ => payment_core::NextActionKind::DeviceData,
            };
            payment_core::NextAction::with_data(kind, serde_json::Value::Null)
        }),
        failure: (status == ChargeStatus::Failed)
            .then(|| ChargeFailure {
                code: last_event.to_owned(),
                message: format!("Worldpay reports {last_event}"),
                reason: match squash(last_event).as_str() {
                    "3dsauthenticationfailed" | "3dsunavailable" => Some(D::AuthenticationFailed),
                    "fraudhighrisk" => Some(D::FraudSuspected),
                    _ => None,
                },
            }),
        raw,
    })
}

/// A refusal code -> the neutral reason (Worldpay's refusal table; codes are scheme-like numbers).
pub fn decline_reason(code: &str) -> D {
    match code.trim() {
        "5" | "05" => D::DoNotHonor,
        "51" => D::InsufficientFunds,
        "54" | "33" => D::ExpiredCard,
        "82" | "N7" => D::IncorrectCvc,
        "4" | "04" | "7" | "07" | "41" | "43" | "59" | "34" => D::FraudSuspected,
        "61" | "65" => D::LimitExceeded,
        _ => D::Other,
    }
}

/// Every documented `errorName`, and why it maps as it does.
#[rustfmt::skip]
pub const ERROR_NAMES: &[(&str, K, &str)] = &[
    ("bodyIsNotJson", K::InvalidRequest, "the body is not JSON"),
    ("bodyIsEmpty", K::InvalidRequest, "the body is empty"),
    ("bodyDoesNotMatchSchema", K::InvalidRequest, "a field is missing, unknown or invalid (see validationErrors)"),
    ("resourceNotFound", K::NotFound, "no such payment or link"),
    ("endpointNotFound", K::NotFound, "no such endpoint"),
    ("paymentNotFound", K::NotFound, "no such payment"),
    ("methodNotAllowed", K::InvalidRequest, "the method is not allowed"),
    ("unsupportedAcceptHeader", K::InvalidRequest, "the Accept media type is not supported"),
    ("unsupportedContentType", K::InvalidRequest, "the Content-Type media type is not supported"),
    ("internalErrorOccurred", K::ProviderUnavailable, "Worldpay failed"),
    ("unknownError", K::ProviderUnavailable, "Worldpay failed"),
    ("accessDenied", K::Authentication, "the credentials were refused"),
    ("transactionReferenceIsADuplicate", K::Conflict, "the transaction reference was used before"),
    ("transactionHasAlreadyBeenProcessed", K::Conflict, "this action already happened"),
    ("entityIsNotConfigured", K::PermissionDenied, "the merchant entity is not set up"),
    ("currencyIsNotSupported", K::InvalidRequest, "the currency is not supported"),
    ("channelIsNotSupported", K::InvalidRequest, "the channel is not supported"),
    ("paymentInstrumentIsNotSupported", K::InvalidRequest, "the payment instrument is not supported"),
    ("fieldHasInvalidValue", K::InvalidRequest, "a field has an invalid value"),
    ("fieldIsEmpty", K::InvalidRequest, "a field is empty"),
    ("cardNumberIsNotRecognized", K::InvalidRequest, "the card number is not recognized"),
    ("underlyingPaymentInstrumentHasExpired", K::CardDeclined(D::ExpiredCard), "the card has expired"),
    ("invalidPageSize", K::InvalidRequest, "pageSize is out of range"),
];

/// The kind for an `errorName`, else from the status.
pub fn error_kind(status: u16, name: Option<&str>) -> K {
    if let Some(row) = name.and_then(|n| ERROR_NAMES.iter().find(|(k, _, _)| *k == n)) {
        return row.1;
    }
    match status {
        401 => K::Authentication,
        403 => K::PermissionDenied,
        404 => K::NotFound,
        409 => K::Conflict,
        429 => K::RateLimited,
        500..=599 => K::ProviderUnavailable,
        _ => K::InvalidRequest,
    }
}

/// A neutral error from a Worldpay error response; `correlation_id` is `WP-CorrelationId`.
pub fn error(status: u16, body: &[u8], correlation_id: Option<&str>) -> Error {
    let e = match serde_json::from_slice::<ApiError>(body) {
        Ok(api) => {
            let mut message = api.message.clone();
            for v in &api.validation_errors {
                message.push_str(&format!("; {} at {}", v.error_name, v.json_path.as_deref().unwrap_or("?")));
            }
            Error::new(error_kind(status, Some(&api.error_name)), message.clone())
                .with_provider_code(api.error_name.clone())
                .with_provider_message(message)
                .with_source(api)
        }
        Err(_) => Error::unreadable_body(error_kind(status, None), status, body),
    };
    match correlation_id {
        Some(id) => e.with_request_id(id),
        None => e,
    }
}

/// The normalized kind of an event notification's `type`.
pub fn event_kind(event_type: &str) -> payment_core::EventKind {
    use payment_core::EventKind as E;
    match event_type {
        "sentForAuthorization" | "sentForSettlement" => E::ChargePending,
        "authorized" => E::ChargeAuthorized,
        "settled" => E::ChargeCaptured,
        "refused" | "error" | "settlementFailed" => E::ChargeFailed,
        "cancelled" => E::ChargeCanceled,
        "expired" => E::ChargeExpired,
        "sentForRefund" => E::RefundPending,
        "refunded" => E::RefundSucceeded,
        "refundFailed" => E::RefundFailed,
        other => E::Unknown { provider_type: other.to_owned() },
    }
}

/// A normalized event from a notification's raw body (signature already checked: `Verified`).
/// The event names the payment by `transactionReference`, not by this library's charge id.
pub fn event(body: &[u8]) -> Result<payment_core::WebhookEvent> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Error::decode("the Worldpay event", e).with_provider(NAME))?;
    let event: crate::wire::Event =
        serde_json::from_value(raw.clone()).map_err(|e| Error::decode("the Worldpay event", e).with_provider(NAME))?;
    let d = &event.event_details;
    let amount = match &d.amount {
        Some(a) => {
            Some(payment_core::Currency::from_code(&a.currency_code).map(|c| Money::new(a.value, c)).map_err(|e| {
                Error::new(payment_core::ErrorKind::Decode, format!("event amount: {e}")).with_provider(NAME)
            })?)
        }
        None => None,
    };
    let when = event.event_timestamp.as_deref().or(d.date.as_deref()).and_then(|t| Timestamp::parse_rfc3339(t).ok());
    let kind = event_kind(&d.event_type);
    // A refund event about a partial refund also names that refund by its own reference.
    let refund = matches!(
        kind,
        payment_core::EventKind::RefundPending
            | payment_core::EventKind::RefundSucceeded
            | payment_core::EventKind::RefundFailed
    );
    Ok(payment_core::WebhookEvent {
        id: event.event_id.clone(),
        provider: NAME.to_owned(),
        kind,
        object_id: None,
        reference: d.transaction_reference.clone(),
        refund_reference: d.reference.clone().filter(|_| refund),
        amount,
        trust: payment_core::Trust::Verified,
        occurred_at: when,
        record: payment_core::EventRecord::Other(raw.get("eventDetails").cloned().unwrap_or_default()),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_used_link_counts_as_this_action_only_where_the_payment_now_is_where_it_leads() {
        assert!(follows_action("payments:partialRefund", "Sent for Refund"));
        assert!(follows_action("payments:refund", "Refunded"));
        assert!(follows_action("payments:settle", "Sent for Settlement"));
        assert!(follows_action("payments:partialSettle", "Sent for Refund"), "a refund follows a settlement");
        assert!(follows_action("payments:cancel", "Sent for Cancellation"));
        // Links replaced by another action: this one's fate is not shown.
        assert!(!follows_action("payments:refund", "Sent for Settlement"));
        assert!(!follows_action("payments:settle", "Sent for Cancellation"));
        assert!(!follows_action("payments:cancel", "Authorized"));
        assert!(!follows_action("payments:unknown", "Refunded"));
    }

    #[test]
    fn ids_round_trip_and_reject_strangers() {
        let key = ChargeKey { r: "Memory265-13/08/1876".into(), e: "default".into(), a: 250, c: "GBP".into(), l: None };
        let id = key.to_id();
        assert!(id.as_str().starts_with("wp1.") && !id.as_str().contains(['/', '+', '=', ' ']));
        assert_eq!(ChargeKey::from_id(&id).unwrap(), key);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(ChargeKey::from_id(&serde_json::from_str(&json).unwrap()).unwrap(), key);
        for bad in ["ch_123", "wp1.!!!", "wp1.e30", ""] {
            assert_eq!(ChargeKey::from_id(&ChargeId::new(bad)).unwrap_err().kind(), K::NotFound, "{bad}");
        }
    }

    #[test]
    fn amounts_are_claimed_only_when_the_links_prove_them() {
        let key = ChargeKey { r: "r".into(), e: "default".into(), a: 1000, c: "GBP".into(), l: None };
        let links = |rels: &[&str]| {
            let mut m = serde_json::Map::new();
            for r in rels {
                m.insert((*r).to_owned(), serde_json::json!({"href": "x"}));
            }
            RawJson::from(serde_json::json!({"_links": m}))
        };
        let now = Timestamp::from_unix(0);
        let partial_refund = record(
            &key,
            ChargeStatus::Succeeded,
            "Sent for Refund",
            now,
            links(&["payments:partialRefund", "payments:events"]),
        )
        .unwrap();
        assert_eq!((partial_refund.amount_captured.minor, partial_refund.amount_refunded.minor), (1000, 0));
        assert!(partial_refund.metadata.contains_key(PARTIAL_NOTE));
        assert!(partial_refund.shows_a_refund(), "a refund of unknown amount still shows");
        let full_refund = record(&key, ChargeStatus::Succeeded, "Refunded", now, links(&["payments:events"])).unwrap();
        assert_eq!(full_refund.amount_refunded.minor, 1000);
        let partial_settle = record(
            &key,
            ChargeStatus::Succeeded,
            "Sent for Settlement",
            now,
            links(&["cardPayments:partialSettle", "payments:refund"]),
        )
        .unwrap();
        assert_eq!(partial_settle.amount_captured.minor, 0, "not claimed while part is still unsettled");
        let authorized =
            record(&key, ChargeStatus::Authorized, "Authorized", now, links(&["payments:settle"])).unwrap();
        assert_eq!((authorized.amount_captured.minor, authorized.amount_refunded.minor), (0, 0));
        // An answer without links (an empty 202, `null` links) offers nothing: the stage is complete.
        for raw in [RawJson::null(), RawJson::from(serde_json::json!({"_links": null}))] {
            let settled = record(&key, ChargeStatus::Succeeded, "Sent for Settlement", now, raw).unwrap();
            assert_eq!(settled.amount_captured.minor, 1000);
        }
        let bad = RawJson::from(serde_json::json!({"_links": [1]}));
        assert_eq!(record(&key, ChargeStatus::Succeeded, "Settled", now, bad).unwrap_err().kind(), K::Decode);
    }

    #[test]
    fn both_vocabularies() {
        assert_eq!(status_from_event("Sent for Settlement"), ChargeStatus::Succeeded);
        assert_eq!(status_from_event("sentForSettlement"), ChargeStatus::Succeeded);
        assert_eq!(status_from_event("Authorized"), ChargeStatus::Authorized);
        assert_eq!(status_from_event("Sent for Cancellation"), ChargeStatus::Canceled);
        assert_eq!(status_from_event("Refused"), ChargeStatus::Failed);
        assert_eq!(status_from_event("Something New"), ChargeStatus::Pending);
        assert_eq!(status_from_query("authorizationSucceeded"), ChargeStatus::Authorized);
        assert_eq!(status_from_query("settlementRequestSubmitted"), ChargeStatus::Succeeded);
        assert_eq!(status_from_query("cancellationRequested"), ChargeStatus::Canceled);
        assert_eq!(status_from_query("authorizationRefused"), ChargeStatus::Failed);
        assert_eq!(status_from_query("refundRequestSubmitted"), ChargeStatus::Succeeded);
    }

    #[test]
    fn errors_keep_name_paths_and_correlation() {
        let body = br#"{"errorName":"bodyDoesNotMatchSchema","message":"The json body provided does not match the expected schema",
            "validationErrors":[{"errorName":"unrecognizedField","message":"Unrecognized field","jsonPath":"$.instruction.colour"}]}"#;
        let e = error(400, body, Some("corr-1"));
        assert_eq!(e.kind(), K::InvalidRequest);
        assert_eq!(e.request_id(), Some("corr-1"));
        assert!(e.message().contains("$.instruction.colour"), "{e}");
        for (name, kind, _) in ERROR_NAMES {
            assert_eq!(error_kind(400, Some(name)), *kind);
        }
        assert_eq!(error(503, b"<html>", None).kind(), K::ProviderUnavailable);
        assert_eq!(decline_reason("51"), D::InsufficientFunds);
        assert_eq!(decline_reason("5"), D::DoNotHonor);
    }
}
