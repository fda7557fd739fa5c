//! `overhead MODE N [PROVIDER]`: N sequential charges against an in-process mock of PROVIDER
//! (`payjp` by default; `worldpay`, `pingpp`, `justap` or `google-standard-payments`), through the framework (`framework`) or a hand-written
//! reqwest client sending the same requests (`raw`: same method, path, headers and body; the
//! answer parsed as JSON and checked). Run it under `valgrind --tool=callgrind` to compare
//! instruction counts, which a shared 2-core machine does not blur the way it blurs wall time
//! (`bench/run.sh` does, and BENCHMARKS.md quotes it). With `OVERHEAD_SHOW=1` it prints the
//! requests the mock received for the last charge, so the two modes can be seen to send the same.

use payment::RequestOptions;
use payment::transport::EngineBuilder;
use payment_examples::{raw, targets};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "framework".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let provider = args.next().unwrap_or_else(|| "payjp".into());
    let driver = targets::named(&provider)?;
    let target = targets::start(driver, EngineBuilder::new(driver.name)).await?;
    let raw_client = match mode.as_str() {
        "raw" => Some((raw::RawClient::new(&provider, &target.url, &target.settings)?, raw::card(&provider)?)),
        _ => None,
    };
    // Built once, as an application builds its request from data it has: the loop measures the call.
    let request = (driver.fixtures)().charge(None);
    for _ in 0..n {
        target.control.clear_requests();
        match mode.as_str() {
            "framework" => {
                let request = request.clone();
                target.client.create_charge(request, &RequestOptions::default()).await.map_err(|e| e.to_string())?;
            }
            "raw" => {
                let (client, card) = raw_client.as_ref().ok_or("no raw client")?;
                client.charge(card).await?
            }
            other => return Err(format!("mode {other:?} is not framework or raw")),
        }
    }
    if std::env::var_os("OVERHEAD_SHOW").is_some() {
        for r in target.control.requests() {
            println!("{} {} {:?}\n  {}", r.method, r.path, r.headers, r.body);
        }
    }
    println!("{mode} {provider}: {n} charges");
    Ok(())
}
