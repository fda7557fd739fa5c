//! The shape of `[[routes]]` rules as written in the config file. Core keeps them as TOML tables;
//! this crate reads them (and [`crate::RouteTable`] checks them against the accounts).

use std::collections::BTreeMap;

use payment_core::{Error, Result};
use serde::Deserialize;

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
    /// What new payments it matches (`charge`, `authorize`); empty: every one.
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

impl RouteConfig {
    /// Reads `[[routes]]` tables as the config holds them; a mistake names the rule.
    pub fn from_tables(tables: &[toml::Table]) -> Result<Vec<RouteConfig>> {
        tables
            .iter()
            .enumerate()
            .map(|(i, table)| {
                let name = table.get("name").and_then(|n| n.as_str()).map(|n| format!(" `{n}`")).unwrap_or_default();
                toml::Value::Table(table.clone())
                    .try_into::<RouteConfig>()
                    .map_err(|e| Error::config(format!("route {}{name}: {}", i + 1, e.message().trim())))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use payment_core::Config;

    use super::RouteConfig;

    fn routes(text: &str) -> payment_core::Result<Vec<RouteConfig>> {
        RouteConfig::from_tables(&Config::from_toml_str(text)?.routes)
    }

    #[test]
    fn rules_are_read_as_written() {
        let r = routes(
            "[[routes]]\nname = \"japan\"\ncurrency = [\"JPY\"]\nregion = [\"jp\"]\nmax_amount = 100000\n\
             metadata = { tier = \"gold\" }\ntargets = [\"payjp\", \"payjp-backup\"]\n\
             [[routes]]\nname = \"rest\"\nweights = { payjp = 80, payjp-backup = 20 }\n",
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].targets, ["payjp", "payjp-backup"]);
        assert_eq!(r[0].metadata["tier"], "gold");
        assert_eq!(r[0].max_amount, Some(100_000));
        assert_eq!(r[1].weights["payjp"], 80);
    }

    #[test]
    fn mistakes_name_the_rule() {
        let e = routes("[[routes]]\nname = \"japan\"\nregoin = [\"jp\"]\n").unwrap_err();
        assert!(e.message().contains("route 1 `japan`") && e.message().contains("regoin"), "{e}");
        let e = routes("[[routes]]\nname = \"x\"\nmin_amount = \"ten\"\n").unwrap_err();
        assert!(e.message().contains("route 1 `x`"), "{e}");
    }
}
