//! Authentication (the secret key as Bearer or Basic) and webhook verification (the static
//! `X-Payjp-Webhook-Token`, compared in constant time, as v1 and PAY.JP's v2 sample do).

use payment_core::{Error, Result, WebhookEvent, WebhookVerifier};
use secrecy::{ExposeSecret, SecretString};

pub use payment_payjp::signing::{WEBHOOK_TOKEN_HEADER, webhook_headers};

use crate::config::AuthScheme;
use crate::mapping;
use crate::wire::Event;

/// The `Authorization` value for `secret_key` under `scheme`, marked sensitive.
pub fn authorization(secret_key: &SecretString, scheme: AuthScheme) -> http::HeaderValue {
    match scheme {
        AuthScheme::Basic => payment_payjp::signing::basic_auth(secret_key),
        AuthScheme::Bearer => {
            let mut value = http::HeaderValue::from_str(&format!("Bearer {}", secret_key.expose_secret()))
                .unwrap_or_else(|_| http::HeaderValue::from_static("Bearer"));
            value.set_sensitive(true);
            value
        }
    }
}

/// The secret key from a `Bearer` or `Basic` header (for the mock).
pub fn key_from_header(header: &str) -> Option<String> {
    match header.strip_prefix("Bearer ") {
        Some(key) => Some(key.trim().to_owned()),
        None => payment_payjp::signing::key_from_basic(header),
    }
}

/// Verifies PAY.JP v2 webhooks by their token; read the flow back before trusting amounts (the
/// token does not cover the body).
pub struct PayjpV2WebhookVerifier {
    token: SecretString,
}

impl PayjpV2WebhookVerifier {
    /// A verifier for the account's webhook token.
    pub fn new(token: SecretString) -> PayjpV2WebhookVerifier {
        PayjpV2WebhookVerifier { token }
    }
}

impl WebhookVerifier for PayjpV2WebhookVerifier {
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        payment_payjp::signing::check_webhook_token(headers, &self.token, crate::NAME)?;
        let event: Event = serde_json::from_slice(body)
            .map_err(|e| Error::decode("the PAY.JP v2 event", e).with_provider(crate::NAME))?;
        let mut verified = mapping::event(&event).map_err(|e| e.with_provider(crate::NAME))?;
        // What was sent, fields this library does not model included; the flow's
        // `client_secret` is not kept (PAY.JP: never stored or logged).
        if let Ok(mut raw) = serde_json::from_slice::<serde_json::Value>(body) {
            if let Some(data) = raw.get_mut("data") {
                *data = mapping::without_secret(data.take()).to_value();
            }
            verified.raw = raw;
        }
        Ok(verified)
    }
}

/// The driver's webhook verifier: the `webhook_token` setting.
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn WebhookVerifier>> {
    match settings.optional_secret("webhook_token") {
        Some(token) if !token.expose_secret().is_empty() => Ok(Box::new(PayjpV2WebhookVerifier::new(token))),
        _ => Err(Error::config(format!("payjp-v2 webhooks need {}", settings.describe_key("webhook_token")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::ErrorKind;

    #[test]
    fn both_schemes_carry_the_key_and_are_sensitive() {
        let key = SecretString::from("sk_test_abc".to_owned());
        let bearer = authorization(&key, AuthScheme::Bearer);
        assert_eq!(bearer.to_str().unwrap(), "Bearer sk_test_abc");
        assert!(bearer.is_sensitive());
        let basic = authorization(&key, AuthScheme::Basic);
        assert_eq!(basic.to_str().unwrap(), "Basic c2tfdGVzdF9hYmM6");
        for h in [bearer, basic] {
            assert_eq!(key_from_header(h.to_str().unwrap()).as_deref(), Some("sk_test_abc"));
        }
        assert_eq!(key_from_header("Digest x"), None);
    }

    #[test]
    fn the_token_must_match_and_data_is_the_object_itself() {
        let v = PayjpV2WebhookVerifier::new(SecretString::from("whook_secret".to_owned()));
        let body = br#"{"object":"event","id":"evnt_1","livemode":false,"type":"payment_flow.succeeded","pending_webhooks":1,
            "data":{"object":"payment_flow","id":"pfw_1","livemode":false,"amount":1000,"currency":"jpy","client_secret":"pfw_1_secret_zz9",
            "payment_method_types":["card"],"status":"succeeded","redirect_options":{"include_client_secret":true},
            "capture_method":"automatic","amount_received":1000,"metadata":{"payment_reference":"o-9"},
            "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},
            "created_at":"2026-01-01T00:00:01Z","updated_at":"2026-01-01T00:00:01Z"}"#;
        let mut h = http::HeaderMap::new();
        assert_eq!(v.verify(&h, body).unwrap_err().kind(), ErrorKind::Authentication);
        h.insert(WEBHOOK_TOKEN_HEADER, "whook_wrong".parse().unwrap());
        assert_eq!(v.verify(&h, body).unwrap_err().kind(), ErrorKind::Authentication);
        let token = SecretString::from("whook_secret".to_owned());
        let event = v.verify(&webhook_headers(&token).unwrap(), body).unwrap();
        assert_eq!(event.kind, payment_core::EventKind::ChargeSucceeded);
        assert_eq!((event.object_id.as_deref(), event.reference.as_deref()), (Some("pfw_1"), Some("o-9")));
        assert_eq!(event.trust, payment_core::Trust::SenderOnly);
        // The flow's client_secret is in no part of the event kept.
        assert!(!format!("{event:?}").contains("secret_zz9"), "{event:?}");
        assert_eq!(event.raw["data"]["client_secret"], mapping::SECRET_REMOVED);
        assert!(v.verify(&webhook_headers(&token).unwrap(), b"not json").is_err());
    }

    #[test]
    fn the_driver_builds_a_verifier_only_with_a_token() {
        let none = webhook_verifier(&payment_core::ProviderSettings::new(crate::NAME)).err().unwrap();
        assert!(none.message().contains("PAYMENT_PAYJP_V2_WEBHOOK_TOKEN"), "{none}");
        let s = payment_core::ProviderSettings::new(crate::NAME).with("webhook_token", "whook_x");
        assert!(webhook_verifier(&s).is_ok());
    }
}
