//! PAY.JP wire objects <-> neutral records, and every PAY.JP error code -> `ErrorKind`.

use std::collections::BTreeMap;

use payment_core::{
    ChargeFailure, ChargeId, ChargeRecord, ChargeStatus, Currency, DeclineReason as D, Error, ErrorKind as K,
    EventKind, EventRecord, JsonText, Money, RawJson, Result, Timestamp, Trust, WebhookEvent,
};

use crate::NAME;
use crate::wire::{Charge, ErrorBody, Event};

/// The metadata key that carries the neutral `reference` (PAY.JP charges have no order-number field).
pub const REFERENCE_KEY: &str = "payment_reference";

/// Yen from a neutral amount; anything but JPY cannot be represented.
pub fn yen(amount: Money) -> Result<i64> {
    amount.minor_in(Currency::JPY).map_err(Error::from)
}

fn jpy(currency: &str, minor: i64) -> Result<Money> {
    Money::echoed(currency, minor, Currency::JPY)
}

/// The fields of a charge a neutral record needs, borrowed from its JSON tree: no string is
/// copied twice on the way to the record, and the card (which the record does not carry outside
/// `raw`) is skipped rather than decoded.
#[derive(Debug, serde::Deserialize)]
pub struct ChargeView<'a> {
    #[serde(borrow)]
    id: JsonText<'a>,
    created: i64,
    amount: i64,
    #[serde(borrow)]
    currency: JsonText<'a>,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    captured: bool,
    #[serde(default)]
    refunded: bool,
    #[serde(default)]
    amount_refunded: i64,
    #[serde(default, borrow)]
    description: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    failure_code: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    failure_message: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    metadata: Option<BTreeMap<JsonText<'a>, JsonText<'a>>>,
    #[serde(default, borrow)]
    three_d_secure_status: Option<JsonText<'a>>,
}

impl<'a> ChargeView<'a> {
    /// The view of a decoded wire charge.
    pub fn of(c: &'a Charge) -> ChargeView<'a> {
        let text = |t: &'a str| JsonText::from(t);
        let optional = |t: &'a Option<String>| t.as_deref().map(JsonText::from);
        ChargeView {
            id: text(&c.id),
            created: c.created,
            amount: c.amount,
            currency: text(&c.currency),
            paid: c.paid,
            captured: c.captured,
            refunded: c.refunded,
            amount_refunded: c.amount_refunded,
            description: optional(&c.description),
            failure_code: optional(&c.failure_code),
            failure_message: optional(&c.failure_message),
            metadata: c.metadata.as_ref().map(|m| m.iter().map(|(k, v)| (text(k), text(v))).collect()),
            three_d_secure_status: optional(&c.three_d_secure_status),
        }
    }
}

/// How long a charge created with `three_d_secure=true` can finish 3-D Secure: 30 minutes after
/// creation, PAY.JP's API reference says.
pub const THREE_D_SECURE_WINDOW_SECS: i64 = 30 * 60;

/// Where a PAY.JP charge is, in neutral terms.
pub fn status(c: &Charge) -> ChargeStatus {
    status_of(&ChargeView::of(c))
}

fn status_of(c: &ChargeView<'_>) -> ChargeStatus {
    // An unpaid charge in a 3-D Secure flow waits whatever the issuer answered so far: only
    // `tds_finish` or the flow lapsing (each sets `failure_code`) ends it, and a customer can go
    // back to the issuer's page until then.
    if c.failure_code.is_some() {
        ChargeStatus::Failed
    } else if !c.paid && c.three_d_secure_status.is_some() {
        ChargeStatus::RequiresAction
    } else if !c.paid {
        ChargeStatus::Failed
    } else if c.captured {
        ChargeStatus::Succeeded
    } else if c.refunded {
        // Refunding an uncaptured charge releases the authorization: that is PAY.JP's cancel.
        ChargeStatus::Canceled
    } else {
        ChargeStatus::Authorized
    }
}

/// A neutral record from a PAY.JP charge (`raw` is the JSON it came from).
///
/// `amount_captured` is the authorized amount once captured; what a partial capture released is in
/// `amount_refunded`, as PAY.JP reports it, so captured minus refunded is always what was kept.
pub fn charge_record(c: &Charge, raw: RawJson) -> Result<ChargeRecord> {
    record_of(ChargeView::of(c), raw)
}

fn record_of(mut c: ChargeView<'_>, raw: RawJson) -> Result<ChargeRecord> {
    let amount = jpy(&c.currency, c.amount)?;
    let zero = Money::zero(Currency::JPY);
    let mut reference = None;
    let mut metadata = BTreeMap::new();
    for (k, v) in c.metadata.take().into_iter().flatten() {
        if k.as_str() == REFERENCE_KEY {
            reference = Some(v.into_owned());
        } else if !payment_core::is_reserved_metadata(k.as_str()) {
            metadata.insert(k.into_owned(), v.into_owned());
        }
    }
    let status = status_of(&c);
    // The redirect URL embeds the caller's return URL, so the client fills it in where it knows
    // that (`PayjpClient::authentication_url`); a read names the step and its deadline. Once the
    // issuer has answered (verified, attempted, failed) the customer has nothing left to do:
    // `requires_action` without a next action means "complete it".
    let customer_to_act = c.three_d_secure_status.as_deref() == Some("unverified");
    let next_action = (status == ChargeStatus::RequiresAction && customer_to_act).then(|| payment_core::NextAction {
        kind: payment_core::NextActionKind::Redirect,
        url: None,
        method: Some("GET".into()),
        fields: BTreeMap::new(),
        expires_at: Some(Timestamp::from_unix(c.created + THREE_D_SECURE_WINDOW_SECS)),
        data: serde_json::json!({"charge": c.id.as_str(), "three_d_secure_status": c.three_d_secure_status}),
    });
    Ok(ChargeRecord {
        provider: NAME.to_owned(),
        id: ChargeId::new(c.id.into_owned()),
        status,
        amount,
        amount_captured: if c.captured { amount } else { zero },
        amount_refunded: if c.captured { Money::new(c.amount_refunded, Currency::JPY) } else { zero },
        reference,
        description: c.description.map(JsonText::into_owned),
        metadata,
        created: Timestamp::from_unix(c.created),
        next_action,
        failure: c.failure_code.map(|code| ChargeFailure {
            reason: match error_kind(402, Some(code.as_str())) {
                K::CardDeclined(reason) => Some(reason),
                _ => None,
            },
            code: code.into_owned(),
            message: c.failure_message.map(JsonText::into_owned).unwrap_or_default(),
        }),
        raw,
    })
}

/// A neutral record straight from a charge's JSON text, which is kept as `raw`.
pub fn charge_from_raw(raw: RawJson) -> Result<ChargeRecord> {
    let view: ChargeView<'_> = serde_json::from_str(raw.as_str()).map_err(|e| Error::decode("a PAY.JP charge", e))?;
    // The view borrows from `raw`, so the record is built first and `raw` moved in after.
    let record = record_of(view, RawJson::null())?;
    Ok(ChargeRecord { raw, ..record })
}

/// A neutral record from a charge answer's body: the view borrows from the body, so the text
/// kept as `raw` is copied once and no placeholder is made.
pub fn charge_from_body(body: &[u8]) -> Result<ChargeRecord> {
    let fail = |e| Error::decode("a PAY.JP charge", e);
    let text: &serde_json::value::RawValue = serde_json::from_slice(body).map_err(fail)?;
    let view: ChargeView<'_> = serde_json::from_str(text.get()).map_err(fail)?;
    record_of(view, RawJson::from_raw(text))
}

/// One row per documented code: the neutral kind, and why.
#[rustfmt::skip]
pub const ERROR_CODES: &[(&str, K, &str)] = &[
    // card / network (402 card_error unless noted)
    ("card_declined", K::CardDeclined(D::DoNotHonor), "the issuer refused without a reason"),
    ("expired_card", K::CardDeclined(D::ExpiredCard), "the card has expired"),
    ("invalid_cvc", K::CardDeclined(D::IncorrectCvc), "the security code was wrong"),
    ("card_flagged", K::CardDeclined(D::FraudSuspected), "PAY.JP flagged the card"),
    ("processing_error", K::CardDeclined(D::Other), "the card network failed to process it"),
    ("incorrect_card_data", K::CardDeclined(D::Other), "the card data did not match the issuer's"),
    ("failed_payment", K::CardDeclined(D::Other), "a subscription payment failed"),
    ("three_d_secure_failed", K::CardDeclined(D::AuthenticationFailed), "3-D Secure authentication failed"),
    ("three_d_secure_expired", K::CardDeclined(D::AuthenticationExpired), "3-D Secure was not finished in time"),
    ("invalid_number", K::InvalidRequest, "the card number is malformed"),
    ("invalid_expiration_date", K::InvalidRequest, "the expiry is malformed"),
    ("invalid_expiry_month", K::InvalidRequest, "the expiry month is malformed"),
    ("invalid_expiry_year", K::InvalidRequest, "the expiry year is malformed"),
    ("missing_card", K::InvalidRequest, "no card was given"),
    ("unacceptable_brand", K::InvalidRequest, "the account does not accept this brand"),
    ("test_card_on_livemode", K::InvalidRequest, "a test card was used with a live key"),
    ("apple_pay_disabled_in_livemode", K::PermissionDenied, "Apple Pay is not enabled for live mode"),
    ("invalid_apple_pay_token", K::InvalidRequest, "the Apple Pay token is malformed"),
    ("three_d_secure_incompleted", K::ActionRequired, "the customer has not finished 3-D Secure"),
    ("not_in_three_d_secure_flow", K::Conflict, "the charge is not in a 3-D Secure flow"),
    ("unverified_token", K::InvalidRequest, "the token has not passed 3-D Secure"),
    // validation (400)
    ("invalid_id", K::NotFound, "no object has this id"),
    ("invalid_plan", K::InvalidRequest, "the plan is invalid"),
    ("invalid_expiry_days", K::InvalidRequest, "expiry_days is outside 1..=60"),
    ("unnecessary_expiry_days", K::InvalidRequest, "expiry_days given for a captured charge"),
    ("invalid_flexible_id", K::InvalidRequest, "the id is malformed"),
    ("invalid_timestamp", K::InvalidRequest, "a timestamp is malformed"),
    ("invalid_trial_end", K::InvalidRequest, "trial_end is invalid"),
    ("invalid_string_length", K::InvalidRequest, "a string is too long or short"),
    ("invalid_country", K::InvalidRequest, "the country is invalid"),
    ("invalid_currency", K::InvalidRequest, "only jpy is accepted"),
    ("invalid_address_zip", K::InvalidRequest, "the postal code is invalid"),
    ("invalid_amount", K::InvalidRequest, "the amount is outside 50..=9,999,999"),
    ("invalid_plan_amount", K::InvalidRequest, "the plan amount is invalid"),
    ("invalid_card", K::InvalidRequest, "the card is invalid"),
    ("invalid_card_name", K::InvalidRequest, "the holder name is invalid"),
    ("invalid_card_country", K::InvalidRequest, "the card country is invalid"),
    ("invalid_card_address_zip", K::InvalidRequest, "the card postal code is invalid"),
    ("invalid_card_address_state", K::InvalidRequest, "the card state is invalid"),
    ("invalid_card_address_city", K::InvalidRequest, "the card city is invalid"),
    ("invalid_card_address_line", K::InvalidRequest, "the card address line is invalid"),
    ("invalid_customer", K::InvalidRequest, "the customer is invalid"),
    ("invalid_boolean", K::InvalidRequest, "a boolean is malformed"),
    ("invalid_email", K::InvalidRequest, "the e-mail address is invalid"),
    ("no_allowed_param", K::InvalidRequest, "a parameter is not allowed here"),
    ("no_param", K::InvalidRequest, "no parameters were given"),
    ("invalid_querystring", K::InvalidRequest, "the query string is malformed"),
    ("missing_param", K::InvalidRequest, "a required parameter is missing"),
    ("invalid_param_key", K::InvalidRequest, "a parameter name is invalid"),
    ("invalid_owner_type", K::InvalidRequest, "the owner type is invalid"),
    ("too_many_metadata_keys", K::InvalidRequest, "more than 20 metadata keys"),
    ("invalid_metadata_key", K::InvalidRequest, "a metadata key is invalid"),
    ("invalid_metadata_value", K::InvalidRequest, "a metadata value is invalid"),
    ("invalid_refund_amount", K::InvalidRequest, "the refund amount is invalid"),
    ("invalid_amount_to_not_captured", K::InvalidRequest, "an uncaptured charge can only be released in full"),
    ("refund_amount_gt_net", K::InvalidRequest, "the refund is more than what is left"),
    ("capture_amount_gt_net", K::InvalidRequest, "the capture is more than authorized"),
    ("invalid_refund_reason", K::InvalidRequest, "refund_reason is over 255 characters"),
    ("invalid_idempotency_key", K::InvalidRequest, "the Idempotency-Key is malformed"),
    // state (400)
    ("no_payment_method", K::Conflict, "the customer has no payment method"),
    ("payment_method_duplicate", K::Conflict, "the payment method already exists"),
    ("payment_method_duplicate_including_customer", K::Conflict, "the payment method already exists on a customer"),
    ("already_refunded", K::Conflict, "the charge is refunded in full"),
    ("already_captured", K::Conflict, "the charge is captured already"),
    ("cant_capture_refunded_charge", K::Conflict, "a refunded (canceled) charge cannot be captured"),
    ("cant_reauth_refunded_charge", K::Conflict, "a refunded charge cannot be re-authorized"),
    ("charge_expired", K::Conflict, "the authorization lapsed"),
    ("already_exist_id", K::Conflict, "the id is taken"),
    ("token_already_used", K::Conflict, "the token was used already"),
    ("already_have_card", K::Conflict, "the customer has this card"),
    ("dont_has_this_card", K::NotFound, "the customer has no such card"),
    ("doesnt_have_card", K::Conflict, "the customer has no card"),
    ("already_have_the_same_card", K::Conflict, "the customer has the same card"),
    ("invalid_interval", K::InvalidRequest, "the plan interval is invalid"),
    ("invalid_trial_days", K::InvalidRequest, "trial days are invalid"),
    ("invalid_billing_day", K::InvalidRequest, "the billing day is invalid"),
    ("billing_day_for_non_monthly_plan", K::InvalidRequest, "billing day on a non-monthly plan"),
    ("exist_subscribers", K::Conflict, "the plan has subscribers"),
    ("already_subscribed", K::Conflict, "already subscribed"),
    ("already_canceled", K::Conflict, "the subscription is canceled"),
    ("already_paused", K::Conflict, "the subscription is paused"),
    ("subscription_worked", K::Conflict, "the subscription is running"),
    ("cannot_change_prorate_status", K::Conflict, "proration cannot change now"),
    ("refund_limit_exceeded", K::Conflict, "the 180-day refund window has passed"),
    ("cannot_prorated_refund_of_subscription", K::Conflict, "subscription charges cannot be refunded pro rata"),
    ("idempotency_conflict", K::IdempotencyConflict, "the key was used with other parameters"),
    ("idempotency_timeout", K::ProviderUnavailable, "the first request with this key is still running: it may yet land"),
    // auth / system
    ("no_api_key", K::Authentication, "no secret key was sent"),
    ("invalid_api_key", K::Authentication, "the secret key is wrong"),
    ("not_activated_account", K::PermissionDenied, "the account may not take live payments yet"),
    ("not_found", K::NotFound, "no such object or URL"),
    ("not_allowed_method", K::InvalidRequest, "the method is not allowed here"),
    ("over_capacity", K::RateLimited, "the rate limit was reached"),
    ("payjp_wrong", K::ProviderUnavailable, "PAY.JP failed"),
    ("pg_wrong", K::ProviderUnavailable, "the payment gateway failed"),
    ("under_maintenance", K::ProviderUnavailable, "PAY.JP is in maintenance"),
    ("idempotency_infrastructure_error", K::ProviderUnavailable, "PAY.JP's idempotency store failed"),
];

/// The kind for a code, or from the status when the code is unknown (the raw code is kept either way).
pub fn error_kind(status: u16, code: Option<&str>) -> K {
    if let Some(row) = code.and_then(|c| ERROR_CODES.iter().find(|(k, _, _)| *k == c)) {
        return row.1;
    }
    match status {
        401 => K::Authentication,
        402 => K::CardDeclined(D::Other),
        403 => K::PermissionDenied,
        404 => K::NotFound,
        409 => K::Conflict,
        429 => K::RateLimited,
        500..=599 => K::ProviderUnavailable,
        _ => K::InvalidRequest,
    }
}

/// A neutral error from a PAY.JP error response (any body, JSON or not).
pub fn error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error: api }) => {
            let kind = error_kind(status, api.code.as_deref());
            let mut e = Error::new(kind, api.message.clone()).with_provider_message(api.message.clone());
            if let Some(code) = &api.code {
                e = e.with_provider_code(code.clone());
            } else {
                e = e.with_provider_code(api.error_type.clone());
            }
            e.with_source(api)
        }
        // The docs tell clients to fall back to the status when the body is not JSON.
        Err(_) => Error::unreadable_body(error_kind(status, None), status, body),
    }
}

/// A neutral webhook event from a PAY.JP event. Its token covers the sender, not the body, so it
/// is `SenderOnly`: read the charge back before acting on it.
pub fn event(event: Event) -> Result<WebhookEvent> {
    let raw = serde_json::to_value(&event).unwrap_or_default();
    let kind = match event.event_type.as_str() {
        "charge.succeeded" => EventKind::ChargeSucceeded,
        "charge.captured" => EventKind::ChargeCaptured,
        "charge.failed" => EventKind::ChargeFailed,
        // A refund returns the charge; PAY.JP has no refund object to report.
        "charge.refunded" => EventKind::RefundSucceeded,
        other => EventKind::Unknown { provider_type: other.to_owned() },
    };
    let record = if event.data.get("object").and_then(|o| o.as_str()) == Some("charge") {
        EventRecord::Charge(Box::new(charge_from_raw(RawJson::from(event.data))?))
    } else {
        EventRecord::Other(event.data)
    };
    let (object_id, reference, amount) = match &record {
        EventRecord::Charge(c) => (Some(c.id.to_string()), c.reference.clone(), Some(c.amount)),
        _ => (None, None, None),
    };
    Ok(WebhookEvent {
        id: event.id,
        provider: crate::NAME.to_owned(),
        kind,
        object_id,
        reference,
        refund_reference: None,
        amount,
        trust: Trust::SenderOnly,
        occurred_at: Some(Timestamp::from_unix(event.created)),
        record,
        raw,
    })
}

/// Metadata as PAY.JP receives it: the caller's entries plus the reference.
pub fn outgoing_metadata(
    metadata: &BTreeMap<String, String>,
    reference: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let mut out = metadata.clone();
    if out.contains_key(REFERENCE_KEY) {
        return Err(Error::invalid(format!("metadata key {REFERENCE_KEY:?} is reserved for the reference")));
    }
    if let Some(r) = reference {
        out.insert(REFERENCE_KEY.to_owned(), r.to_owned());
    }
    if out.len() > 20 {
        return Err(Error::invalid("PAY.JP accepts at most 20 metadata keys (the reference takes one)"));
    }
    for (k, v) in &out {
        if k.chars().count() > 40 || v.chars().count() > 500 {
            return Err(Error::invalid(format!("metadata {k:?}: keys ≤ 40 and values ≤ 500 characters")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_maps_and_codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (code, kind, why) in ERROR_CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(!why.is_empty());
            assert_eq!(error_kind(400, Some(code)), *kind, "{code}");
        }
        assert!(ERROR_CODES.len() >= 90);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status_and_keep_the_code() {
        let e =
            error(402, br#"{"error":{"status":402,"type":"card_error","code":"brand_new_code","message":"Nope."}}"#);
        assert_eq!(e.kind(), K::CardDeclined(D::Other));
        assert_eq!(e.provider_code(), Some("brand_new_code"));
        assert_eq!(e.provider_error::<crate::wire::ApiError>().unwrap().status, 402);
        assert_eq!(error(503, b"<html>down</html>").kind(), K::ProviderUnavailable);
        assert_eq!(error(418, b"").kind(), K::InvalidRequest);
    }

    #[test]
    fn statuses_follow_the_charge_life() {
        let mut c: Charge = serde_json::from_value(serde_json::json!({
            "id":"ch_1","created":1,"amount":1000,"currency":"jpy","paid":true,"captured":false}))
        .unwrap();
        assert_eq!(status(&c), ChargeStatus::Authorized);
        c.refunded = true;
        assert_eq!(status(&c), ChargeStatus::Canceled);
        c.captured = true;
        assert_eq!(status(&c), ChargeStatus::Succeeded);
        c.paid = false;
        c.failure_code = Some("card_declined".into());
        assert_eq!(status(&c), ChargeStatus::Failed);
        c.failure_code = None;
        c.three_d_secure_status = Some("unverified".into());
        assert_eq!(status(&c), ChargeStatus::RequiresAction);
        // A failed authentication is not the charge's end: only tds_finish or the lapse set a
        // failure code, and the customer may still go back to the issuer's page.
        c.three_d_secure_status = Some("failed".into());
        assert_eq!(status(&c), ChargeStatus::RequiresAction);
        c.failure_code = Some("three_d_secure_failed".into());
        assert_eq!(status(&c), ChargeStatus::Failed);
    }

    #[test]
    fn only_yen_is_representable() {
        assert_eq!(yen(Money::new(500, Currency::JPY)).unwrap(), 500);
        assert_eq!(yen(Money::new(500, Currency::USD)).unwrap_err().kind(), K::InvalidRequest);
    }

    #[test]
    fn reference_rides_in_metadata() {
        let m = outgoing_metadata(&BTreeMap::from([("a".into(), "1".into())]), Some("order-1")).unwrap();
        assert_eq!(m.get(REFERENCE_KEY).map(String::as_str), Some("order-1"));
        let reserved = BTreeMap::from([(REFERENCE_KEY.to_owned(), "x".to_owned())]);
        assert!(outgoing_metadata(&reserved, None).is_err());
        let many: BTreeMap<String, String> = (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(outgoing_metadata(&many, Some("r")).is_err());
    }
}
