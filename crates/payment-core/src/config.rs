//! Configuration: which provider, each provider's table, the tables of the library's own parts
//! (`[journal]`, `[routing]`), further accounts and the routing rules as written — from TOML and/or
//! the environment.

use std::collections::BTreeMap;
use std::path::Path;

pub use crate::account::Account;
use crate::account::parse_accounts;
use crate::error::{Error, Result};
pub use crate::settings::{COMMON_KEYS, Mode, ProviderSettings, env_var_name, mock_unavailable};
use crate::settings::{env_segment, scalar_text};

/// The table of the payment journal's settings (`[journal] url = …`, `PAYMENT_JOURNAL_URL`).
pub const JOURNAL_TABLE: &str = "journal";

/// The table of the router's own settings (`[routing] max_attempts = 3`, `PAYMENT_ROUTING_*`).
pub const ROUTING_TABLE: &str = "routing";

/// The tables that configure the library's own parts, not a provider: they land in
/// [`Config::tables`], never among the providers or accounts.
pub const PART_TABLES: [&str; 2] = [JOURNAL_TABLE, ROUTING_TABLE];

/// The whole configuration: which provider, each provider's table, the library's own tables, and
/// the routing (extra accounts and rules) for apps that route payments over several.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The provider to use (`provider = "payjp"` / `PAYMENT_PROVIDER`).
    pub provider: Option<String>,
    /// Per-provider settings by name.
    pub providers: BTreeMap<String, ProviderSettings>,
    /// The settings of the library's own parts by table ([`PART_TABLES`]: `[journal]`, `[routing]`).
    pub tables: BTreeMap<String, ProviderSettings>,
    /// Further accounts by name (`[accounts.NAME] provider = "…"`).
    pub accounts: BTreeMap<String, Account>,
    /// Routing rules as written, first match wins (`[[routes]]`); the routing crate reads them.
    pub routes: Vec<toml::Table>,
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
            let at = e.span().map(|span| line_and_column(text, span.start)).unwrap_or_default();
            Error::config(format!("config is not valid TOML{at}: {}", e.message().trim())).with_source(e)
        })?;
        let mut config = Config::default();
        for (name, value) in table {
            match (name.as_str(), value) {
                ("provider", toml::Value::String(p)) => config.provider = Some(p),
                ("provider", other) => {
                    return Err(Error::config(format!("`provider` must be a string, got {}", other.type_str())));
                }
                ("routes", value) => config.routes = route_tables(value)?,
                ("accounts", value) => config.accounts = parse_accounts(value)?,
                (_, toml::Value::Table(t)) => {
                    let mut settings = ProviderSettings::new(name.clone());
                    for (key, v) in t {
                        settings.set(&key, scalar_text(&name, &key, v)?);
                    }
                    let map =
                        if PART_TABLES.contains(&name.as_str()) { &mut config.tables } else { &mut config.providers };
                    map.insert(name, settings);
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
        names.extend(PART_TABLES);
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
                    let map = if PART_TABLES.contains(name) { &mut config.tables } else { &mut config.providers };
                    map.entry((*name).to_owned()).or_insert_with(|| ProviderSettings::new(*name)).set(key, value);
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
            overlay(entry, settings);
        }
        for (name, settings) in over.tables {
            overlay(self.tables.entry(name.clone()).or_insert_with(|| ProviderSettings::new(name)), settings);
        }
        self
    }

    /// Every account: one per provider table (named after the provider) and each `[accounts.NAME]`.
    pub fn all_accounts(&self) -> BTreeMap<String, Account> {
        let mut all: BTreeMap<String, Account> = self
            .providers
            .iter()
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
        self.tables.get(JOURNAL_TABLE).and_then(|j| j.get("url")).filter(|u| !u.trim().is_empty())
    }

    /// Refuses a table of the library's own parts found among the providers (put there by code
    /// written for an earlier `Config`): its settings would be ignored, a journal silently absent.
    pub fn check_tables(&self) -> Result<()> {
        match self.providers.keys().find(|name| PART_TABLES.contains(&name.as_str())) {
            Some(name) => Err(Error::config(format!(
                "`{name}` is not a provider: its settings belong in Config::tables (config.table_mut(\"{name}\"))"
            ))),
            None => Ok(()),
        }
    }

    /// The settings of provider `name` (empty when none were given).
    pub fn settings(&self, name: &str) -> ProviderSettings {
        self.providers.get(name).cloned().unwrap_or_else(|| ProviderSettings::new(name))
    }

    /// The settings of the library's own table `name` ([`PART_TABLES`]; empty when none were given).
    pub fn table(&self, name: &str) -> ProviderSettings {
        self.tables.get(name).cloned().unwrap_or_else(|| ProviderSettings::new(name))
    }

    /// The settings of the library's own table `name`, to change (created empty when absent).
    pub fn table_mut(&mut self, name: &str) -> &mut ProviderSettings {
        self.tables.entry(name.to_owned()).or_insert_with(|| ProviderSettings::new(name))
    }
}

/// `over`'s values on top of `entry`'s. An empty variable does not clear what the file says (a
/// cleared PAYMENT_<P>_BASE_URL would otherwise send a mock's traffic to the live host).
fn overlay(entry: &mut ProviderSettings, over: ProviderSettings) {
    for (k, v) in over.values {
        if v.trim().is_empty() && entry.values.get(&k).is_some_and(|old| !old.trim().is_empty()) {
            continue;
        }
        entry.values.insert(k, v);
    }
}

/// ` at line L, column C` of byte `offset` in `text` (both from 1), for a parse error.
fn line_and_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

/// `[[routes]]` as tables; what is in them is the routing crate's to read.
fn route_tables(value: toml::Value) -> Result<Vec<toml::Table>> {
    let toml::Value::Array(items) = value else {
        return Err(Error::config(format!("`routes` must be an array of [[routes]] tables, got {}", value.type_str())));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            toml::Value::Table(t) => Ok(t),
            other => {
                Err(Error::config(format!("route {} must be a [[routes]] table, got {}", i + 1, other.type_str())))
            }
        })
        .collect()
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
        assert!(file.providers.is_empty() && file.all_accounts().is_empty(), "the journal is no provider");
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
    fn routes_and_accounts_are_kept_and_own_tables_are_no_providers() {
        let c = Config::from_toml_str(
            "[payjp]\nsecret_key = \"sk\"\n[accounts.payjp-backup]\nprovider = \"payjp\"\nsecret_key = \"sk2\"\n\
             [routing]\nmax_attempts = 2\n\
             [[routes]]\nname = \"japan\"\ntargets = [\"payjp\", \"payjp-backup\"]\n[[routes]]\nname = \"rest\"\n",
        )
        .unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[0]["name"].as_str(), Some("japan"));
        let backup = &c.accounts["payjp-backup"];
        assert_eq!(backup.provider, "payjp");
        assert_eq!(backup.settings.get("secret_key"), Some("sk2"));
        assert!(backup.settings.describe_key("secret_key").contains("[accounts.payjp-backup]"));
        assert!(backup.settings.describe_key("secret_key").contains("PAYMENT_PAYJP_BACKUP_SECRET_KEY"));
        assert_eq!(c.table(ROUTING_TABLE).get("max_attempts"), Some("2"));
        assert_eq!(c.all_accounts().keys().collect::<Vec<_>>(), ["payjp", "payjp-backup"]);
        let env = Config::from_vars(&["payjp"], [("PAYMENT_ROUTING_MAX_ATTEMPTS".to_owned(), "3".to_owned())]);
        assert!(env.providers.is_empty());
        assert_eq!(c.merged_with(env).table(ROUTING_TABLE).get("max_attempts"), Some("3"));
        let e = Config::from_toml_str("[accounts.b]\nsecret_key = \"x\"\n").unwrap_err();
        assert!(e.message().contains("[accounts.b] needs `provider"), "{e}");
        assert!(Config::from_toml_str("routes = 3").is_err());
        assert!(Config::from_toml_str("routes = [1]").is_err());
        assert!(Config::from_toml_str("accounts = 3").is_err());
    }

    #[test]
    fn a_part_table_among_the_providers_is_refused() {
        let mut c = Config::for_provider(ProviderSettings::new("payjp"));
        assert!(c.check_tables().is_ok());
        c.providers.insert(JOURNAL_TABLE.into(), ProviderSettings::new(JOURNAL_TABLE).with("url", "memory:"));
        let e = c.check_tables().unwrap_err();
        assert!(e.message().contains("table_mut(\"journal\")"), "{e}");
    }

    #[test]
    fn every_missing_setting_is_named_at_once() {
        let s = ProviderSettings::new("google-standard-payments").with("private_key", "PEM");
        let e = s.require_all(&["base_url", "payment_integrator_account_id", "private_key_path"]).unwrap_err();
        assert!(e.message().contains("is missing 2 settings"), "{e}");
        assert!(e.message().contains("PAYMENT_GOOGLE_STANDARD_PAYMENTS_BASE_URL"), "{e}");
        assert!(e.message().contains("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PAYMENT_INTEGRATOR_ACCOUNT_ID"), "{e}");
        assert!(!e.message().contains("PRIVATE_KEY"), "an inline PEM satisfies its _path: {e}");
        assert!(s.require_all(&["private_key_path"]).is_ok());
    }

    #[test]
    fn a_toml_mistake_names_its_line_and_column() {
        let e = Config::from_toml_str("provider = \"payjp\"\n[payjp]\nsecret_key = sk_x\n").unwrap_err();
        assert!(e.message().contains("at line 3, column 14"), "{e}");
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
