//! Opening a journal from a URL: `sqlite://PATH` (created when missing), `postgres://…`, or
//! `memory:`; `?durability=normal` trades the last commits on power loss (or a server crash) for
//! speed, and `batch_max` / `batch_wait_ms` shape the group commit.

#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;

use payment_core::{Error, Result};

use crate::journal::{Journal, JournalOptions};
use crate::memory::MemoryStore;
use crate::store::JournalStore;

/// Opens the store a URL names.
pub async fn open_store(url: &str) -> Result<Arc<dyn JournalStore>> {
    let url = url.trim();
    if url == "memory:" || url == "memory://" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        return open_sqlite(rest).await;
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url).await;
    }
    let shown = url.split_once('@').map_or(url, |(_, host)| host);
    Err(Error::config(format!("journal URL {shown:?} must start with sqlite://, postgres:// or memory:")))
}

/// Opens a journal with `options` over the store a URL names.
pub async fn open(url: &str, options: JournalOptions) -> Result<Journal> {
    Ok(Journal::with_options(open_store(url).await?, options))
}

/// The file and commit settings of `sqlite://PATH[?durability=full|normal&batch_max=N&batch_wait_ms=N]`
/// (after the scheme; `synchronous` is the old name of `durability`).
#[cfg(feature = "sqlite")]
pub(crate) fn parse_sqlite(rest: &str) -> Result<(PathBuf, crate::options::StoreOptions)> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(Error::config("sqlite:// needs a file path, e.g. sqlite://payments.db"));
    }
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let options = crate::options::StoreOptions::take(&mut pairs)?;
    if let Some((k, v)) = pairs.first() {
        return Err(Error::config(format!(
            "unknown SQLite journal option \"{k}={v}\"; only durability (or synchronous), batch_max, batch_wait_ms and batch_lanes"
        )));
    }
    Ok((PathBuf::from(path), options))
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(rest: &str) -> Result<Arc<dyn JournalStore>> {
    let (path, options) = parse_sqlite(rest)?;
    Ok(Arc::new(crate::sqlite::SqliteStore::open_with(&path, options).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_rest: &str) -> Result<Arc<dyn JournalStore>> {
    Err(Error::config(
        "this build has no SQLite journal: enable the `journal` feature of `payment` (`sqlite` of payment-journal)",
    ))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn JournalStore>> {
    Ok(Arc::new(crate::postgres::PostgresStore::open(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn JournalStore>> {
    Err(Error::config(
        "this build has no PostgreSQL journal: enable `journal-postgres` of `payment` (`postgres` of payment-journal)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_urls_name_a_file_and_a_durability() {
        use crate::options::{Durability, StoreOptions};
        assert_eq!(parse_sqlite("pay.db").unwrap(), (PathBuf::from("pay.db"), StoreOptions::default()));
        let (path, options) = parse_sqlite("/var/j.db?synchronous=normal&batch_max=8").unwrap();
        assert_eq!((path, options.durability, options.batch.max), (PathBuf::from("/var/j.db"), Durability::Normal, 8));
        assert_eq!(parse_sqlite("j.db?durability=normal").unwrap().1.durability, Durability::Normal);
        assert!(parse_sqlite("").is_err());
        assert!(parse_sqlite("a.db?synchronous=off").unwrap_err().message().contains("full or normal"));
        assert!(parse_sqlite("a.db?cache=shared").unwrap_err().message().contains("cache=shared"));
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_without_showing_credentials() {
        let e = open_store("mysql://root:hunter2@db/x").await.unwrap_err();
        assert_eq!(e.kind(), payment_core::ErrorKind::Config);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(open_store("memory:").await.is_ok());
    }

    proptest! {
        #[cfg(feature = "sqlite")]
        #[test]
        fn parsing_any_sqlite_url_never_panics(s in ".{0,80}") {
            let _ = parse_sqlite(&s);
        }
    }
}
