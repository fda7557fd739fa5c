//! Whether a failed attempt may move to the next account: only when it is proven not to have
//! charged. An unknown outcome never moves (recovery settles it); neither does any other answer.

use std::fmt;

use payment_core::{Capabilities, Error, ErrorKind, Outcome};

use crate::breaker::CIRCUIT_OPEN;

/// Why an attempt may be followed by one at the next account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailoverReason {
    /// Nothing reached the provider (connect refused, DNS, TLS, an open circuit), or it refused
    /// before processing (a definite 503 or 429, an account that cannot take the payment).
    NotSent(String),
    /// A decline the provider marks soft, with `failover_on_soft_decline` on.
    SoftDecline(String),
}

impl FailoverReason {
    /// A stable name for spans and metrics (`not_sent`, `soft_decline`): the detail stays in logs.
    pub fn label(&self) -> &'static str {
        match self {
            FailoverReason::NotSent(_) => "not_sent",
            FailoverReason::SoftDecline(_) => "soft_decline",
        }
    }
}

impl fmt::Display for FailoverReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailoverReason::NotSent(why) => write!(f, "not sent: {why}"),
            FailoverReason::SoftDecline(why) => write!(f, "soft decline: {why}"),
        }
    }
}

/// Whether a soft decline of `request` may move on to the next account: only when allowed, and
/// never once the customer may have been asked to authenticate (3-D Secure) — a decline after
/// that is the payment's answer; only "nothing was sent" moves such a payment on.
pub fn soft_declines_move_on(allowed: bool, request: &payment_core::CreateCharge) -> bool {
    allowed && request.authentication.is_none()
}

/// The reason `e` lets the payment move on, or `None` when it must stop here.
pub fn failover_reason(e: &Error, caps: &Capabilities, soft_declines: bool) -> Option<FailoverReason> {
    if e.outcome() == Outcome::Unknown {
        return None;
    }
    let what = || format!("{}: {}", e.kind(), e.message());
    match e.kind() {
        _ if e.provider_code() == Some(CIRCUIT_OPEN) => Some(FailoverReason::NotSent(what())),
        // No answer, and the engine says nothing can have been sent (it marks anything else unknown).
        ErrorKind::Network | ErrorKind::Timeout if e.http_status().is_none() => Some(FailoverReason::NotSent(what())),
        // A definite transient answer: the provider turned it away before doing anything.
        ErrorKind::ProviderUnavailable | ErrorKind::RateLimited => Some(FailoverReason::NotSent(what())),
        // Refused by this account's client before any I/O (a currency or source it cannot take).
        ErrorKind::Unsupported => Some(FailoverReason::NotSent(what())),
        ErrorKind::CardDeclined(_) if soft_declines && caps.is_soft_decline(e) => {
            Some(FailoverReason::SoftDecline(what()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::DeclineReason;

    #[test]
    fn no_soft_decline_moves_on_once_authentication_was_asked() {
        let card = payment_core::PaymentSource::Token("tok".into());
        let plain = payment_core::CreateCharge::new(payment_core::Money::new(1000, payment_core::Currency::JPY), card);
        assert!(soft_declines_move_on(true, &plain));
        assert!(!soft_declines_move_on(false, &plain));
        let asked = plain.authenticate(payment_core::Authentication::required("https://shop.example/back"));
        assert!(!soft_declines_move_on(true, &asked));
    }

    #[test]
    fn only_proven_nothing_moves_on() {
        let caps = crate::testing::capabilities_with_soft(&["processing_error"]);
        let refused = Error::new(ErrorKind::Network, "connection refused");
        assert!(matches!(failover_reason(&refused, &caps, false), Some(FailoverReason::NotSent(_))));
        let lost = Error::new(ErrorKind::Timeout, "no answer").into_outcome_unknown();
        assert_eq!(failover_reason(&lost, &caps, true), None);
        let busy = Error::new(ErrorKind::ProviderUnavailable, "503").with_http_status(503);
        assert!(failover_reason(&busy, &caps, false).is_some());
        let decline = |code: &str| {
            Error::new(ErrorKind::CardDeclined(DeclineReason::Other), "no")
                .with_http_status(402)
                .with_provider_code(code)
        };
        assert_eq!(
            failover_reason(&decline("processing_error"), &caps, false),
            None,
            "soft declines are off by default"
        );
        assert!(matches!(
            failover_reason(&decline("processing_error"), &caps, true),
            Some(FailoverReason::SoftDecline(_))
        ));
        assert_eq!(failover_reason(&decline("card_declined"), &caps, true), None);
        let invalid = Error::new(ErrorKind::InvalidRequest, "bad card").with_http_status(400);
        assert_eq!(failover_reason(&invalid, &caps, true), None);
        let auth = Error::new(ErrorKind::Authentication, "bad key").with_http_status(401);
        assert_eq!(failover_reason(&auth, &caps, true), None);
    }
}
