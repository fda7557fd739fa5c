//! Configuration: a provider name plus that provider's table, from TOML and/or the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use secrecy::SecretString;

use crate::error::{Error, Result};
pub use crate::route_config::{Account, ROUTING_TABLE, RouteConfig};
use crate::route_config::{parse_accounts, parse_routes};

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
    values: BTreeMap<String, String>,
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

    /// Refuses keys the provider does not know (typos should not pass silently).
    pub fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        for key in self.values.keys() {
            if !COMMON_KEYS.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
                let mut known = COMMON_KEYS.to_vec();
                known.extend_from_slice(allowed);
                return Err(Error::config(format!(
                    "{} has no setting `{key}`; known settings: {}",
                    self.provider,
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

fn env_segment(provider: &str) -> String {
    provider.to_ascii_uppercase().replace('-', "_")
}

/// The table of the payment journal's settings (`[journal] url = …`, `PAYMENT_JOURNAL_URL`);
/// read by the facade, not a provider.
pub const JOURNAL_TABLE: &str = "journal";

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

/// The whole configuration: which provider, each provider's table, and the routing (extra
/// accounts and rules) for apps that route payments over several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The provider to use (`provider = "payjp"` / `PAYMENT_PROVIDER`).
    pub provider: Option<String>,
    /// Per-provider settings by name.
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Further accounts by name (`[accounts.NAME] provider = "…"`).
    pub accounts: BTreeMap<String, Account>,
    /// Routing rules, first match wins (`[[routes]]`).
    pub routes: Vec<RouteConfig>,
}

impl Config {
    /// Config for one provider with its settings.
    pub fn for_provider(settings: ProviderSettings) -> Config {
        let name = settings.provider().to_owned();
        Config { provider: Some(name.clone()), providers: BTreeMap::from([(name, settings)]), ..Config::default() }
    }

    /// Parses TOML: `provider = "payjp"` and one `[name]` table per provider.
    pub fn from_toml_str(text: &str) -> Result<Config> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::config(format!("config is not valid TOML: {}", e.message())).with_source(e)
        })?;
        let mut config = Config::default();
        for (name, value) in table {
            match (name.as_str(), value) {
                ("provider", toml::Value::String(p)) => config.provider = Some(p),
                ("provider", other) => {
                    return Err(Error::config(format!("`provider` must be a string, got {}", other.type_str())));
                }
                ("routes", value) => config.routes = parse_routes(value)?,
                ("accounts", value) => config.accounts = parse_accounts(value)?,
                (_, toml::Value::Table(t)) => {
                    let mut settings = ProviderSettings::new(name.clone());
                    for (key, v) in t {
                        settings.set(&key, scalar_text(&name, &key, v)?);
                    }
                    config.providers.insert(name, settings);
                }
                (_, other) => {
                    return Err(Error::config(format!(
                        "top-level `{name}` must be a [{name}] table, `provider`, [[routes]] or [accounts.NAME], got {}",
                        other.type_str()
                    )));
                }
            }
        }
        Ok(config)
    }

    /// Reads a TOML file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read config file {}: {e}", path.display())))?;
        Config::from_toml_str(&text).map_err(|e| Error::config(format!("{}: {}", path.display(), e.message())))
    }

    /// Reads `PAYMENT_PROVIDER` and `PAYMENT_<PROVIDER>_<KEY>` for the providers (and accounts)
    /// named from the process environment (the names tell where a name ends and the key begins).
    pub fn from_env(providers: &[&str]) -> Config {
        Config::from_vars(providers, std::env::vars())
    }

    /// Reads the same variables from any list of pairs.
    pub fn from_vars(providers: &[&str], vars: impl IntoIterator<Item = (String, String)>) -> Config {
        let mut config = Config::default();
        // Longest names first so GOOGLE_STANDARD_PAYMENTS is not taken for a shorter prefix.
        let mut names: Vec<&str> = providers.to_vec();
        names.push(JOURNAL_TABLE);
        names.push(ROUTING_TABLE);
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for (var, value) in vars {
            let Some(rest) = var.strip_prefix("PAYMENT_") else { continue };
            if rest == "PROVIDER" {
                config.provider = Some(value);
                continue;
            }
            for name in &names {
                let prefix = format!("{}_", env_segment(name));
                if let Some(key) = rest.strip_prefix(&prefix).filter(|k| !k.is_empty()) {
                    config
                        .providers
                        .entry((*name).to_owned())
                        .or_insert_with(|| ProviderSettings::new(*name))
                        .set(key, value);
                    break;
                }
            }
        }
        config
    }

    /// `self` with every value of `over` on top (environment over file). Values `over` holds
    /// under an account's name (`PAYMENT_PAYJP_BACKUP_SECRET_KEY`) go to that account; its
    /// accounts and routes, when it has any, replace these.
    pub fn merged_with(mut self, over: Config) -> Config {
        if over.provider.is_some() {
            self.provider = over.provider;
        }
        for (name, account) in over.accounts {
            self.accounts.insert(name, account);
        }
        if !over.routes.is_empty() {
            self.routes = over.routes;
        }
        for (name, settings) in over.providers {
            let entry = match self.accounts.get_mut(&name) {
                Some(account) => &mut account.settings,
                None => self.providers.entry(name.clone()).or_insert_with(|| ProviderSettings::new(name)),
            };
            for (k, v) in settings.values {
                // An empty variable does not clear what the file says (a cleared
                // PAYMENT_<P>_BASE_URL would otherwise send a mock's traffic to the live host).
                if v.trim().is_empty() && entry.values.get(&k).is_some_and(|old| !old.trim().is_empty()) {
                    continue;
                }
                entry.values.insert(k, v);
            }
        }
        self
    }

    /// Every account: one per provider table (named after the provider, the journal's and the
    /// router's tables aside) and each `[accounts.NAME]`.
    pub fn all_accounts(&self) -> BTreeMap<String, Account> {
        let mut all: BTreeMap<String, Account> = self
            .providers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), JOURNAL_TABLE | ROUTING_TABLE))
            .map(|(name, settings)| (name.clone(), Account { provider: name.clone(), settings: settings.clone() }))
            .collect();
        all.extend(self.accounts.iter().map(|(n, a)| (n.clone(), a.clone())));
        all
    }

    /// Whether payments are routed (the config has `[[routes]]`), so no single `provider` is needed.
    pub fn is_routed(&self) -> bool {
        !self.routes.is_empty()
    }

    /// The chosen provider's name.
    pub fn provider_name(&self) -> Result<&str> {
        self.provider.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
            Error::config("no provider chosen: set `provider = \"…\"` in the config file or PAYMENT_PROVIDER")
        })
    }

    /// The journal URL (`[journal] url`, `PAYMENT_JOURNAL_URL`), when one is set.
    pub fn journal_url(&self) -> Option<&str> {
        self.providers.get(JOURNAL_TABLE).and_then(|j| j.get("url")).filter(|u| !u.trim().is_empty())
    }

    /// The settings of `name` (empty when none were given).
    pub fn settings(&self, name: &str) -> ProviderSettings {
        self.providers.get(name).cloned().unwrap_or_else(|| ProviderSettings::new(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_env_merge_with_env_winning() {
        let file = Config::from_toml_str(
            "provider = \"payjp\"\n[payjp]\nsecret_key = \"sk_test_file\"\nmode = \"mock\"\n[worldpay]\nentity = \"default\"\n",
        )
        .unwrap();
        let names = ["payjp", "worldpay", "google-standard-payments", "memory"];
        let env = Config::from_vars(
            &names,
            [
                ("PAYMENT_PAYJP_SECRET_KEY".to_owned(), "sk_test_env".to_owned()),
                ("PAYMENT_GOOGLE_STANDARD_PAYMENTS_BASE_URL".to_owned(), "http://127.0.0.1:1".to_owned()),
                ("PAYMENT_TEST_TARGET".to_owned(), "sandbox".to_owned()),
                ("HOME".to_owned(), "/root".to_owned()),
            ],
        );
        let merged = file.merged_with(env);
        assert_eq!(merged.provider_name().unwrap(), "payjp");
        let payjp = merged.settings("payjp");
        assert_eq!(payjp.get("secret_key"), Some("sk_test_env"));
        assert_eq!(payjp.mode().unwrap(), Mode::Mock);
        assert_eq!(merged.settings("google-standard-payments").get("base_url"), Some("http://127.0.0.1:1"));
        assert_eq!(merged.settings("worldpay").get("entity"), Some("default"));
        assert!(!merged.providers.contains_key("test"));
    }

    /// Clearing a variable never sends a mock's traffic to the provider's live host: an empty
    /// variable leaves the file's URL, and an empty URL with nothing under it is refused.
    #[test]
    fn an_empty_base_url_variable_never_selects_the_live_host() {
        let file = Config::from_toml_str("[payjp]\nbase_url = \"http://127.0.0.1:12111\"\n").unwrap();
        let empty = || Config::from_vars(&["payjp"], [("PAYMENT_PAYJP_BASE_URL".to_owned(), String::new())]);
        let merged = file.merged_with(empty());
        assert_eq!(
            merged.settings("payjp").base_url("https://api.pay.jp").unwrap().as_str(),
            "http://127.0.0.1:12111/"
        );
        let e = Config::default().merged_with(empty()).settings("payjp").base_url("https://api.pay.jp").unwrap_err();
        assert!(e.message().contains("set but empty") && e.message().contains("PAYMENT_PAYJP_BASE_URL"), "{e}");
        assert_eq!(
            ProviderSettings::new("payjp").base_url("https://api.pay.jp").unwrap().as_str(),
            "https://api.pay.jp/"
        );
    }

    #[test]
    fn the_journal_url_comes_from_its_table_or_the_environment() {
        let file = Config::from_toml_str("[journal]\nurl = \"sqlite://a.db\"\n").unwrap();
        assert_eq!(file.journal_url(), Some("sqlite://a.db"));
        let env = Config::from_vars(&["payjp"], [("PAYMENT_JOURNAL_URL".to_owned(), "sqlite://b.db".to_owned())]);
        assert_eq!(file.merged_with(env).journal_url(), Some("sqlite://b.db"));
        assert_eq!(Config::default().journal_url(), None);
    }

    #[test]
    fn errors_name_the_key_and_the_variable() {
        let s = ProviderSettings::new("google-standard-payments");
        let e = s.require("payment_integrator_account_id").unwrap_err();
        assert!(e.message().contains("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PAYMENT_INTEGRATOR_ACCOUNT_ID"), "{e}");
        let bad = ProviderSettings::new("payjp").with("mode", "prod");
        assert!(bad.mode().unwrap_err().message().contains("PAYMENT_PAYJP_MODE"));
        let typo = ProviderSettings::new("payjp").with("secret_kee", "x");
        assert!(typo.check_keys(&["secret_key"]).unwrap_err().message().contains("secret_kee"));
        assert!(ProviderSettings::new("p").with("base_url", "ftp://x").base_url("https://a").is_err());
        assert!(ProviderSettings::new("p").with("base_url", "not a url").base_url("https://a").is_err());
        assert!(Config::default().provider_name().is_err());
    }

    #[test]
    fn bad_toml_is_a_config_error() {
        for bad in ["provider = ", "provider = 3", "[payjp]\nsecret_key = [1]", "stray = 1"] {
            let e = Config::from_toml_str(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let s = ProviderSettings::new("payjp").with("secret_key", "sk_live_supersecret");
        let shown = format!("{:?}", Config::for_provider(s));
        assert!(!shown.contains("supersecret"));
        assert!(shown.contains("secret_key"));
    }
}
