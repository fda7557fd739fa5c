//! What a provider is charged with in the demo, the examples and the conformance suite: inputs its
//! mock (and its sandbox) answer in a known way.

use crate::charge::CreateCharge;
use crate::error::DeclineReason;
use crate::money::Money;
use crate::source::PaymentSource;

/// A provider's known-answer inputs.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// An ordinary amount, well within limits.
    pub amount: Money,
    /// A source that succeeds.
    pub source: PaymentSource,
    /// A source that is declined, and the neutral reason expected.
    pub decline: Option<(PaymentSource, DeclineReason)>,
    /// One amount per currency exponent the provider accepts, for round trips (JPY 0, CNY 2, BHD 3…).
    pub currencies: Vec<Money>,
}

impl Fixtures {
    /// A charge of the ordinary amount from the succeeding source, with the payer's IP set
    /// (channel payments require one) and an optional reference.
    pub fn charge(&self, reference: Option<String>) -> CreateCharge {
        let mut request = CreateCharge::new(self.amount, self.source.clone());
        request.reference = reference;
        request.payer_ip = Some("127.0.0.1".into());
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn the_ordinary_charge_carries_amount_source_reference_and_payer_ip() {
        let f = Fixtures {
            amount: Money::new(1000, Currency::JPY),
            source: PaymentSource::Token("tok".into()),
            decline: None,
            currencies: vec![],
        };
        let c = f.charge(Some("r1".into()));
        assert_eq!(c.amount, f.amount);
        assert_eq!(c.reference.as_deref(), Some("r1"));
        assert_eq!(c.payer_ip.as_deref(), Some("127.0.0.1"));
        assert!(c.capture);
    }
}
