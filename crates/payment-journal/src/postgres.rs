//! `PostgresStore`: the journal for fleets. Many application instances and recovery workers
//! share it; the recovery claim takes due attempts with `FOR UPDATE SKIP LOCKED` and a lease,
//! so each attempt is resolved by exactly one worker.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

async fn begin_read_committed(pool: &PgPool, sql: &'static str) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with(sql).await
}

/// A write transaction on the journal's own pool, whose connections were opened with its settings.
/// The isolation is named: a database (or an app's sessions) may default to another level, where
/// a version-checked update that lost a race fails with a serialization error instead of
/// matching no row (which the journal reads as "fenced").
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// Write transactions on an application's pool: its connections may run with
/// `synchronous_commit = off` (or anything else the app chose), so each journal transaction sets
/// its own for itself alone (`SET LOCAL`).
const BEGIN_FULL_ON_APP_POOL: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit TO on";
const BEGIN_NORMAL_ON_APP_POOL: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit TO off";

crate::sql::sql_store!(
    PostgresStore,
    Postgres,
    PgPool,
    "postgres",
    begin_read_committed,
    "FOR UPDATE SKIP LOCKED",
    postgres,
    &[MIGRATION_LOCK_SQL],
    Some(CLOCK_SQL)
);

/// The database's time in Unix milliseconds: a fleet's leases are compared on it, never on the
/// hosts' clocks.
const CLOCK_SQL: &str = "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)";

/// Batches a store commits at once by default: PostgreSQL overlaps their commits and shares the
/// flushes, and the pool keeps connections for reads and claims besides.
const PG_LANES: usize = 4;

/// Serializes concurrent migrations from several instances starting at once.
const MIGRATION_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(8097883868325031985)";

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host/db`) and applies the journal's migrations.
    /// `?journal_schema=NAME` keeps the journal's tables in that schema (created when missing),
    /// apart from the application's.
    pub async fn open(url: &str) -> Result<PostgresStore> {
        let (url, schema, store_options) = split_schema(url)?;
        // One plain connection first: a wrong host or password fails at once, not after the
        // pool's acquire timeout.
        let probe = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .map_err(|e| storage("connect to the PostgreSQL journal", redact(&url, &e.to_string())))?;
        let _ = sqlx::Connection::close(probe).await;
        let mut options = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(30));
        let mut settings = Vec::new();
        if let Some(schema) = &schema {
            settings.push(format!("SET search_path TO \"{schema}\""));
        }
        // Set either way: a database shared with an application may default to `off`, which
        // would silently break the write-ahead rule under `full`.
        settings.push(match store_options.durability {
            // A commit returns only once its WAL is flushed.
            crate::options::Durability::Full => "SET synchronous_commit TO on".to_owned(),
            // A commit returns before its WAL is flushed: a server crash may undo the last ones.
            crate::options::Durability::Normal => "SET synchronous_commit TO off".to_owned(),
        });
        if !settings.is_empty() {
            options = options.after_connect(move |conn, _meta| {
                let settings = settings.clone();
                Box::pin(async move {
                    for set in settings {
                        sqlx::Executor::execute(&mut *conn, sqlx::AssertSqlSafe(set)).await?;
                    }
                    Ok(())
                })
            });
        }
        if let Some(schema) = schema {
            let admin = sqlx::PgPool::connect(&url)
                .await
                .map_err(|e| storage("connect to the PostgreSQL journal", redact(&url, &e.to_string())))?;
            // IF NOT EXISTS alone races between instances starting at once; the lock orders them.
            let create = async {
                let mut tx = admin.begin().await?;
                sqlx::query(MIGRATION_LOCK_SQL).execute(&mut *tx).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            };
            create.await.map_err(|e| storage("create the journal's schema", e))?;
            admin.close().await;
        }
        let pool = options
            .connect(&url)
            .await
            // The URL may hold a password: name the host only.
            .map_err(|e| storage("connect to the PostgreSQL journal", redact(&url, &e.to_string())))?;
        PostgresStore::over(pool, BEGIN, store_options).await
    }

    /// The journal on the application's own pool, in the schema its connections' `search_path`
    /// names (tables migrated on first use, under an advisory lock). Each journal transaction
    /// sets `synchronous_commit` for itself (`on` under [`crate::Durability::Full`], `off` under
    /// `Normal`), so the app's own setting never weakens the write-ahead rule. The journal's group
    /// commit holds up to `batch.lanes` (default 4) of the pool's connections while it commits.
    pub async fn on_pool(pool: PgPool, options: crate::options::StoreOptions) -> Result<PostgresStore> {
        let begin = match options.durability {
            crate::options::Durability::Full => BEGIN_FULL_ON_APP_POOL,
            crate::options::Durability::Normal => BEGIN_NORMAL_ON_APP_POOL,
        };
        PostgresStore::over(pool, begin, options).await
    }

    async fn over(
        pool: PgPool,
        begin_sql: &'static str,
        store_options: crate::options::StoreOptions,
    ) -> Result<PostgresStore> {
        let store = PostgresStore {
            writes: pool.clone(),
            pool,
            begin_sql,
            writer: None,
            keep_writer: false,
            writer_failed: Default::default(),
            clock: Default::default(),
            batch: std::sync::Arc::new(crate::batch::Batcher::new(crate::batch::BatchOptions {
                lanes: match store_options.batch.lanes {
                    0 => PG_LANES,
                    n => n,
                },
                ..store_options.batch
            })),
            fail_commits: Default::default(),
        };
        store.migrate().await?;
        store.read_clock().await?;
        Ok(store)
    }
}

/// The URL without this crate's parameters, the `journal_schema` (letters, digits and `_`
/// only), and the commit settings (`durability`, `batch_max`, `batch_wait_ms`).
fn split_schema(url: &str) -> Result<(String, Option<String>, crate::options::StoreOptions)> {
    let mut parsed = url::Url::parse(url).map_err(|e| payment_core::Error::config(format!("journal URL: {e}")))?;
    let mut schema = None;
    let mut rest: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == "journal_schema" {
                schema = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if let Some(s) = &schema
        && (s.is_empty() || s.len() > 63 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(payment_core::Error::config(format!(
            "journal_schema {s:?} must be 1 to 63 letters, digits or '_'"
        )));
    }
    let store_options = crate::options::StoreOptions::take(&mut rest)?;
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((parsed.into(), schema, store_options))
}

/// `message` with any password from `url` removed.
fn redact(url: &str, message: &str) -> String {
    match url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned)) {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_schema_parameter_is_taken_out_and_checked() {
        let (url, schema, options) =
            split_schema("postgres://u:p@h:5432/db?journal_schema=pay_1&sslmode=disable&batch_max=8").unwrap();
        assert_eq!(schema.as_deref(), Some("pay_1"));
        assert_eq!(url, "postgres://u:p@h:5432/db?sslmode=disable");
        assert_eq!(options.batch.max, 8);
        let (url, schema, options) = split_schema("postgres://h/db").unwrap();
        assert_eq!((url.as_str(), schema, options), ("postgres://h/db", None, Default::default()));
        assert!(split_schema("postgres://h/db?durability=sometimes").is_err());
        assert!(split_schema("postgres://h/db?journal_schema=a;drop").is_err());
        assert!(split_schema("postgres://h/db?journal_schema=").is_err());
    }

    #[test]
    fn passwords_are_taken_out_of_messages() {
        let m = redact("postgres://app:s3cret-pw@db/pay", "password authentication failed for s3cret-pw");
        assert!(!m.contains("s3cret-pw"), "{m}");
    }

    #[tokio::test]
    async fn a_failed_connection_does_not_show_the_password() {
        // Nothing listens on port 1.
        let e = PostgresStore::open("postgres://app:s3cret-pw@127.0.0.1:1/pay").await.unwrap_err();
        assert!(!e.to_string().contains("s3cret-pw") && !format!("{e:?}").contains("s3cret-pw"), "{e}");
    }

    proptest! {
        #[test]
        fn splitting_any_url_never_panics(s in ".{0,120}") {
            let _ = split_schema(&s);
        }
    }
}
