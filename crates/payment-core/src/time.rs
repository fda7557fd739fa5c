//! Timestamps: Unix seconds inside, RFC 3339 (UTC) on the outside.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};

/// A point in time with second precision, shown as RFC 3339 in UTC (`2026-11-22T02:01:11Z`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From Unix seconds.
    pub const fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// Unix seconds.
    pub const fn unix(&self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (`2026-11-22T02:01:11Z`, `…+09:00`, fractional seconds dropped).
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp> {
        let bad = || Error::new(ErrorKind::Decode, format!("{:?} is not an RFC 3339 timestamp", truncate(text)));
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64> {
            let s = text.get(r).ok_or_else(bad)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return Err(bad());
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && rest.is_ascii() && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
                let h: i64 = rest[1..3].parse().map_err(|_| bad())?;
                let m: i64 = rest[4..6].parse().map_err(|_| bad())?;
                let sign = if &rest[..1] == "-" { -1 } else { 1 };
                sign * (h * 3600 + m * 60)
            }
            _ => return Err(bad()),
        };
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }

    /// RFC 3339 text in UTC.
    pub fn to_rfc3339(&self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

fn truncate(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::first_chars(s, 40)
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses a duration as people write it in config and on the command line: `30` (seconds),
/// `30s`, `500ms`, `2m`; zero and past a day are refused.
pub fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let t = text.trim();
    let (digits, unit_ms) = if let Some(d) = t.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = t.strip_suffix('s') {
        (d, 1000)
    } else if let Some(d) = t.strip_suffix('m') {
        (d, 60_000)
    } else {
        (t, 1000)
    };
    let n: u64 = digits.trim().parse().map_err(|_| "is not a duration such as 30, 30s, 500ms or 2m".to_owned())?;
    let ms = n.checked_mul(unit_ms).filter(|ms| (1..=86_400_000).contains(ms));
    ms.map(std::time::Duration::from_millis).ok_or_else(|| "must be more than zero and at most a day".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(Timestamp::from_unix(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_unix(1_433_127_983).to_rfc3339(), "2015-06-01T03:06:23Z");
        assert_eq!(Timestamp::parse_rfc3339("2015-06-01T12:06:23+09:00").unwrap().unix(), 1_433_127_983);
        assert_eq!(Timestamp::parse_rfc3339("2024-02-29T00:00:00.123Z").unwrap().to_rfc3339(), "2024-02-29T00:00:00Z");
    }

    #[test]
    fn garbage_is_a_decode_error() {
        for bad in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+0900",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(secs in -62_135_596_800i64..253_402_300_799) {
            let t = Timestamp::from_unix(secs);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }

        #[test]
        fn never_panics(text in ".{0,40}") {
            let _ = Timestamp::parse_rfc3339(&text);
        }
    }

    #[test]
    fn durations_parse_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 500ms "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "0", "-1", "1.5", "soon", "99999999999999999999", "2d", "90000000ms"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
