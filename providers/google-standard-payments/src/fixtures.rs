//! What the demo, the examples and the conformance suite charge through Google Standard Payments:
//! Google payment tokens the mock processor answers in a known way.

use payment_core::{Currency, DeclineReason, Fixtures, Money, PaymentSource};

/// INR from a token that captures; `insufficient_funds` in a token makes the mock decline it.
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(72_800, Currency::INR),
        source: PaymentSource::Token("ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ".into()),
        decline: Some((PaymentSource::Token("gsp_insufficient_funds_token".into()), DeclineReason::InsufficientFunds)),
        currencies: vec![
            Money::new(1500, Currency::JPY),
            Money::new(72_800, Currency::INR),
            Money::new(1234, Currency::KWD),
        ],
        authentication: None,
    }
}
