//! `SqliteStore`: the embedded default. WAL with `synchronous=FULL` unless told otherwise (a
//! committed transition survives power loss), and every write in `BEGIN IMMEDIATE`, so two
//! processes on one file serialize their writes instead of failing at commit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// How hard SQLite syncs each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it returns (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode, a power loss may undo the last commits (never corrupts).
    Normal,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Durability, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("synchronous={other:?}: use full or normal")),
        }
    }
}

async fn begin_immediate(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

crate::sql::sql_store!(
    SqliteStore,
    Sqlite,
    SqlitePool,
    sqlx::sqlite::SqliteRow,
    "sqlite",
    begin_immediate,
    "",
    sqlite,
    &[]
);

impl SqliteStore {
    /// Opens (creating when missing) the journal at `path` and applies its migrations.
    pub async fn open(path: &Path, durability: Durability) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            // Other processes' writers hold the lock only for one short transaction.
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| storage(&format!("open the SQLite journal {}", path.display()), e))?;
        let store = SqliteStore { pool, writer: Some(std::sync::Arc::new(tokio::sync::Mutex::new(()))) };
        store.migrate().await?;
        Ok(store)
    }
}
