//! `JustapConfig`: API key, app, base URL and the RSA keys (parsed once, never printed).

use std::fmt;
use std::sync::Arc;

use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::NAME;

/// Justap's API host (test or live is decided by the API key); paths below it are `/v1/…`.
pub const DEFAULT_BASE_URL: &str = "https://trade.justap.cn";

/// The settings Justap takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "api_key", doc: "the API key sent as X-Justap-Api-Key", required: true },
    ConfigKey { name: "app_id", doc: "the app the key belongs to", required: true },
    ConfigKey {
        name: "private_key_path",
        doc: "merchant RSA key (PEM, PKCS#8 or PKCS#1) that signs requests",
        required: true,
    },
    ConfigKey { name: "private_key", doc: "the same key as PEM text, instead of a file", required: false },
    ConfigKey { name: "platform_public_key_path", doc: "Justap's RSA public key (PEM), for webhooks", required: false },
    ConfigKey { name: "platform_public_key", doc: "the same key as PEM text, instead of a file", required: false },
    ConfigKey {
        name: "webhook_accept_unencrypted",
        doc: "take notifications that are not encrypted (nothing authenticates them; default false)",
        required: false,
    },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] = &[
    "api_key",
    "app_id",
    "private_key_path",
    "private_key",
    "platform_public_key_path",
    "platform_public_key",
    "webhook_accept_unencrypted",
];

/// How to reach Justap.
#[derive(Clone)]
pub struct JustapConfig {
    /// The API key.
    pub api_key: SecretString,
    /// The app (the key's app must match it).
    pub app_id: String,
    /// `https://trade.justap.cn` or a mock.
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// The merchant key that signs every request (Justap requires signatures).
    pub private_key: Arc<RsaPrivateKey>,
    /// Justap's public key, for webhooks.
    pub platform_public_key: Option<RsaPublicKey>,
}

fn header_safe(text: &str) -> bool {
    !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic())
}

impl JustapConfig {
    /// A config for the real API.
    pub fn new(api_key: &str, app_id: &str, private_key: Arc<RsaPrivateKey>) -> Result<JustapConfig> {
        let config = JustapConfig {
            api_key: SecretString::from(api_key.to_owned()),
            app_id: app_id.to_owned(),
            base_url: url::Url::parse(DEFAULT_BASE_URL).map_err(|e| Error::config(e.to_string()))?,
            mode: Mode::Live,
            private_key,
            platform_public_key: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Points at another base URL.
    pub fn with_base_url(mut self, url: &str) -> Result<JustapConfig> {
        self.base_url = ProviderSettings::new(NAME).with("base_url", url).base_url(DEFAULT_BASE_URL)?;
        Ok(self)
    }

    /// Reads `[justap]` settings (`PAYMENT_JUSTAP_*`); key files are read and parsed here, once.
    pub fn from_settings(settings: &ProviderSettings) -> Result<JustapConfig> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        settings.require_all(&["api_key", "app_id", "private_key_path"])?;
        let private_key = settings.rsa_private_key("private_key")?.ok_or_else(|| {
            Error::config(format!("justap signs every request: set {}", settings.describe_key("private_key_path")))
        })?;
        let platform_public_key = platform_public_key(settings)?;
        let config = JustapConfig {
            api_key: settings.secret("api_key")?,
            app_id: settings.require("app_id")?.to_owned(),
            base_url: settings.base_url(DEFAULT_BASE_URL)?,
            mode,
            private_key: Arc::new(private_key),
            platform_public_key,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_JUSTAP_*` from the environment.
    pub fn from_env() -> Result<JustapConfig> {
        JustapConfig::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    fn validate(&self) -> Result<()> {
        if !header_safe(self.api_key.expose_secret()) {
            return Err(Error::config("justap api_key must be 1 to 128 visible ASCII characters"));
        }
        if !header_safe(&self.app_id) || self.app_id.len() > 64 {
            return Err(Error::config(format!(
                "justap app_id {:?} must be 1 to 64 visible ASCII characters",
                self.app_id
            )));
        }
        Ok(())
    }

    /// Whether this looks like a test key (`sk_test_…` or `TEST_…`).
    pub fn is_test_mode(&self) -> bool {
        let key = self.api_key.expose_secret();
        key.starts_with("sk_test_") || key.starts_with("TEST_")
    }
}

impl fmt::Debug for JustapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JustapConfig")
            .field("api_key", &"[redacted]")
            .field("app_id", &self.app_id)
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("private_key", &self.private_key)
            .field("verifies_webhooks", &self.platform_public_key.is_some())
            .finish()
    }
}

/// Justap's public key from `platform_public_key_path` or `platform_public_key` (PEM), if set.
pub fn platform_public_key(settings: &ProviderSettings) -> Result<Option<RsaPublicKey>> {
    settings.rsa_public_key("platform_public_key")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../tests/fixtures/merchant_private.pem");

    #[test]
    fn settings_are_checked_and_secrets_never_printed() {
        let base = ProviderSettings::new("justap")
            .with("api_key", "sk_test_TopSecretKey99")
            .with("app_id", "app_demo")
            .with("private_key", PEM);
        let c = JustapConfig::from_settings(&base).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("TopSecret") && !shown.contains("BEGIN"), "{shown}");
        assert!(c.is_test_mode());
        let e = JustapConfig::from_settings(&ProviderSettings::new("justap").with("api_key", "k").with("app_id", "a"))
            .unwrap_err();
        assert!(e.message().contains("PAYMENT_JUSTAP_PRIVATE_KEY_PATH"), "{e}");
        let missing = ProviderSettings::new("justap").with("app_id", "a").with("private_key", PEM);
        assert!(JustapConfig::from_settings(&missing).unwrap_err().message().contains("PAYMENT_JUSTAP_API_KEY"));
        let bad_path = base.clone().with("private_key_path", "/nonexistent.pem");
        assert!(JustapConfig::from_settings(&bad_path).is_err(), "both a path and a PEM");
        let typo = base.clone().with("apikey", "x");
        assert!(JustapConfig::from_settings(&typo).unwrap_err().message().contains("apikey"));
        let spaces = base.with("api_key", "has space");
        assert!(!JustapConfig::from_settings(&spaces).unwrap_err().message().contains("has space"));
    }
}
