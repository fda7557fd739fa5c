//! `cargo run -p payment-examples --release --example adversarial -- [SCHEDULES] [SEED] [JOURNAL_URL]`:
//! the adversarial soak (provider, network and disk faults on at once, recovery while the
//! provider is down, repeats of every unknown outcome) against every provider's mock; prints each
//! invariant's counts and fails on any violation; each provider runs once through a journaled
//! client and once through a router over two accounts. The journals are fresh SQLite files unless
//! a PostgreSQL URL is given (each run then gets a schema of its own).

use payment_examples::{adversarial, targets};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let schedules: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let url_arg = args.next();
    let dir = std::env::temp_dir().join(format!("payment-adversarial-{}", std::process::id()));
    let mut ok = true;
    let only = std::env::var("ADVERSARIAL_PROVIDER").ok();
    for (i, provider) in targets::all().into_iter().enumerate() {
        if only.as_deref().is_some_and(|o| o != provider.name) {
            continue;
        }
        let started = std::time::Instant::now();
        // Each run keeps its journal apart: a schema of its own on PostgreSQL, a file on SQLite.
        let schema = |name: &str| {
            url_arg.as_ref().map(|u| {
                let sep = if u.contains('?') { '&' } else { '?' };
                format!("{u}{sep}journal_schema={name}_{i}_{}", std::process::id())
            })
        };
        let url = match schema("adversarial") {
            Some(u) => u,
            None => {
                let _ = std::fs::create_dir_all(&dir);
                format!("sqlite://{}", dir.join(format!("journal-{i}.db")).display())
            }
        };
        match adversarial::run(provider, &url, schedules, seed).await {
            Ok(report) => {
                println!("{report} ({:.1}s)", started.elapsed().as_secs_f64());
                ok &= report.violations() == 0;
            }
            Err(e) => {
                println!("{:<10} could not run: {e}", provider.name);
                ok = false;
            }
        }
        // The same through a router over two accounts of the provider, on a journal of its own.
        let started = std::time::Instant::now();
        let routed_url = match schema("adversarial_routed") {
            Some(u) => u,
            None => format!("sqlite://{}", dir.join(format!("routed-{i}.db")).display()),
        };
        match adversarial::run_routed(provider, &routed_url, schedules, seed).await {
            Ok(report) => {
                println!("{report} ({:.1}s)", started.elapsed().as_secs_f64());
                ok &= report.violations() == 0;
            }
            Err(e) => {
                println!("{:<10} (routed) could not run: {e}", provider.name);
                ok = false;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
