//! The payment journal from config: `[journal] url = "sqlite://…" | "postgres://…"` (or
//! `PAYMENT_JOURNAL_URL`), an optional `lease` and `settle_horizon`. With the `journal` feature, `connect`
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
    let settings = config.table(JOURNAL_TABLE);
    settings.check_keys(&["url", "lease", "settle_horizon"])?;
    let longest = longest_deadline(config, &default_deadline)?;
    let lease = match settings.get("lease") {
        Some(text) => {
            let lease = payment_core::time::parse_duration(text).map_err(|why| {
                Error::config(format!(
                    "journal lease {text:?} {why}; fix `lease` in [journal] or PAYMENT_JOURNAL_LEASE"
                ))
            })?;
            check_lease(config, lease, &default_deadline).map_err(|e| {
                Error::config(format!("{} (`lease` {text:?} in [journal] or PAYMENT_JOURNAL_LEASE)", e.message()))
            })?;
            lease
        }
        None => longest + LEASE_MARGIN,
    };
    let defaults = payment_journal::JournalOptions::default();
    let settle_horizon = match settings.get("settle_horizon") {
        Some(text) => payment_core::time::parse_duration(text).map_err(|why| {
            Error::config(format!(
                "journal settle_horizon {text:?} {why}; fix `settle_horizon` in [journal] or PAYMENT_JOURNAL_SETTLE_HORIZON"
            ))
        })?,
        None => defaults.settle_horizon,
    };
    let options = payment_journal::JournalOptions { lease, settle_horizon, ..defaults };
    // A journal that cannot be opened is a setting to fix, refused before any payment is sent.
    let journal = payment_journal::open(url, options).await.map_err(|e| match e.kind() {
        payment_core::ErrorKind::Journal => {
            Error::config(format!("{}; check `url` in [journal] or PAYMENT_JOURNAL_URL", e.message()))
        }
        _ => e,
    })?;
    Ok(Some(journal))
}

/// How long a call of an account without a `timeout` may take: what its engine allows, given
/// the provider's name (the default engine: its retry policy's 60 s).
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
pub(crate) type EngineDeadline<'a> = dyn Fn(&str) -> Result<std::time::Duration> + 'a;

/// The default engine's deadline.
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
fn default_deadline(_provider: &str) -> Result<std::time::Duration> {
    Ok(DEFAULT_CALL_DEADLINE)
}

/// The longest deadline of any account an attempt may be sent through: its `timeout`, else what
/// its engine allows.
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
fn longest_deadline(config: &Config, engine: &EngineDeadline<'_>) -> Result<std::time::Duration> {
    let of = |settings: &payment_core::ProviderSettings, provider: &str| -> Result<std::time::Duration> {
        match settings.timeout()? {
            Some(t) if !t.is_zero() => Ok(t),
            _ => engine(provider),
        }
    };
    let mut longest = std::time::Duration::ZERO;
    if config.is_routed() {
        for account in config.all_accounts().values() {
            longest = longest.max(of(&account.settings, &account.provider)?);
        }
    } else if let Ok(name) = config.provider_name() {
        longest = of(&config.settings(name), name)?;
    }
    Ok(if longest.is_zero() { DEFAULT_CALL_DEADLINE } else { longest })
}

/// Refuses a lease that could run out while a call of `config` is still sending: a repeat or
/// recovery would take the attempt over mid-flight (the journal cuts the send at the lease and
/// answers unknown, which is safe but turns slow successes into work for recovery).
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
pub(crate) fn check_lease(config: &Config, lease: std::time::Duration, engine: &EngineDeadline<'_>) -> Result<()> {
    let longest = longest_deadline(config, engine)?;
    if lease < longest + LEASE_MARGIN {
        return Err(Error::config(format!(
            "the journal's lease ({lease:?}) is shorter than the longest call deadline ({longest:?}) plus {LEASE_MARGIN:?}: raise the lease to at least {:?} or lower the accounts' `timeout`",
            longest + LEASE_MARGIN
        )));
    }
    Ok(())
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

#[cfg(all(test, feature = "journal"))]
mod tests {
    use super::*;

    fn routed(dir: &std::path::Path, lease: Option<&str>) -> Config {
        let url = format!("sqlite://{}", dir.join("journal.db").display());
        let lease = lease.map(|l| format!("lease = \"{l}\"\n")).unwrap_or_default();
        Config::from_toml_str(&format!(
            "[journal]\nurl = \"{url}\"\n{lease}\
             [accounts.fast]\nprovider = \"memory\"\ntimeout = \"2s\"\n\
             [accounts.slow]\nprovider = \"memory\"\n\
             [[routes]]\nname = \"all\"\ntargets = [\"fast\", \"slow\"]\n"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn an_account_without_a_timeout_counts_with_the_default_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open_journal(&routed(dir.path(), None)).await.unwrap().unwrap();
        assert_eq!(journal.options().lease, DEFAULT_CALL_DEADLINE + LEASE_MARGIN);
    }

    #[tokio::test]
    async fn the_settle_horizon_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let with = |h: &str| {
            let mut config = routed(dir.path(), None);
            config.table_mut(JOURNAL_TABLE).set("settle_horizon", h);
            config
        };
        let journal = open_journal(&with("2s")).await.unwrap().unwrap();
        assert_eq!(journal.options().settle_horizon, std::time::Duration::from_secs(2));
        let e = open_journal(&with("soon")).await.unwrap_err();
        assert!(e.message().contains("settle_horizon"), "{e}");
    }

    #[tokio::test]
    async fn a_lease_shorter_than_a_deadline_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_journal(&routed(dir.path(), Some("10s"))).await.unwrap_err();
        assert_eq!(e.kind(), payment_core::ErrorKind::Config);
        assert!(e.message().contains("lease") && e.message().contains("1m 5s") || e.message().contains("65s"), "{e}");
        assert!(open_journal(&routed(dir.path(), Some("70s"))).await.unwrap().is_some());
    }
}
