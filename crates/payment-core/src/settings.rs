//! One provider's (or one part of the library's) settings: values by key, read with errors that
//! name the key, the config table and the environment variable.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;

use crate::crypto::{RsaPrivateKey, RsaPublicKey};
use crate::error::{Error, Result};

/// The settings every provider takes: how it is reached and how long a call may take.
pub const COMMON_KEYS: &[&str] = &["mode", "base_url", "timeout"];

/// How a provider is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The provider's real API (live or sandbox, decided by the credentials and base URL).
    Live,
    /// The provider's embedded stateful mock, started in-process (needs the `mock` feature).
    Mock,
}

/// One provider's settings; values are never printed by `Debug` (keys only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    provider: String,
    pub(crate) values: BTreeMap<String, String>,
    // The config table they came from when it is not `[provider]` (`accounts.payjp-backup`).
    table: Option<String>,
}

impl ProviderSettings {
    /// Empty settings for `provider`.
    pub fn new(provider: impl Into<String>) -> ProviderSettings {
        ProviderSettings { provider: provider.into(), values: BTreeMap::new(), table: None }
    }

    /// The same settings, read from the config table `table` (named in error messages).
    pub fn in_table(mut self, table: impl Into<String>) -> ProviderSettings {
        self.table = Some(table.into());
        self
    }

    /// Sets a key (builder style).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> ProviderSettings {
        self.set(key, value);
        self
    }

    /// Sets a key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_ascii_lowercase(), value.into());
    }

    /// The provider these settings are for.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// A value, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The keys that are set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Where a key is set, for error messages: `[payjp] secret_key or PAYMENT_PAYJP_SECRET_KEY`.
    pub fn describe_key(&self, key: &str) -> String {
        let table = self.table.as_deref().unwrap_or(&self.provider);
        format!("`{key}` in [{table}] or {}", env_var_name(&self.provider, key))
    }

    /// A required value; the error names the config key and the environment variable.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| Error::config(format!("{} is missing: set {}", self.provider, self.describe_key(key))))
    }

    /// Refuses the settings when any of `required` is unset, naming every missing one at once (so
    /// a new config takes one run to fix, not one per setting). A `<key>_path` is also satisfied
    /// by `<key>` itself (the PEM given inline).
    pub fn require_all(&self, required: &[&str]) -> Result<()> {
        let unset = |key: &str| {
            let inline = key.strip_suffix("_path");
            self.get(key).is_none() && inline.is_none_or(|k| self.get(k).is_none())
        };
        let missing: Vec<String> = required.iter().filter(|k| unset(k)).map(|k| self.describe_key(k)).collect();
        match missing.as_slice() {
            [] => Ok(()),
            [one] => Err(Error::config(format!("{} is missing: set {one}", self.provider))),
            many => Err(Error::config(format!(
                "{} is missing {} settings: set {}",
                self.provider,
                many.len(),
                many.join("; ")
            ))),
        }
    }

    /// A required secret.
    pub fn secret(&self, key: &str) -> Result<SecretString> {
        self.require(key).map(SecretString::from)
    }

    /// An optional secret.
    pub fn optional_secret(&self, key: &str) -> Option<SecretString> {
        self.get(key).map(SecretString::from)
    }

    /// `mode`: `live` (default), `sandbox` (same as live) or `mock`.
    pub fn mode(&self) -> Result<Mode> {
        match self.get("mode").map(str::to_ascii_lowercase).as_deref() {
            None | Some("live") | Some("sandbox") => Ok(Mode::Live),
            Some("mock") => Ok(Mode::Mock),
            Some(other) => Err(Error::config(format!(
                "{} mode {other:?} is not one of live, sandbox, mock (set {})",
                self.provider,
                self.describe_key("mode")
            ))),
        }
    }

    /// `base_url`, parsed, or `default` when unset. Set but empty is refused: a variable
    /// cleared by mistake must never send payments to the provider's live host.
    pub fn base_url(&self, default: &str) -> Result<url::Url> {
        if self.values.get("base_url").is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::config(format!(
                "{} base_url is set but empty; give a URL, or remove {} to use the provider's own host",
                self.provider,
                self.describe_key("base_url")
            )));
        }
        let text = self.get("base_url").unwrap_or(default);
        let url = url::Url::parse(text).map_err(|e| {
            Error::config(format!(
                "{} base_url {text:?} is not a URL ({e}); fix {}",
                self.provider,
                self.describe_key("base_url")
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::config(format!(
                "{} base_url {text:?} must be an http(s) URL with a host",
                self.provider
            )));
        }
        Ok(url)
    }

    /// A boolean (`true`/`false`/`1`/`0`), or `default` when unset.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(v) => Err(Error::config(format!("{} {key} {v:?} is not true or false", self.provider))),
        }
    }

    /// `timeout`: the deadline of every call, retries included (`30`, `30s`, `500ms`, `2m`), if set.
    pub fn timeout(&self) -> Result<Option<std::time::Duration>> {
        let Some(text) = self.get("timeout") else { return Ok(None) };
        crate::time::parse_duration(text).map(Some).map_err(|why| {
            Error::config(format!("{} timeout {text:?} {why}; fix {}", self.provider, self.describe_key("timeout")))
        })
    }

    /// An RSA private key given as `<key>_path` (a PEM file) or `<key>` (the PEM text), not both;
    /// `None` when neither is set. A bad key names the setting it came from.
    pub fn rsa_private_key(&self, key: &str) -> Result<Option<RsaPrivateKey>> {
        self.pem_pair(key, RsaPrivateKey::from_pem_file, RsaPrivateKey::from_pem)
    }

    /// An RSA public key given as `<key>_path` or `<key>`, as [`ProviderSettings::rsa_private_key`].
    pub fn rsa_public_key(&self, key: &str) -> Result<Option<RsaPublicKey>> {
        self.pem_pair(key, RsaPublicKey::from_pem_file, RsaPublicKey::from_pem)
    }

    fn pem_pair<T>(
        &self,
        key: &str,
        from_file: fn(&std::path::Path) -> Result<T>,
        from_text: fn(&str) -> Result<T>,
    ) -> Result<Option<T>> {
        let path_key = format!("{key}_path");
        let named = |which: &str, e: Error| Error::config(format!("{} ({})", e.message(), self.describe_key(which)));
        match (self.get(&path_key), self.get(key)) {
            (Some(_), Some(_)) => Err(Error::config(format!("{}: set {path_key} or {key}, not both", self.provider))),
            (Some(path), None) => from_file(path.as_ref()).map(Some).map_err(|e| named(&path_key, e)),
            (None, Some(pem)) => from_text(pem).map(Some).map_err(|e| named(key, e)),
            (None, None) => Ok(None),
        }
    }

    /// Refuses keys the provider does not know (typos should not pass silently).
    pub fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        for key in self.values.keys() {
            if !COMMON_KEYS.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
                let mut known = COMMON_KEYS.to_vec();
                known.extend_from_slice(allowed);
                return Err(Error::config(format!(
                    "{} has no setting `{key}`{}; known settings: {}",
                    self.provider,
                    crate::text::did_you_mean(key, known.iter().copied()),
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("provider", &self.provider)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The error of a provider crate asked for `mode = "mock"` directly: the embedded mock is started
/// by `payment::connect` when the `mock` feature is on.
pub fn mock_unavailable(provider: &str) -> Error {
    Error::config(format!(
        "{provider} mode = \"mock\" needs the `mock` feature: enable `mock` on the `payment` crate and connect with `payment::connect`"
    ))
}

/// The environment variable for a provider's key: `PAYMENT_GOOGLE_STANDARD_PAYMENTS_BASE_URL`.
pub fn env_var_name(provider: &str, key: &str) -> String {
    format!("PAYMENT_{}_{}", env_segment(provider), key.to_ascii_uppercase())
}

pub(crate) fn env_segment(provider: &str) -> String {
    provider.to_ascii_uppercase().replace('-', "_")
}

/// A config value as text: strings, integers and booleans are accepted, anything else is refused.
pub(crate) fn scalar_text(table: &str, key: &str, value: toml::Value) -> Result<String> {
    match value {
        toml::Value::String(s) => Ok(s),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(Error::config(format!(
            "[{table}] {key} must be a string, integer or boolean, got {}",
            other.type_str()
        ))),
    }
}
