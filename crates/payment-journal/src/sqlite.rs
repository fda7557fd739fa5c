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
async fn connect_when_free(options: SqliteConnectOptions, connections: u32) -> Result<SqlitePool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match SqlitePoolOptions::new().max_connections(connections).connect_with(options.clone()).await {
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
        let open = |connections| {
            let options = options.clone();
            async move {
                connect_when_free(options, connections)
                    .await
                    .map_err(|e| storage(&format!("open the SQLite journal {}", path.display()), e))
            }
        };
        // Reads on a pool; writes (one at a time in SQLite) on a connection of their own, kept.
        let (pool, writes) = (open(4).await?, open(1).await?);
        SqliteStore::over(pool, writes, true, BEGIN, batch).await
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
        SqliteStore::over(pool.clone(), pool, false, begin, options.batch).await
    }

    async fn over(
        pool: SqlitePool,
        writes: SqlitePool,
        keep_writer: bool,
        begin_sql: &'static str,
        batch: crate::batch::BatchOptions,
    ) -> Result<SqliteStore> {
        let store = SqliteStore {
            pool,
            writes,
            begin_sql,
            writer: Some(std::sync::Arc::new(tokio::sync::Mutex::new(None))),
            keep_writer,
            writer_failed: Default::default(),
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

    fn cancel(key: &str) -> crate::record::NewAttempt {
        let charge_id = payment_core::ChargeId::new(format!("ch_{key}"));
        crate::record::NewAttempt {
            idempotency_key: key.to_owned(),
            account: "acct".into(),
            request: crate::request::StoredRequest::CancelCharge { charge_id },
            lease_owner: "test".into(),
            lease_until_ms: i64::MAX / 2,
            now_ms: 1,
            rules: Default::default(),
        }
    }

    /// The connection writes keep is detached from its pool: dropping the store where no runtime
    /// runs (after `block_on` returned, as a CLI does) closes it, where a pooled connection would
    /// need a runtime to go back to its pool, and panic without one.
    #[test]
    fn a_store_dropped_outside_a_runtime_closes_its_writer() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let store = runtime.block_on(async {
            let store = SqliteStore::open(&dir.path().join("j.db"), Durability::Full).await.expect("it opens");
            store.prepare(cancel("k1")).await.expect("it writes");
            store
        });
        drop(runtime);
        drop(store);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let again = SqliteStore::open(&dir.path().join("j.db"), Durability::Full).await.expect("it opens again");
            assert!(again.payment("k1").await.expect("it reads").is_some(), "the write was kept");
        });
    }

    /// A kept writer left inside a transaction (sqlx's count of open transactions and SQLite's
    /// disagreeing) fails the writes of the turn that finds it so, answered with an error and
    /// leaving nothing; it is closed as that turn ends (rolling back what it held), so another
    /// process's writer is not held up, and the next write takes a new connection.
    #[tokio::test]
    async fn a_writer_left_in_a_transaction_is_replaced() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let store = SqliteStore::open(&dir.path().join("j.db"), Durability::Full).await.expect("it opens");
        store.prepare(cancel("before")).await.expect("it writes");
        {
            let mut turn = store.write_turn().await;
            let kept = turn.guard.as_mut().and_then(|t| t.as_mut()).expect("writes keep a connection");
            kept.execute("BEGIN IMMEDIATE").await.expect("a transaction left open");
        }
        let stuck = store.prepare(cancel("stuck")).await;
        assert!(stuck.is_err(), "the write that found the writer in a transaction hears an error: {stuck:?}");
        // Closed as that write's turn ended: another process writes at once, not after the
        // busy timeout.
        let other = SqliteStore::open(&dir.path().join("j.db"), Durability::Full).await.expect("it opens");
        let beside = tokio::time::timeout(Duration::from_secs(5), other.prepare(cancel("beside"))).await;
        assert!(matches!(beside, Ok(Ok(_))), "another writer is not held up: {beside:?}");
        store.prepare(cancel("after")).await.expect("the next write goes on a new connection");
        for (key, kept) in [("before", true), ("stuck", false), ("beside", true), ("after", true)] {
            assert_eq!(store.payment(key).await.expect("it reads").is_some(), kept, "{key}");
        }
    }

    #[test]
    fn only_sqlite_busy_counts_as_busy() {
        assert!(!is_busy(&sqlx::Error::PoolTimedOut));
        assert!(!is_busy(&sqlx::Error::RowNotFound));
    }
}
