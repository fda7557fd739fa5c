//! `PingppConfig`: key, app, base URL, and the RSA keys (parsed once, never printed).

use std::fmt;
use std::sync::Arc;

use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::NAME;

/// Ping++'s API host; paths below it are `/v1/…`.
pub const DEFAULT_BASE_URL: &str = "https://api.pingxx.com";

/// The settings Ping++ takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "secret_key", doc: "API secret key, sk_test_… or sk_live_…", required: true },
    ConfigKey { name: "app_id", doc: "the app, app_ followed by 16 letters or digits", required: true },
    ConfigKey {
        name: "private_key_path",
        doc: "merchant RSA key (PEM, PKCS#8 or PKCS#1) that signs requests",
        required: false,
    },
    ConfigKey { name: "private_key", doc: "the same key as PEM text, instead of a file", required: false },
    ConfigKey {
        name: "platform_public_key_path",
        doc: "Ping++'s RSA public key (PEM) to verify webhooks",
        required: false,
    },
    ConfigKey { name: "platform_public_key", doc: "the same key as PEM text, instead of a file", required: false },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] =
    &["secret_key", "app_id", "private_key_path", "private_key", "platform_public_key_path", "platform_public_key"];

/// How to reach Ping++.
#[derive(Clone)]
pub struct PingppConfig {
    /// `sk_test_…` / `sk_live_…`.
    pub secret_key: SecretString,
    /// `app_` + 16 characters.
    pub app_id: String,
    /// `https://api.pingxx.com` or a mock.
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// The merchant key that signs requests (`Pingplusplus-Signature`), when configured.
    pub private_key: Option<Arc<RsaPrivateKey>>,
    /// Ping++'s public key, to verify webhooks.
    pub platform_public_key: Option<RsaPublicKey>,
}

/// Whether `id` has the documented form `app_` + 16 alphanumerics.
pub fn valid_app_id(id: &str) -> bool {
    id.strip_prefix("app_").is_some_and(|r| r.len() == 16 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl PingppConfig {
    /// A config for the real API.
    pub fn new(secret_key: &str, app_id: &str) -> Result<PingppConfig> {
        let config = PingppConfig {
            secret_key: SecretString::from(secret_key.to_owned()),
            app_id: app_id.to_owned(),
            base_url: url::Url::parse(DEFAULT_BASE_URL).map_err(|e| Error::config(e.to_string()))?,
            mode: Mode::Live,
            private_key: None,
            platform_public_key: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Points at another base URL.
    pub fn with_base_url(mut self, url: &str) -> Result<PingppConfig> {
        self.base_url = ProviderSettings::new(NAME).with("base_url", url).base_url(DEFAULT_BASE_URL)?;
        Ok(self)
    }

    /// Signs every request with this merchant key.
    pub fn with_private_key(mut self, key: Arc<RsaPrivateKey>) -> PingppConfig {
        self.private_key = Some(key);
        self
    }

    /// Verifies webhooks with this Ping++ public key.
    pub fn with_platform_public_key(mut self, key: RsaPublicKey) -> PingppConfig {
        self.platform_public_key = Some(key);
        self
    }

    /// Reads `[pingpp]` settings (`PAYMENT_PINGPP_*`); key files are read and parsed here, once.
    pub fn from_settings(settings: &ProviderSettings) -> Result<PingppConfig> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        let (secret_key, app_id) = match mode {
            // The embedded mock accepts any test key and well-formed app id.
            Mode::Mock => (
                settings
                    .optional_secret("secret_key")
                    .unwrap_or_else(|| SecretString::from("sk_test_embedded_mock".to_owned())),
                settings.get("app_id").unwrap_or("app_EmbeddedMock0001").to_owned(),
            ),
            Mode::Live => {
                settings.require_all(&["secret_key", "app_id"])?;
                (settings.secret("secret_key")?, settings.require("app_id")?.to_owned())
            }
        };
        let private_key = settings.rsa_private_key("private_key")?.map(Arc::new);
        let platform_public_key = platform_public_key(settings)?;
        let config = PingppConfig {
            secret_key,
            app_id,
            base_url: settings.base_url(DEFAULT_BASE_URL)?,
            mode,
            private_key,
            platform_public_key,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_PINGPP_*` from the environment.
    pub fn from_env() -> Result<PingppConfig> {
        PingppConfig::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    fn validate(&self) -> Result<()> {
        let key = self.secret_key.expose_secret();
        if !(key.starts_with("sk_test_") || key.starts_with("sk_live_")) {
            return Err(Error::config("pingpp secret_key must start with sk_test_ or sk_live_"));
        }
        if !valid_app_id(&self.app_id) {
            return Err(Error::config(format!(
                "pingpp app_id {:?} is not app_ followed by 16 letters or digits",
                self.app_id
            )));
        }
        Ok(())
    }

    /// Whether this is a test-mode key.
    pub fn is_test_mode(&self) -> bool {
        self.secret_key.expose_secret().starts_with("sk_test_")
    }
}

impl fmt::Debug for PingppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingppConfig")
            .field("secret_key", &if self.is_test_mode() { "sk_test_[redacted]" } else { "sk_live_[redacted]" })
            .field("app_id", &self.app_id)
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("signs_requests", &self.private_key.is_some())
            .field("verifies_webhooks", &self.platform_public_key.is_some())
            .finish()
    }
}

/// Ping++'s public key from `platform_public_key_path` or `platform_public_key` (PEM), if set.
pub fn platform_public_key(settings: &ProviderSettings) -> Result<Option<RsaPublicKey>> {
    settings.rsa_public_key("platform_public_key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys_are_checked_and_never_printed() {
        let c = PingppConfig::new("sk_test_abcsecretdef", "app_1Gqj58ynP0mHeX1q").unwrap();
        assert!(!format!("{c:?}").contains("abcsecret"));
        assert!(PingppConfig::new("sk_test_x", "app_short").is_err());
        assert!(PingppConfig::new("pk_test_x", "app_1Gqj58ynP0mHeX1q").is_err());
        let missing =
            PingppConfig::from_settings(&ProviderSettings::new("pingpp").with("secret_key", "sk_test_x")).unwrap_err();
        assert!(missing.message().contains("PAYMENT_PINGPP_APP_ID"), "{missing}");
        let bad_path =
            ProviderSettings::new("pingpp").with("mode", "mock").with("private_key_path", "/nonexistent/key.pem");
        assert!(
            PingppConfig::from_settings(&bad_path).unwrap_err().message().contains("PAYMENT_PINGPP_PRIVATE_KEY_PATH")
        );
    }
}
