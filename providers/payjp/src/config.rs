//! `PayjpConfig`: the secret key, base URL and mode; secrets never printed.

use std::fmt;

use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::NAME;

/// PAY.JP's API host; test or live is chosen by the key.
pub const DEFAULT_BASE_URL: &str = "https://api.pay.jp";

/// The settings PAY.JP takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "secret_key", doc: "API secret key, sk_test_… or sk_live_…", required: true },
    ConfigKey { name: "webhook_token", doc: "the webhook token (whook_…) deliveries carry", required: false },
    ConfigKey {
        name: "public_key",
        doc: "public key, pk_test_… or pk_live_…: names the account on 3-D Secure redirects",
        required: false,
    },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] = &["secret_key", "webhook_token", "public_key"];

/// Checks a PAY.JP secret key's form (the same keys serve v1 and v2): `sk_test_…` or
/// `sk_live_…`, and never a public key; `provider` names the setting's owner in the message.
pub fn check_secret_key(key: &SecretString, provider: &str) -> Result<()> {
    let key = key.expose_secret();
    if key.starts_with("pk_") {
        return Err(Error::config(format!("{provider} secret_key is a public key (pk_…); use the secret key (sk_…)")));
    }
    if !(key.starts_with("sk_test_") || key.starts_with("sk_live_")) {
        return Err(Error::config(format!("{provider} secret_key must start with sk_test_ or sk_live_")));
    }
    Ok(())
}

/// How to reach PAY.JP.
#[derive(Clone)]
pub struct PayjpConfig {
    /// `sk_test_…` or `sk_live_…`.
    pub secret_key: SecretString,
    /// `https://api.pay.jp` or a mock's URL (paths below it are `/v1/…`).
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// The webhook token (`whook_…`) to verify deliveries with.
    pub webhook_token: Option<SecretString>,
    /// The public key (`pk_…`) the 3-D Secure redirect names the account by.
    pub public_key: Option<String>,
}

impl PayjpConfig {
    /// A config for `secret_key` against the real API.
    pub fn new(secret_key: &str) -> Result<PayjpConfig> {
        let config = PayjpConfig {
            secret_key: SecretString::from(secret_key.to_owned()),
            base_url: url::Url::parse(DEFAULT_BASE_URL).map_err(|e| Error::config(e.to_string()))?,
            mode: Mode::Live,
            webhook_token: None,
            public_key: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Points at another base URL (a mock, a proxy).
    pub fn with_base_url(mut self, url: &str) -> Result<PayjpConfig> {
        self.base_url = ProviderSettings::new(NAME).with("base_url", url).base_url(DEFAULT_BASE_URL)?;
        Ok(self)
    }

    /// Sets the public key (`pk_…`) for 3-D Secure redirects.
    pub fn with_public_key(mut self, public_key: &str) -> Result<PayjpConfig> {
        self.public_key = Some(public_key.to_owned());
        self.validate()?;
        Ok(self)
    }

    /// Reads `[payjp]` settings (`PAYMENT_PAYJP_*`).
    pub fn from_settings(settings: &ProviderSettings) -> Result<PayjpConfig> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        let secret_key = match (settings.optional_secret("secret_key"), mode) {
            (Some(k), _) => k,
            // The embedded mock accepts any test key; give one so mock mode needs no setup.
            (None, Mode::Mock) => SecretString::from("sk_test_embedded_mock".to_owned()),
            (None, Mode::Live) => settings.secret("secret_key")?,
        };
        let config = PayjpConfig {
            secret_key,
            base_url: settings.base_url(DEFAULT_BASE_URL)?,
            mode,
            webhook_token: settings.optional_secret("webhook_token"),
            public_key: match (settings.get("public_key"), mode) {
                (Some(k), _) => Some(k.to_owned()),
                (None, Mode::Mock) => Some("pk_test_embedded_mock".to_owned()),
                (None, Mode::Live) => None,
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_PAYJP_*` from the environment.
    pub fn from_env() -> Result<PayjpConfig> {
        PayjpConfig::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    fn validate(&self) -> Result<()> {
        check_secret_key(&self.secret_key, NAME)?;
        if let Some(public) = &self.public_key {
            if public.starts_with("sk_") {
                return Err(Error::config("payjp public_key is a secret key (sk_…); use the public key (pk_…)"));
            }
            let test = public.starts_with("pk_test_");
            if !test && !public.starts_with("pk_live_") {
                return Err(Error::config("payjp public_key must start with pk_test_ or pk_live_"));
            }
            if test != self.is_test_mode() {
                return Err(Error::config("payjp public_key and secret_key are not both test or both live keys"));
            }
        }
        Ok(())
    }

    /// Whether this is a test-mode key.
    pub fn is_test_mode(&self) -> bool {
        self.secret_key.expose_secret().starts_with("sk_test_")
    }
}

impl fmt::Debug for PayjpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayjpConfig")
            .field("secret_key", &if self.is_test_mode() { "sk_test_[redacted]" } else { "sk_live_[redacted]" })
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("webhook_token", &self.webhook_token.as_ref().map(|_| "[redacted]"))
            .field("public_key", &self.public_key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_never_printed() {
        let c = PayjpConfig::new("sk_test_c0ffee_secret_part").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("c0ffee"), "{shown}");
        assert!(c.is_test_mode());
        assert!(PayjpConfig::new("pk_test_x").unwrap_err().message().contains("public key"));
        assert!(PayjpConfig::new("secret").is_err());
    }

    #[test]
    fn settings_name_the_missing_key() {
        let e = PayjpConfig::from_settings(&ProviderSettings::new("payjp")).unwrap_err();
        assert!(e.message().contains("PAYMENT_PAYJP_SECRET_KEY"), "{e}");
        let mock = PayjpConfig::from_settings(&ProviderSettings::new("payjp").with("mode", "mock")).unwrap();
        assert_eq!(mock.mode, Mode::Mock);
        let typo = ProviderSettings::new("payjp").with("secretkey", "x");
        assert!(PayjpConfig::from_settings(&typo).unwrap_err().message().contains("secretkey"));
    }
}
