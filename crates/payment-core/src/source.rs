//! What pays for a charge: a token, a card, or an asynchronous channel.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// The payment source of a charge.
#[derive(Clone)]
#[non_exhaustive]
pub enum PaymentSource {
    /// A provider token (PAY.JP `tok_…`, a Worldpay token href, a Google payment token).
    Token(String),
    /// A customer id stored at the provider (PAY.JP `cus_…`).
    Customer(String),
    /// Raw card details (test cards, or merchants in PCI scope).
    Card(CardDetails),
    /// An asynchronous channel such as `alipay` or `wx_pub`, with channel-specific extra data.
    Channel {
        /// The channel name.
        name: String,
        /// Channel data passed through to the provider.
        extra: BTreeMap<String, serde_json::Value>,
    },
}

/// Channel names every channel provider understands, mapped by each to its own (`wechat_qr` is
/// Ping++'s `wx_pub_qr` and Justap's `WechatpayNative`): a channel payment written with these
/// switches provider by configuration. Each provider's own names are accepted too.
pub const NEUTRAL_CHANNELS: &[&str] = &[
    "alipay_qr",
    "alipay_app",
    "alipay_wap",
    "alipay_pc",
    "wechat_qr",
    "wechat_app",
    "wechat_jsapi",
    "wechat_h5",
    "wechat_mini_program",
];

/// A channel as a provider names it, from that provider's `(neutral, own)` table: a neutral
/// name mapped, any other name (the provider's own) as it is.
pub fn channel_named<'a>(table: &[(&str, &'a str)], name: &'a str) -> &'a str {
    table.iter().find(|(neutral, _)| *neutral == name).map_or(name, |(_, own)| own)
}

impl PaymentSource {
    /// A channel with no extra data.
    pub fn channel(name: impl Into<String>) -> PaymentSource {
        PaymentSource::Channel { name: name.into(), extra: BTreeMap::new() }
    }

    /// A short kind name for messages: `token`, `customer`, `card`, `channel`.
    pub fn kind(&self) -> &'static str {
        match self {
            PaymentSource::Token(_) => "token",
            PaymentSource::Customer(_) => "customer",
            PaymentSource::Card(_) => "card",
            PaymentSource::Channel { .. } => "channel",
        }
    }
}

impl fmt::Debug for PaymentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentSource::Token(t) => write!(f, "Token({t})"),
            PaymentSource::Customer(c) => write!(f, "Customer({c})"),
            PaymentSource::Card(c) => write!(f, "Card({c:?})"),
            PaymentSource::Channel { name, .. } => write!(f, "Channel({name})"),
        }
    }
}

/// Card details; the number and CVC are secrets and never printed.
#[derive(Clone)]
pub struct CardDetails {
    number: SecretString,
    /// Expiry month, 1 to 12.
    pub exp_month: u8,
    /// Expiry year, four digits.
    pub exp_year: u16,
    cvc: Option<SecretString>,
    /// The cardholder's name, when known.
    pub holder_name: Option<String>,
}

impl CardDetails {
    /// Validates and builds card details.
    pub fn new(number: &str, exp_month: u8, exp_year: u16, cvc: Option<&str>) -> Result<CardDetails> {
        let digits: String = number.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("card number must be 12 to 19 digits"));
        }
        if !(1..=12).contains(&exp_month) {
            return Err(Error::invalid(format!("expiry month {exp_month} is not 1..12")));
        }
        if !(2000..=2199).contains(&exp_year) {
            return Err(Error::invalid(format!("expiry year {exp_year} is not a four-digit year")));
        }
        if let Some(c) = cvc
            && (!(3..=4).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::invalid("CVC must be 3 or 4 digits"));
        }
        Ok(CardDetails {
            number: SecretString::from(digits),
            exp_month,
            exp_year,
            cvc: cvc.map(SecretString::from),
            holder_name: None,
        })
    }

    /// Parses `NUMBER,MM/YYYY[,CVC[,HOLDER NAME]]` as the CLI takes it (the name is the rest).
    pub fn parse_cli(text: &str) -> Result<CardDetails> {
        const SHAPE: &str = "card must be NUMBER,MM/YYYY[,CVC[,HOLDER NAME]]";
        // The holder's name may itself hold commas: it is everything after the third comma.
        let mut parts = text.splitn(4, ',');
        let number = parts.next().unwrap_or("");
        let expiry = parts.next().ok_or_else(|| Error::invalid(SHAPE))?;
        let cvc = parts.next().filter(|c| !c.is_empty());
        let holder = parts.next().map(str::trim).filter(|h| !h.is_empty());
        let (mm, yyyy) = expiry.split_once('/').ok_or_else(|| Error::invalid("card expiry must be MM/YYYY"))?;
        let month = mm.trim().parse().map_err(|_| Error::invalid(format!("expiry month {mm:?} is not a number")))?;
        let year = yyyy.trim().parse().map_err(|_| Error::invalid(format!("expiry year {yyyy:?} is not a number")))?;
        let mut card = CardDetails::new(number, month, year, cvc)?;
        card.holder_name = holder.map(str::to_owned);
        Ok(card)
    }

    /// The full number, for the one place that sends it.
    pub fn number(&self) -> &str {
        self.number.expose_secret()
    }

    /// The CVC, for the one place that sends it.
    pub fn cvc(&self) -> Option<&str> {
        self.cvc.as_ref().map(|c| c.expose_secret())
    }

    /// The last four digits, safe to show.
    pub fn last4(&self) -> &str {
        let n = self.number();
        &n[n.len().saturating_sub(4)..]
    }

    /// Whether the number passes the Luhn check.
    pub fn luhn_valid(&self) -> bool {
        luhn_valid(self.number())
    }
}

/// Whether a string of digits passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in number.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !number.is_empty() && sum.is_multiple_of(10)
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card ****{} {:02}/{}", self.last4(), self.exp_month, self.exp_year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_secrets_are_never_printed() {
        let card = CardDetails::parse_cli("4242424242424242,12/2030,123").unwrap();
        let shown = format!("{:?}", PaymentSource::Card(card.clone()));
        assert!(!shown.contains("424242424242"));
        assert!(!shown.contains("123"));
        assert!(shown.contains("4242"));
        assert!(card.luhn_valid());
        assert_eq!(card.cvc(), Some("123"));
    }

    #[test]
    fn card_input_is_validated() {
        assert!(CardDetails::parse_cli("4242").is_err());
        assert!(CardDetails::parse_cli("4242424242424242,13/2030").is_err());
        assert!(CardDetails::parse_cli("4242424242424242,12-2030").is_err());
        assert!(CardDetails::parse_cli("4242424242424242,12/2030,12").is_err());
        let named = CardDetails::parse_cli("4242424242424242,12/2030,123,Refused51, Jr").unwrap();
        assert_eq!(named.holder_name.as_deref(), Some("Refused51, Jr"), "the name is the rest, commas and all");
        let no_cvc = CardDetails::parse_cli("4242424242424242,12/2030,,ERROR").unwrap();
        assert_eq!((no_cvc.cvc(), no_cvc.holder_name.as_deref()), (None, Some("ERROR")));
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid(""));
    }
}
