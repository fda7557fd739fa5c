//! Money in integer minor units, and the exact conversions every provider needs at its edge.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::currency::Currency;

/// Why an amount or currency could not be represented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The code is not an ISO 4217 currency this library knows.
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
    /// Text that is not a decimal number.
    #[error("{0:?} is not a decimal amount")]
    Malformed(String),
    /// More decimal places than the currency has minor units.
    #[error("{text:?} has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        /// The text as given.
        text: String,
        /// The currency it was read in.
        currency: Currency,
        /// That currency's exponent.
        exponent: u8,
    },
    /// A micros value that is not a whole number of minor units.
    #[error("{micros} micros is not a whole number of {currency} minor units")]
    FractionalMinorUnits {
        /// The micros value.
        micros: i64,
        /// The currency.
        currency: Currency,
    },
    /// The amount does not fit in 64 bits.
    #[error("amount overflows")]
    Overflow,
    /// Arithmetic between two currencies.
    #[error("currency mismatch: {0} vs {1}")]
    CurrencyMismatch(Currency, Currency),
    /// A negative or zero amount where a positive one is required.
    #[error("amount must be positive, got {0}")]
    NotPositive(Money),
}

/// An amount of money: integer minor units of one currency. Never a float.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in the currency's minor units (yen, fen, cents, fils).
    pub minor: i64,
    /// The currency, which fixes the exponent.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// An amount in minor units of a currency given by code.
    pub fn from_code(minor: i64, code: &str) -> Result<Money, MoneyError> {
        Ok(Money::new(minor, Currency::from_code(code)?))
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// `Ok(self)` when the amount is above zero.
    pub fn ensure_positive(self) -> Result<Money, MoneyError> {
        if self.minor > 0 { Ok(self) } else { Err(MoneyError::NotPositive(self)) }
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self - other`, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// The amount as exact major-unit decimal text: `12.34` for CNY 1234, `1000` for JPY 1000.
    pub fn to_major_string(&self) -> String {
        let exp = usize::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let digits = self.minor.unsigned_abs().to_string();
        if exp == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = exp + 1);
        let (int, frac) = padded.split_at(padded.len() - exp);
        format!("{sign}{int}.{frac}")
    }

    /// Parses exact decimal major-unit text (`"12.34"`, `"-0.5"`, `"1e3"`) without touching floats.
    ///
    /// Digits beyond the currency's exponent are accepted only when they are zeros.
    pub fn from_major_str(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.chars().take(64).collect());
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp10) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = rest[i + 1..].parse().map_err(|_| malformed())?;
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
            return Err(malformed());
        }
        // value = digits * 10^(exp10 - frac.len()); we want value * 10^exponent.
        let digits = format!("{int}{frac}");
        let shift = i64::from(exp10) - frac.len() as i64 + i64::from(currency.exponent());
        let mut minor: i128 = 0;
        let keep = if shift >= 0 {
            digits.len()
        } else {
            let drop = usize::try_from(-shift).map_err(|_| MoneyError::Overflow)?;
            let dropped = digits.get(digits.len().saturating_sub(drop)..).unwrap_or("");
            if dropped.bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooManyDecimals {
                    text: text.chars().take(64).collect(),
                    currency,
                    exponent: currency.exponent(),
                });
            }
            digits.len().saturating_sub(drop)
        };
        for b in digits[..keep].bytes() {
            minor =
                minor.checked_mul(10).and_then(|m| m.checked_add(i128::from(b - b'0'))).ok_or(MoneyError::Overflow)?;
        }
        if shift > 0 {
            let factor = 10_i128.checked_pow(u32::try_from(shift).map_err(|_| MoneyError::Overflow)?);
            minor = factor.and_then(|f| minor.checked_mul(f)).ok_or(MoneyError::Overflow)?;
        }
        let signed = if negative { -minor } else { minor };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }

    /// The minor units of `self` when it is in `expected`, the one currency a provider can take.
    pub fn minor_in(&self, expected: Currency) -> Result<i64, MoneyError> {
        if self.currency == expected {
            Ok(self.minor)
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, expected))
        }
    }

    /// The amount a provider echoed as `(currency text, minor units)`, which must be in `expected`;
    /// anything else is an `Integrity` error (never silently accepted).
    pub fn echoed(currency: &str, minor: i64, expected: Currency) -> crate::Result<Money> {
        if currency.eq_ignore_ascii_case(expected.code()) {
            Ok(Money::new(minor, expected))
        } else {
            Err(crate::Error::new(
                crate::ErrorKind::Integrity,
                format!("the provider answered in {currency:?}, expected {expected}"),
            ))
        }
    }

    /// Micros per minor unit: `10^(6 - exponent)`.
    fn micros_per_minor(currency: Currency) -> i64 {
        10_i64.pow(u32::from(6 - currency.exponent().min(6)))
    }

    /// The amount in micros (millionths of a major unit), as Google Standard Payments sends it.
    pub fn to_micros(&self) -> Result<i64, MoneyError> {
        self.minor.checked_mul(Money::micros_per_minor(self.currency)).ok_or(MoneyError::Overflow)
    }

    /// The amount in micros as decimal text.
    pub fn to_micros_string(&self) -> Result<String, MoneyError> {
        self.to_micros().map(|m| m.to_string())
    }

    /// An amount from micros; micros that are not whole minor units are refused.
    pub fn from_micros(micros: i64, currency: Currency) -> Result<Money, MoneyError> {
        let per = Money::micros_per_minor(currency);
        if micros % per != 0 {
            return Err(MoneyError::FractionalMinorUnits { micros, currency });
        }
        Ok(Money::new(micros / per, currency))
    }

    /// An amount from micros text such as `"12340000"`.
    pub fn from_micros_str(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let micros: i64 = text.trim().parse().map_err(|_| MoneyError::Malformed(text.chars().take(64).collect()))?;
        Money::from_micros(micros, currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.to_major_string())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cny(minor: i64) -> Money {
        Money::new(minor, Currency::CNY)
    }

    #[test]
    fn display_uses_the_exponent() {
        assert_eq!(Money::new(1000, Currency::JPY).to_string(), "JPY 1000");
        assert_eq!(cny(1234).to_string(), "CNY 12.34");
        assert_eq!(cny(5).to_string(), "CNY 0.05");
        assert_eq!(cny(-5).to_string(), "CNY -0.05");
        assert_eq!(Money::new(1, Currency::BHD).to_string(), "BHD 0.001");
        assert_eq!(Money::new(12345, Currency::CLF).to_string(), "CLF 1.2345");
    }

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(Money::from_major_str("12.34", Currency::CNY).unwrap(), cny(1234));
        assert_eq!(Money::from_major_str("12.3", Currency::CNY).unwrap(), cny(1230));
        assert_eq!(Money::from_major_str("12", Currency::CNY).unwrap(), cny(1200));
        assert_eq!(Money::from_major_str("0.07", Currency::CNY).unwrap(), cny(7));
        assert_eq!(Money::from_major_str("-0.07", Currency::CNY).unwrap(), cny(-7));
        assert_eq!(Money::from_major_str(".5", Currency::CNY).unwrap(), cny(50));
        assert_eq!(Money::from_major_str("12.340", Currency::CNY).unwrap(), cny(1234));
        assert_eq!(Money::from_major_str("1.234e1", Currency::CNY).unwrap(), cny(1234));
        assert_eq!(Money::from_major_str("1E3", Currency::JPY).unwrap(), Money::new(1000, Currency::JPY));
        // 0.1 + 0.2 style values that floats get wrong stay exact.
        assert_eq!(Money::from_major_str("0.29", Currency::CNY).unwrap(), cny(29));
        assert_eq!(Money::from_major_str("1.005", Currency::BHD).unwrap(), Money::new(1005, Currency::BHD));
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert!(matches!(
            Money::from_major_str("12.345", Currency::CNY),
            Err(MoneyError::TooManyDecimals { exponent: 2, .. })
        ));
        assert!(matches!(Money::from_major_str("1.5", Currency::JPY), Err(MoneyError::TooManyDecimals { .. })));
        for bad in ["", ".", "-", "1.2.3", "12,34", "abc", "1e", "0x10", " 1"] {
            assert!(matches!(Money::from_major_str(bad, Currency::CNY), Err(MoneyError::Malformed(_))), "{bad}");
        }
        assert_eq!(Money::from_major_str("99999999999999999999", Currency::CNY), Err(MoneyError::Overflow));
        assert_eq!(Money::from_major_str("1e30", Currency::CNY), Err(MoneyError::Overflow));
    }

    #[test]
    fn micros_follow_the_exponent() {
        assert_eq!(cny(1234).to_micros_string().unwrap(), "12340000");
        assert_eq!(Money::new(1000, Currency::JPY).to_micros().unwrap(), 1_000_000_000);
        assert_eq!(Money::new(1, Currency::BHD).to_micros().unwrap(), 1_000);
        assert_eq!(Money::new(1, Currency::CLF).to_micros().unwrap(), 100);
        assert_eq!(Money::from_micros_str("12340000", Currency::CNY).unwrap(), cny(1234));
        assert!(matches!(Money::from_micros(12_345, Currency::CNY), Err(MoneyError::FractionalMinorUnits { .. })));
        assert!(Money::from_micros_str("12.5", Currency::CNY).is_err());
        assert_eq!(Money::new(i64::MAX, Currency::JPY).to_micros(), Err(MoneyError::Overflow));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(cny(100).checked_add(cny(23)).unwrap(), cny(123));
        assert_eq!(cny(100).checked_sub(cny(123)).unwrap(), cny(-23));
        assert!(matches!(cny(1).checked_add(Money::new(1, Currency::JPY)), Err(MoneyError::CurrencyMismatch(..))));
        assert_eq!(cny(i64::MAX).checked_add(cny(1)), Err(MoneyError::Overflow));
        assert_eq!(cny(i64::MIN).checked_sub(cny(1)), Err(MoneyError::Overflow));
        assert!(cny(0).ensure_positive().is_err());
        assert!(cny(1).ensure_positive().is_ok());
    }

    #[test]
    fn json_shape_is_minor_and_code() {
        let json = serde_json::to_value(cny(1234)).unwrap();
        assert_eq!(json, serde_json::json!({"minor": 1234, "currency": "CNY"}));
        let back: Money = serde_json::from_value(json).unwrap();
        assert_eq!(back, cny(1234));
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        let all: Vec<Currency> = Currency::all().collect();
        proptest::sample::select(all)
    }

    proptest! {
        #[test]
        fn major_text_round_trips(minor in any::<i64>(), currency in any_currency()) {
            let m = Money::new(minor, currency);
            prop_assert_eq!(Money::from_major_str(&m.to_major_string(), currency).unwrap(), m);
        }

        #[test]
        fn micros_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000, currency in any_currency()) {
            let m = Money::new(minor, currency);
            let text = m.to_micros_string().unwrap();
            prop_assert_eq!(Money::from_micros_str(&text, currency).unwrap(), m);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = Money::from_major_str(&text, Currency::CNY);
            let _ = Money::from_micros_str(&text, Currency::BHD);
        }
    }
}
