//! Authentication: HTTP Basic on every request (`WP-CorrelationId` on answers is kept as the
//! error's request id), and event notifications' `Event-Signature`: HMAC-SHA256 over the raw body
//! with a shared secret, `{keyId}/SHA256/{hex}`, several comma-separated while keys rotate.

use base64::Engine as _;
use payment_core::webhook::constant_time_eq;
use payment_core::{Error, ErrorKind, Result, WebhookEvent, WebhookVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::config::WebhookSecret;

/// The header event notifications are signed in.
pub const EVENT_SIGNATURE_HEADER: &str = "event-signature";

/// One signature of an `Event-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSignature {
    /// The key id it names.
    pub key_id: String,
    /// The HMAC-SHA256 (32 bytes).
    pub mac: Vec<u8>,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks(2).map(|p| Some(hex_value(p[0])? << 4 | hex_value(p[1])?)).collect()
}

/// The most signatures one header is read for: keys rotate one or two at a time, and an
/// unauthenticated caller must not make the verifier work in proportion to what it sends.
pub const MAX_EVENT_SIGNATURES: usize = 16;

/// The well-formed signatures of a header (`{keyId}/SHA256/{hex}`, comma-separated, any order,
/// hex in either case), the first [`MAX_EVENT_SIGNATURES`] entries only; malformed entries are
/// skipped, so an unknown scheme never hides a good one.
pub fn parse_event_signatures(header: &str) -> Vec<EventSignature> {
    header
        .split(',')
        .take(MAX_EVENT_SIGNATURES)
        .filter_map(|part| {
            let mut fields = part.trim().splitn(3, '/');
            let (key_id, scheme, hex) = (fields.next()?, fields.next()?, fields.next()?);
            if key_id.is_empty() || !scheme.eq_ignore_ascii_case("SHA256") {
                return None;
            }
            let mac = hex_decode(hex.trim()).filter(|m| m.len() == 32)?;
            Some(EventSignature { key_id: key_id.to_owned(), mac })
        })
        .collect()
}

/// The `Event-Signature` value of `body` under one secret (for tests and the mock).
pub fn sign_event(key_id: &str, secret: &SecretString, body: &[u8]) -> String {
    let mac = payment_core::crypto::hmac_sha256(secret.expose_secret().as_bytes(), body);
    format!("{key_id}/SHA256/{}", payment_core::hex::lower(&mac))
}

/// Verifies Worldpay event notifications by `Event-Signature` with the configured secrets; any
/// signature for a configured key id that matches is enough (rotation works both ways). A
/// missing or mismatched signature is an `Authentication` error; Worldpay expects a 400 for it.
pub struct WorldpayWebhookVerifier {
    secrets: Vec<WebhookSecret>,
}

impl WorldpayWebhookVerifier {
    /// A verifier for these secrets.
    pub fn new(secrets: Vec<WebhookSecret>) -> WorldpayWebhookVerifier {
        WorldpayWebhookVerifier { secrets }
    }

    /// Whether some signature in `header` matches `body` under a configured secret: one HMAC
    /// over the body per configured secret a listed signature names, however many are listed.
    pub fn signed(&self, header: &str, body: &[u8]) -> bool {
        let listed = parse_event_signatures(header);
        self.secrets.iter().filter(|s| listed.iter().any(|sig| sig.key_id == s.key_id)).any(|s| {
            let mac = payment_core::crypto::hmac_sha256(s.secret.expose_secret().as_bytes(), body);
            listed.iter().filter(|sig| sig.key_id == s.key_id).any(|sig| constant_time_eq(&mac, &sig.mac))
        })
    }
}

impl std::fmt::Debug for WorldpayWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldpayWebhookVerifier").field("secrets", &self.secrets).finish()
    }
}

impl WebhookVerifier for WorldpayWebhookVerifier {
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        let refuse = |why: &str| {
            Error::new(ErrorKind::Authentication, format!("event signature {why}"))
                .with_provider(crate::NAME)
                .with_http_status(400)
        };
        if self.secrets.is_empty() {
            return Err(refuse("cannot be checked: no webhook_secrets are configured"));
        }
        let header = headers.get(EVENT_SIGNATURE_HEADER).ok_or_else(|| refuse("is missing"))?;
        let header = header.to_str().map_err(|_| refuse("is not text"))?;
        if !self.signed(header, body) {
            return Err(refuse("matches no configured key"));
        }
        crate::mapping::event(body)
    }
}

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

/// The driver's webhook verifier: the `webhook_secrets` setting.
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn WebhookVerifier>> {
    let secrets = crate::config::parse_webhook_secrets(settings.get("webhook_secrets").unwrap_or(""))?;
    if secrets.is_empty() {
        return Err(Error::config(format!("worldpay webhooks need {}", settings.describe_key("webhook_secrets"))));
    }
    Ok(Box::new(WorldpayWebhookVerifier::new(secrets)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(id: &str, s: &str) -> WebhookSecret {
        WebhookSecret { key_id: id.to_owned(), secret: SecretString::from(s.to_owned()) }
    }

    #[test]
    fn signatures_parse_in_any_order_and_case() {
        let body = br#"{"eventId":"e1"}"#;
        let a = sign_event("k1", &SecretString::from("one".to_owned()), body);
        let b = sign_event("k2", &SecretString::from("two".to_owned()), body).to_uppercase();
        let header = format!("{b}, junk, x/MD5/00, {a}");
        let parsed = parse_event_signatures(&header);
        assert_eq!(parsed.iter().map(|s| s.key_id.as_str()).collect::<Vec<_>>(), ["K2", "k1"]);
        let v = WorldpayWebhookVerifier::new(vec![secret("k1", "one")]);
        assert!(v.signed(&header, body));
        assert!(!v.signed(&header, b"tampered"));
        assert!(!WorldpayWebhookVerifier::new(vec![secret("k1", "other")]).signed(&header, body));
        assert!(!format!("{v:?}").contains("one\""), "{v:?}");
    }

    proptest! {
        #[test]
        fn parsing_any_header_never_panics(s in ".{0,200}") {
            let _ = parse_event_signatures(&s);
        }
    }

    #[test]
    fn basic_round_trip() {
        let v = basic_auth("user", &SecretString::from("pa:ss".to_owned()));
        assert!(v.is_sensitive());
        assert_eq!(credentials(v.to_str().unwrap()), Some(("user".to_owned(), "pa:ss".to_owned())));
        assert_eq!(credentials("Basic !!"), None);
    }
}
