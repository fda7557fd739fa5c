//! One pass over a `{"object", "data": {…}}` answer that yields both what the record needs and
//! what `raw` keeps: `data` as a JSON tree, and beside it the exact decimal text of its amounts,
//! which the tree could only hold as f64.

use std::fmt;

use payment_core::serde_adapters::DecimalNumber;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The amounts of one Justap object, read by their decimal text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExactAmounts {
    /// `amount`, when present.
    pub amount: Option<DecimalNumber>,
    /// `amount_refund`, when present and not null.
    pub amount_refund: Option<DecimalNumber>,
}

/// `data` of `body` as a JSON tree, with its amounts read exactly; an answer that is not JSON, has
/// no `data` object or an amount that is not a plain decimal is an error.
pub fn data_with_amounts(body: &[u8]) -> Result<(Value, ExactAmounts), serde_json::Error> {
    let mut exact = ExactAmounts::default();
    let mut reader = serde_json::Deserializer::from_slice(body);
    let data = Body(&mut exact).deserialize(&mut reader)?;
    reader.end()?;
    Ok((data, exact))
}

/// The outer object: `data` is read by `Data`, everything else skipped.
struct Body<'s>(&'s mut ExactAmounts);

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a Justap answer {"object": …, "data": {…}}"#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut data = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "data" {
                *self.0 = ExactAmounts::default();
                data = Some(map.next_value_seed(Data(&mut *self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        data.ok_or_else(|| de::Error::missing_field("data"))
    }
}

/// The object itself: a JSON tree like `Value`'s own, the amounts taken as text on the way.
struct Data<'s>(&'s mut ExactAmounts);

impl<'de> DeserializeSeed<'de> for Data<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Justap object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match key.as_str() {
                "amount" => {
                    let (exact, value) = amount(map.next_value::<&'de RawValue>()?)?;
                    self.0.amount = Some(exact.ok_or_else(|| de::Error::custom("amount: null is not an amount"))?);
                    value
                }
                "amount_refund" => {
                    let (exact, value) = amount(map.next_value::<&'de RawValue>()?)?;
                    self.0.amount_refund = exact;
                    value
                }
                _ => map.next_value::<Value>()?,
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// An amount's exact decimal (None for `null`) and its place in the tree.
fn amount<E: de::Error>(raw: &RawValue) -> Result<(Option<DecimalNumber>, Value), E> {
    let text = raw.get();
    if text == "null" {
        return Ok((None, Value::Null));
    }
    let exact = DecimalNumber::from_json_text(text).map_err(|e| E::custom(format!("amount: {e}")))?;
    let value: Value = serde_json::from_str(text).map_err(E::custom)?;
    Ok((Some(exact), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_tree_is_value_s_own_and_the_amounts_are_exact() {
        let body = br#"{"object":"Charge","data":{"charge_id":"ch_1","amount":0.10,"amount_refund":12.30,
            "metadata":{"k":"v"},"credential":{"AlipayQR":{"qr_code":"https://qr"}}}}"#;
        let (data, exact) = data_with_amounts(body).unwrap();
        let whole: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(data, whole["data"]);
        assert_eq!(exact.amount.unwrap().as_str(), "0.10");
        assert_eq!(exact.amount_refund.unwrap().as_str(), "12.30");
    }

    #[test]
    fn quoted_amounts_and_a_null_refund_read_as_the_wire_types_do() {
        let (_, exact) = data_with_amounts(br#"{"data":{"amount":"10.00","amount_refund":null}}"#).unwrap();
        assert_eq!(exact.amount.unwrap().as_str(), "10.00");
        assert_eq!(exact.amount_refund, None);
    }

    #[test]
    fn malformed_answers_are_errors() {
        for body in [
            &br#"{"object":"Charge"}"#[..],
            br#"{"data":[1]}"#,
            br#"{"data":{"amount":1e3}}"#,
            br#"{"data":{"amount":null}}"#,
            br#"{"data":{"amount":"ten"}}"#,
            br#"{"data":{"amount_refund":true}}"#,
            br#"{"data":{"amount":1.00}} trailing"#,
            b"not json",
        ] {
            assert!(data_with_amounts(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = data_with_amounts(&body);
        }

        #[test]
        fn every_fen_amount_reads_back_exactly(fen in 0i64..10_000_000_000, other in "[a-z]{0,8}") {
            let text = format!("{}.{:02}", fen / 100, fen % 100);
            let body = format!(r#"{{"data":{{"x":"{other}","amount":{text},"amount_refund":{text}}},"object":"Charge"}}"#);
            let (data, exact) = data_with_amounts(body.as_bytes()).unwrap();
            prop_assert_eq!(exact.amount.as_ref().map(DecimalNumber::as_str), Some(text.as_str()));
            prop_assert_eq!(exact.amount_refund.as_ref().map(DecimalNumber::as_str), Some(text.as_str()));
            prop_assert_eq!(&data["x"], &Value::String(other));
        }
    }
}
