//! ISO 4217 currencies with their minor-unit exponents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::MoneyError;

/// An ISO 4217 currency code together with its exponent (number of minor-unit digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// (code, exponent) for every active ISO 4217 currency that has a minor unit; sorted by code.
#[rustfmt::skip]
const TABLE: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3), ("BIF", 0),
    ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2),
    ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4),
    ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2),
    ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2),
    ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2),
    ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2),
    ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2),
    ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2),
    ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

impl Currency {
    /// Japanese yen (exponent 0).
    pub const JPY: Currency = Currency::known(*b"JPY", 0);
    /// Chinese yuan renminbi (exponent 2).
    pub const CNY: Currency = Currency::known(*b"CNY", 2);
    /// US dollar (exponent 2).
    pub const USD: Currency = Currency::known(*b"USD", 2);
    /// Euro (exponent 2).
    pub const EUR: Currency = Currency::known(*b"EUR", 2);
    /// Pound sterling (exponent 2).
    pub const GBP: Currency = Currency::known(*b"GBP", 2);
    /// Bahraini dinar (exponent 3).
    pub const BHD: Currency = Currency::known(*b"BHD", 3);
    /// Indian rupee (exponent 2).
    pub const INR: Currency = Currency::known(*b"INR", 2);
    /// Kuwaiti dinar (exponent 3).
    pub const KWD: Currency = Currency::known(*b"KWD", 3);
    /// Chilean unidad de fomento (exponent 4).
    pub const CLF: Currency = Currency::known(*b"CLF", 4);

    const fn known(code: [u8; 3], exponent: u8) -> Currency {
        Currency { code, exponent }
    }

    /// Looks up an ISO 4217 code, case-insensitively.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        // Codes are three ASCII letters: upper-cased on the stack, no allocation per lookup.
        let trimmed = code.trim().as_bytes();
        let mut upper = [0u8; 3];
        if trimmed.len() == 3 {
            upper.copy_from_slice(trimmed);
            upper.make_ascii_uppercase();
        }
        let upper = std::str::from_utf8(&upper).unwrap_or("");
        TABLE
            .binary_search_by(|(c, _)| (*c).cmp(upper))
            .map(|i| {
                let (c, exponent) = TABLE[i];
                let b = c.as_bytes();
                Currency { code: [b[0], b[1], b[2]], exponent }
            })
            .map_err(|_| MoneyError::UnknownCurrency(code.chars().take(16).collect()))
    }

    /// The upper-case three-letter code, e.g. `"JPY"`.
    pub fn code(&self) -> &str {
        // The table holds ASCII only, so this never fails.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of minor-unit digits: JPY 0, CNY 2, BHD 3, CLF 4.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// `10^exponent`: how many minor units make one major unit.
    pub fn minor_per_major(&self) -> i64 {
        10_i64.pow(u32::from(self.exponent))
    }

    /// Every currency this table knows.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().map(|(c, _)| Currency::from_code(c).unwrap_or(Currency::USD))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(e{})", self.code(), self.exponent)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TABLE.iter().all(|(c, e)| c.len() == 3 && *e <= 4));
    }

    #[test]
    fn exponents_of_the_anchor_currencies() {
        assert_eq!(Currency::from_code("jpy").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("Cny").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("BHD").unwrap().exponent(), 3);
        assert_eq!(Currency::from_code("clf").unwrap().exponent(), 4);
        assert_eq!(Currency::from_code("KRW").unwrap(), Currency::from_code("krw").unwrap());
        assert_eq!(Currency::JPY, Currency::from_code("JPY").unwrap());
        assert_eq!(Currency::CLF.minor_per_major(), 10_000);
    }

    #[test]
    fn unknown_codes_are_typed_errors() {
        assert!(matches!(Currency::from_code("XYZ"), Err(MoneyError::UnknownCurrency(_))));
        assert!(Currency::from_code("").is_err());
        assert!(Currency::from_code("JPYY").is_err());
        assert!(Currency::from_code("日本円").is_err());
    }

    #[test]
    fn serde_uses_the_code() {
        let json = serde_json::to_string(&Currency::BHD).unwrap();
        assert_eq!(json, "\"BHD\"");
        let back: Currency = serde_json::from_str("\"bhd\"").unwrap();
        assert_eq!(back, Currency::BHD);
        assert!(serde_json::from_str::<Currency>("\"ZZZ\"").is_err());
    }
}
