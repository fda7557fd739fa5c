//! `SqliteStore`: the embedded default. WAL with `synchronous=FULL` unless told otherwise (a
//! committed transition survives power loss), every write in `BEGIN IMMEDIATE`, so two
//! processes on one file serialize their writes instead of failing at commit, and concurrent
//! writes of one process grouped into one commit.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::options::{Durability, StoreOptions};

async fn begin_immediate(pool: &SqlitePool, sql: &'static str) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with(sql).await
}

/// A write transaction on the journal's own pool, whose connections were opened with its settings.
const BEGIN: &str = "BEGIN IMMEDIATE";

/// A write transaction on an application's pool under `full`: `synchronous` is a connection's
/// setting, the app's to choose, and SQLite refuses to change it inside a transaction, so it is
/// set (no I/O) before each BEGIN.
const BEGIN_FULL_ON_APP_POOL: &str = "PRAGMA synchronous = FULL; BEGIN IMMEDIATE";

crate::sql::sql_store!(SqliteStore, Sqlite, SqlitePool, "sqlite", begin_immediate, "", sqlite, &[], None);

/// How long a connection waits for another's lock before it reports "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// True when SQLite answered `SQLITE_BUSY` (any extended code of it).
fn is_busy(e: &sqlx::Error) -> bool {
    let code = match e {
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    code.is_some_and(|c| c & 0xff == 5)
}

/// Connects, retrying "database is locked" until `BUSY_TIMEOUT`: when several processes open a
/// fresh file together, all but one lose the race to switch it to WAL, and SQLite tells the losers
/// at once rather than through the busy handler (waiting there could deadlock).
async fn connect_when_free(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await {
            Err(e) if is_busy(&e) && tokio::time::Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// SQLite has one writer at a time: a second lane could only wait for the first.
fn one_lane(batch: &crate::batch::BatchOptions) -> Result<()> {
    if batch.lanes > 1 {
        return Err(payment_core::Error::config("batch_lanes must be 1 for SQLite, which has one writer at a time"));
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating when missing) the journal at `path` and applies its migrations.
    pub async fn open(path: &Path, durability: Durability) -> Result<SqliteStore> {
        SqliteStore::open_with(path, StoreOptions { durability, ..StoreOptions::default() }).await
    }

    /// Opens the journal at `path` with `options` (durability and group commit).
    pub async fn open_with(path: &Path, options: StoreOptions) -> Result<SqliteStore> {
        one_lane(&options.batch)?;
        let durability = options.durability;
        let batch = options.batch;
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
            .busy_timeout(BUSY_TIMEOUT);
        let pool = connect_when_free(options)
            .await
            .map_err(|e| storage(&format!("open the SQLite journal {}", path.display()), e))?;
        SqliteStore::over(pool, BEGIN, batch).await
    }

    /// The journal on the application's own pool (its tables beside the app's, migrated on
    /// first use). Under [`Durability::Full`] every journal transaction sets `synchronous = FULL`
    /// on its connection first, whatever the pool's connections were opened with, so a committed
    /// transition survives power loss; `Normal` leaves the app's setting. Give the pool a
    /// `busy_timeout`: the journal writes in `BEGIN IMMEDIATE` and waits there for other writers.
    pub async fn on_pool(pool: SqlitePool, options: StoreOptions) -> Result<SqliteStore> {
        one_lane(&options.batch)?;
        let begin = match options.durability {
            Durability::Full => BEGIN_FULL_ON_APP_POOL,
            Durability::Normal => BEGIN,
        };
        SqliteStore::over(pool, begin, options.batch).await
    }

    async fn over(pool: SqlitePool, begin_sql: &'static str, batch: crate::batch::BatchOptions) -> Result<SqliteStore> {
        let store = SqliteStore {
            pool,
            begin_sql,
            writer: Some(std::sync::Arc::new(tokio::sync::Mutex::new(()))),
            clock: Default::default(),
            // One writer at a time in SQLite: one lane.
            batch: std::sync::Arc::new(crate::batch::Batcher::new(crate::batch::BatchOptions { lanes: 1, ..batch })),
            fail_commits: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{ConnectOptions, Connection, Executor};

    /// Processes starting together on a fresh file race to turn it into WAL. The loser holds a read
    /// lock when it asks to write, so SQLite answers "database is locked" at once instead of calling
    /// the busy handler (waiting could deadlock): here the winner is held mid-transaction for 300 ms.
    #[tokio::test]
    async fn open_waits_out_another_process_switching_a_fresh_file() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let path = dir.path().join("race.db");
        let mut winner = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .expect("the first opener connects");
        winner.execute("BEGIN IMMEDIATE").await.expect("the first opener takes the write lock");
        winner.execute("CREATE TABLE first_opener (x INTEGER)").await.expect("it writes");
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            winner.execute("COMMIT").await.expect("it commits");
            winner.close().await.expect("it closes");
        });
        let store = SqliteStore::open(&path, Durability::Full).await;
        release.await.expect("the first opener finishes");
        assert!(store.is_ok(), "{:?}", store.err());
    }

    #[test]
    fn only_sqlite_busy_counts_as_busy() {
        assert!(!is_busy(&sqlx::Error::PoolTimedOut));
        assert!(!is_busy(&sqlx::Error::RowNotFound));
    }
}
