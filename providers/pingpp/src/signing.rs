//! Request signatures (`Pingplusplus-Signature`: RSA PKCS#1 v1.5 SHA-256 over body + path-with-query
//! + timestamp, base64) and webhook verification (`X-Pingplusplus-Signature` over the raw body).

use base64::Engine as _;
use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{Error, ErrorKind, Result, WebhookEvent, WebhookVerifier};

use crate::mapping;
use crate::wire::Event;

/// The request timestamp header (always sent).
pub const TIMESTAMP_HEADER: &str = "Pingplusplus-Request-Timestamp";
/// The request signature header (sent when a merchant key is configured).
pub const SIGNATURE_HEADER: &str = "Pingplusplus-Signature";
/// The webhook signature header.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "x-pingplusplus-signature";

/// The exact bytes that are signed: body, then the URI as sent (path with `/v1` and the query), then the timestamp.
pub fn string_to_sign(body: &[u8], path_and_query: &str, timestamp: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(body.len() + path_and_query.len() + timestamp.len());
    message.extend_from_slice(body);
    message.extend_from_slice(path_and_query.as_bytes());
    message.extend_from_slice(timestamp.as_bytes());
    message
}

/// Signs a request; the result goes in `Pingplusplus-Signature`.
pub fn sign_request(key: &RsaPrivateKey, body: &[u8], path_and_query: &str, timestamp: &str) -> Result<String> {
    let signature = key.sign_pkcs1_sha256(&string_to_sign(body, path_and_query, timestamp))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

/// Decodes a base64 signature, tolerating missing padding (as Ping++'s own demo does).
pub fn decode_signature(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed).ok()
}

/// Checks a request signature (for the mock).
pub fn verify_request(key: &RsaPublicKey, body: &[u8], path_and_query: &str, timestamp: &str, signature: &str) -> bool {
    decode_signature(signature)
        .is_some_and(|sig| key.verify_pkcs1_sha256(&string_to_sign(body, path_and_query, timestamp), &sig))
}

/// Verifies Ping++ webhooks with the Ping++ public key, then parses them.
pub struct PingppWebhookVerifier {
    key: RsaPublicKey,
}

impl PingppWebhookVerifier {
    /// A verifier for Ping++'s public key (PEM `PUBLIC KEY` from the dashboard).
    pub fn new(key: RsaPublicKey) -> PingppWebhookVerifier {
        PingppWebhookVerifier { key }
    }
}

impl WebhookVerifier for PingppWebhookVerifier {
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        let bad = |why: &str| {
            Error::new(ErrorKind::Authentication, format!("webhook signature {why}")).with_provider(crate::NAME)
        };
        let header =
            headers.get(WEBHOOK_SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(|| bad("missing"))?;
        let signature = decode_signature(header).ok_or_else(|| bad("is not base64"))?;
        if !self.key.verify_pkcs1_sha256(body, &signature) {
            return Err(bad("does not match the body"));
        }
        let event: Event = serde_json::from_slice(body)
            .map_err(|e| Error::decode("the Ping++ event", e).with_provider(crate::NAME))?;
        let mut event = mapping::event(event)?;
        // Exactly what was sent, fields this library does not model included.
        if let Ok(raw) = serde_json::from_slice(body) {
            event.raw = raw;
        }
        Ok(event)
    }
}

/// The `X-Pingplusplus-Signature` of a webhook body under Ping++'s private key (the mock's, or a
/// test's): so an application can test its handler with events signed the provider's way.
pub fn sign_webhook(key: &RsaPrivateKey, body: &[u8]) -> Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(key.sign_pkcs1_sha256(body)?))
}

/// The driver's webhook verifier: Ping++'s public key (`platform_public_key_path`).
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn WebhookVerifier>> {
    match crate::config::platform_public_key(settings)? {
        Some(key) => Ok(Box::new(PingppWebhookVerifier::new(key))),
        None => {
            Err(Error::config(format!("pingpp webhooks need {}", settings.describe_key("platform_public_key_path"))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_is_body_uri_timestamp() {
        let s = string_to_sign(b"{\"a\":1}", "/v1/charges?app%5Bid%5D=app_x&limit=3", "1723795492");
        assert_eq!(
            s,
            b"{\"a\":1}/v1/charges?app%5Bid%5D=app_x&limit=3".iter().chain(b"1723795492").copied().collect::<Vec<u8>>()
        );
    }

    #[test]
    fn requests_verify_and_tampering_fails() {
        let key = RsaPrivateKey::generate().unwrap();
        let public = key.public_key().unwrap();
        let sig = sign_request(&key, b"{\"amount\":100}", "/v1/charges", "1700000000").unwrap();
        assert!(verify_request(&public, b"{\"amount\":100}", "/v1/charges", "1700000000", &sig));
        assert!(verify_request(&public, b"{\"amount\":100}", "/v1/charges", "1700000000", sig.trim_end_matches('=')));
        assert!(!verify_request(&public, b"{\"amount\":101}", "/v1/charges", "1700000000", &sig), "tampered body");
        assert!(!verify_request(&public, b"{\"amount\":100}", "/v1/refunds", "1700000000", &sig), "wrong path");
        assert!(!verify_request(&public, b"{\"amount\":100}", "/v1/charges", "1700000001", &sig), "other timestamp");
        assert!(!verify_request(&public, b"{\"amount\":100}", "/v1/charges", "1700000000", "!!"), "garbage");
    }

    /// A fixed key and message: PKCS#1 v1.5 is deterministic, so the signature is a stable vector.
    #[test]
    fn known_vector() {
        let key = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/merchant_private.pem")).unwrap();
        let sig = sign_request(&key, b"{\"order_no\":\"123456789\"}", "/v1/charges", "1409634160").unwrap();
        assert_eq!(sig, include_str!("../tests/fixtures/known_signature.txt").trim());
        let public = RsaPublicKey::from_pem(include_str!("../tests/fixtures/merchant_public.pem")).unwrap();
        assert!(verify_request(&public, b"{\"order_no\":\"123456789\"}", "/v1/charges", "1409634160", &sig));
        let pkcs1 = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/merchant_private_pkcs1.pem")).unwrap();
        assert_eq!(sign_request(&pkcs1, b"{\"order_no\":\"123456789\"}", "/v1/charges", "1409634160").unwrap(), sig);
    }

    #[test]
    fn a_webhook_signed_by_the_helper_verifies_and_tampering_fails() {
        let key = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/merchant_private.pem")).unwrap();
        let public = RsaPublicKey::from_pem(include_str!("../tests/fixtures/merchant_public.pem")).unwrap();
        let body = include_bytes!("../tests/fixtures/event.json");
        let mut h = http::HeaderMap::new();
        h.insert(WEBHOOK_SIGNATURE_HEADER, sign_webhook(&key, body).unwrap().parse().unwrap());
        let v = PingppWebhookVerifier::new(public);
        let event = v.verify(&h, body).unwrap();
        assert_eq!(event.trust, payment_core::Trust::Verified);
        assert_eq!(event.raw, serde_json::from_slice::<serde_json::Value>(body).unwrap(), "the body as sent");
        let mut tampered = body.to_vec();
        let at = tampered.iter().position(|b| b.is_ascii_digit()).unwrap();
        tampered[at] = if tampered[at] == b'9' { b'8' } else { b'9' };
        assert_eq!(v.verify(&h, &tampered).unwrap_err().kind(), ErrorKind::Authentication);
        assert_eq!(v.verify(&http::HeaderMap::new(), body).unwrap_err().kind(), ErrorKind::Authentication);
        let stranger = PingppWebhookVerifier::new(RsaPrivateKey::generate().unwrap().public_key().unwrap());
        assert_eq!(stranger.verify(&h, body).unwrap_err().kind(), ErrorKind::Authentication, "a wrong key");
        let none = webhook_verifier(&payment_core::ProviderSettings::new("pingpp")).err().unwrap();
        assert!(none.message().contains("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH"), "{none}");
    }
}
