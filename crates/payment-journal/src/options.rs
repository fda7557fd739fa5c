//! How a SQL store commits: its durability and its group commit, read from the journal URL's
//! query (`?durability=full|normal&batch_max=64&batch_wait_ms=0&batch_lanes=N`).

use std::str::FromStr;
use std::time::Duration;

use payment_core::{Error, Result};

use crate::batch::BatchOptions;

/// How hard a store syncs each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A commit is on disk before any caller of its batch hears of it: SQLite
    /// `synchronous=FULL`, PostgreSQL `synchronous_commit=on` (the default).
    #[default]
    Full,
    /// A power loss (SQLite, in WAL mode) or a server crash (PostgreSQL,
    /// `synchronous_commit=off`) may undo the last commits; nothing is ever corrupted. But the
    /// write-ahead rule no longer survives such a crash: a lost Dispatched reads as Prepared,
    /// recovery concludes "not sent", and the payment's next attempt goes out under a new key
    /// while the first request may have landed: a second charge wherever the provider cannot
    /// refuse the reference. Use it only where losing that is acceptable (tests, a provider that
    /// refuses a reused reference), never as the default.
    Normal,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Durability, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("durability {other:?}: use full or normal")),
        }
    }
}

/// A SQL store's commit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreOptions {
    /// Full (the default) or normal.
    pub durability: Durability,
    /// Group commit.
    pub batch: BatchOptions,
}

impl StoreOptions {
    /// Takes this crate's parameters out of a URL's query pairs (`synchronous` is SQLite's old
    /// name for `durability`), leaving the others; an unknown value is a config error.
    pub fn take(pairs: &mut Vec<(String, String)>) -> Result<StoreOptions> {
        let mut options = StoreOptions::default();
        let mut rest = Vec::new();
        for (k, v) in pairs.drain(..) {
            match k.as_str() {
                "durability" | "synchronous" => options.durability = v.parse().map_err(Error::config)?,
                "batch_max" => {
                    options.batch.max = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| Error::config(format!("batch_max {v:?} must be 1 to 10000")))?;
                }
                "batch_lanes" => {
                    options.batch.lanes = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=16).contains(n))
                        .ok_or_else(|| Error::config(format!("batch_lanes {v:?} must be 1 to 16")))?;
                }
                "batch_wait_ms" => {
                    let ms = v
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms <= 1_000)
                        .ok_or_else(|| Error::config(format!("batch_wait_ms {v:?} must be 0 to 1000")))?;
                    options.batch.wait = Duration::from_millis(ms);
                }
                _ => rest.push((k, v)),
            }
        }
        *pairs = rest;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
    }

    #[test]
    fn the_parameters_are_taken_and_the_rest_left() {
        let mut p = pairs("durability=normal&batch_max=16&batch_wait_ms=2&sslmode=disable");
        let o = StoreOptions::take(&mut p).unwrap();
        assert_eq!(o.durability, Durability::Normal);
        assert_eq!(o.batch, BatchOptions { max: 16, wait: Duration::from_millis(2), lanes: 0 });
        assert_eq!(p, vec![("sslmode".to_owned(), "disable".to_owned())]);
        assert_eq!(StoreOptions::take(&mut pairs("synchronous=FULL")).unwrap().durability, Durability::Full);
        assert_eq!(StoreOptions::take(&mut pairs("")).unwrap(), StoreOptions::default());
        for bad in ["durability=off", "batch_max=0", "batch_max=x", "batch_wait_ms=5000"] {
            let e = StoreOptions::take(&mut pairs(bad)).unwrap_err();
            assert_eq!(e.kind(), payment_core::ErrorKind::Config, "{bad}");
        }
    }
}
