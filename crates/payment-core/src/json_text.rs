//! A string field read from a provider's JSON without copying it when it can be borrowed.
//!
//! `&str` cannot hold a string that had escapes (`"\u652f"`), and serde reads an
//! `Option<Cow<str>>` or a map of `Cow`s as owned copies, so record decoders use this instead.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Text from JSON: borrowed from the answer when it had no escapes, owned when it was unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonText<'a>(pub Cow<'a, str>);

impl JsonText<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an owned `String` (a copy only if it was borrowed).
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'a> From<&'a str> for JsonText<'a> {
    /// Text borrowed from a decoded wire object.
    fn from(text: &'a str) -> JsonText<'a> {
        JsonText(Cow::Borrowed(text))
    }
}

impl Deref for JsonText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for JsonText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = JsonText<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<JsonText<'de>, E> {
        Ok(JsonText(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<JsonText<'de>, E> {
        Ok(JsonText(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<JsonText<'de>, E> {
        Ok(JsonText(Cow::Owned(text)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JsonText<'a>, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct View<'a> {
        #[serde(borrow)]
        plain: Option<JsonText<'a>>,
        #[serde(borrow)]
        escaped: Option<JsonText<'a>>,
        #[serde(borrow, default)]
        map: BTreeMap<JsonText<'a>, JsonText<'a>>,
    }

    #[test]
    fn borrows_plain_text_and_unescapes_the_rest() {
        let text = r#"{"plain":"ch_1","escaped":"\u652f\"x\"","map":{"k":"v","\n":"é"}}"#;
        let view: View<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(view.plain.as_ref().unwrap().0, Cow::Borrowed("ch_1")));
        assert_eq!(view.escaped.unwrap().as_str(), "支\"x\"");
        assert_eq!(view.map[&JsonText(Cow::Borrowed("\n"))].as_str(), "é");
        assert!(serde_json::from_str::<View<'_>>(r#"{"plain":1}"#).is_err());
        assert_eq!(serde_json::to_string(&JsonText(Cow::Borrowed("a\"b"))).unwrap(), r#""a\"b""#);
    }

    proptest! {
        #[test]
        fn reads_back_any_string(text in "\\PC{0,40}") {
            let json = serde_json::to_string(&text).unwrap();
            let read: JsonText<'_> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(read.as_str(), text.as_str());
            let from_bytes: JsonText<'_> = serde_json::from_slice(json.as_bytes()).unwrap();
            prop_assert_eq!(from_bytes.into_owned(), text);
        }
    }
}
