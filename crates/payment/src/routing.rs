//! Routed clients from config (feature `routing`): every account the `[[routes]]` name, each
//! connected through its provider's driver (its embedded mock with `mode = "mock"`), the
//! `[routing]` settings, and the configured journal when there is one.

use std::collections::BTreeMap;

use payment_core::config::{Account, ROUTING_TABLE};
use payment_core::{Config, Error, PaymentClient, Result};

use crate::Connect;
pub use payment_routing::*;

/// The accounts the rules name, each with the first rule naming it (for error messages).
fn named_accounts(routes: &[RouteConfig]) -> BTreeMap<String, String> {
    let mut named = BTreeMap::new();
    for (i, rule) in routes.iter().enumerate() {
        let label = format!("route {} `{}`", i + 1, rule.name);
        for target in rule.targets.iter().chain(rule.weights.keys()) {
            named.entry(target.clone()).or_insert_with(|| label.clone());
        }
    }
    named
}

/// The accounts some rule can move on from: any but the last of a chain, any of a split over
/// two or more (the others follow the one picked).
fn followed_accounts(routes: &[RouteConfig]) -> std::collections::BTreeSet<String> {
    let mut followed = std::collections::BTreeSet::new();
    for rule in routes {
        followed.extend(rule.targets.iter().take(rule.targets.len().saturating_sub(1)).cloned());
        if rule.weights.len() > 1 {
            followed.extend(rule.weights.keys().cloned());
        }
    }
    followed
}

/// Connects one account through its provider's driver. An account another can follow does not
/// retry a connection that could not be made: nothing was sent, and the next account is there
/// (every new process would otherwise wait out a down primary's retries before failing over).
async fn connect_account(
    connect: &Connect,
    account: &Account,
    (name, rule): (&str, &str),
    followed: bool,
) -> Result<PaymentClient> {
    let registry = crate::registry();
    let driver = registry
        .get(&account.provider)
        .map_err(|e| Error::config(format!("{rule}: target `{name}`: {}", e.message())))?;
    let engine = connect.engine_for(driver.name);
    let engine = if followed { engine.fail_fast_on_connect() } else { engine };
    connect.driver_client(driver, account.settings.clone(), engine).await
}

/// A builder with every account the rules name connected, and the config's rules, settings
/// and journal: add a clock or more accounts, then build.
pub async fn router_builder(config: &Config) -> Result<RouterBuilder> {
    Connect::new().router_builder(config).await
}

/// A routed client for `config`'s `[[routes]]`: see [`RoutedClient`].
pub async fn connect_routed(config: &Config) -> Result<RoutedClient> {
    router_builder(config).await?.build()
}

impl Connect {
    /// A router builder as [`router_builder`] makes, with the application's engine and journal.
    pub async fn router_builder(&self, config: &Config) -> Result<RouterBuilder> {
        config.check_tables()?;
        if !config.is_routed() {
            return Err(Error::config(
                "the config has no [[routes]]: add a rule, or connect one provider with `connect`",
            ));
        }
        let settings = RoutingSettings::from_settings(&config.table(ROUTING_TABLE))?;
        let routes = RouteConfig::from_tables(&config.routes)?;
        let mut builder = RoutedClient::builder().routes(&routes).settings(settings);
        let accounts = config.all_accounts();
        let followed = followed_accounts(&routes);
        // A name no account has is left to the table, whose check names the rule and the accounts.
        for (name, rule) in named_accounts(&routes) {
            if let Some(account) = accounts.get(&name) {
                let client = connect_account(self, account, (&name, &rule), followed.contains(&name)).await?;
                builder = builder.account(name.clone(), client);
            }
        }
        let journal = self.journal_for(config).await?;
        #[cfg(any(feature = "journal", feature = "journal-postgres"))]
        if let Some(journal) = journal {
            builder = builder.journal(journal);
        }
        #[cfg(not(any(feature = "journal", feature = "journal-postgres")))]
        let _ = journal;
        Ok(builder)
    }

    /// A routed client as [`connect_routed`] makes, with the application's engine and journal.
    pub async fn routed(&self, config: &Config) -> Result<RoutedClient> {
        self.router_builder(config).await?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accounts_another_can_follow_fail_fast() {
        let chain = RouteConfig {
            name: "jp".into(),
            targets: vec!["primary".into(), "backup".into(), "last".into()],
            ..RouteConfig::default()
        };
        let alone = RouteConfig { name: "us".into(), targets: vec!["solo".into()], ..RouteConfig::default() };
        let split = RouteConfig {
            name: "eu".into(),
            weights: [("a".to_owned(), 50), ("b".to_owned(), 50)].into_iter().collect(),
            ..RouteConfig::default()
        };
        let followed = followed_accounts(&[chain, alone, split]);
        assert!(followed.contains("primary") && followed.contains("backup"));
        assert!(followed.contains("a") && followed.contains("b"), "each half of a split has the other behind it");
        assert!(!followed.contains("last") && !followed.contains("solo"), "{followed:?}");
    }
}
