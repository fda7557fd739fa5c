//! The payment journal from config: `[journal] url = "sqlite://…" | "postgres://…"` (or
//! `PAYMENT_JOURNAL_URL`) and an optional `lease`. With the `journal` feature, `connect`
//! journals every mutating call of the client it returns.

use payment_core::config::JOURNAL_TABLE;
use payment_core::{Config, Error, Result};

/// The lease a client holds on an attempt it sends: its call deadline plus this margin.
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
const LEASE_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// The engine's deadline when the config sets none (the default retry policy's elapsed limit).
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
const DEFAULT_CALL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the journal `config` names, if any; its lease covers the chosen provider's `timeout`.
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
pub async fn open_journal(config: &Config) -> Result<Option<payment_journal::Journal>> {
    let Some(url) = config.journal_url() else { return Ok(None) };
    let settings = config.settings(JOURNAL_TABLE);
    settings.check_keys(&["url", "lease"])?;
    let lease = match settings.get("lease") {
        Some(text) => payment_core::time::parse_duration(text).map_err(|why| {
            Error::config(format!("journal lease {text:?} {why}; fix `lease` in [journal] or PAYMENT_JOURNAL_LEASE"))
        })?,
        None => {
            // A routed config's attempts go to any of its accounts: the longest deadline counts.
            let timeout = match config.provider_name() {
                Ok(name) if !config.is_routed() => config.settings(name).timeout()?,
                _ if config.is_routed() => {
                    let mut longest = None;
                    for account in config.all_accounts().values() {
                        longest = longest.max(account.settings.timeout()?);
                    }
                    longest
                }
                _ => None,
            };
            timeout.unwrap_or(DEFAULT_CALL_DEADLINE) + LEASE_MARGIN
        }
    };
    let options = payment_journal::JournalOptions { lease, ..payment_journal::JournalOptions::default() };
    Ok(Some(payment_journal::open(url, options).await?))
}

/// Without the `journal` feature a configured journal is refused, never ignored.
#[cfg(not(any(feature = "journal", feature = "journal-postgres")))]
pub(crate) fn refuse_journal(config: &Config) -> Result<()> {
    match config.journal_url() {
        Some(_) => Err(Error::config(format!(
            "[{JOURNAL_TABLE}] url is set but this build has no journal: enable the `journal` feature of the `payment` crate"
        ))),
        None => Ok(()),
    }
}
