//! `application/x-www-form-urlencoded` bodies with bracketed nesting (`metadata[k]=v`).

/// An ordered list of form fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds a field.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Form {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Adds a field when the value is present.
    pub fn push_opt(&mut self, key: &str, value: Option<impl Into<String>>) -> &mut Form {
        if let Some(v) = value {
            self.push(key, v);
        }
        self
    }

    /// Adds `parent[key]=value` for each entry.
    pub fn push_map<'a>(&mut self, parent: &str, map: impl IntoIterator<Item = (&'a String, &'a String)>) -> &mut Form {
        for (k, v) in map {
            self.push(format!("{parent}[{k}]"), v.clone());
        }
        self
    }

    /// The encoded body.
    pub fn encode(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.fields {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// Parses an encoded body (repeated keys keep their order).
    pub fn parse(body: &[u8]) -> Form {
        Form { fields: url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// The fields.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The last value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Entries `parent[key]=value` as (key, value).
    pub fn nested(&self, parent: &str) -> Vec<(String, String)> {
        let prefix = format!("{parent}[");
        self.fields
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix).and_then(|r| r.strip_suffix(']')).map(|inner| (inner.to_owned(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_round_trip() {
        let mut f = Form::new();
        f.push("amount", "1000").push("metadata[order id]", "a&b=c");
        let text = f.encode();
        assert_eq!(text, "amount=1000&metadata%5Border+id%5D=a%26b%3Dc");
        let back = Form::parse(text.as_bytes());
        assert_eq!(back.get("amount"), Some("1000"));
        assert_eq!(back.nested("metadata"), vec![("order id".to_owned(), "a&b=c".to_owned())]);
    }
}
