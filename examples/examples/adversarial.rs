//! `cargo run -p payment-examples --release --example adversarial -- [SCHEDULES] [SEED] [JOURNAL_URL]`:
//! the adversarial soak (provider, network and disk faults on at once, recovery while the
//! provider is down, repeats of every unknown outcome) against every provider's mock; prints each
//! invariant's counts and fails on any violation. The journal is a fresh SQLite file unless a URL
//! is given (`postgres://…` for PostgreSQL).

use payment_examples::{adversarial, targets};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let schedules: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let url = args.next();
    let dir = std::env::temp_dir().join(format!("payment-adversarial-{}", std::process::id()));
    let mut ok = true;
    let only = std::env::var("ADVERSARIAL_PROVIDER").ok();
    for (i, provider) in targets::all().into_iter().enumerate() {
        if only.as_deref().is_some_and(|o| o != provider.name) {
            continue;
        }
        let started = std::time::Instant::now();
        let url = match &url {
            Some(u) => u.clone(),
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
    }
    let _ = std::fs::remove_dir_all(&dir);
    if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
