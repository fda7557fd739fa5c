//! What the demo, the examples and the conformance suite charge PAY.JP v2 with.
//!
//! PAY.JP v2 registers a card from the server only in test mode, only with the customer's email
//! or phone, and charges it through a customer; every card is 3-D Secure authenticated at
//! registration or on first use. The ordinary sources are therefore the mock's test customers
//! `cus_test_card_<number>`, whose card counts as authenticated at registration (as PAY.JP's
//! payment widgets leave it); the 3-D Secure sources are cards, registered with the email the
//! authentication request carries.

use payment_core::{AuthenticationFixtures, CardDetails, Currency, DeclineReason, Fixtures, Money, PaymentSource};

fn card(number: &str) -> PaymentSource {
    CardDetails::new(number, 12, 2035, Some("123"))
        .map(PaymentSource::Card)
        .unwrap_or_else(|_| PaymentSource::Customer(format!("cus_invalid_{number}")))
}

/// The mock's test customer whose default payment method is card `number`.
pub fn test_customer(number: &str) -> PaymentSource {
    PaymentSource::Customer(format!("{}{number}", crate::mapping::TEST_CUSTOMER_PREFIX))
}

/// Yen from the test customer of Visa 4242…; the customer of 4000000000000002 is declined
/// (`card_declined`); the 3-D Secure cards of PAY.JP v1's mock table.
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: test_customer("4242424242424242"),
        decline: Some((test_customer("4000000000000002"), DeclineReason::DoNotHonor)),
        currencies: vec![Money::new(50, Currency::JPY), Money::new(9_999_999, Currency::JPY)],
        authentication: Some(AuthenticationFixtures {
            challenge: card("4000000000003220"),
            frictionless: card("4000000000003055"),
            refused: card("4000008400001280"),
            declined_after: (card("4000008400001629"), DeclineReason::DoNotHonor),
            // The mock ends an unfinished authentication 30 minutes after the flow asked for it.
            expires_within: std::time::Duration::from_secs(31 * 60),
            expired_as: DeclineReason::AuthenticationExpired,
        }),
    }
}
