//! Every store obeys the same rules: fenced writes, one attempt in flight, exclusive claims, the
//! one-success constraint, and fleet recovery that resolves each attempt exactly once. Run on
//! memory, SQLite, and PostgreSQL when `PAYMENT_TEST_POSTGRES_URL` is set (else those cases are
//! reported ignored, with the reason).

mod support;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use payment_journal::record::{Begin, NewAttempt, Transition};
use payment_journal::{
    AttemptState, ClaimFilter, DueClaim, Journal, JournalOptions, JournalStore, MemoryStore, PostgresStore,
    SqliteStore, StoredRequest, is_fenced,
};
use support::{Fake, Fault, REPLAY, charge, key};

type Check = fn(Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>>;

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
}

async fn fresh(backend: Backend, dir: &std::path::Path) -> Result<Arc<dyn JournalStore>, Failed> {
    Ok(match backend {
        Backend::Memory => Arc::new(MemoryStore::new()),
        Backend::Sqlite => Arc::new(SqliteStore::open(&dir.join("j.db"), payment_journal::Durability::Full).await?),
        Backend::Postgres => {
            let base = std::env::var("PAYMENT_TEST_POSTGRES_URL")?;
            let name = format!("pj_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
            let admin = sqlx::PgPool::connect(&base).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await?;
            admin.close().await;
            let mut url = url::Url::parse(&base)?;
            url.set_path(&name);
            Arc::new(PostgresStore::open(url.as_str()).await?)
        }
    })
}

fn new_attempt(k: &str, amount: i64, lease_until_ms: i64) -> NewAttempt {
    let request = StoredRequest::of(&payment_core::Mutation::CreateCharge(charge(amount)));
    NewAttempt {
        idempotency_key: k.to_owned(),
        account: "fake".into(),
        request,
        lease_owner: "test".into(),
        lease_until_ms,
        now_ms: now(),
        rules: Default::default(),
    }
}

/// A claim by `owner` at `now_ms` until `lease_until_ms`.
fn claim<'a>(now_ms: i64, owner: &'a str, lease_until_ms: i64, limit: u32, filter: &'a ClaimFilter) -> DueClaim<'a> {
    DueClaim { now_ms, owner, lease_until_ms, limit, filter }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn ensure(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

async fn started(store: &dyn JournalStore, new: NewAttempt) -> Result<payment_journal::Attempt, Failed> {
    match store.prepare(new).await? {
        Begin::Started(a) => Ok(*a),
        Begin::Existing(p) => Err(format!("expected a new attempt, found {:?}", p.state).into()),
    }
}

fn prepare_then_repeat(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let a = started(store.as_ref(), new_attempt("k1", 100, now() + 60_000)).await?;
        ensure(a.state == AttemptState::Prepared && a.version == 1 && a.seq == 1, "a fresh attempt")?;
        let again = store.prepare(new_attempt("k1", 100, now() + 60_000)).await?;
        ensure(matches!(again, Begin::Existing(_)), "a repeat while in flight is the existing payment")?;
        let other = store.prepare(new_attempt("k1", 101, now() + 60_000)).await;
        ensure(
            other.is_err_and(|e| e.kind() == payment_core::ErrorKind::IdempotencyConflict),
            "a different request conflicts",
        )
    })
}

fn stale_writes_are_fenced(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let a = started(store.as_ref(), new_attempt("k2", 100, now() - 1)).await?;
        let d = store.transition(Transition::to(&a, AttemptState::Dispatched, now(), "writer")).await?;
        // Recovery claims it (the lease ran out), bumping the version.
        let claimed = store.claim_due(claim(now(), "recoverer", now() + 60_000, 10, &ClaimFilter::default())).await?;
        ensure(claimed.len() == 1 && claimed[0].version == d.version + 1, "recovery claims it")?;
        let late = store.transition(Transition::to(&d, AttemptState::Succeeded, now(), "late writer")).await;
        ensure(late.is_err_and(|e| is_fenced(&e)), "the stale writer's late write is refused")?;
        let r = store.transition(Transition::to(&claimed[0], AttemptState::Unknown, now(), "recovery")).await?;
        ensure(r.state == AttemptState::Unknown, "the claimer writes")?;
        let back = store.transition(Transition::to(&r, AttemptState::Dispatched, now(), "backwards")).await;
        ensure(back.is_err_and(|e| is_fenced(&e)), "an outcome never goes back in flight")?;
        let events = store.events("k2").await?;
        let states: Vec<_> = events.iter().map(|e| e.to_state).collect();
        ensure(
            states == [AttemptState::Prepared, AttemptState::Dispatched, AttemptState::Unknown],
            format!("events in order: {states:?}"),
        )
    })
}

fn claims_filter_by_the_attempts_account(
    store: Arc<dyn JournalStore>,
) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        // A routed payment: the first attempt at "fake" proved nothing, the second is at "backup".
        let first = started(store.as_ref(), new_attempt("routed", 100, now() - 1)).await?;
        store.transition(Transition::to(&first, AttemptState::NotSent, now(), "refused")).await?;
        let mut second = new_attempt("routed", 100, now() - 1);
        second.account = "backup".into();
        second.rules.other_account = true;
        let second = started(store.as_ref(), second).await?;
        store.transition(Transition::to(&second, AttemptState::Dispatched, now(), "writer")).await?;
        let at = |p: &str| ClaimFilter { key: Some("routed".into()), account: Some(p.into()) };
        let wrong = store.claim_due(claim(now(), "r", now() + 60_000, 10, &at("fake"))).await?;
        ensure(wrong.is_empty(), "the payment's first account does not claim the other's attempt")?;
        let right = store.claim_due(claim(now(), "r", now() + 60_000, 10, &at("backup"))).await?;
        ensure(right.len() == 1 && right[0].account == "backup", "the attempt's own account claims it")
    })
}

fn one_attempt_in_flight(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.prepare(new_attempt("race", 100, now() + 60_000)).await }));
        }
        let mut started_count = 0;
        for t in tasks {
            if matches!(t.await??, Begin::Started(_)) {
                started_count += 1;
            }
        }
        ensure(started_count == 1, format!("{started_count} of 8 racing prepares started an attempt"))?;
        let p = store.payment("race").await?.ok_or("the payment exists")?;
        ensure(p.attempts.len() == 1, "one attempt")
    })
}

fn claims_are_exclusive(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        for i in 0..120 {
            started(store.as_ref(), new_attempt(&format!("due-{i}"), 100, now() - 1)).await?;
        }
        started(store.as_ref(), new_attempt("leased", 100, now() + 60_000)).await?;
        let mut tasks = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_due(claim(now(), &format!("w{w}"), now() + 60_000, 7, &ClaimFilter::default()))
                        .await?;
                    if got.is_empty() {
                        return Ok::<_, payment_core::Error>(mine);
                    }
                    mine.extend(got.into_iter().map(|a| a.idempotency_key));
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let unique: HashSet<_> = all.iter().collect();
        ensure(all.len() == 120 && unique.len() == 120, format!("{} claims, {} distinct", all.len(), unique.len()))?;
        ensure(!unique.contains(&"leased".to_owned()), "a live lease is never claimed")
    })
}

fn lists_filter_by_state(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let a = started(store.as_ref(), new_attempt("l1", 100, now() + 60_000)).await?;
        started(store.as_ref(), new_attempt("l2", 100, now() + 60_000)).await?;
        let d = store.transition(Transition::to(&a, AttemptState::Dispatched, now(), "w")).await?;
        store.transition(Transition::to(&d, AttemptState::NotSent, now(), "w")).await?;
        let not_sent = store.payments(Some(AttemptState::NotSent)).await?;
        ensure(not_sent.len() == 1 && not_sent[0].idempotency_key == "l1", "filtered by state")?;
        ensure(not_sent[0].attempts.len() == 1, "with its attempts")?;
        ensure(store.payments(None).await?.len() == 2, "all")?;
        // A new attempt may follow one that was never sent.
        let b = started(store.as_ref(), new_attempt("l1", 100, now() + 60_000)).await?;
        ensure(b.seq == 2 && b.provider_key.starts_with("l1-a2-"), format!("attempt 2 keyed {}", b.provider_key))
    })
}

/// Reconciliation's stream: an account's charge attempts by creation time, a page at a time,
/// each once, only those of the window; and attempts found by charge, reference or sent key.
fn charge_attempts_page_by_creation(
    store: Arc<dyn JournalStore>,
) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let base = 1_800_000_000_000;
        let mut made = Vec::new();
        for i in 0..5 {
            // Two share each millisecond: the page boundary falls between equal times.
            let mut new = new_attempt(&format!("c{i}"), 100, base + 60_000);
            new.now_ms = base + 1000 + (i / 2) * 10;
            made.push(started(store.as_ref(), new).await?.id);
        }
        let mut before = new_attempt("early", 100, base + 60_000);
        before.now_ms = base;
        started(store.as_ref(), before).await?;
        let mut elsewhere = new_attempt("other", 100, base + 60_000);
        elsewhere.account = "other".into();
        elsewhere.now_ms = base + 1000;
        started(store.as_ref(), elsewhere).await?;
        let mut seen = Vec::new();
        let mut after: Option<(i64, String)> = None;
        loop {
            let page = payment_journal::CreatedPage {
                account: "fake",
                from_ms: base + 1,
                to_ms: base + 2000,
                after: after.as_ref().map(|(ms, id)| (*ms, id.as_str())),
                limit: 2,
            };
            let rows = store.charge_attempts_created(page).await?;
            ensure(rows.len() <= 2, "a page holds at most its limit")?;
            let Some(last) = rows.last() else { break };
            after = Some((last.created_ms, last.id.clone()));
            seen.extend(rows.into_iter().map(|a| a.id));
        }
        let mut expected = made.clone();
        expected.sort_by_key(|id| (made.iter().position(|m| m == id).map(|i| i / 2), id.clone()));
        ensure(
            seen == expected,
            format!("each of the window's charges once, in (created, id) order: {seen:?} vs {expected:?}"),
        )?;
        let by_key = store.attempts_for("fake", None, Some("c3")).await?;
        ensure(by_key.len() == 1 && by_key[0].idempotency_key == "c3", "found by the key it was sent with")
    })
}

/// A second succeeded charge for one key, written behind the journal's back, is refused by the
/// database itself.
fn one_success_constraint(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let a = started(store.as_ref(), new_attempt("once", 100, now() + 60_000)).await?;
        let d = store.transition(Transition::to(&a, AttemptState::Dispatched, now(), "w")).await?;
        store.transition(Transition::to(&d, AttemptState::Succeeded, now(), "w")).await?;
        let sql = "INSERT INTO payment_journal_attempts (id, idempotency_key, seq, provider, operation, state, version, \
                   provider_key, request, created_ms, updated_ms, due_ms, recover_tries) \
                   VALUES ('x', 'once', 2, 'fake', 'create_charge', 'succeeded', 1, 'once-a2', '{}', 0, 0, 0, 0)";
        let declined = sql.replace("'x'", "'y'").replace("2, 'fake'", "3, 'fake'").replace("'succeeded'", "'declined'");
        let (control, refused) = if let Some(s) = store_as::<SqliteStore>(&store) {
            let control = sqlx::query(sqlx::AssertSqlSafe(declined)).execute(s.pool()).await.is_ok();
            (control, unique(sqlx::query(sql).execute(s.pool()).await))
        } else if let Some(p) = store_as::<PostgresStore>(&store) {
            let control = sqlx::query(sqlx::AssertSqlSafe(declined)).execute(p.pool()).await.is_ok();
            (control, unique(sqlx::query(sql).execute(p.pool()).await))
        } else {
            return Err("not an SQL store".into());
        };
        ensure(control, "the same row as a declined attempt is accepted")?;
        ensure(refused, "the unique index refuses a second succeeded charge attempt")
    })
}

fn unique<T>(r: Result<T, sqlx::Error>) -> bool {
    matches!(r, Err(sqlx::Error::Database(d)) if d.is_unique_violation())
}

fn store_as<T: 'static>(store: &Arc<dyn JournalStore>) -> Option<&T> {
    let any: &dyn std::any::Any = store.as_ref().as_any();
    any.downcast_ref::<T>()
}

/// Four recovery workers, each its own journal, settle 1,000 lost answers; each once.
fn fleet_recovery(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    Box::pin(async move {
        let n = if store.backend() == "postgres" { 1000 } else { 200 };
        let fake = Fake::new(&REPLAY);
        let options = JournalOptions { lease: Duration::from_millis(100), ..JournalOptions::default() };
        let writer = Journal::with_options(store.clone(), options.clone());
        let client = fake.client().with_journal(writer.clone());
        fake.fail_next(&vec![Fault::LoseAnswer; n]);
        for i in 0..n {
            client.create_charge(charge(100 + i as i64), &key(&format!("fleet-{i}"))).await.unwrap_err();
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let started_at = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..4 {
            let journal = Journal::with_options(store.clone(), options.clone());
            let fake = fake.clone();
            workers.push(tokio::spawn(async move { journal.recover(&fake.client()).await }));
        }
        let mut resolved = Vec::new();
        for w in workers {
            resolved.extend(w.await??.resolutions);
        }
        let took = started_at.elapsed();
        let keys: HashSet<_> = resolved.iter().map(|r| r.idempotency_key.clone()).collect();
        ensure(
            resolved.len() == n && keys.len() == n,
            format!("{} resolutions of {} attempts", resolved.len(), keys.len()),
        )?;
        ensure(resolved.iter().all(|r| r.to == AttemptState::Succeeded), "all settled as succeeded")?;
        ensure(fake.charges().len() == n, format!("{} charges for {n} payments", fake.charges().len()))?;
        ensure(fake.sends() == 2 * n, format!("{} sends: each replayed exactly once", fake.sends()))?;
        eprintln!("    {}: 4 workers recovered {n} unknown attempts in {:.2?}", store.backend(), took);
        Ok(())
    })
}

/// Twenty racing first deliveries of one event: exactly one handles it; the rest find it in
/// progress; a handling whose lease ran out is taken over, and the one outlived by its lease can
/// neither forget nor finish the new one's; a handled one is done for good.
fn inbox_is_insert_if_absent(store: Arc<dyn JournalStore>) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>> {
    use payment_core::DeliveryClaim;
    Box::pin(async move {
        let (start, lease) = (now(), 60_000);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { store.claim_delivery("worldpay", "evt-1", start, start + lease).await },
            ));
        }
        let mut firsts = 0;
        for t in tasks {
            firsts += usize::from(matches!(t.await??, DeliveryClaim::New(_)));
        }
        ensure(firsts == 1, format!("{firsts} first deliveries"))?;
        let other = store.claim_delivery("payjp", "evt-1", start, start + lease).await?;
        ensure(matches!(other, DeliveryClaim::New(_)), "per provider")?;
        store.forget_delivery("worldpay", "evt-1", start + lease).await?;
        let again = store.claim_delivery("worldpay", "evt-1", start, start + 1).await?;
        ensure(again == DeliveryClaim::New(u64::try_from(start + 1)?), "forgotten, so first again")?;
        let later = start + 10;
        let stale = store.claim_delivery("worldpay", "evt-1", later, later + lease).await?;
        ensure(matches!(stale, DeliveryClaim::New(_)), "a handling whose lease ran out is taken over")?;
        // The handling that was taken over: its word no longer counts.
        store.forget_delivery("worldpay", "evt-1", start + 1).await?;
        store.finish_delivery("worldpay", "evt-1", start + 1).await?;
        let held = store.claim_delivery("worldpay", "evt-1", later + 1, later + 2).await?;
        ensure(held == DeliveryClaim::InProgress, format!("still the new handling's, not {held:?}"))?;
        store.finish_delivery("worldpay", "evt-1", later + lease).await?;
        let much_later = start + 3_600_000;
        let done = store.claim_delivery("worldpay", "evt-1", much_later, much_later + 1).await?;
        ensure(done == DeliveryClaim::Done, format!("handled is done for good, not {done:?}"))
    })
}

/// Two processes of a fleet on one PostgreSQL journal, the second on a host whose wall clock is
/// ten minutes fast: its recovery must not take the first's attempt while the lease, on the
/// database's clock, still runs.
async fn fleet_leases_use_the_databases_clock() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let first = fresh(Backend::Postgres, dir.path()).await?;
    let database = first.as_any().downcast_ref::<PostgresStore>().ok_or("a PostgreSQL store")?.pool().connect_options();
    let mut url = url::Url::parse(&std::env::var("PAYMENT_TEST_POSTGRES_URL")?)?;
    url.set_path(database.get_database().unwrap_or_default());
    let second = PostgresStore::open(url.as_str()).await?;
    second.clock().skew_wall_clock(600_000);
    let sent = started(first.as_ref(), new_attempt("leased", 100, first.now_ms() + 60_000)).await?;
    let fake = Fake::new(&REPLAY);
    let report = Journal::new(Arc::new(second.clone())).recover(&fake.client()).await?;
    ensure(report.resolutions.is_empty(), format!("{:?}: taken inside its lease", report.resolutions))?;
    let skew = second.now_ms() - first.now_ms();
    ensure(skew.abs() < 1_000, format!("the second process is {skew} ms off the first"))?;
    let after = first.payment("leased").await?.ok_or("journaled")?;
    ensure(after.attempts[0].version == sent.version, "nobody wrote the attempt")
}

fn main() {
    let args = Arguments::from_args();
    let postgres = std::env::var("PAYMENT_TEST_POSTGRES_URL").is_ok();
    let checks: &[(&str, Check, bool)] = &[
        ("prepare_then_repeat", prepare_then_repeat, false),
        ("stale_writes_are_fenced", stale_writes_are_fenced, false),
        ("one_attempt_in_flight", one_attempt_in_flight, false),
        ("claims_filter_by_the_attempts_account", claims_filter_by_the_attempts_account, false),
        ("claims_are_exclusive", claims_are_exclusive, false),
        ("lists_filter_by_state", lists_filter_by_state, false),
        ("one_success_constraint", one_success_constraint, true),
        ("fleet_recovery", fleet_recovery, false),
        ("inbox_is_insert_if_absent", inbox_is_insert_if_absent, false),
        ("charge_attempts_page_by_creation", charge_attempts_page_by_creation, false),
    ];
    let mut trials = Vec::new();
    for (backend, name) in [(Backend::Memory, "memory"), (Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        for (check_name, check, sql_only) in checks {
            let check = *check;
            let trial = Trial::test(format!("{name}::{check_name}"), move || {
                let dir = tempfile::tempdir()?;
                runtime().block_on(async {
                    let store = fresh(backend, dir.path()).await?;
                    check(store).await
                })
            });
            trials.push(match (backend, sql_only) {
                (Backend::Postgres, _) if !postgres => {
                    trial.with_ignored_flag(true).with_kind("PAYMENT_TEST_POSTGRES_URL unset")
                }
                (Backend::Memory, true) => trial.with_ignored_flag(true).with_kind("memory has no SQL to bypass"),
                _ => trial,
            });
        }
    }
    let trial = Trial::test("postgres::fleet_leases_use_the_databases_clock", || {
        runtime().block_on(fleet_leases_use_the_databases_clock())
    });
    trials.push(if postgres {
        trial
    } else {
        trial.with_ignored_flag(true).with_kind("PAYMENT_TEST_POSTGRES_URL unset")
    });
    libtest_mimic::run(&args, trials).exit();
}
