//! The `alter_amount` fault's default: change what an answer says was charged.

/// Changes the first amount in a JSON answer (searching depth first): an integer gains one, a
/// decimal or digit string gains one in its last digit; with no amount, the first `currency`
/// becomes another code. What each provider echoes differs; [`crate::MockHooks::alter_amount`] may say better.
pub fn alter_first_amount(value: &mut serde_json::Value) -> bool {
    fn bump_text(text: &str) -> Option<String> {
        let last = text.chars().last()?;
        let digit = last.to_digit(10)?;
        let mut out: String = text[..text.len() - 1].to_owned();
        out.push(char::from_digit((digit + 1) % 10, 10)?);
        Some(out)
    }
    fn amount(v: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    let key = k.to_ascii_lowercase();
                    if key == "amount" || key.ends_with("amountmicros") || key == "amount_micros" {
                        match item {
                            Value::Number(n) if n.as_i64().is_some() => {
                                *item = Value::from(n.as_i64().unwrap_or_default().saturating_add(1));
                                return true;
                            }
                            Value::Number(n) => {
                                if let Some(t) = bump_text(&n.to_string()).and_then(|t| serde_json::from_str(&t).ok()) {
                                    *item = t;
                                    return true;
                                }
                            }
                            Value::String(t) => {
                                if let Some(b) = bump_text(t) {
                                    *t = b;
                                    return true;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                map.values_mut().any(amount)
            }
            Value::Array(items) => items.iter_mut().any(amount),
            _ => false,
        }
    }
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
    amount(value) || currency(value)
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
