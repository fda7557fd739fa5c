//! Serde adapters for wire formats that JSON numbers cannot carry exactly: 64-bit integers as
//! strings (proto3 JSON, grpc-gateway), micros as strings (Google Standard Payments), and exact
//! decimal numbers such as `12.34` (Justap's yuan) written and read without f64 and without
//! turning on serde_json's crate-wide `arbitrary_precision`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::money::{Currency, Money, MoneyError};

fn parse_int64(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

struct Int64Visitor;

impl Visitor<'_> for Int64Visitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 64-bit integer, as a string of digits or a JSON integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        parse_int64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
}

/// `#[serde(with = "int64_string")]`: an `i64` written as `"123"`, read from `"123"` or `123`.
pub mod int64_string {
    use super::*;

    /// Writes the integer as a JSON string.
    pub fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a string of digits (or a JSON integer); anything else, or out of range, is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Int64Visitor)
    }
}

/// `#[serde(with = "option_int64_string", default)]`: the same for an optional field.
pub mod option_int64_string {
    use super::*;

    /// Writes `Some` as a JSON string and `None` as `null`.
    pub fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Reads `null`, a string of digits or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "int64_string")] i64);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

/// An amount in micros (millionths of a major unit) carried as a decimal string: `"12340000"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Micros(pub i64);

impl Micros {
    /// The micros of `money`.
    pub fn from_money(money: Money) -> Result<Micros, MoneyError> {
        money.to_micros().map(Micros)
    }

    /// The amount in `currency`; micros that are not whole minor units are refused.
    pub fn to_money(self, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_micros(self.0, currency)
    }
}

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        int64_string::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Micros, D::Error> {
        int64_string::deserialize(d).map(Micros)
    }
}

/// An exact decimal JSON number (`12.34`), kept as its text: written as a bare number, read from
/// a number (or a string of one) without passing through f64.
///
/// Reading needs serde_json's own deserializer (`from_slice`, `from_str`), which hands over the
/// number's text; a `serde_json::Value` has already turned numbers into f64 and is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecimalNumber(String);

impl DecimalNumber {
    /// Checks `text` is a plain JSON decimal: `-`? digits, then `.` digits? (no exponent, no `+`).
    pub fn parse(text: &str) -> Option<DecimalNumber> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) if !f.is_empty() => (i, f),
            Some(_) => return None,
            None => (unsigned, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let leading_zero = int.len() > 1 && int.starts_with('0');
        (!int.is_empty() && digits(int) && digits(frac) && !leading_zero && text.len() <= 40)
            .then(|| DecimalNumber(text.to_owned()))
    }

    /// Reads the text of one JSON value holding a decimal, a number (`12.34`) or a string of one
    /// (`"12.34"`); the error quotes at most 40 characters of it.
    pub fn from_json_text(text: &str) -> Result<DecimalNumber, String> {
        let text = text.trim();
        let unquoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        DecimalNumber::parse(unquoted)
            .ok_or_else(|| format!("expected a decimal number such as 12.34, got {}", truncate(text)))
    }

    /// The amount of `money` in major units: CNY 1234 is `12.34`, JPY 1000 is `1000`.
    pub fn from_money(money: Money) -> DecimalNumber {
        DecimalNumber(money.to_major_string())
    }

    /// The amount in `currency`; more non-zero decimals than the currency has are refused.
    pub fn to_money(&self, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_major_str(&self.0, currency)
    }

    /// The number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DecimalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DecimalNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Borrowed from the text, which `parse` has checked is a JSON number: no copy, no allocation.
        let mut reader = serde_json::Deserializer::from_str(&self.0);
        let raw = <&RawValue>::deserialize(&mut reader).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DecimalNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DecimalNumber, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        DecimalNumber::from_json_text(raw.get()).map_err(de::Error::custom)
    }
}

fn truncate(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::first_chars(text, 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wire {
        #[serde(with = "int64_string")]
        id: i64,
        #[serde(with = "option_int64_string", default)]
        parent: Option<i64>,
        micros: Micros,
        amount: DecimalNumber,
    }

    #[test]
    fn the_wire_shapes_round_trip_exactly() {
        let text = r#"{"id":"9007199254740993","parent":null,"micros":"12340000","amount":12.34}"#;
        let wire: Wire = serde_json::from_str(text).unwrap();
        assert_eq!(wire.id, 9_007_199_254_740_993, "past f64's 2^53 without loss");
        assert_eq!(wire.micros.to_money(Currency::CNY).unwrap(), Money::new(1234, Currency::CNY));
        assert_eq!(wire.amount.to_money(Currency::CNY).unwrap(), Money::new(1234, Currency::CNY));
        assert_eq!(serde_json::to_string(&wire).unwrap(), text);
        let numbers: Wire =
            serde_json::from_str(r#"{"id":42,"parent":"-7","micros":"1000000","amount":"0.10"}"#).unwrap();
        assert_eq!((numbers.id, numbers.parent), (42, Some(-7)));
        assert_eq!(numbers.amount.to_money(Currency::USD).unwrap(), Money::new(10, Currency::USD));
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            r#"{"id":"12a","micros":"1","amount":1}"#,
            r#"{"id":"","micros":"1","amount":1}"#,
            r#"{"id":"99999999999999999999","micros":"1","amount":1}"#,
            r#"{"id":1.5,"micros":"1","amount":1}"#,
            r#"{"id":"1","micros":"1","amount":1e3}"#,
            r#"{"id":"1","micros":"1","amount":01.5}"#,
            r#"{"id":"1","micros":"1","amount":"1."}"#,
            r#"{"id":"1","micros":"1","amount":true}"#,
            r#"{"id":"1","micros":1.5,"amount":1}"#,
        ] {
            assert!(serde_json::from_str::<Wire>(bad).is_err(), "{bad}");
        }
        let too_fine = DecimalNumber::parse("12.345").unwrap();
        assert!(too_fine.to_money(Currency::CNY).is_err(), "CNY has two decimals");
        assert!(Micros(12_345).to_money(Currency::CNY).is_err(), "not a whole fen");
    }

    proptest! {
        #[test]
        fn any_amount_in_any_currency_round_trips(minor in -10_000_000_000i64..10_000_000_000, idx in 0usize..150) {
            let currencies: Vec<Currency> = Currency::all().collect();
            let currency = currencies[idx % currencies.len()];
            let money = Money::new(minor, currency);
            let decimal = DecimalNumber::from_money(money);
            let text = serde_json::to_string(&decimal).unwrap();
            let back: DecimalNumber = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.to_money(currency).unwrap(), money);
            if let Ok(micros) = Micros::from_money(money) {
                let back: Micros = serde_json::from_str(&serde_json::to_string(&micros).unwrap()).unwrap();
                prop_assert_eq!(back.to_money(currency).unwrap(), money);
            }
        }

        #[test]
        fn int64_text_round_trips_and_garbage_never_panics(v in any::<i64>(), junk in "\\PC{0,24}") {
            #[derive(Serialize, Deserialize)]
            struct One(#[serde(with = "int64_string")] i64);
            let text = serde_json::to_string(&One(v)).unwrap();
            prop_assert_eq!(serde_json::from_str::<One>(&text).unwrap().0, v);
            let _ = serde_json::from_str::<One>(&format!("{junk:?}"));
            let _ = serde_json::from_str::<DecimalNumber>(&junk);
        }
    }
}
