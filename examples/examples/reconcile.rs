//! Fills a running PAY.JP mock (`payment mock`) for the reconciliation benchmark:
//!
//!   cargo run --release -p payment-examples --example reconcile -- URL JOURNAL_URL COUNT [OUTSIDE]
//!
//! creates COUNT journaled charges (64 in flight) and OUTSIDE more without the journal (another
//! app charging the same account), so `payment reconcile` then has COUNT + OUTSIDE charges to
//! examine and OUTSIDE differences to name. bench/run.sh times the CLI's walk and its peak RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use payment::{Config, ProviderSettings, RequestOptions};

const IN_FLIGHT: usize = 64;

async fn fill(client: payment::PaymentClient, count: u64) -> payment::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let run = |_| {
        let (client, next) = (client.clone(), next.clone());
        async move {
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let request = payment::payjp::fixtures::fixtures().charge(None);
                client.create_charge(request, &RequestOptions::default()).await?;
            }
            payment::Result::Ok(())
        }
    };
    let results: Vec<_> = futures::stream::iter(0..IN_FLIGHT).map(run).buffer_unordered(IN_FLIGHT).collect().await;
    results.into_iter().collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, journal, count, rest @ ..] = args.as_slice() else {
        return Err("usage: reconcile URL JOURNAL_URL COUNT [OUTSIDE]".into());
    };
    let count: u64 = count.parse().map_err(|_| format!("COUNT {count:?} is not a number"))?;
    let outside: u64 = rest.first().map_or(Ok(0), |o| o.parse()).map_err(|_| "OUTSIDE is not a number")?;
    let settings = ProviderSettings::new("payjp").with("base_url", url.as_str()).with("secret_key", "sk_test_bench");
    let mut config = Config::for_provider(settings);
    config.table_mut(payment::config::JOURNAL_TABLE).set("url", journal.as_str());
    let journaled = payment::connect(&config).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    fill(journaled.clone(), count).await.map_err(|e| e.to_string())?;
    fill(journaled.unjournaled(), outside).await.map_err(|e| e.to_string())?;
    eprintln!("{count} journaled and {outside} unjournaled charges in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
