//! `throughput URL MODE CONCURRENCY N`: N PAY.JP charges (token + charge) at the given concurrency
//! against a mock in another process (`payment mock --provider payjp`), through the framework
//! (`framework`) or the hand-written reqwest client of `payment_examples::raw` sending the same
//! requests (`raw`); prints charges per second. The client runs on one
//! worker thread, so the mock process has the other core (see BENCHMARKS.md).

use std::time::Instant;

use futures::StreamExt;
use payment::payjp::{PayjpClient, PayjpConfig};
use payment::{PaymentClient, ProviderSettings, RequestOptions};
use payment_examples::raw;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, mode, concurrency, n] = args.as_slice() else {
        return Err("usage: throughput URL framework|raw CONCURRENCY N".into());
    };
    let concurrency: usize = concurrency.parse().map_err(|_| "CONCURRENCY is a number")?;
    let n: usize = n.parse().map_err(|_| "N is a number")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let config =
            PayjpConfig::new("sk_test_throughput").and_then(|c| c.with_base_url(url)).map_err(|e| e.to_string())?;
        let client = PaymentClient::new(std::sync::Arc::new(PayjpClient::new(config).map_err(|e| e.to_string())?));
        let settings = ProviderSettings::new("payjp").with("secret_key", "sk_test_throughput");
        let raw_client = std::sync::Arc::new(raw::RawClient::new("payjp", url, &settings)?);
        let card = std::sync::Arc::new(raw::card("payjp")?);
        let request = payment::payjp::fixtures::fixtures().charge(None);
        let started = Instant::now();
        let results: Vec<Result<(), String>> = futures::stream::iter(0..n)
            .map(|_| {
                let (client, raw_client, card, mode) = (client.clone(), raw_client.clone(), card.clone(), mode.clone());
                let request = request.clone();
                async move {
                    tokio::spawn(async move {
                        match mode.as_str() {
                            "framework" => client
                                .create_charge(request, &RequestOptions::default())
                                .await
                                .map(|_| ())
                                .map_err(|e| e.to_string()),
                            _ => raw_client.charge(&card).await,
                        }
                    })
                    .await
                    .map_err(|e| e.to_string())?
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let elapsed = started.elapsed();
        let failed = results.iter().filter(|r| r.is_err()).count();
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            return Err(format!("{failed} failed, first: {e}"));
        }
        println!(
            "{mode} c={concurrency} n={n}: {:.0} charges/s ({:.1} ms)",
            n as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0
        );
        Ok(())
    })
}
