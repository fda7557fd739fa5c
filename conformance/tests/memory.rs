//! The suite against the in-memory provider: proves the suite itself.

use payment::memory::{CAPABILITIES, MemoryProvider};
use payment::{Currency, DeclineReason, Money, PaymentClient, PaymentSource};
use payment_conformance::{Fixtures, Suite, Target};

fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: PaymentSource::Token("tok_visa".into()),
        decline: Some((PaymentSource::Token("tok_insufficient".into()), DeclineReason::InsufficientFunds)),
        currencies: vec![
            Money::new(1000, Currency::JPY),
            Money::new(1234, Currency::CNY),
            Money::new(1005, Currency::BHD),
        ],
        bad_key_client: None,
    }
}

fn main() {
    Suite::new("memory", &CAPABILITIES)
        .with_decline()
        .without_control()
        .mock(|| async { Ok(Target::new(PaymentClient::new(std::sync::Arc::new(MemoryProvider::new())), fixtures())) })
        .run()
}
