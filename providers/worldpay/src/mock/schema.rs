//! Request validation the way Worldpay reports it: `bodyDoesNotMatchSchema` with one child error
//! (`unrecognizedField`, `fieldIsMissing`, `fieldMustBeInteger`, …) per problem, each with a `jsonPath`.

use serde_json::{Value, json};

/// A field's expected shape.
pub enum Shape {
    /// An object with `(name, shape, required)` fields; anything else is `unrecognizedField`.
    Object(&'static [(&'static str, Shape, bool)]),
    /// A string.
    Str,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// Anything (documented objects the mock does not model).
    Any,
}

use Shape::{Any, Bool, Int, Object, Str};

/// The authorize request (Card Payments v6).
pub const AUTHORIZE: Shape = Object(&[
    ("transactionReference", Str, true),
    ("merchant", Object(&[("entity", Str, true), ("mcc", Str, false)]), true),
    (
        "instruction",
        Object(&[
            ("narrative", Object(&[("line1", Str, true), ("line2", Str, false)]), true),
            ("value", Object(&[("currency", Str, true), ("amount", Int, true)]), true),
            (
                "paymentInstrument",
                Object(&[
                    ("type", Str, true),
                    ("cardNumber", Str, false),
                    ("cardExpiryDate", Object(&[("month", Int, true), ("year", Int, true)]), false),
                    ("cardHolderName", Str, false),
                    ("cvc", Str, false),
                    ("href", Str, false),
                    ("billingAddress", Any, false),
                ]),
                true,
            ),
            ("debtRepayment", Any, false),
        ]),
        true,
    ),
    ("requestAutoSettlement", Object(&[("enabled", Bool, true)]), false),
    ("channel", Str, false),
    ("customer", Any, false),
    ("riskData", Any, false),
    ("customerAgreement", Any, false),
]);

/// Partial settle and partial refund bodies.
pub const VALUE_ACTION: Shape =
    Object(&[("value", Object(&[("currency", Str, true), ("amount", Int, true)]), true), ("reference", Str, true)]);

/// One child error.
pub fn child(name: &str, message: &str, path: &str) -> Value {
    json!({"errorName": name, "message": message, "jsonPath": path})
}

/// Collects schema problems of `value` against `shape` at `path`.
pub fn check(value: &Value, shape: &Shape, path: &str, out: &mut Vec<Value>) {
    match (shape, value) {
        (Any, _) => {}
        (Str, Value::String(_)) | (Bool, Value::Bool(_)) => {}
        (Int, Value::Number(n)) if n.is_i64() => {}
        (Int, _) => out.push(child("fieldMustBeInteger", "Field must be an integer", path)),
        (Str, _) => out.push(child("fieldMustBeString", "Field must be a string", path)),
        (Bool, _) => out.push(child("fieldMustBeBoolean", "Field must be a boolean", path)),
        (Object(fields), Value::Object(map)) => {
            for key in map.keys() {
                if !fields.iter().any(|(name, _, _)| name == key) {
                    out.push(child("unrecognizedField", "Field is not recognized", &format!("{path}.{key}")));
                }
            }
            for (name, inner, required) in fields.iter() {
                match map.get(*name) {
                    Some(v) => check(v, inner, &format!("{path}.{name}"), out),
                    None if *required => {
                        out.push(child("fieldIsMissing", "Field is missing", &format!("{path}.{name}")))
                    }
                    None => {}
                }
            }
        }
        (Object(_), _) => out.push(child("fieldMustBeObject", "Field must be an object", path)),
    }
}

/// The 400 body for collected problems.
pub fn body(problems: Vec<Value>) -> Value {
    json!({"errorName": "bodyDoesNotMatchSchema", "message": "The json body provided does not match the expected schema", "validationErrors": problems})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_missing_and_mistyped_fields_are_named_by_path() {
        let v = json!({"transactionReference": "r", "merchant": {"entity": "default", "colour": "red"},
            "instruction": {"narrative": {"line1": "x"}, "value": {"currency": "GBP", "amount": "250"},
            "paymentInstrument": {"type": "card/plain"}}});
        let mut out = Vec::new();
        check(&v, &AUTHORIZE, "$", &mut out);
        let names: Vec<(&str, &str)> =
            out.iter().map(|e| (e["errorName"].as_str().unwrap(), e["jsonPath"].as_str().unwrap())).collect();
        assert!(names.contains(&("unrecognizedField", "$.merchant.colour")), "{names:?}");
        assert!(names.contains(&("fieldMustBeInteger", "$.instruction.value.amount")), "{names:?}");
        let mut out = Vec::new();
        check(&json!({}), &VALUE_ACTION, "$", &mut out);
        assert_eq!(out.len(), 2);
    }
}
