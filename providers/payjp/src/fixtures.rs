//! What the demo, the examples and the conformance suite charge PAY.JP with: test cards the mock
//! (and PAY.JP's test mode) answer in a known way.

use payment_core::{CardDetails, Currency, DeclineReason, Fixtures, Money, PaymentSource};

fn card(number: &str) -> PaymentSource {
    CardDetails::new(number, 12, 2035, Some("123"))
        .map(PaymentSource::Card)
        .unwrap_or_else(|_| PaymentSource::Token(format!("tok_invalid_{number}")))
}

/// Yen from Visa 4242…; 4000000000000002 is declined (`card_declined`).
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: card("4242424242424242"),
        decline: Some((card("4000000000000002"), DeclineReason::DoNotHonor)),
        currencies: vec![Money::new(50, Currency::JPY), Money::new(9_999_999, Currency::JPY)],
    }
}
