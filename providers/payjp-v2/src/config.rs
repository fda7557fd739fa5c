//! `PayjpV2Config`: the secret key, how it is sent (Bearer or Basic), the base URL and mode;
//! secrets never printed.

use std::fmt;

use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::NAME;

/// PAY.JP's API host; every v2 path starts with `/v2/`, and test or live is chosen by the key.
pub const DEFAULT_BASE_URL: &str = "https://api.pay.jp";

/// The settings PAY.JP v2 takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "secret_key", doc: "API secret key, sk_test_… or sk_live_… (the v1 keys)", required: true },
    ConfigKey { name: "webhook_token", doc: "the webhook token deliveries carry in X-Payjp-Webhook-Token", required: false },
    ConfigKey { name: "auth", doc: "how the key is sent: bearer (default) or basic", required: false },
    ConfigKey {
        name: "registration_email",
        doc: "test mode: the email a card is registered with when its charge names no email or phone (PAY.JP v2 requires one)",
        required: false,
    },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] = &["secret_key", "webhook_token", "auth", "registration_email"];

/// How the secret key goes in `Authorization` (PAY.JP v2 accepts both on every operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// `Bearer sk_…`, as PAY.JP's v2 documentation shows it.
    #[default]
    Bearer,
    /// `Basic base64("sk_…:")`, as v1 and PAY.JP's v2 sample do.
    Basic,
}

/// How to reach PAY.JP v2.
#[derive(Clone)]
pub struct PayjpV2Config {
    /// `sk_test_…` or `sk_live_…`.
    pub secret_key: SecretString,
    /// `https://api.pay.jp` or a mock's URL (paths below it are `/v2/…`).
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// The webhook token to verify deliveries with.
    pub webhook_token: Option<SecretString>,
    /// Bearer or Basic.
    pub auth: AuthScheme,
    /// Test mode: the email a card is registered with when its charge names no email or phone,
    /// so calling code written for v1 (a card and nothing else) runs unchanged.
    pub registration_email: Option<String>,
}

impl PayjpV2Config {
    /// A config for `secret_key` against the real API.
    pub fn new(secret_key: &str) -> Result<PayjpV2Config> {
        let config = PayjpV2Config {
            secret_key: SecretString::from(secret_key.to_owned()),
            base_url: url::Url::parse(DEFAULT_BASE_URL).map_err(|e| Error::config(e.to_string()))?,
            mode: Mode::Live,
            webhook_token: None,
            auth: AuthScheme::Bearer,
            registration_email: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Points at another base URL (a mock, a proxy).
    pub fn with_base_url(mut self, url: &str) -> Result<PayjpV2Config> {
        self.base_url = ProviderSettings::new(NAME).with("base_url", url).base_url(DEFAULT_BASE_URL)?;
        Ok(self)
    }

    /// Sends the key as `scheme` says.
    pub fn with_auth(mut self, scheme: AuthScheme) -> PayjpV2Config {
        self.auth = scheme;
        self
    }

    /// Registers test cards whose charge names no contact with `email`.
    pub fn with_registration_email(mut self, email: &str) -> Result<PayjpV2Config> {
        self.registration_email = Some(email.to_owned());
        self.validate()?;
        Ok(self)
    }

    /// Reads `[payjp-v2]` settings (`PAYMENT_PAYJP_V2_*`).
    pub fn from_settings(settings: &ProviderSettings) -> Result<PayjpV2Config> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        let secret_key = match (settings.optional_secret("secret_key"), mode) {
            (Some(k), _) => k,
            // The embedded mock accepts any test key; give one so mock mode needs no setup.
            (None, Mode::Mock) => SecretString::from("sk_test_embedded_mock".to_owned()),
            (None, Mode::Live) => settings.secret("secret_key")?,
        };
        let auth = match settings.get("auth").map(str::to_ascii_lowercase).as_deref() {
            None | Some("bearer") => AuthScheme::Bearer,
            Some("basic") => AuthScheme::Basic,
            Some(other) => {
                return Err(Error::config(format!(
                    "{} must be bearer or basic, got {other:?}",
                    settings.describe_key("auth")
                )));
            }
        };
        let config = PayjpV2Config {
            secret_key,
            base_url: settings.base_url(DEFAULT_BASE_URL)?,
            mode,
            webhook_token: settings.optional_secret("webhook_token"),
            auth,
            registration_email: match (settings.get("registration_email"), mode) {
                (Some(e), _) => Some(e.to_owned()),
                // The embedded mock is test mode: cards register as they would in PAY.JP's.
                (None, Mode::Mock) => Some("test-cards@example.com".to_owned()),
                (None, Mode::Live) => None,
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_PAYJP_V2_*` from the environment.
    pub fn from_env() -> Result<PayjpV2Config> {
        PayjpV2Config::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    fn validate(&self) -> Result<()> {
        payment_payjp::config::check_secret_key(&self.secret_key, NAME)?;
        if let Some(email) = &self.registration_email
            && (email.len() > 255 || !email.contains('@'))
        {
            return Err(Error::config(format!("payjp-v2 registration_email is not an email address: {email:?}")));
        }
        Ok(())
    }

    /// Whether this is a test-mode key (cards can be registered from the server only in test mode).
    pub fn is_test_mode(&self) -> bool {
        self.secret_key.expose_secret().starts_with("sk_test_")
    }
}

impl fmt::Debug for PayjpV2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayjpV2Config")
            .field("secret_key", &if self.is_test_mode() { "sk_test_[redacted]" } else { "sk_live_[redacted]" })
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("webhook_token", &self.webhook_token.as_ref().map(|_| "[redacted]"))
            .field("auth", &self.auth)
            .field("registration_email", &self.registration_email)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_never_printed() {
        let c = PayjpV2Config::new("sk_test_c0ffee_secret_part").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("c0ffee"), "{shown}");
        assert!(c.is_test_mode());
        assert!(PayjpV2Config::new("pk_test_x").unwrap_err().message().contains("public key"));
        assert!(PayjpV2Config::new("secret").is_err());
    }

    #[test]
    fn settings_name_the_missing_key_and_the_scheme() {
        let e = PayjpV2Config::from_settings(&ProviderSettings::new(NAME)).unwrap_err();
        assert!(e.message().contains("PAYMENT_PAYJP_V2_SECRET_KEY"), "{e}");
        let mock = PayjpV2Config::from_settings(&ProviderSettings::new(NAME).with("mode", "mock")).unwrap();
        assert_eq!((mock.mode, mock.auth), (Mode::Mock, AuthScheme::Bearer));
        let basic = ProviderSettings::new(NAME).with("mode", "mock").with("auth", "Basic");
        assert_eq!(PayjpV2Config::from_settings(&basic).unwrap().auth, AuthScheme::Basic);
        let bad = ProviderSettings::new(NAME).with("mode", "mock").with("auth", "digest");
        let e = PayjpV2Config::from_settings(&bad).unwrap_err();
        assert!(e.message().contains("bearer or basic") && e.message().contains("digest"), "{e}");
        let typo = ProviderSettings::new(NAME).with("secretkey", "x");
        assert!(PayjpV2Config::from_settings(&typo).unwrap_err().message().contains("secretkey"));
    }
}
