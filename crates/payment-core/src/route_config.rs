//! The shape of routing in the config file: `[accounts.NAME]` tables and `[[routes]]` rules, as
//! written. What they mean (matching, validation against the compiled-in providers, failover) is
//! the `payment-routing` crate's; core only reads them, so every config loader agrees.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::ProviderSettings;
use crate::error::{Error, Result};

/// The table of the router's own settings (`[routing] max_attempts = 3`, `PAYMENT_ROUTING_*`).
pub const ROUTING_TABLE: &str = "routing";

/// One provider account: which provider, and that provider's settings. A provider table
/// (`[payjp]`) is the account named after its provider; `[accounts.payjp-backup]` adds another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The provider's config name (`payjp`).
    pub provider: String,
    /// Its settings, named after the account (errors and environment variables use the account).
    pub settings: ProviderSettings,
}

/// One `[[routes]]` rule as written; every condition is optional, and an empty one matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The rule's name, used in errors, logs and `route explain`.
    pub name: String,
    /// Regions it matches (`jp`, `cn`, …; compared without case).
    #[serde(default)]
    pub region: Vec<String>,
    /// Currencies it matches (ISO 4217 codes).
    #[serde(default)]
    pub currency: Vec<String>,
    /// The smallest amount it matches, in minor units, inclusive.
    #[serde(default)]
    pub min_amount: Option<i64>,
    /// The largest amount it matches, in minor units, inclusive.
    #[serde(default)]
    pub max_amount: Option<i64>,
    /// Operations it matches (`create_charge`, …); empty: every operation.
    #[serde(default)]
    pub operation: Vec<String>,
    /// Metadata that must all be present with these values.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Metadata of which at least one pair must be present.
    #[serde(default)]
    pub metadata_any: BTreeMap<String, String>,
    /// Metadata of which no pair may be present.
    #[serde(default)]
    pub metadata_not: BTreeMap<String, String>,
    /// Accounts in priority order.
    #[serde(default)]
    pub targets: Vec<String>,
    /// A volume split over accounts instead (weights summing to 100).
    #[serde(default)]
    pub weights: BTreeMap<String, u32>,
}

/// Reads `[[routes]]` from its TOML value.
pub(crate) fn parse_routes(value: toml::Value) -> Result<Vec<RouteConfig>> {
    let toml::Value::Array(items) = value else {
        return Err(Error::config(format!("`routes` must be an array of [[routes]] tables, got {}", value.type_str())));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item.get("name").and_then(|n| n.as_str()).map(|n| format!(" `{n}`")).unwrap_or_default();
            item.try_into::<RouteConfig>()
                .map_err(|e| Error::config(format!("route {}{name}: {}", i + 1, e.message().trim())))
        })
        .collect()
}

/// Reads `[accounts.NAME]` tables; each needs `provider = "…"`.
pub(crate) fn parse_accounts(value: toml::Value) -> Result<BTreeMap<String, Account>> {
    let toml::Value::Table(tables) = value else {
        return Err(Error::config(format!("`accounts` must hold [accounts.NAME] tables, got {}", value.type_str())));
    };
    let mut accounts = BTreeMap::new();
    for (name, table) in tables {
        let toml::Value::Table(table) = table else {
            return Err(Error::config(format!("accounts.{name} must be a table, got {}", table.type_str())));
        };
        let mut settings = ProviderSettings::new(name.clone()).in_table(format!("accounts.{name}"));
        let mut provider = None;
        for (key, value) in table {
            let text = crate::config::scalar_text(&format!("accounts.{name}"), &key, value)?;
            if key == "provider" {
                provider = Some(text);
            } else {
                settings.set(&key, text);
            }
        }
        let provider = provider.filter(|p| !p.is_empty()).ok_or_else(|| {
            Error::config(format!("[accounts.{name}] needs `provider = \"…\"`: which provider the account is at"))
        })?;
        accounts.insert(name, Account { provider, settings });
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn routes_and_accounts_are_read_as_written() {
        let c = Config::from_toml_str(
            "[payjp]\nsecret_key = \"sk\"\n[accounts.payjp-backup]\nprovider = \"payjp\"\nsecret_key = \"sk2\"\n\
             [routing]\nmax_attempts = 2\n\
             [[routes]]\nname = \"japan\"\ncurrency = [\"JPY\"]\nregion = [\"jp\"]\nmax_amount = 100000\n\
             metadata = { tier = \"gold\" }\ntargets = [\"payjp\", \"payjp-backup\"]\n\
             [[routes]]\nname = \"rest\"\nweights = { payjp = 80, payjp-backup = 20 }\n",
        )
        .unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[0].targets, ["payjp", "payjp-backup"]);
        assert_eq!(c.routes[0].metadata["tier"], "gold");
        assert_eq!(c.routes[1].weights["payjp"], 80);
        let backup = &c.accounts["payjp-backup"];
        assert_eq!(backup.provider, "payjp");
        assert_eq!(backup.settings.get("secret_key"), Some("sk2"));
        assert!(backup.settings.describe_key("secret_key").contains("[accounts.payjp-backup]"));
        assert!(backup.settings.describe_key("secret_key").contains("PAYMENT_PAYJP_BACKUP_SECRET_KEY"));
        assert_eq!(c.settings("routing").get("max_attempts"), Some("2"));
    }

    #[test]
    fn mistakes_name_the_rule_or_account() {
        let e = Config::from_toml_str("[[routes]]\nname = \"japan\"\nregoin = [\"jp\"]\n").unwrap_err();
        assert!(e.message().contains("route 1 `japan`") && e.message().contains("regoin"), "{e}");
        let e = Config::from_toml_str("[[routes]]\nname = \"x\"\nmin_amount = \"ten\"\n").unwrap_err();
        assert!(e.message().contains("route 1 `x`"), "{e}");
        let e = Config::from_toml_str("[accounts.b]\nsecret_key = \"x\"\n").unwrap_err();
        assert!(e.message().contains("[accounts.b] needs `provider"), "{e}");
        assert!(Config::from_toml_str("routes = 3").is_err());
        assert!(Config::from_toml_str("accounts = 3").is_err());
    }
}
