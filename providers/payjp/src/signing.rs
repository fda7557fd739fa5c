//! Authentication (HTTP Basic with the secret key) and webhook verification (the static
//! `X-Payjp-Webhook-Token`, compared in constant time).

use base64::Engine as _;
use payment_core::webhook::constant_time_eq;
use payment_core::{Error, ErrorKind, Result, WebhookEvent, WebhookVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::mapping;
use crate::wire::Event;

/// `Basic base64("sk_…:")`: the key is the username, the password is empty.
pub fn basic_auth(secret_key: &SecretString) -> http::HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{}:", secret_key.expose_secret()));
    let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}"))
        .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// The secret key from a `Basic` header (for the mock).
pub fn key_from_basic(header: &str) -> Option<String> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':').map(|(user, _)| user).unwrap_or(&text).to_owned())
}

/// The header PAY.JP puts its webhook token in.
pub const WEBHOOK_TOKEN_HEADER: &str = "x-payjp-webhook-token";

/// Verifies PAY.JP webhooks by their token; re-fetch the object before trusting amounts (the token
/// does not cover the body).
pub struct PayjpWebhookVerifier {
    token: SecretString,
}

impl PayjpWebhookVerifier {
    /// A verifier for the account's `whook_…` token.
    pub fn new(token: SecretString) -> PayjpWebhookVerifier {
        PayjpWebhookVerifier { token }
    }
}

/// Whether a delivery's `X-Payjp-Webhook-Token` is `token`, compared in constant time (the
/// same scheme for PAY.JP's v1 and v2 APIs); `provider` names who refuses it.
pub fn check_webhook_token(headers: &http::HeaderMap, token: &SecretString, provider: &'static str) -> Result<()> {
    let given = headers.get(WEBHOOK_TOKEN_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !constant_time_eq(given, token.expose_secret().as_bytes()) {
        return Err(Error::new(ErrorKind::Authentication, "webhook token missing or wrong").with_provider(provider));
    }
    Ok(())
}

impl WebhookVerifier for PayjpWebhookVerifier {
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        check_webhook_token(headers, &self.token, crate::NAME)?;
        let event: Event = serde_json::from_slice(body)
            .map_err(|e| Error::decode("the PAY.JP event", e).with_provider(crate::NAME))?;
        let mut event = mapping::event(event)?;
        // Exactly what was sent, fields this library does not model included.
        if let Ok(raw) = serde_json::from_slice(body) {
            event.raw = raw;
        }
        Ok(event)
    }
}

/// The headers PAY.JP sends a webhook with: its token and JSON (for testing handlers).
pub fn webhook_headers(token: &SecretString) -> Result<http::HeaderMap> {
    let mut headers = http::HeaderMap::new();
    let mut value = http::HeaderValue::from_str(token.expose_secret())
        .map_err(|_| Error::config("a webhook token has characters a header cannot carry"))?;
    value.set_sensitive(true);
    headers.insert(WEBHOOK_TOKEN_HEADER, value);
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(headers)
}

/// The driver's webhook verifier: the `webhook_token` setting.
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn WebhookVerifier>> {
    match settings.optional_secret("webhook_token") {
        Some(token) if !token.expose_secret().is_empty() => Ok(Box::new(PayjpWebhookVerifier::new(token))),
        _ => Err(Error::config(format!("payjp webhooks need {}", settings.describe_key("webhook_token")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_key_colon_and_sensitive() {
        let v = basic_auth(&SecretString::from("sk_test_abc".to_owned()));
        assert_eq!(v.to_str().unwrap(), "Basic c2tfdGVzdF9hYmM6");
        assert!(v.is_sensitive());
        assert_eq!(key_from_basic("Basic c2tfdGVzdF9hYmM6").as_deref(), Some("sk_test_abc"));
        assert_eq!(key_from_basic("Bearer x"), None);
        assert_eq!(key_from_basic("Basic !!!"), None);
    }

    #[test]
    fn webhook_token_must_match() {
        let v = PayjpWebhookVerifier::new(SecretString::from("whook_secret".to_owned()));
        let body = br#"{"id":"evnt_1","object":"event","livemode":false,"created":1442288882,"type":"charge.succeeded","pending_webhooks":1,
            "data":{"id":"ch_1","object":"charge","created":1442288882,"amount":1000,"currency":"jpy","paid":true,"captured":true}}"#;
        let mut h = http::HeaderMap::new();
        assert_eq!(v.verify(&h, body).unwrap_err().kind(), ErrorKind::Authentication);
        h.insert(WEBHOOK_TOKEN_HEADER, "whook_wrong".parse().unwrap());
        assert_eq!(v.verify(&h, body).unwrap_err().kind(), ErrorKind::Authentication);
        h.insert(WEBHOOK_TOKEN_HEADER, "whook_secret".parse().unwrap());
        let event = v.verify(&h, body).unwrap();
        assert_eq!(event.kind, payment_core::EventKind::ChargeSucceeded);
        assert!(v.verify(&h, b"not json").is_err());
        // The helper's headers are what the verifier takes, and the raw body is kept whole.
        let token = SecretString::from("whook_secret".to_owned());
        let helped = v.verify(&webhook_headers(&token).unwrap(), body).unwrap();
        assert_eq!(helped.raw["pending_webhooks"], 1);
        assert!(!format!("{:?}", webhook_headers(&token).unwrap()).contains("whook_secret"), "sensitive header");
    }

    #[test]
    fn the_driver_builds_a_verifier_only_with_a_token() {
        let none = webhook_verifier(&payment_core::ProviderSettings::new("payjp")).err().unwrap();
        assert!(none.message().contains("PAYMENT_PAYJP_WEBHOOK_TOKEN"), "{none}");
        let s = payment_core::ProviderSettings::new("payjp").with("webhook_token", "whook_x");
        assert!(webhook_verifier(&s).is_ok());
    }
}
