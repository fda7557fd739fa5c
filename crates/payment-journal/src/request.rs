//! A mutating call as the journal stores it: enough to resend it exactly, and never a card number.

use std::collections::BTreeMap;

use payment_core::{
    Authentication, ChargeId, CompletionData, CreateCharge, CreateRefund, Error, ErrorKind, Money, Mutation, Operation,
    PaymentSource, Result,
};
use serde::{Deserialize, Serialize};

/// The stored form of a [`Mutation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum StoredRequest {
    /// A charge.
    CreateCharge {
        /// How much.
        amount: Money,
        /// What pays.
        source: StoredSource,
        /// Capture at once.
        capture: bool,
        /// The merchant reference (fixed before sending).
        reference: Option<String>,
        /// The description.
        description: Option<String>,
        /// Merchant metadata.
        metadata: BTreeMap<String, String>,
        /// The payer's IP address.
        payer_ip: Option<String>,
        /// Customer authentication asked for (absent from the text when unset, so fingerprints
        /// of earlier rows still match).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authentication: Option<Authentication>,
    },
    /// A capture.
    CaptureCharge {
        /// The charge.
        charge_id: ChargeId,
        /// A partial amount.
        amount: Option<Money>,
    },
    /// A cancel.
    CancelCharge {
        /// The charge.
        charge_id: ChargeId,
    },
    /// A completion after the customer's step.
    CompleteCharge {
        /// The charge.
        charge_id: ChargeId,
        /// What the customer's step returned.
        #[serde(default)]
        data: CompletionData,
    },
    /// A refund.
    CreateRefund {
        /// The charge.
        charge_id: ChargeId,
        /// A partial amount.
        amount: Option<Money>,
        /// Why.
        reason: Option<String>,
        /// Merchant metadata.
        metadata: BTreeMap<String, String>,
        /// The refund's own reference, where the provider names refunds by one (absent from
        /// the text when unset, so fingerprints of earlier rows still match).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
}

/// A payment source as stored: a card keeps only what identifies it to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredSource {
    /// A provider token.
    Token {
        /// The token.
        token: String,
    },
    /// A stored customer.
    Customer {
        /// The customer id.
        customer: String,
    },
    /// An asynchronous channel.
    Channel {
        /// The channel.
        name: String,
        /// Its extra data.
        extra: BTreeMap<String, serde_json::Value>,
    },
    /// A source this version of the journal cannot store: it can be looked up, never resent.
    Unstorable {
        /// Its kind.
        kind: String,
    },
    /// A raw card, which the journal never stores: a request with one cannot be resent.
    Card {
        /// The last four digits.
        last4: String,
        /// Expiry month.
        exp_month: u8,
        /// Expiry year.
        exp_year: u16,
    },
}

impl StoredRequest {
    /// The stored form of `mutation`.
    pub fn of(mutation: &Mutation) -> StoredRequest {
        match mutation {
            Mutation::CreateCharge(c) => StoredRequest::CreateCharge {
                amount: c.amount,
                source: StoredSource::of(&c.source),
                capture: c.capture,
                reference: c.reference.clone(),
                description: c.description.clone(),
                metadata: c.metadata.clone(),
                payer_ip: c.payer_ip.clone(),
                authentication: c.authentication.clone(),
            },
            Mutation::CaptureCharge { charge_id, amount } => {
                StoredRequest::CaptureCharge { charge_id: charge_id.clone(), amount: *amount }
            }
            Mutation::CancelCharge { charge_id } => StoredRequest::CancelCharge { charge_id: charge_id.clone() },
            Mutation::CompleteCharge { charge_id, data } => {
                StoredRequest::CompleteCharge { charge_id: charge_id.clone(), data: data.clone() }
            }
            Mutation::CreateRefund(r) => StoredRequest::CreateRefund {
                charge_id: r.charge_id.clone(),
                amount: r.amount,
                reason: r.reason.clone(),
                metadata: r.metadata.clone(),
                reference: r.reference.clone(),
            },
        }
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        match self {
            StoredRequest::CreateCharge { .. } => Operation::CreateCharge,
            StoredRequest::CaptureCharge { .. } => Operation::CaptureCharge,
            StoredRequest::CancelCharge { .. } => Operation::CancelCharge,
            StoredRequest::CompleteCharge { .. } => Operation::CompleteCharge,
            StoredRequest::CreateRefund { .. } => Operation::CreateRefund,
        }
    }

    /// The amount it asked for: a charge's, a partial capture's or refund's (`None`: in full).
    pub fn amount(&self) -> Option<Money> {
        match self {
            StoredRequest::CreateCharge { amount, .. } => Some(*amount),
            StoredRequest::CaptureCharge { amount, .. } | StoredRequest::CreateRefund { amount, .. } => *amount,
            StoredRequest::CancelCharge { .. } | StoredRequest::CompleteCharge { .. } => None,
        }
    }

    /// The charge it acts on (captures, cancels, refunds).
    pub fn charge_id(&self) -> Option<&ChargeId> {
        match self {
            StoredRequest::CreateCharge { .. } => None,
            StoredRequest::CaptureCharge { charge_id, .. }
            | StoredRequest::CancelCharge { charge_id }
            | StoredRequest::CompleteCharge { charge_id, .. }
            | StoredRequest::CreateRefund { charge_id, .. } => Some(charge_id),
        }
    }

    /// The reference it was sent with (a charge's, or a refund's own).
    pub fn reference(&self) -> Option<&str> {
        match self {
            StoredRequest::CreateCharge { reference, .. } | StoredRequest::CreateRefund { reference, .. } => {
                reference.as_deref()
            }
            _ => None,
        }
    }

    /// The call to send again; a request whose card was not stored cannot be.
    pub fn to_mutation(&self) -> Result<Mutation> {
        Ok(match self.clone() {
            StoredRequest::CreateCharge {
                amount,
                source,
                capture,
                reference,
                description,
                metadata,
                payer_ip,
                authentication,
            } => Mutation::CreateCharge(CreateCharge {
                amount,
                source: source.to_source()?,
                capture,
                reference,
                description,
                metadata,
                payer_ip,
                authentication,
            }),
            StoredRequest::CaptureCharge { charge_id, amount } => Mutation::CaptureCharge { charge_id, amount },
            StoredRequest::CancelCharge { charge_id } => Mutation::CancelCharge { charge_id },
            StoredRequest::CompleteCharge { charge_id, data } => Mutation::CompleteCharge { charge_id, data },
            StoredRequest::CreateRefund { charge_id, amount, reason, metadata, reference } => {
                Mutation::CreateRefund(CreateRefund { charge_id, amount, reason, metadata, reference })
            }
        })
    }

    /// The canonical JSON text compared when a key is used again: same text, same request.
    pub fn fingerprint(&self) -> String {
        // Serializing plain data (maps are ordered) cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl StoredSource {
    fn of(source: &PaymentSource) -> StoredSource {
        match source {
            PaymentSource::Token(t) => StoredSource::Token { token: t.clone() },
            PaymentSource::Customer(c) => StoredSource::Customer { customer: c.clone() },
            PaymentSource::Card(card) => StoredSource::Card {
                last4: card.last4().to_owned(),
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            },
            PaymentSource::Channel { name, extra } => {
                StoredSource::Channel { name: name.clone(), extra: extra.clone() }
            }
            other => StoredSource::Unstorable { kind: other.kind().to_owned() },
        }
    }

    fn to_source(&self) -> Result<PaymentSource> {
        match self {
            StoredSource::Token { token } => Ok(PaymentSource::Token(token.clone())),
            StoredSource::Unstorable { kind } => Err(Error::new(
                ErrorKind::Journal,
                format!("the journal cannot store {kind} sources; the request cannot be resent"),
            )),
            StoredSource::Customer { customer } => Ok(PaymentSource::Customer(customer.clone())),
            StoredSource::Channel { name, extra } => {
                Ok(PaymentSource::Channel { name: name.clone(), extra: extra.clone() })
            }
            StoredSource::Card { last4, .. } => Err(Error::new(
                ErrorKind::Journal,
                format!(
                    "the journal keeps no card numbers (card ending {last4}); this provider sends cards as they are, so the request cannot be resent, only looked up"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::{CardDetails, Currency};
    use proptest::prelude::*;

    fn card_charge() -> Mutation {
        let card = CardDetails::new("4242424242424242", 12, 2030, Some("123")).unwrap();
        Mutation::CreateCharge(CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::Card(card)))
    }

    #[test]
    fn a_card_number_is_never_stored() {
        let stored = StoredRequest::of(&card_charge());
        let text = serde_json::to_string(&stored).unwrap();
        assert!(!text.contains("4242424242424242") && !text.contains("123\""), "{text}");
        assert!(text.contains("\"last4\":\"4242\""));
        let e = stored.to_mutation().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Journal);
        assert!(!e.to_string().contains("424242424242"));
    }

    #[test]
    fn requests_round_trip() {
        let charge = CreateCharge::new(Money::new(1234, Currency::CNY), PaymentSource::channel("alipay"))
            .reference("order1")
            .metadata("k", "v");
        for m in [
            Mutation::CreateCharge(charge),
            Mutation::CaptureCharge { charge_id: ChargeId::new("ch_1"), amount: Some(Money::new(5, Currency::JPY)) },
            Mutation::CancelCharge { charge_id: ChargeId::new("ch_2") },
            Mutation::CreateRefund(CreateRefund::full(ChargeId::new("ch_3")).reason("requested")),
        ] {
            let stored = StoredRequest::of(&m);
            let back: StoredRequest = serde_json::from_str(&serde_json::to_string(&stored).unwrap()).unwrap();
            assert_eq!(back, stored);
            assert_eq!(StoredRequest::of(&back.to_mutation().unwrap()), stored);
            assert_eq!(stored.operation(), m.operation());
        }
    }

    proptest! {
        #[test]
        fn decoding_any_text_never_panics(s in ".{0,200}") {
            let _ = serde_json::from_str::<StoredRequest>(&s);
        }

        #[test]
        fn fingerprints_tell_amounts_apart(a in 1i64..1_000_000, b in 1i64..1_000_000) {
            let f = |n| StoredRequest::CaptureCharge { charge_id: ChargeId::new("ch"), amount: Some(Money::new(n, Currency::JPY)) }.fingerprint();
            prop_assert_eq!(f(a) == f(b), a == b);
        }
    }
}
