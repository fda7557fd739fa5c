//! `cargo run -p payment-examples --release --example soak -- [N] [SEED]`: N logical charges per
//! provider against its mock with faults on; prints the tally and fails on any duplicate or loss.

use payment_examples::soak;
use payment_examples::targets;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let mut ok = true;
    for provider in targets::all() {
        match soak::run(provider, n, seed, 32).await {
            Ok(t) => {
                println!("{:<10} {t}", provider.name);
                ok &= t.exactly_once();
            }
            Err(e) => {
                println!("{:<10} could not run: {e}", provider.name);
                ok = false;
            }
        }
    }
    if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
