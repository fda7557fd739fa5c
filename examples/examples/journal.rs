//! The journal's crash tests at full size and its benchmarks.
//!
//! `journal matrix [N] [POSTGRES_URL]`  the kill matrix, N payments per cell (default 200)
//! `journal soak [N] [POSTGRES_URL]`    the random-kill soak, N charges (default 1000)
//! `journal bench [POSTGRES_URL]`       journaled vs unjournaled charges/s at 1, 16 and 64 in
//!                                      flight (with and without group commit), commits per
//!                                      charge, and recovery time for 1,000 unknown attempts
//! `journal bench-quick [POSTGRES_URL]` the same, one round each
//!
//! Without a PostgreSQL URL (or `PAYMENT_TEST_POSTGRES_URL`) the journal is SQLite only. Build
//! the child first: `cargo build --release -p payment-examples --bin journal-child`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use payment::journal::{Journal, JournalOptions, JournalStore};
use payment::mocks::{FaultKind, FaultPlan, FaultRule, MockDriver, MockOptions};
use payment::transport::EngineBuilder;
use payment::{IdempotencyKey, Once, PaymentClient, RequestOptions};
use payment_examples::crash::charge_for;
use payment_examples::kill_matrix::{self, JournalTarget, MatrixOptions};
use payment_examples::targets;

fn child() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/journal -> target/<profile>/journal-child
    let path = exe.parent().and_then(|p| p.parent()).map(|p| p.join("journal-child")).ok_or("no target dir")?;
    if !path.exists() {
        return Err(format!(
            "{} is missing: cargo build --release -p payment-examples --bin journal-child",
            path.display()
        ));
    }
    Ok(path)
}

fn scratch() -> Result<PathBuf, String> {
    // On the project disk, not a tmpfs: FULL must pay for real syncs.
    let dir = PathBuf::from("target").join(format!("journal-scratch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn targets_for(pg: &Option<String>, dir: &std::path::Path) -> Vec<JournalTarget> {
    let mut t = vec![JournalTarget::Sqlite(dir.to_path_buf())];
    if let Some(url) = pg {
        t.push(JournalTarget::Postgres(url.clone()));
    }
    t
}

async fn matrix(n: usize, pg: Option<String>) -> Result<(), String> {
    let dir = scratch()?;
    for journal in targets_for(&pg, &dir) {
        let started = Instant::now();
        let options = MatrixOptions {
            child: child()?,
            journal: journal.clone(),
            n,
            parallel: 8,
            run: format!("m{}", std::process::id()),
        };
        let cells = kill_matrix::run(&options).await?;
        println!("kill matrix on {journal:?}, {n} per cell, {:.0?}:", started.elapsed());
        println!("| scenario | crash point | payments | killed there | duplicates | lost | unresolved |");
        println!("|---|---|---|---|---|---|---|");
        for c in cells {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.scenario, c.point, c.payments, c.killed, c.duplicates, c.lost, c.unresolved
            );
        }
    }
    Ok(())
}

async fn soak(n: usize, pg: Option<String>) -> Result<(), String> {
    let dir = scratch()?;
    for journal in targets_for(&pg, &dir) {
        let options = MatrixOptions {
            child: child()?,
            journal: journal.clone(),
            n: 1,
            parallel: 1,
            run: format!("s{}", std::process::id()),
        };
        let r = kill_matrix::random_kill_soak(&options, "payjp", n, 7).await?;
        println!(
            "soak on {journal:?}: {n} charges, {} kills, {} restarts, mock holds {}, duplicates {}, lost {}, unresolved {}, {:.1?}",
            r.kills, r.restarts, r.mock_charges, r.duplicates, r.lost, r.unresolved, r.took
        );
    }
    Ok(())
}

/// Charges per second through `client` (`n` charges, `concurrency` in flight).
async fn rate(
    client: &PaymentClient,
    driver: &'static payment::ProviderDriver,
    tag: &str,
    n: usize,
    concurrency: usize,
) -> Result<f64, String> {
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let key = format!("{tag}{i}");
            async move {
                let opts = RequestOptions::with_key(IdempotencyKey::new(key.clone()).map_err(|e| e.to_string())?);
                client.create_charge(charge_for(driver, &key), &opts).await.map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The concurrencies the bench measures, and how many charges a round of each makes.
const LEVELS: [(usize, usize); 3] = [(1, 300), (16, 1500), (64, 2000)];

/// PAY.JP's in-process mock (kept running while its handle lives) and a client of it.
async fn payjp_against_mock()
-> Result<(&'static payment::ProviderDriver, payment::mocks::MockHandle, PaymentClient), String> {
    let driver = targets::named("payjp")?;
    let handle = payment::mocks::start(driver, MockOptions::default()).await.map_err(|e| e.to_string())?;
    let client = driver
        .connect_with(handle.settings.clone(), EngineBuilder::new(driver.name))
        .await
        .map_err(|e| e.to_string())?;
    Ok((driver, handle, client))
}

async fn bench(pg: Option<String>, rounds: usize) -> Result<(), String> {
    let dir = scratch()?;
    let (driver, _mock, client) = payjp_against_mock().await?;
    let mut journals: Vec<(String, String)> = vec![
        ("SQLite FULL".into(), format!("sqlite://{}", dir.join("full.db").display())),
        ("SQLite NORMAL".into(), format!("sqlite://{}?durability=normal", dir.join("normal.db").display())),
        ("SQLite FULL, no group commit".into(), format!("sqlite://{}?batch_max=1", dir.join("single.db").display())),
    ];
    if let Some(url) = &pg {
        let sep = if url.contains('?') { '&' } else { '?' };
        let schema = format!("journal_schema=bench{}", std::process::id());
        journals.push(("PostgreSQL".into(), format!("{url}{sep}{schema}")));
        journals.push(("PostgreSQL, no group commit".into(), format!("{url}{sep}{schema}x&batch_max=1")));
    }
    println!("PAY.JP charges (token + charge) against the in-process mock, charges/s (median of {rounds} rounds):");
    println!(
        "| journal | c=1 | ratio | c=16 | ratio | c=64 | ratio | added ms/charge at c=1 | commits/charge at c=64 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let mut round = 0;
    let mut base = [0.0; 3];
    for (i, (conc, n)) in LEVELS.iter().enumerate() {
        let mut v = Vec::new();
        for _ in 0..rounds {
            round += 1;
            v.push(rate(&client, driver, &format!("plain{round}x"), *n, *conc).await?);
        }
        base[i] = median(v);
    }
    println!("| none | {:.0} | 1.00 | {:.0} | 1.00 | {:.0} | 1.00 | 0 | 0 |", base[0], base[1], base[2]);
    for (label, url) in &journals {
        let journal = payment::journal::open(url, JournalOptions::default()).await.map_err(|e| e.to_string())?;
        let journaled = client.clone().with_journal(journal.clone());
        let mut got = [0.0; 3];
        let mut commits_per_charge = 0.0;
        for (i, (conc, n)) in LEVELS.iter().enumerate() {
            let mut v = Vec::new();
            let before = journal.store().commit_stats().unwrap_or_default();
            for _ in 0..rounds {
                round += 1;
                v.push(rate(&journaled, driver, &format!("j{round}x"), *n, *conc).await?);
            }
            let after = journal.store().commit_stats().unwrap_or_default();
            commits_per_charge = (after.commits - before.commits) as f64 / (rounds * n) as f64;
            got[i] = median(v);
        }
        let added_ms = (1.0 / got[0] - 1.0 / base[0]) * 1000.0;
        println!(
            "| {label} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {added_ms:.2} | {commits_per_charge:.2} |",
            got[0],
            got[0] / base[0],
            got[1],
            got[1] / base[1],
            got[2],
            got[2] / base[2]
        );
    }
    println!();
    println!("Recovery of 1,000 unknown attempts (the answer of each charge lost after the mock committed it):");
    println!("| journal | workers | time |");
    println!("|---|---|---|");
    for (label, url) in journals.iter().filter(|(l, _)| !l.contains("no group commit")) {
        let took = recovery(driver, url, 1).await?;
        println!("| {label} | 1 | {:.2?} |", took);
        if label == "PostgreSQL" {
            let took = recovery(driver, url, 4).await?;
            println!("| {label} | 4 | {:.2?} |", took);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One configuration for a profiler: `n` charges at `concurrency` in flight, journaled in `url`
/// (`sqlite` or nothing: a scratch SQLite FULL file; `none`: no journal), then charges/s and the
/// process's CPU time per charge.
async fn profile(url: Option<String>, concurrency: usize, n: usize) -> Result<(), String> {
    let dir = scratch()?;
    let (driver, _mock, client) = payjp_against_mock().await?;
    let url = url.filter(|u| u != "sqlite").unwrap_or_else(|| format!("sqlite://{}", dir.join("profile.db").display()));
    let client = match url.as_str() {
        "none" => client,
        url => client
            .with_journal(payment::journal::open(url, JournalOptions::default()).await.map_err(|e| e.to_string())?),
    };
    let cpu = || -> Result<Duration, String> {
        // utime and stime in clock ticks (100 a second on Linux): fields 14 and 15 of /proc/self/stat,
        // counted from the state (field 3), which follows the command's closing parenthesis.
        let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
        let fields: Vec<i64> =
            stat.rsplit(')').next().unwrap_or("").split_whitespace().map(|f| f.parse::<i64>().unwrap_or(0)).collect();
        let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
        Ok(Duration::from_millis(u64::try_from(ticks * 10).unwrap_or(0)))
    };
    let before = cpu()?;
    let per_second = rate(&client, driver, &format!("p{}x", std::process::id()), n, concurrency).await?;
    let used = cpu()? - before;
    println!(
        "{per_second:.0} charges/s at {concurrency} in flight; {:.0} µs of CPU per charge",
        used.as_secs_f64() * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Loses 1,000 answers (no retries, every charge dropped after commit), then times recovery.
async fn recovery(driver: &'static payment::ProviderDriver, url: &str, workers: usize) -> Result<Duration, String> {
    let handle = payment::mocks::start(driver, MockOptions::default()).await.map_err(|e| e.to_string())?;
    let mock = MockDriver::of(driver).ok_or("no mock")?;
    let control = handle.control();
    let once = driver.connect_with(handle.settings.clone(), EngineBuilder::new(driver.name).retry_policy(Once)).await;
    let once = once.map_err(|e| e.to_string())?;
    let store: Arc<dyn JournalStore> = payment::journal::open_store(url).await.map_err(|e| e.to_string())?;
    let options = JournalOptions { lease: Duration::from_millis(500), ..JournalOptions::default() };
    let writer = Journal::with_options(store.clone(), options.clone());
    let lossy = once.clone().with_journal(writer.clone());
    let rules = (mock.paths)(payment::Operation::CreateCharge)
        .iter()
        .map(|p| FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path(p))
        .collect();
    control.set_faults(FaultPlan::new(rules)).map_err(|e| e.to_string())?;
    let tag = format!("rec{workers}w{}", std::process::id());
    let lost: Vec<_> = futures::stream::iter(0..1000)
        .map(|i| {
            let key = format!("{tag}{i}");
            let lossy = &lossy;
            async move {
                let opts = RequestOptions::with_key(IdempotencyKey::new(key.clone()).map_err(|e| e.to_string())?);
                Ok::<_, String>(lossy.create_charge(charge_for(driver, &key), &opts).await.is_err())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let unknown = lost.into_iter().filter(|r| matches!(r, Ok(true))).count();
    control.clear_faults();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let journal = Journal::with_options(store.clone(), options.clone());
        let client = once.clone();
        tasks.push(tokio::spawn(async move { journal.recover(&client).await }));
    }
    let mut resolved = 0;
    for t in tasks {
        resolved += t.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?.resolutions.len();
    }
    let took = started.elapsed();
    let stats = control.stats();
    if unknown != 1000 || resolved != 1000 || stats.charges != 1000 {
        return Err(format!("{unknown} unknown, {resolved} resolved, the mock holds {}", stats.charges));
    }
    Ok(took)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pg_arg = |i: usize| args.get(i).cloned().or_else(|| std::env::var("PAYMENT_TEST_POSTGRES_URL").ok());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match args.first().map(String::as_str) {
        Some("matrix") => rt.block_on(matrix(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200), pg_arg(2))),
        Some("soak") => rt.block_on(soak(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000), pg_arg(2))),
        Some("bench") => rt.block_on(bench(pg_arg(1), 3)),
        Some("bench-quick") => rt.block_on(bench(pg_arg(1), 1)),
        Some("profile") => rt.block_on(profile(
            args.get(1).cloned(),
            args.get(2).and_then(|c| c.parse().ok()).unwrap_or(64),
            args.get(3).and_then(|n| n.parse().ok()).unwrap_or(20_000),
        )),
        _ => {
            Err("usage: journal matrix [N] [PG_URL] | soak [N] [PG_URL] | bench [PG_URL] | bench-quick [PG_URL] | profile [JOURNAL_URL|sqlite|none] [CONCURRENCY] [N]".into())
        }
    }
}
