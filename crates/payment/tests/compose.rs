//! The library inside an application: `Connect` with the app's engine (its tower layer sees every
//! request) and the journal on the app's own sqlx pool, durable whatever the pool's connections
//! were opened with.

#![cfg(all(feature = "payjp", feature = "mock", feature = "journal", feature = "journal-postgres"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use payment::journal::{Journal, JournalOptions, PostgresStore, SqliteStore, StoreOptions};
use payment::mocks::MockOptions;
use payment::transport::{EngineBuilder, HttpRequest};
use payment::{Config, ErrorKind, IdempotencyKey, RequestOptions};
use sqlx::ConnectOptions as _;

async fn payjp_mock() -> (payment::mocks::MockHandle, Config) {
    let driver = payment::registry().get("payjp").unwrap();
    let mock = payment::mocks::start(driver, MockOptions::default()).await.unwrap();
    let config = Config::for_provider(mock.settings.clone());
    (mock, config)
}

type Case = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let postgres_unset = std::env::var("PAYMENT_TEST_POSTGRES_URL").is_err();
    let cases: [(&str, Case, bool); 3] = [
        (
            "the_apps_engine_and_its_sqlite_pool_carry_a_journaled_charge",
            || Box::pin(the_apps_engine_and_its_sqlite_pool_carry_a_journaled_charge()),
            false,
        ),
        (
            "a_given_journal_and_a_configured_one_are_refused_together",
            || Box::pin(a_given_journal_and_a_configured_one_are_refused_together()),
            false,
        ),
        (
            "the_apps_postgres_pool_carries_a_journaled_charge",
            || Box::pin(the_apps_postgres_pool_carries_a_journaled_charge()),
            true,
        ),
    ];
    let trials = cases
        .into_iter()
        .map(|(name, case, postgres)| {
            let trial = libtest_mimic::Trial::test(name, move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(case());
                Ok(())
            });
            if postgres && postgres_unset {
                trial
                    .with_ignored_flag(true)
                    .with_kind("PAYMENT_TEST_POSTGRES_URL is unset: no PostgreSQL to test against")
            } else {
                trial
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn counting(seen: &Arc<AtomicUsize>) -> impl Fn(&'static str) -> EngineBuilder + Send + Sync + 'static {
    let seen = seen.clone();
    move |provider| {
        let seen = seen.clone();
        EngineBuilder::new(provider).layer(tower::util::MapRequestLayer::new(move |r: HttpRequest| {
            seen.fetch_add(1, Ordering::SeqCst);
            r
        }))
    }
}

async fn the_apps_engine_and_its_sqlite_pool_carry_a_journaled_charge() {
    let (_mock, config) = payjp_mock().await;
    let dir = tempfile::tempdir().unwrap();
    // The app's pool, one connection, opened with durability off: the journal must not inherit it.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("app.db"))
        .create_if_missing(true)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
        .disable_statement_logging();
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let level = |pool: sqlx::SqlitePool| async move {
        sqlx::query_scalar::<_, i64>("PRAGMA synchronous").fetch_one(&pool).await.unwrap()
    };
    assert_eq!(level(pool.clone()).await, 0, "the app's own setting");
    let store = SqliteStore::on_pool(pool.clone(), StoreOptions::default()).await.unwrap();
    let journal = Journal::with_options(Arc::new(store), JournalOptions::default());
    let seen = Arc::new(AtomicUsize::new(0));
    let client =
        payment::Connect::new().engine(counting(&seen)).journal(journal.clone()).client(&config).await.unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some("compose-1".into()));
    let options =
        RequestOptions { idempotency_key: Some(IdempotencyKey::new("compose-key-1").unwrap()), ..Default::default() };
    let charge = client.create_charge(request, &options).await.unwrap();
    assert!(seen.load(Ordering::SeqCst) >= 2, "the app's layer saw the token and the charge");
    let payment = journal.payment("compose-key-1").await.unwrap().expect("journaled in the app's database");
    assert_eq!(payment.charge_id.as_deref(), Some(charge.id.as_str()));
    // Every journal transaction set FULL on its connection first (SQLite refuses to inside one).
    assert_eq!(level(pool.clone()).await, 2, "the journal's writes ran with synchronous = FULL");
    // The app's tables and the journal's share the file.
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'payment_journal_%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(tables >= 3, "{tables}");
}

async fn a_given_journal_and_a_configured_one_are_refused_together() {
    let (_mock, mut config) = payjp_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new(Arc::new(payment::journal::MemoryStore::new()));
    config.table_mut("journal").set("url", format!("sqlite://{}", dir.path().join("j.db").display()));
    let e = payment::Connect::new().journal(journal).client(&config).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("[journal] table"), "{e}");
    // A lease shorter than a call may take would let recovery resend a call still in flight.
    let (mock, _) = payjp_mock().await;
    let config = Config::for_provider(mock.settings.clone().with("timeout", "90s"));
    let short = JournalOptions { lease: std::time::Duration::from_secs(30), ..JournalOptions::default() };
    let journal = Journal::with_options(Arc::new(payment::journal::MemoryStore::new()), short);
    let e = payment::Connect::new().journal(journal).client(&config).await.unwrap_err();
    assert!(e.message().contains("lease"), "{e}");
    // So would the app's engine that lets a call run past the lease.
    let (_mock, config) = payjp_mock().await;
    let journal = Journal::new(Arc::new(payment::journal::MemoryStore::new()));
    let slow = |p| EngineBuilder::new(p).call_timeout(std::time::Duration::from_secs(300));
    let e = payment::Connect::new().engine(slow).journal(journal.clone()).client(&config).await.unwrap_err();
    assert!(e.message().contains("lease") && e.message().contains("300s"), "{e}");
    let unbounded = |p| EngineBuilder::new(p).retry_policy(payment::Retry { max_attempts: 2 });
    let e = payment::Connect::new().engine(unbounded).journal(journal.clone()).client(&config).await.unwrap_err();
    assert!(e.message().contains("sets no deadline"), "{e}");
    let fast = |p| EngineBuilder::new(p).call_timeout(std::time::Duration::from_secs(20));
    assert!(payment::Connect::new().engine(fast).journal(journal).client(&config).await.is_ok());
}

async fn the_apps_postgres_pool_carries_a_journaled_charge() {
    let url = std::env::var("PAYMENT_TEST_POSTGRES_URL").expect("run only when set");
    let (_mock, config) = payjp_mock().await;
    let schema = format!("app_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&admin).await.unwrap();
    // The app's pool: its own schema, and commits that do not wait for the disk.
    let set = format!("SET search_path TO {schema}; SET synchronous_commit TO off");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            let set = set.clone();
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, sqlx::AssertSqlSafe(set)).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .unwrap();
    let store = PostgresStore::on_pool(pool.clone(), StoreOptions::default()).await.unwrap();
    let journal = Journal::with_options(Arc::new(store), JournalOptions::default());
    let client = payment::Connect::new().journal(journal.clone()).client(&config).await.unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some("compose-pg-1".into()));
    let options =
        RequestOptions { idempotency_key: Some(IdempotencyKey::new("compose-pg-1").unwrap()), ..Default::default() };
    let charge = client.create_charge(request, &options).await.unwrap();
    let payment = journal.payment("compose-pg-1").await.unwrap().expect("journaled");
    assert_eq!(payment.charge_id.as_deref(), Some(charge.id.as_str()));
    let rows: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {schema}.payment_journal_payments")))
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(rows, 1, "in the app's schema");
    // The app's own sessions keep their setting: the journal's SET LOCAL is its transactions' alone.
    let setting: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await.unwrap();
    assert_eq!(setting, "off");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await.unwrap();
}
