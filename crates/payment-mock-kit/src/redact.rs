//! What the request log and console never show: credentials in headers, card numbers and card
//! security codes in bodies. The rules are by shape, not by provider: a header whose name says
//! it carries a credential, a field whose name says it is a security code, and any run of 13 to
//! 19 digits that passes the Luhn check.

const REDACTED: &str = "[redacted]";

/// Whether a header of this name carries a credential (an idempotency key is not one).
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.contains("idempotency")
        && ["authorization", "key", "token", "secret", "password", "cookie"].iter().any(|w| name.contains(w))
}

/// A header's value as logged.
pub fn header_value(name: &str, value: &str) -> String {
    if is_credential_header(name) { REDACTED.to_owned() } else { value.to_owned() }
}

/// Whether a field of this name holds a card's security code.
fn is_security_code(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["cvc", "cvv", "cvn", "security_code", "securitycode", "csc"].iter().any(|w| name.contains(w))
}

/// A body as logged: a form's or a JSON document's security codes replaced, and every card
/// number in the text, whatever the format.
pub fn body(text: &str) -> String {
    let fields_hidden = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) if v.is_object() || v.is_array() => {
            hide_json(&mut v);
            v.to_string()
        }
        _ if text.contains('=') && !text.contains(char::is_whitespace) => hide_form(text),
        _ => text.to_owned(),
    };
    hide_card_numbers(&fields_hidden)
}

fn hide_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, value) in map.iter_mut() {
                if is_security_code(k) && !value.is_object() && !value.is_array() {
                    *value = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    hide_json(value);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(hide_json),
        _ => {}
    }
}

fn hide_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            // The name's brackets may be percent-encoded; the code's name shows either way.
            Some((k, _)) if is_security_code(k) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Every run of 13 to 19 digits that passes the Luhn check, replaced.
pub fn hide_card_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if (13..=19).contains(&run.len()) && luhn(run) {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The Luhn check over ASCII digits (the library's own).
pub use payment_core::source::luhn_valid as luhn;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_card_numbers_and_codes_are_hidden_in_every_shape() {
        assert_eq!(header_value("x-justap-api-key", "sk_test_x"), REDACTED);
        assert_eq!(header_value("Authorization", "Basic abc"), REDACTED);
        assert_eq!(header_value("content-type", "application/json"), "application/json");
        assert_eq!(header_value("Idempotency-Key", "order-1"), "order-1");
        let form = body("amount=1000&card%5Bnumber%5D=4242424242424242&card%5Bcvc%5D=123&currency=jpy");
        assert_eq!(form, "amount=1000&card%5Bnumber%5D=[redacted]&card%5Bcvc%5D=[redacted]&currency=jpy");
        let json = body(
            r#"{"paymentInstrument":{"cardNumber":"4444333322221111","cvc":"123","expiryDate":{"month":5}},"amount":1250}"#,
        );
        assert!(!json.contains("4444333322221111") && !json.contains("\"123\"") && json.contains("1250"), "{json}");
        assert_eq!(body("plain 4000000000000002 text 1234567890123"), "plain [redacted] text 1234567890123");
        assert_eq!(body("order_no=20261206123456789"), "order_no=20261206123456789", "not a card: fails Luhn");
    }

    /// A 16-digit number with a valid Luhn check digit after `prefix`.
    fn card(prefix: &str) -> String {
        (0..10).map(|d| format!("{prefix}{d}")).find(|c| luhn(c)).unwrap_or_default()
    }

    proptest::proptest! {
        #[test]
        fn no_card_number_survives_and_nothing_panics(text in ".{0,200}", prefix in "4[0-9]{14}") {
            let number = card(&prefix);
            let logged = body(&format!("{text} {number} "));
            proptest::prop_assert!(!logged.contains(&number));
            let as_json = body(&format!("{{\"n\":\"{number}\",\"t\":{}}}", serde_json::Value::String(text)));
            proptest::prop_assert!(!as_json.contains(&number));
        }
    }
}
