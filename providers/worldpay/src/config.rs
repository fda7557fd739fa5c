//! `WorldpayConfig`: Basic-auth credentials, entity, base URL; the password is never printed.

use std::fmt;

use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::NAME;

/// The Try (test) environment.
pub const TRY_BASE_URL: &str = "https://try.access.worldpay.com";
/// The live environment.
pub const LIVE_BASE_URL: &str = "https://access.worldpay.com";

/// The settings Worldpay takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "username", doc: "Basic-auth user", required: true },
    ConfigKey { name: "password", doc: "Basic-auth password", required: true },
    ConfigKey { name: "entity", doc: "merchant.entity, 1 to 32 letters, digits or spaces", required: true },
    ConfigKey { name: "discovery", doc: "find the authorize link through GET / first (true/false)", required: false },
    ConfigKey {
        name: "webhook_secrets",
        doc: "event signature secrets, KEYID:SECRET pairs, comma-separated (several while keys rotate)",
        required: false,
    },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] = &["username", "password", "entity", "discovery", "webhook_secrets"];

/// One `Event-Signature` secret and the key id it is named by.
#[derive(Clone)]
pub struct WebhookSecret {
    /// The key id in `{keyId}/SHA256/{hex}`.
    pub key_id: String,
    /// The shared secret.
    pub secret: SecretString,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret({}, [redacted])", self.key_id)
    }
}

/// Parses `KEYID:SECRET,KEYID:SECRET`; a key id is not empty and has no `/`, `:` or `,`.
pub fn parse_webhook_secrets(text: &str) -> Result<Vec<WebhookSecret>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once(':') {
            Some((id, secret)) if !id.trim().is_empty() && !id.contains('/') && !secret.is_empty() => {
                Ok(WebhookSecret { key_id: id.trim().to_owned(), secret: SecretString::from(secret.to_owned()) })
            }
            _ => {
                let shown = pair.split_once(':').map_or("(no ':')", |(id, _)| id);
                Err(Error::config(format!(
                    "worldpay webhook_secrets takes KEYID:SECRET pairs, comma-separated; one reads {shown:?}…"
                )))
            }
        })
        .collect()
}

/// How to reach Worldpay.
#[derive(Clone)]
pub struct WorldpayConfig {
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: SecretString,
    /// `merchant.entity` (1..32 letters, digits, spaces).
    pub entity: String,
    /// Try, live, or a mock.
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// Find the authorize link through `GET /` first (Worldpay calls this optional).
    pub discovery: bool,
    /// `Event-Signature` secrets by key id (empty: webhooks are not verified here).
    pub webhook_secrets: Vec<WebhookSecret>,
}

fn valid_entity(e: &str) -> bool {
    (1..=32).contains(&e.len())
        && e.starts_with(|c: char| c.is_ascii_alphanumeric())
        && e.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
}

impl WorldpayConfig {
    /// A config for the Try environment.
    pub fn new(username: &str, password: &str, entity: &str) -> Result<WorldpayConfig> {
        let config = WorldpayConfig {
            username: username.to_owned(),
            password: SecretString::from(password.to_owned()),
            entity: entity.to_owned(),
            base_url: url::Url::parse(TRY_BASE_URL).map_err(|e| Error::config(e.to_string()))?,
            mode: Mode::Live,
            discovery: false,
            webhook_secrets: Vec::new(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Points at another base URL.
    pub fn with_base_url(mut self, url: &str) -> Result<WorldpayConfig> {
        self.base_url = ProviderSettings::new(NAME).with("base_url", url).base_url(TRY_BASE_URL)?;
        Ok(self)
    }

    /// Reads `[worldpay]` settings (`PAYMENT_WORLDPAY_*`).
    pub fn from_settings(settings: &ProviderSettings) -> Result<WorldpayConfig> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        let (username, password) = match mode {
            Mode::Mock => (
                settings.get("username").unwrap_or("embedded-mock").to_owned(),
                settings.optional_secret("password").unwrap_or_else(|| SecretString::from("embedded-mock".to_owned())),
            ),
            Mode::Live => {
                settings.require_all(&["username", "password"])?;
                (settings.require("username")?.to_owned(), settings.secret("password")?)
            }
        };
        let config = WorldpayConfig {
            username,
            password,
            entity: settings.get("entity").unwrap_or("default").to_owned(),
            base_url: settings.base_url(TRY_BASE_URL)?,
            mode,
            discovery: settings.flag("discovery", false)?,
            webhook_secrets: parse_webhook_secrets(settings.get("webhook_secrets").unwrap_or(""))?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_WORLDPAY_*` from the environment.
    pub fn from_env() -> Result<WorldpayConfig> {
        WorldpayConfig::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    fn validate(&self) -> Result<()> {
        if self.username.is_empty() || self.username.contains(':') {
            return Err(Error::config("worldpay username must be non-empty and contain no ':'"));
        }
        if self.password.expose_secret().is_empty() {
            return Err(Error::config("worldpay password is empty"));
        }
        if !valid_entity(&self.entity) {
            return Err(Error::config(format!(
                "worldpay entity {:?} must be 1 to 32 letters, digits or spaces",
                self.entity
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for WorldpayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorldpayConfig")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("entity", &self.entity)
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("discovery", &self.discovery)
            .field("webhook_secrets", &self.webhook_secrets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_and_redacted() {
        let c = WorldpayConfig::new("user", "s3cr3t-pass", "default").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(WorldpayConfig::new("user", "", "default").is_err());
        assert!(WorldpayConfig::new("us:er", "p", "default").is_err());
        assert!(WorldpayConfig::new("user", "p", "bad-entity!").is_err());
        let e = WorldpayConfig::from_settings(&ProviderSettings::new("worldpay").with("username", "u")).unwrap_err();
        assert!(e.message().contains("PAYMENT_WORLDPAY_PASSWORD"), "{e}");
        let s = ProviderSettings::new("worldpay")
            .with("username", "u")
            .with("password", "p")
            .with("webhook_secrets", "k1:first-s3cret, k2:second-s3cret");
        let c = WorldpayConfig::from_settings(&s).unwrap();
        assert_eq!(c.webhook_secrets.iter().map(|w| w.key_id.as_str()).collect::<Vec<_>>(), ["k1", "k2"]);
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let bad = parse_webhook_secrets("k1:ok,nocolon-s3cret").unwrap_err();
        assert!(!bad.to_string().contains("s3cret"), "{bad}");
        assert!(parse_webhook_secrets(":x").is_err() && parse_webhook_secrets("a/b:x").is_err());
    }
}
