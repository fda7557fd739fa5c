//! `POST /payments/authorizations` and its answer.

use serde::{Deserialize, Serialize};

use super::Links;

/// The authorize request: only documented fields, unknown ones never sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// Unique per entity, 1..64 characters.
    pub transaction_reference: String,
    /// The merchant entity.
    pub merchant: Merchant,
    /// What to authorize.
    pub instruction: Instruction,
    /// Settle at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_auto_settlement: Option<AutoSettlement>,
    /// `ecom` or `moto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `{"enabled": bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoSettlement {
    /// Whether to settle at once.
    pub enabled: bool,
}

/// `{"entity": "default"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    /// 1..32 letters, digits and spaces.
    pub entity: String,
}

/// The instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instruction {
    /// Statement text.
    pub narrative: Narrative,
    /// Amount and currency.
    pub value: Value,
    /// The card.
    pub payment_instrument: PaymentInstrument,
}

/// `{"line1": …, "line2": …}`, ≤ 24 characters each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narrative {
    /// First line.
    pub line1: String,
    /// Second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
}

/// `{"currency": "GBP", "amount": 250}` in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Value {
    /// ISO 4217.
    pub currency: String,
    /// Minor units.
    pub amount: i64,
}

/// The payment instrument (`card/plain`, `card/token`); `Debug` shows neither the PAN nor the CVC.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentInstrument {
    /// `card/plain` or `card/token`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The PAN (`card/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// Expiry (`card/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_expiry_date: Option<CardExpiry>,
    /// The holder's name (Try magic values: `REFUSED`, `ERROR`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_holder_name: Option<String>,
    /// The security code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvc: Option<String>,
    /// A token href (`card/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl std::fmt::Debug for PaymentInstrument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last4 = self.card_number.as_deref().map(|n| n.get(n.len().saturating_sub(4)..).unwrap_or(""));
        f.debug_struct("PaymentInstrument")
            .field("kind", &self.kind)
            .field("last4", &last4)
            .field("card_expiry_date", &self.card_expiry_date)
            .field("card_holder_name", &self.card_holder_name)
            .field("cvc", &self.cvc.as_ref().map(|_| "[redacted]"))
            .field("href", &self.href)
            .finish()
    }
}

/// `{"month": 5, "year": 2035}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardExpiry {
    /// 1..12.
    pub month: u8,
    /// Four digits.
    pub year: u16,
}

/// The answer to an authorize (201): `authorized` or `refused`, with the next actions as links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// `authorized`, `refused`, or a value added later.
    pub outcome: String,
    /// Refusal text (v6).
    #[serde(default)]
    pub description: Option<String>,
    /// Refusal code (v6).
    #[serde(default)]
    pub code: Option<String>,
    /// Refusal text (newer API spelling).
    #[serde(default)]
    pub refusal_description: Option<String>,
    /// Refusal code (newer API spelling).
    #[serde(default)]
    pub refusal_code: Option<String>,
    /// Next actions.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// The part of an authorize answer the client decides on, borrowed from its JSON tree: the
/// links stay in the record's `raw`, not copied into a second tree.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeOutcome<'a> {
    /// `authorized`, `refused`, or a value added later.
    pub outcome: &'a str,
    /// Refusal text (v6).
    #[serde(default)]
    pub description: Option<&'a str>,
    /// Refusal code (v6).
    #[serde(default)]
    pub code: Option<&'a str>,
    /// Refusal text (newer API spelling).
    #[serde(default)]
    pub refusal_description: Option<&'a str>,
    /// Refusal code (newer API spelling).
    #[serde(default)]
    pub refusal_code: Option<&'a str>,
}
