//! A provider's JSON kept as the text it arrived as: what a record carries in `raw`.
//!
//! Text, not a `serde_json::Value` tree: building the tree for every answer cost more than
//! decoding the record itself, and a tree holds numbers as `f64`, so `12.30` yuan would come back
//! as `12.3`. The text is checked to be one JSON value when it is made; a tree is built only when
//! asked for.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// One JSON value as its provider wrote it (whitespace and number spelling kept).
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// `null`: a record that did not come from the provider's JSON.
    pub fn null() -> RawJson {
        RawJson::from_raw(&null_value())
    }

    /// The JSON text of `bytes`, checked to be exactly one JSON value.
    pub fn from_slice(bytes: &[u8]) -> Result<RawJson, serde_json::Error> {
        serde_json::from_slice::<&RawValue>(bytes).map(RawJson::from_raw)
    }

    /// A copy of a value already read as raw text (a field of a larger answer).
    pub fn from_raw(raw: &RawValue) -> RawJson {
        RawJson(raw.to_owned())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The JSON as a tree (numbers that need exactness are better read from [`RawJson::as_str`]).
    pub fn to_value(&self) -> serde_json::Value {
        // The text was checked when it was made, so this parse cannot fail on malformed input;
        // a number too large for the tree is the only thing it could refuse.
        serde_json::from_str(self.as_str()).unwrap_or(serde_json::Value::Null)
    }

    /// A top-level field of an object, as a tree; `None` when absent or when this is no object.
    pub fn field(&self, name: &str) -> Option<serde_json::Value> {
        let fields: std::collections::HashMap<Cow<'_, str>, &RawValue> = serde_json::from_str(self.as_str()).ok()?;
        serde_json::from_str(fields.get(name)?.get()).ok()
    }

    /// Whether the JSON is an object.
    pub fn is_object(&self) -> bool {
        self.as_str().starts_with('{')
    }
}

fn null_value() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

impl Default for RawJson {
    fn default() -> RawJson {
        RawJson::null()
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> RawJson {
        RawJson(raw)
    }
}

impl From<serde_json::Value> for RawJson {
    fn from(value: serde_json::Value) -> RawJson {
        // Writing a tree out cannot fail: its keys are strings and its numbers finite.
        RawJson(serde_json::value::to_raw_value(&value).unwrap_or_else(|_| null_value()))
    }
}

impl PartialEq for RawJson {
    /// The same JSON: equal text, or, when spelled differently, equal trees.
    fn eq(&self, other: &RawJson) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RawJson {
    /// The text as it came, on one line: a provider that pretty-prints its answers must not break
    /// a record printed as one JSON line.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.as_str().contains(['\n', '\r']) {
            return self.0.serialize(s);
        }
        let line = RawValue::from_string(one_line(self.as_str())).map_err(serde::ser::Error::custom)?;
        line.serialize(s)
    }
}

/// `json` without the whitespace between its tokens (strings and numbers are kept exactly; JSON
/// strings cannot hold a raw line break, so every one outside a string is whitespace).
fn one_line(json: &str) -> String {
    let mut line = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        line.push(c);
    }
    line
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawJson, D::Error> {
        Box::<RawValue>::deserialize(d).map(RawJson).map_err(|e| de::Error::custom(format_args!("raw JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_text_as_sent() {
        let raw = RawJson::from_slice(br#"{"amount": 12.30, "n": [1, 2]}"#).unwrap();
        assert_eq!(raw.as_str(), r#"{"amount": 12.30, "n": [1, 2]}"#);
        assert_eq!(serde_json::to_string(&raw).unwrap(), r#"{"amount": 12.30, "n": [1, 2]}"#);
        assert_eq!(raw.field("n"), Some(serde_json::json!([1, 2])));
        assert_eq!(raw.field("missing"), None);
        assert!(raw.is_object());
        assert_eq!(format!("{raw:?}"), raw.as_str());
    }

    #[test]
    fn a_pretty_printed_answer_is_written_on_one_line_exactly() {
        let pretty = "{\n  \"amount\": 12.30,\r\n  \"s\": \"a \\\" b\\\\\",\n  \"t\": \" x \"\n}";
        let raw = RawJson::from_slice(pretty.as_bytes()).unwrap();
        assert_eq!(raw.as_str(), pretty, "kept as it came");
        let written = serde_json::to_string(&raw).unwrap();
        assert_eq!(written, r#"{"amount":12.30,"s":"a \" b\\","t":" x "}"#);
        assert_eq!(RawJson::from_slice(written.as_bytes()).unwrap(), raw);
    }

    #[test]
    fn equal_json_spelled_differently_is_equal() {
        let a = RawJson::from_slice(br#"{"a":1,"b":"x"}"#).unwrap();
        let b = RawJson::from_slice(br#"{ "b": "x", "a": 1 }"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, RawJson::from_slice(br#"{"a":2,"b":"x"}"#).unwrap());
        assert_eq!(RawJson::from(serde_json::json!({"a": 1, "b": "x"})), a);
        assert_eq!(RawJson::default().as_str(), "null");
        assert!(!RawJson::default().is_object());
        assert_eq!(RawJson::from_slice(b"[1]").unwrap().field("a"), None);
    }

    #[test]
    fn round_trips_inside_a_record_and_through_a_tree() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Record {
            id: String,
            raw: RawJson,
        }
        let text = r#"{"id":"ch_1","raw":{"amount":12.30}}"#;
        let record: Record = serde_json::from_str(text).unwrap();
        assert_eq!(record.raw.as_str(), r#"{"amount":12.30}"#);
        assert_eq!(serde_json::to_string(&record).unwrap(), text);
        let from_tree: Record = serde_json::from_value(serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(from_tree, record);
    }

    #[test]
    fn what_is_not_one_json_value_is_refused() {
        for bad in [&b""[..], b"{", b"1 2", b"{\"a\":}", b"\xff", b"nul"] {
            assert!(RawJson::from_slice(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn any_bytes_are_kept_exactly_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(raw) = RawJson::from_slice(&bytes) {
                if let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    prop_assert_eq!(raw.to_value(), parsed);
                }
                prop_assert_eq!(raw.as_str().trim().as_bytes(), bytes.trim_ascii());
                let written = serde_json::to_string(&raw).unwrap();
                prop_assert!(!written.contains('\n'));
                prop_assert_eq!(RawJson::from_slice(written.as_bytes()).unwrap(), raw);
            }
        }

        #[test]
        fn any_tree_pretty_printed_comes_back_on_one_line(
            tree in proptest::collection::btree_map("[ -~\n\"\\\\é]{0,6}", "[ -~\n\"\\\\é]{0,6}", 0..5),
        ) {
            let pretty = serde_json::to_string_pretty(&tree).unwrap();
            let raw = RawJson::from_slice(pretty.as_bytes()).unwrap();
            let written = serde_json::to_string(&raw).unwrap();
            prop_assert_eq!(&written, &serde_json::to_string(&tree).unwrap());
        }
    }
}
