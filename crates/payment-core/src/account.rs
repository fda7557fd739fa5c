//! Provider accounts: a provider table (`[payjp]`) is the account named after its provider, and
//! `[accounts.NAME] provider = "…"` adds more (a second PAY.JP account, say).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::settings::{ProviderSettings, scalar_text};

/// One provider account: which provider, and that provider's settings. A provider table
/// (`[payjp]`) is the account named after its provider; `[accounts.payjp-backup]` adds another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The provider's config name (`payjp`).
    pub provider: String,
    /// Its settings, named after the account (errors and environment variables use the account).
    pub settings: ProviderSettings,
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
            let text = scalar_text(&format!("accounts.{name}"), &key, value)?;
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
