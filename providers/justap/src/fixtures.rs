//! What the demo, the examples and the conformance suite charge Justap with: an Alipay QR payment
//! the payer completes through the mock (`POST /__mock__/charges/{id}/complete`).

use payment_core::{Currency, Fixtures, Money, PaymentSource};

/// CNY through `AlipayQR`; channel payments do not decline at creation (a failure is a `failed` record).
pub fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::CNY),
        source: PaymentSource::channel("AlipayQR"),
        decline: None,
        currencies: vec![Money::new(1234, Currency::CNY), Money::new(1, Currency::CNY)],
        authentication: None,
    }
}
