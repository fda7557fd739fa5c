//! The amount faults: `alter_amount` changes what an answer says was charged; `charge_other_amount`
//! moves a request's amount and its answer's by one unit each way.

/// Changes the first amount in a JSON answer (searching depth first): an integer gains one, a
/// decimal or digit string gains one in its last digit; with no amount, the first `currency`
/// becomes another code. What each provider echoes differs; [`crate::MockHooks::alter_amount`] may say better.
pub fn alter_first_amount(value: &mut serde_json::Value) -> bool {
    fn currency(v: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if (k.eq_ignore_ascii_case("currency") || k.eq_ignore_ascii_case("currencycode"))
                        && let Value::String(code) = item
                    {
                        {
                            let other = if code.eq_ignore_ascii_case("usd") { "EUR" } else { "USD" };
                            *code = if code.chars().any(|c| c.is_ascii_lowercase()) {
                                other.to_ascii_lowercase()
                            } else {
                                other.to_owned()
                            };
                            return true;
                        }
                    }
                }
                map.values_mut().any(currency)
            }
            Value::Array(items) => items.iter_mut().any(currency),
            _ => false,
        }
    }
    shift_first_amount(value, 1) || currency(value)
}

/// Adds `delta` units of its last digit to the first amount in a JSON value (depth first; a
/// number, or a string of digits with or without decimals); `false` when there is none.
pub fn shift_first_amount(value: &mut serde_json::Value, delta: i64) -> bool {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if key == "amount" || key.ends_with("amountmicros") || key == "amount_micros" {
                    match item {
                        Value::Number(n) => {
                            if let Some(shifted) = shift_decimal(&n.to_string(), delta)
                                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                            {
                                *item = shifted;
                                return true;
                            }
                        }
                        Value::String(t) => {
                            if let Some(shifted) = shift_decimal(t, delta) {
                                *t = shifted;
                                return true;
                            }
                        }
                        _ => {}
                    }
                }
            }
            map.values_mut().any(|v| shift_first_amount(v, delta))
        }
        Value::Array(items) => items.iter_mut().any(|v| shift_first_amount(v, delta)),
        _ => false,
    }
}

/// Adds `delta` units of its last digit to a decimal text (`1000` + 1 is `1001`, `10.00` + 1
/// is `10.01`), keeping its form; `None` for anything else.
fn shift_decimal(text: &str, delta: i64) -> Option<String> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || text.ends_with('.') {
        return None;
    }
    let units: i128 = format!("{whole}{fraction}").parse().ok()?;
    let shifted = units.checked_add(i128::from(delta)).filter(|u| *u >= 0)?;
    let mut digits = format!("{shifted:0width$}", width = fraction.len() + 1);
    if !fraction.is_empty() {
        digits.insert(digits.len() - fraction.len(), '.');
    }
    Some(digits)
}

/// Adds `delta` to the `amount` of a form-encoded body; `None` when it has no integer `amount`.
pub fn shift_form_amount(body: &str, delta: i64) -> Option<String> {
    let mut changed = false;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| {
            if !changed
                && k == "amount"
                && let Ok(n) = v.parse::<i64>()
            {
                changed = true;
                return (k.into_owned(), n.saturating_add(delta).to_string());
            }
            (k.into_owned(), v.into_owned())
        })
        .collect();
    changed.then(|| url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

#[cfg(test)]
mod shift_tests {
    use super::*;

    #[test]
    fn the_first_amount_moves_by_delta_in_json_and_forms() {
        let mut v = serde_json::json!({"id": "ch", "value": {"amount": 1000, "currency": "GBP"}, "amount": "5"});
        assert!(shift_first_amount(&mut v, 1));
        assert_eq!(v["amount"], "6");
        assert!(shift_first_amount(&mut v, -1));
        assert_eq!(v["amount"], "5");
        let mut nested = serde_json::json!({"value": {"amount": 1000}});
        assert!(shift_first_amount(&mut nested, 1));
        assert_eq!(nested["value"]["amount"], 1001);
        assert!(!shift_first_amount(&mut serde_json::json!({"a": 1}), 1));
        let mut decimal = serde_json::json!({"amount": "10.00"});
        assert!(shift_first_amount(&mut decimal, 1));
        assert_eq!(decimal["amount"], "10.01");
        assert_eq!(shift_decimal("0.99", 1).as_deref(), Some("1.00"));
        assert_eq!(shift_decimal("1.00", -1).as_deref(), Some("0.99"));
        assert_eq!(shift_decimal("-1", 1), None);
        assert_eq!(shift_decimal("1e5", 1), None);
        assert_eq!(shift_form_amount("amount=1000&currency=jpy", 1).as_deref(), Some("amount=1001&currency=jpy"));
        assert_eq!(shift_form_amount("currency=jpy", 1), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_amount_changes_else_the_currency() {
        let mut v = json!({"id": "ch_1", "amount": 1000, "currency": "jpy", "amount_refunded": 0});
        assert!(alter_first_amount(&mut v));
        assert_eq!(v["amount"], 1001);
        assert_eq!(v["currency"], "jpy");
        let mut nested = json!({"value": {"amount": "12.34"}});
        assert!(alter_first_amount(&mut nested));
        assert_eq!(nested["value"]["amount"], "12.35");
        let mut micros = json!({"amountMicros": "1230000"});
        assert!(alter_first_amount(&mut micros));
        assert_eq!(micros["amountMicros"], "1230001");
        let mut only_currency = json!({"data": [{"currency": "usd"}]});
        assert!(alter_first_amount(&mut only_currency));
        assert_eq!(only_currency["data"][0]["currency"], "eur");
        let mut nothing = json!({"id": "tok_1", "card": {"last4": "4242"}});
        assert!(!alter_first_amount(&mut nothing));
    }
}
