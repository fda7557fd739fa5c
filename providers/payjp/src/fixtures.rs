//! What the demo, the examples and the conformance suite charge PAY.JP with: test cards the mock
//! (and PAY.JP's test mode) answer in a known way.

use payment_core::{AuthenticationFixtures, CardDetails, Currency, DeclineReason, Fixtures, Money, PaymentSource};

fn card(number: &str) -> PaymentSource {
    CardDetails::new(number, 12, 2035, Some("123"))
        .map(PaymentSource::Card)
        .unwrap_or_else(|_| PaymentSource::Token(format!("tok_invalid_{number}")))
}

/// Yen from Visa 4242…; 4000000000000002 is declined (`card_declined`); the 3-D Secure cards of
/// the mock's table (`mock::cards`).
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: card("4242424242424242"),
        decline: Some((card("4000000000000002"), DeclineReason::DoNotHonor)),
        currencies: vec![Money::new(50, Currency::JPY), Money::new(9_999_999, Currency::JPY)],
        authentication: Some(AuthenticationFixtures {
            challenge: card("4000000000003220"),
            frictionless: card("4000000000003055"),
            refused: card("4000008400001280"),
            declined_after: (card("4000008400001629"), DeclineReason::DoNotHonor),
            // PAY.JP ends an unfinished flow 30 minutes after the charge was created.
            expires_within: std::time::Duration::from_secs(31 * 60),
            expired_as: DeclineReason::AuthenticationExpired,
        }),
    }
}
