//! GSP wire <-> neutral records: micros <-> minor units exactly, self-describing charge ids,
//! result codes -> declines, `ErrorResponse` codes and statuses -> `ErrorKind`.

use base64::Engine as _;
use payment_core::serde_adapters::Micros;
use payment_core::{ChargeId, Currency, DeclineReason as D, Error, ErrorKind as K, Money, Result};
use serde::{Deserialize, Serialize};

use crate::wire::{CaptureResult, ErrorResponse, RefundResult};

/// The micros of a neutral amount (`minor × 10^(6 − exponent)`).
pub fn micros(amount: Money) -> Result<Micros> {
    Micros::from_money(amount).map_err(Error::from)
}

/// What a charge id carries: the capture's `requestId` and what it captured, so a refund needs no
/// read (GSP has none). The id is `gsp1.` + base64url of this JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeKey {
    /// The capture's `requestId`.
    pub r: String,
    /// The currency code.
    pub c: String,
    /// The amount captured, in minor units.
    pub a: i64,
}

const ID_PREFIX: &str = "gsp1.";

impl ChargeKey {
    /// The key of a capture.
    pub fn new(request_id: &str, amount: Money) -> ChargeKey {
        ChargeKey { r: request_id.to_owned(), c: amount.currency.code().to_owned(), a: amount.minor }
    }

    /// The charge id.
    pub fn id(&self) -> ChargeId {
        let json = serde_json::to_vec(self).unwrap_or_default();
        ChargeId::new(format!("{ID_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)))
    }

    /// The key inside a charge id; anything else is `NotFound` (no such capture could exist).
    pub fn from_id(id: &ChargeId) -> Result<ChargeKey> {
        let not_ours =
            || Error::new(K::NotFound, format!("{:?} is not a Google Standard Payments charge id", id.as_str()));
        let b64 = id.as_str().strip_prefix(ID_PREFIX).ok_or_else(not_ours)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b64).map_err(|_| not_ours())?;
        let key: ChargeKey = serde_json::from_slice(&json).map_err(|_| not_ours())?;
        Currency::from_code(&key.c).map_err(|_| not_ours())?;
        Ok(key)
    }

    /// What was captured.
    pub fn money(&self) -> Result<Money> {
        Ok(Money::new(self.a, Currency::from_code(&self.c)?))
    }
}

/// The neutral reason of a capture decline.
pub fn decline_reason(result: &CaptureResult) -> D {
    match result {
        CaptureResult::InsufficientFunds => D::InsufficientFunds,
        CaptureResult::ChargeExceedsTransactionLimit
        | CaptureResult::ChargeExceedsDailyLimit
        | CaptureResult::ChargeExceedsMonthlyLimit => D::LimitExceeded,
        CaptureResult::RiskDeclined | CaptureResult::SuspectedFraud | CaptureResult::AccountClosedFraud => {
            D::FraudSuspected
        }
        CaptureResult::AccountClosed | CaptureResult::AccountClosedAccountTakenOver | CaptureResult::AccountOnHold => {
            D::DoNotHonor
        }
        _ => D::Other,
    }
}

/// A declined capture as an error (GSP answers declines with HTTP 200).
pub fn capture_declined(result: &CaptureResult) -> Error {
    Error::new(
        K::CardDeclined(decline_reason(result)),
        format!("the processor declined the capture: {}", result.as_str()),
    )
    .with_provider_code(result.as_str())
}

/// A refund that did not succeed, as an error.
pub fn refund_refused(result: &RefundResult) -> Error {
    let message = match result {
        RefundResult::NoMoneyLeftOnTransaction => "nothing is left to refund on the capture",
        RefundResult::RefundWindowExceeded => "the capture is past its refund window",
        _ => "the processor refused the refund",
    };
    Error::new(K::Conflict, format!("{message}: {}", result.as_str())).with_provider_code(result.as_str())
}

/// The kind for an `ErrorResponse` code and the HTTP status.
pub fn error_kind(status: u16, code: Option<&str>) -> K {
    match code {
        Some("IDEMPOTENCY_VIOLATION") => return K::IdempotencyConflict,
        Some("INVALID_PAYLOAD_SIGNATURE" | "INVALID_PAYLOAD_ENCRYPTION") => return K::Authentication,
        Some("INVALID_IDENTIFIER") => return K::NotFound,
        Some("USER_ACTION_IN_PROGRESS") => return K::Conflict,
        Some(
            "PRECONDITION_VIOLATION"
            | "INVALID_FIELD_VALUE"
            | "MISSING_REQUIRED_FIELD"
            | "INVALID_API_VERSION"
            | "REQUEST_TIMESTAMP_OUT_OF_RANGE",
        ) => return K::InvalidRequest,
        _ => {}
    }
    match status {
        401 => K::Authentication,
        403 => K::PermissionDenied,
        404 => K::NotFound,
        409 => K::Conflict,
        412 => K::IdempotencyConflict,
        429 => K::RateLimited,
        501 => K::Unsupported,
        500..=599 => K::ProviderUnavailable,
        _ => K::InvalidRequest,
    }
}

/// A neutral error from an opened `ErrorResponse` (or, when the body could not be opened, from the status).
pub fn error(status: u16, body: Option<&[u8]>) -> Error {
    match body.map(serde_json::from_slice::<ErrorResponse>) {
        Some(Ok(e)) => {
            let kind = error_kind(status, e.error_response_code.as_deref());
            let message = e.error_description.clone().unwrap_or_else(|| format!("HTTP {status}"));
            let mut out = Error::new(kind, message.clone()).with_provider_message(message);
            if let Some(code) = &e.error_response_code {
                out = out.with_provider_code(code.clone());
            }
            if let Some(id) = &e.payment_integrator_error_identifier {
                out = out.with_request_id(id.clone());
            }
            // 409 (aborted), 429 and 503/504 may succeed when repeated with the same requestId.
            out.with_retryable(matches!(status, 409 | 429 | 500..=504)).with_source(e)
        }
        _ => Error::new(error_kind(status, None), format!("HTTP {status} with a body that could not be opened"))
            .with_retryable(matches!(status, 409 | 429 | 500..=504)),
    }
}

/// A normalized event from an opened `captureResultNotification` or `refundResultNotification`:
/// named by the capture's or refund's `requestId`, the reference this library sent it with.
pub fn notification_event(json: &[u8]) -> payment_core::Result<payment_core::WebhookEvent> {
    use payment_core::{Error, EventKind, EventRecord, Trust, WebhookEvent};
    let raw: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| Error::decode("the GSP notification", e).with_provider(crate::NAME))?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let (kind, reference) = if let Some(capture) = text(&raw["captureRequestId"]) {
        let code = raw["captureResult"]["captureResultCode"].as_str().unwrap_or("");
        (if code == "SUCCESS" { EventKind::ChargeSucceeded } else { EventKind::ChargeFailed }, Some(capture))
    } else if let Some(refund) = text(&raw["refundRequestId"]) {
        let code = raw["refundResult"].as_str().unwrap_or("");
        (if code == "SUCCESS" { EventKind::RefundSucceeded } else { EventKind::RefundFailed }, Some(refund))
    } else {
        let method = raw.as_object().and_then(|o| o.keys().find(|k| k.ends_with("RequestId")).cloned());
        (EventKind::Unknown { provider_type: method.unwrap_or_else(|| "notification".into()) }, None)
    };
    let id = text(&raw["requestHeader"]["requestId"]).ok_or_else(|| {
        Error::new(payment_core::ErrorKind::Decode, "the notification has no requestId").with_provider(crate::NAME)
    })?;
    let occurred_at = raw["requestHeader"]["requestTimestamp"]
        .as_str()
        .and_then(|ms| ms.parse::<i64>().ok())
        .map(|ms| payment_core::Timestamp::from_unix(ms.div_euclid(1000)));
    Ok(WebhookEvent {
        id,
        provider: crate::NAME.to_owned(),
        kind,
        object_id: None,
        reference,
        refund_reference: None,
        amount: None,
        trust: Trust::Verified,
        occurred_at,
        record: EventRecord::Other(raw.clone()),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_follow_the_documented_examples() {
        assert_eq!(micros(Money::new(1500, Currency::JPY)).unwrap(), Micros(1_500_000_000));
        assert_eq!(micros(Money::new(72_800, Currency::INR)).unwrap(), Micros(728_000_000));
        assert_eq!(micros(Money::new(1234, Currency::KWD)).unwrap(), Micros(1_234_000));
        assert!(Micros(1).to_money(Currency::INR).is_err(), "not a whole paisa");
    }

    #[test]
    fn charge_ids_describe_their_capture() {
        let key = ChargeKey::new("order-1:attempt_2", Money::new(72_800, Currency::INR));
        let id = key.id();
        assert!(id.as_str().starts_with("gsp1."));
        assert_eq!(ChargeKey::from_id(&id).unwrap(), key);
        assert_eq!(key.money().unwrap(), Money::new(72_800, Currency::INR));
        for bad in ["ch_1", "gsp1.!!!", "gsp1.e30", "gsp1.eyJyIjoiYSIsImMiOiJYWFgiLCJhIjoxfQ"] {
            assert_eq!(ChargeKey::from_id(&ChargeId::new(bad)).unwrap_err().kind(), K::NotFound, "{bad}");
        }
    }

    #[test]
    fn results_and_errors_map_to_kinds() {
        assert_eq!(capture_declined(&CaptureResult::InsufficientFunds).kind(), K::CardDeclined(D::InsufficientFunds));
        assert_eq!(capture_declined(&CaptureResult::Unknown("NEW_CODE".into())).provider_code(), Some("NEW_CODE"));
        assert_eq!(refund_refused(&RefundResult::NoMoneyLeftOnTransaction).kind(), K::Conflict);
        assert_eq!(error_kind(412, Some("IDEMPOTENCY_VIOLATION")), K::IdempotencyConflict);
        assert_eq!(error_kind(400, Some("PRECONDITION_VIOLATION")), K::InvalidRequest);
        assert_eq!(error_kind(401, None), K::Authentication);
        assert_eq!(error_kind(404, Some("INVALID_IDENTIFIER")), K::NotFound);
        let e = error(503, None);
        assert!(e.is_retryable() && e.kind() == K::ProviderUnavailable);
        let body = br#"{"responseHeader":{"responseTimestamp":"1"},"errorResponseCode":"IDEMPOTENCY_VIOLATION","errorDescription":"other amount"}"#;
        let e = error(412, Some(body));
        assert_eq!((e.kind(), e.provider_code()), (K::IdempotencyConflict, Some("IDEMPOTENCY_VIOLATION")));
        assert!(e.provider_error::<ErrorResponse>().is_some());
    }
}
