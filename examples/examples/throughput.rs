//! `throughput URL MODE CONCURRENCY N`: N PAY.JP charges (token + charge) at the given concurrency
//! against a mock in another process (`payment mock --provider payjp`), through the framework
//! (`framework`) or hand-written reqwest (`raw`); prints charges per second. The client runs on one
//! worker thread, so the mock process has the other core (see BENCHMARKS.md).

use std::time::Instant;

use futures::StreamExt;
use payment::payjp::{PayjpClient, PayjpConfig};
use payment::{PaymentClient, RequestOptions};

const CARD_FORM: &str =
    "card%5Bnumber%5D=4242424242424242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2035&card%5Bcvc%5D=123";

async fn raw_charge(http: &reqwest::Client, url: &str, i: usize) -> Result<(), String> {
    let post = |path: &str, body: String, key: String| {
        http.post(format!("{url}{path}"))
            .basic_auth("sk_test_throughput", Some(""))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let token: serde_json::Value = post("/v1/tokens", CARD_FORM.to_owned(), format!("t{i}-{}", std::process::id()))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let tok = token["id"].as_str().unwrap_or_default().to_owned();
    let charge: serde_json::Value = post(
        "/v1/charges",
        format!("amount=1000&currency=jpy&card={tok}&capture=true"),
        format!("c{i}-{}", std::process::id()),
    )
    .await
    .map_err(|e| e.to_string())?
    .json()
    .await
    .map_err(|e| e.to_string())?;
    if charge["id"].is_null() { Err(format!("charge failed: {charge}")) } else { Ok(()) }
}

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
        let http = reqwest::Client::new();
        let base: std::sync::Arc<str> = url.trim_end_matches('/').into();
        let started = Instant::now();
        let results: Vec<Result<(), String>> = futures::stream::iter(0..n)
            .map(|i| {
                let (client, http, mode, base) = (client.clone(), http.clone(), mode.clone(), base.clone());
                async move {
                    tokio::spawn(async move {
                        match mode.as_str() {
                            "framework" => client
                                .create_charge(
                                    payment::payjp::fixtures::fixtures().charge(None),
                                    &RequestOptions::default(),
                                )
                                .await
                                .map(|_| ())
                                .map_err(|e| e.to_string()),
                            _ => raw_charge(&http, &base, i).await,
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
