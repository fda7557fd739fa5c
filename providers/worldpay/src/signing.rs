//! Authentication: HTTP Basic on every request. (Worldpay documents no request or webhook
//! signatures for these APIs; `WP-CorrelationId` on answers is kept as the error's request id.)

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// The response header Worldpay asks clients to log.
pub const CORRELATION_HEADER: &str = "wp-correlationid";

/// `Basic base64(username:password)`, marked sensitive.
pub fn basic_auth(username: &str, password: &SecretString) -> http::HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose_secret()));
    let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}"))
        .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// `(username, password)` from a `Basic` header (for the mock).
pub fn credentials(header: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(header.strip_prefix("Basic ")?.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_round_trip() {
        let v = basic_auth("user", &SecretString::from("pa:ss".to_owned()));
        assert!(v.is_sensitive());
        assert_eq!(credentials(v.to_str().unwrap()), Some(("user".to_owned(), "pa:ss".to_owned())));
        assert_eq!(credentials("Basic !!"), None);
    }
}
