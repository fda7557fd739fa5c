//! Group commit: concurrent writers share a transaction, and none hears of its write before that
//! transaction is durable; a batch whose commit fails answers every caller with an error. Run on
//! SQLite, and on PostgreSQL when `PAYMENT_TEST_POSTGRES_URL` is set (else reported ignored, with
//! the reason).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use payment_journal::record::{Begin, NewAttempt, Transition};
use payment_journal::{
    AttemptState, BatchOptions, JournalStore, PostgresStore, SqliteStore, StoreOptions, StoredRequest,
};

static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// One case, run against SQLite (`false`) or PostgreSQL (`true`).
type Case = fn(bool) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Failed>> + Send>>;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn ensure(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn new_attempt(k: &str) -> NewAttempt {
    NewAttempt {
        idempotency_key: k.to_owned(),
        account: "fake".into(),
        request: StoredRequest::of(&payment_core::Mutation::CreateCharge(support::charge(100))),
        lease_owner: "test".into(),
        lease_until_ms: now() + 60_000,
        now_ms: now(),
        rules: Default::default(),
    }
}

/// Two handles on one fresh database: the writer (batching as `batch` says) and an independent
/// reader (its own pool), and the writer's hook to fail its next commits.
struct Pair {
    writer: Arc<dyn JournalStore>,
    reader: Arc<dyn JournalStore>,
    fail_next_commits: Box<dyn Fn(usize) + Send + Sync>,
}

async fn pair(postgres: bool, dir: &std::path::Path, batch: BatchOptions) -> Result<Pair, Failed> {
    if !postgres {
        let path = dir.join("j.db");
        let writer = SqliteStore::open_with(&path, StoreOptions { batch, ..Default::default() }).await?;
        let reader = SqliteStore::open(&path, payment_journal::Durability::Full).await?;
        let hook = writer.clone();
        return Ok(Pair {
            writer: Arc::new(writer),
            reader: Arc::new(reader),
            fail_next_commits: Box::new(move |n| hook.fail_next_commits(n)),
        });
    }
    let base = std::env::var("PAYMENT_TEST_POSTGRES_URL")?;
    let name = format!("pjg_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    let admin = sqlx::PgPool::connect(&base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await?;
    admin.close().await;
    let mut url = url::Url::parse(&base)?;
    url.set_path(&name);
    let reader = PostgresStore::open(url.as_str()).await?;
    url.query_pairs_mut()
        .append_pair("batch_max", &batch.max.to_string())
        .append_pair("batch_wait_ms", &batch.wait.as_millis().to_string());
    if batch.lanes > 0 {
        url.query_pairs_mut().append_pair("batch_lanes", &batch.lanes.to_string());
    }
    let writer = PostgresStore::open(url.as_str()).await?;
    let hook = writer.clone();
    Ok(Pair {
        writer: Arc::new(writer),
        reader: Arc::new(reader),
        fail_next_commits: Box::new(move |n| hook.fail_next_commits(n)),
    })
}

/// Eight writers that reach the store within the leader's wait share one commit; when it fails,
/// every one of them hears an error and nothing of theirs is in the database; the next batch
/// commits them all.
async fn a_failed_commit_answers_every_caller_of_its_batch_with_an_error(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 16, wait: Duration::from_millis(200), lanes: 1 }).await?;
    (p.fail_next_commits)(1);
    let round = |tag: &'static str| {
        let writer = p.writer.clone();
        async move {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let writer = writer.clone();
                    tokio::spawn(async move { writer.prepare(new_attempt(&format!("{tag}{i}"))).await })
                })
                .collect();
            let mut answers = Vec::new();
            for t in tasks {
                answers.push(t.await.map_err(|e| e.to_string())?);
            }
            Ok::<_, Failed>(answers)
        }
    };
    let failed = round("lost").await?;
    ensure(
        failed.iter().all(|a| a.as_ref().is_err_and(|e| e.kind() == payment_core::ErrorKind::Journal)),
        format!("{failed:?}"),
    )?;
    let stats = p.writer.commit_stats().ok_or("the store batches")?;
    ensure(stats.commits == 1 && stats.writes == 8, format!("one batch of eight: {stats:?}"))?;
    ensure(p.reader.payments(None).await?.is_empty(), "nothing of the failed batch is in the database")?;
    let kept = round("kept").await?;
    ensure(kept.iter().all(|a| matches!(a, Ok(Begin::Started(_)))), format!("{kept:?}"))?;
    ensure(p.reader.payments(None).await?.len() == 8, "the next batch committed all eight")?;
    let stats = p.writer.commit_stats().ok_or("the store batches")?;
    ensure(stats.commits == 2 && stats.writes == 16, format!("{stats:?}"))
}

/// 24 writers at once, each reading its own write back through another pool the moment it is
/// told it was recorded: every prepare and every transition is there, and the writes shared
/// commits.
async fn no_caller_hears_of_its_write_before_it_is_committed(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 64, wait: Duration::from_millis(5), lanes: 0 }).await?;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (writer, reader) = (p.writer.clone(), p.reader.clone());
            tokio::spawn(async move {
                let key = format!("seen{i}");
                let Begin::Started(a) = writer.prepare(new_attempt(&key)).await? else {
                    return Err::<(), Failed>("a fresh key starts an attempt".into());
                };
                let read = reader.payment(&key).await?.ok_or("told prepared, yet another connection sees nothing")?;
                ensure(
                    read.attempts.len() == 1 && read.attempts[0].state == AttemptState::Prepared,
                    format!("{read:?}"),
                )?;
                let d = writer.transition(Transition::to(&a, AttemptState::Dispatched, now(), "send")).await?;
                let read = reader.payment(&key).await?.ok_or("the payment vanished")?;
                ensure(
                    read.attempts[0].state == AttemptState::Dispatched && read.attempts[0].version == d.version,
                    "told dispatched, yet another connection sees it prepared",
                )
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let stats = p.writer.commit_stats().ok_or("the store batches")?;
    ensure(stats.writes == 48 && stats.commits < stats.writes, format!("48 writes shared commits: {stats:?}"))
}

/// A batch holding one stale write (fenced) and five good ones: the stale one is refused, the
/// five are kept, and nothing of the stale one is written.
async fn a_refused_write_leaves_the_rest_of_its_batch(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 16, wait: Duration::from_millis(150), lanes: 1 }).await?;
    let mut attempts = Vec::new();
    for i in 0..6 {
        let Begin::Started(a) = p.writer.prepare(new_attempt(&format!("mixed{i}"))).await? else {
            return Err("a fresh key starts an attempt".into());
        };
        attempts.push(*a);
    }
    let tasks: Vec<_> = attempts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let writer = p.writer.clone();
            tokio::spawn(async move {
                let mut t = Transition::to(&a, AttemptState::Dispatched, now(), "send");
                if i == 3 {
                    t.expected_version += 7;
                }
                writer.transition(t).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.map_err(|e| e.to_string())?);
    }
    for (i, answer) in answers.iter().enumerate() {
        let fenced = answer.as_ref().is_err_and(payment_journal::is_fenced);
        ensure(fenced == (i == 3) && (i == 3 || answer.is_ok()), format!("write {i}: {answer:?}"))?;
        let read = p.reader.payment(&format!("mixed{i}")).await?.ok_or("the payment vanished")?;
        let want = if i == 3 { AttemptState::Prepared } else { AttemptState::Dispatched };
        ensure(read.attempts[0].state == want, format!("write {i} reads {:?}", read.attempts[0].state))?;
    }
    Ok(())
}

/// A caller that gives up while its write waits for a batch (its future dropped, as a timeout
/// would) leaves it unwritten, as a transaction dropped before its commit would be; the leader's
/// own write is kept.
async fn a_caller_that_gives_up_before_its_write_is_taken_leaves_it_unwritten(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 16, wait: Duration::from_millis(300), lanes: 1 }).await?;
    let leader = {
        let writer = p.writer.clone();
        tokio::spawn(async move { writer.prepare(new_attempt("kept")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let quitter = {
        let writer = p.writer.clone();
        tokio::spawn(async move { writer.prepare(new_attempt("dropped")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    quitter.abort();
    let kept = leader.await.map_err(|e| e.to_string())??;
    ensure(matches!(kept, Begin::Started(_)), "the leader's own write is kept")?;
    ensure(p.reader.payment("kept").await?.is_some(), "kept is in the database")?;
    ensure(p.reader.payment("dropped").await?.is_none(), "the write of a caller that gave up was never made")
}

/// One batch of mixed writes, answered each as if written one by one: new keys (one asked for
/// twice at once), a key already in flight, good transitions, a stale one, one to a state its
/// attempt may not take, and two racing on one attempt. SQLite sends runs of one kind as one
/// query; every refused write leaves no row and no event behind.
async fn a_mixed_batch_answers_each_write_as_one_by_one(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 64, wait: Duration::from_millis(200), lanes: 1 }).await?;
    let mut held = Vec::new();
    for i in 0..8 {
        let Begin::Started(a) = p.writer.prepare(new_attempt(&format!("held{i}"))).await? else {
            return Err("a fresh key starts an attempt".into());
        };
        held.push(*a);
    }
    let before = p.writer.commit_stats().unwrap_or_default();
    enum Ask {
        Prepare(String),
        Move(Box<Transition>),
    }
    let mut asks = Vec::new();
    for (i, a) in held.iter().enumerate() {
        let mut t = Transition::to(a, AttemptState::Dispatched, now(), format!("send {i}"));
        match i {
            // Stale: someone else holds a newer version.
            2 => t.expected_version += 3,
            // Prepared may not become Succeeded.
            5 => t.to = AttemptState::Succeeded,
            _ => {}
        }
        asks.push(Ask::Move(Box::new(t)));
        asks.push(Ask::Prepare(format!("fresh{i}")));
    }
    // Two writers race on one attempt with the same version: one is taken, one fenced.
    asks.push(Ask::Move(Box::new(Transition::to(&held[7], AttemptState::NotSent, now(), "gave up"))));
    // A key in flight answers with its payment; a key asked for twice starts once.
    asks.push(Ask::Prepare("held0".into()));
    asks.push(Ask::Prepare("fresh3".into()));
    let tasks: Vec<_> = asks
        .into_iter()
        .map(|ask| {
            let writer = p.writer.clone();
            tokio::spawn(async move {
                match ask {
                    Ask::Prepare(k) => writer.prepare(new_attempt(&k)).await.map(|b| match b {
                        Begin::Started(a) => format!("started {}", a.idempotency_key),
                        Begin::Existing(p) => format!("existing {}", p.idempotency_key),
                    }),
                    Ask::Move(t) => writer.transition(*t).await.map(|a| format!("{} {}", a.state, a.idempotency_key)),
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.map_err(|e| e.to_string())?);
    }
    let after = p.writer.commit_stats().unwrap_or_default();
    ensure(after.commits - before.commits == 1, format!("one commit for the batch: {before:?} then {after:?}"))?;
    let fenced = |a: &Result<String, payment_core::Error>| a.as_ref().is_err_and(payment_journal::is_fenced);
    for i in 0..8 {
        let (moved, prepared) = (&answers[2 * i], &answers[2 * i + 1]);
        match i {
            2 | 5 => ensure(fenced(moved), format!("write {i} is refused: {moved:?}"))?,
            7 => {}
            _ => ensure(
                moved.as_deref().ok() == Some(format!("dispatched held{i}").as_str()),
                format!("{i}: {moved:?}"),
            )?,
        }
        let want = format!("started fresh{i}");
        let double = i == 3 && prepared.as_deref().ok() == Some("existing fresh3");
        ensure(prepared.as_deref().ok() == Some(want.as_str()) || double, format!("fresh{i}: {prepared:?}"))?;
    }
    let raced = [&answers[14], &answers[16]];
    ensure(raced.iter().filter(|a| a.is_ok()).count() == 1, format!("one racer is taken: {raced:?}"))?;
    ensure(raced.iter().filter(|a| fenced(a)).count() == 1, format!("the other is fenced: {raced:?}"))?;
    ensure(answers[17].as_deref().ok() == Some("existing held0"), format!("held0 again: {:?}", answers[17]))?;
    let twice = [&answers[7], &answers[18]];
    ensure(twice.iter().filter(|a| a.as_deref().ok() == Some("started fresh3")).count() == 1, format!("{twice:?}"))?;
    ensure(twice.iter().filter(|a| a.as_deref().ok() == Some("existing fresh3")).count() == 1, format!("{twice:?}"))?;
    for i in 0..8 {
        let key = format!("held{i}");
        let read = p.reader.payment(&key).await?.ok_or("the payment vanished")?;
        let events = p.reader.events(&key).await?;
        let (state, writes) = match i {
            2 | 5 => (AttemptState::Prepared, 1),
            7 => (read.attempts[0].state, 2),
            _ => (AttemptState::Dispatched, 2),
        };
        ensure(read.attempts.len() == 1 && read.attempts[0].state == state, format!("{key}: {:?}", read.attempts))?;
        ensure(read.state == state, format!("{key}'s payment follows its attempt: {:?}", read.state))?;
        ensure(events.len() == writes, format!("{key} has {} events, not {writes}", events.len()))?;
        let fresh = p.reader.payment(&format!("fresh{i}")).await?.ok_or("a fresh payment is missing")?;
        ensure(fresh.attempts.len() == 1, format!("fresh{i} has one attempt: {:?}", fresh.attempts))?;
        ensure(p.reader.events(&format!("fresh{i}")).await?.len() == 1, format!("fresh{i} has one event"))?;
    }
    Ok(())
}

/// A late success for an attempt whose payment already succeeded through another attempt is
/// refused by the one-success rule, inside a batch with good writes: those are kept, and nothing
/// of the refused one is (no succeeded event, the payment's charge untouched; on SQLite the event
/// and the payment's update run before the attempt's update that the index refuses).
async fn a_second_success_in_a_batch_leaves_nothing_of_itself(postgres: bool) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let p = pair(postgres, dir.path(), BatchOptions { max: 64, wait: Duration::from_millis(200), lanes: 1 }).await?;
    let started = |b: Begin| match b {
        Begin::Started(a) => Ok(*a),
        Begin::Existing(_) => Err(Failed::from("a new attempt was expected")),
    };
    let a1 = started(p.writer.prepare(new_attempt("twice")).await?)?;
    let a1 = p.writer.transition(Transition::to(&a1, AttemptState::NotSent, now(), "not sent")).await?;
    let a2 = started(p.writer.prepare(new_attempt("twice")).await?)?;
    let a2 = p.writer.transition(Transition::to(&a2, AttemptState::Dispatched, now(), "send")).await?;
    let mut won = Transition::to(&a2, AttemptState::Succeeded, now(), "charged");
    won.charge_id = Some("ch_second".into());
    p.writer.transition(won).await?;
    let a1 = p.writer.transition(Transition::to(&a1, AttemptState::NeedsReconciliation, now(), "late")).await?;
    let mut late = Transition::to(&a1, AttemptState::Succeeded, now(), "late success");
    late.charge_id = Some("ch_first".into());
    // Alone of its kind in the batch, so its query holds it alone and its refusal is known at
    // once: the batch must still not keep any of it.
    let mut tasks = vec![{
        let writer = p.writer.clone();
        tokio::spawn(async move { writer.transition(late).await.map(|_| ()) })
    }];
    for i in 0..3 {
        let writer = p.writer.clone();
        tasks.push(tokio::spawn(async move { writer.prepare(new_attempt(&format!("beside{i}"))).await.map(|_| ()) }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.map_err(|e| e.to_string())?);
    }
    ensure(answers[0].as_ref().is_err_and(payment_journal::is_second_success), format!("refused: {:?}", answers[0]))?;
    ensure(answers[1..].iter().all(|a| a.is_ok()), format!("the others are kept: {answers:?}"))?;
    let read = p.reader.payment("twice").await?.ok_or("the payment vanished")?;
    ensure(read.charge_id.as_deref() == Some("ch_second"), format!("the payment's charge: {:?}", read.charge_id))?;
    ensure(read.attempts[0].state == AttemptState::NeedsReconciliation, format!("{:?}", read.attempts[0].state))?;
    let events = p.reader.events("twice").await?;
    let first_succeeded = events.iter().filter(|e| e.attempt_id == a1.id && e.to_state == AttemptState::Succeeded);
    ensure(first_succeeded.count() == 0, format!("no succeeded event for the refused write: {events:?}"))?;
    for i in 0..3 {
        let beside = p.reader.payment(&format!("beside{i}")).await?.ok_or("a payment vanished")?;
        ensure(beside.attempts[0].state == AttemptState::Prepared, format!("beside{i}: {:?}", beside.attempts[0]))?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let postgres_reason = std::env::var("PAYMENT_TEST_POSTGRES_URL")
        .is_err()
        .then_some("PAYMENT_TEST_POSTGRES_URL is unset: no PostgreSQL to test against");
    let runtime =
        || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let mut trials = Vec::new();
    for (backend, postgres) in [("sqlite", false), ("postgres", true)] {
        let cases: [(&str, Case); 6] = [
            ("a_second_success_in_a_batch_leaves_nothing_of_itself", |pg| {
                Box::pin(a_second_success_in_a_batch_leaves_nothing_of_itself(pg))
            }),
            ("a_mixed_batch_answers_each_write_as_one_by_one", |pg| {
                Box::pin(a_mixed_batch_answers_each_write_as_one_by_one(pg))
            }),
            ("a_caller_that_gives_up_before_its_write_is_taken_leaves_it_unwritten", |pg| {
                Box::pin(a_caller_that_gives_up_before_its_write_is_taken_leaves_it_unwritten(pg))
            }),
            ("a_refused_write_leaves_the_rest_of_its_batch", |pg| {
                Box::pin(a_refused_write_leaves_the_rest_of_its_batch(pg))
            }),
            ("a_failed_commit_answers_every_caller_of_its_batch_with_an_error", |pg| {
                Box::pin(a_failed_commit_answers_every_caller_of_its_batch_with_an_error(pg))
            }),
            ("no_caller_hears_of_its_write_before_it_is_committed", |pg| {
                Box::pin(no_caller_hears_of_its_write_before_it_is_committed(pg))
            }),
        ];
        for (name, case) in cases {
            let mut trial = Trial::test(format!("{backend}::{name}"), move || runtime().block_on(case(postgres)));
            if postgres && let Some(reason) = postgres_reason {
                trial = trial.with_ignored_flag(true).with_kind(reason);
            }
            trials.push(trial);
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
