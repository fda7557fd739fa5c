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
    /// Sources the mock's customer authentication (3-D Secure) treats in known ways, for
    /// providers that offer it.
    pub authentication: Option<AuthenticationFixtures>,
}

/// Sources whose customer authentication goes a known way at the mock.
#[derive(Debug, Clone)]
pub struct AuthenticationFixtures {
    /// The customer is challenged, and the result is theirs.
    pub challenge: PaymentSource,
    /// The issuer authenticates without asking.
    pub frictionless: PaymentSource,
    /// Authentication fails whatever the customer does.
    pub refused: PaymentSource,
    /// Authenticates, then the authorization is declined for this reason.
    pub declined_after: (PaymentSource, DeclineReason),
    /// How long past creation a step that nobody finished is certainly over.
    pub expires_within: std::time::Duration,
    /// The decline completing such a step gives: `AuthenticationExpired` where the provider
    /// tells an expired step from a failed one, `AuthenticationFailed` where it does not.
    pub expired_as: DeclineReason,
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
            authentication: None,
        };
        let c = f.charge(Some("r1".into()));
        assert_eq!(c.amount, f.amount);
        assert_eq!(c.reference.as_deref(), Some("r1"));
        assert_eq!(c.payer_ip.as_deref(), Some("127.0.0.1"));
        assert!(c.capture);
    }
}
