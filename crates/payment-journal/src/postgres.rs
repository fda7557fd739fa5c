//! `PostgresStore`: the journal for fleets. Many application instances and recovery workers
//! share it; the recovery claim takes due attempts with `FOR UPDATE SKIP LOCKED` and a lease,
//! so each attempt is resolved by exactly one worker.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use crate::schema::{MIGRATIONS, MIGRATIONS_TABLE};

async fn begin_read_committed(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

crate::sql::sql_store!(
    PostgresStore,
    Postgres,
    PgPool,
    sqlx::postgres::PgRow,
    "postgres",
    begin_read_committed,
    "FOR UPDATE SKIP LOCKED"
);

/// Serializes concurrent migrations from several instances starting at once.
const MIGRATION_LOCK: i64 = 0x7061_796d_6a6e_6c31;

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host/db`) and applies the journal's migrations.
    pub async fn open(url: &str) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            // The URL may hold a password: name the host only.
            .map_err(|e| storage("connect to the PostgreSQL journal", redact(url, &e.to_string())))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the journal's migrations that this database lacks.
    pub async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| storage("migrate", e))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| storage("migrate", e))?;
        sqlx::query(MIGRATIONS_TABLE).execute(&mut *tx).await.map_err(|e| storage("migrate", e))?;
        let applied: Option<i64> = sqlx::query("SELECT MAX(version) FROM payment_journal_migrations")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| storage("migrate", e))?;
        for m in MIGRATIONS.iter().filter(|m| Some(m.version) > applied) {
            for statement in m.postgres {
                sqlx::query(*statement).execute(&mut *tx).await.map_err(|e| storage("migrate", e))?;
            }
            sqlx::query("INSERT INTO payment_journal_migrations (version, applied_ms) VALUES ($1, $2)")
                .bind(m.version)
                .bind(crate::now_ms())
                .execute(&mut *tx)
                .await
                .map_err(|e| storage("migrate", e))?;
        }
        tx.commit().await.map_err(|e| storage("migrate", e))
    }
}

/// `message` with any password from `url` removed.
fn redact(url: &str, message: &str) -> String {
    match url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned)) {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_owned(),
    }
}
