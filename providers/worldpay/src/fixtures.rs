//! What the demo, the examples and the conformance suite charge Worldpay with: a Try test card,
//! refused when the cardholder is named `REFUSED` (Worldpay's magic value), and Try's 3-D Secure
//! cardholder names.

use payment_core::{AuthenticationFixtures, CardDetails, Currency, DeclineReason, Fixtures, Money, PaymentSource};

fn card(holder: &str) -> PaymentSource {
    match CardDetails::new("4444333322221111", 5, 2030, Some("123")) {
        Ok(mut card) => {
            card.holder_name = Some(holder.to_owned());
            PaymentSource::Card(card)
        }
        Err(_) => PaymentSource::Token(format!("invalid-test-card-{holder}")),
    }
}

/// Pounds from a Visa test card; the holder `REFUSED` is declined.
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::GBP),
        source: card("Conformance Tester"),
        decline: Some((card("REFUSED"), DeclineReason::DoNotHonor)),
        currencies: vec![
            Money::new(1000, Currency::JPY),
            Money::new(1234, Currency::GBP),
            Money::new(1005, Currency::BHD),
        ],
        // Try's 3DS2 cardholder names; any other name is challenged.
        authentication: Some(AuthenticationFixtures {
            challenge: card("3ds2-challenge-identified"),
            frictionless: card(crate::authentication::FRICTIONLESS),
            refused: card(crate::authentication::FRICTIONLESS_FAILED),
            declined_after: (card("REFUSED51"), DeclineReason::InsufficientFunds),
            // The mock fails an unfinished authentication after 30 minutes [inferred].
            expires_within: std::time::Duration::from_secs(31 * 60),
            // Worldpay names no expiry: an abandoned authentication reads as a failed one.
            expired_as: DeclineReason::AuthenticationFailed,
        }),
    }
}
