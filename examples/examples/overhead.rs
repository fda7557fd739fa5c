//! `overhead MODE N`: N sequential charges (token + charge) against an in-process PAY.JP mock,
//! through the framework (`framework`) or hand-written reqwest calls (`raw`). Run it under
//! `valgrind --tool=callgrind` to compare instruction counts, which a shared 2-core machine does
//! not blur the way it blurs wall time (see BENCHMARKS.md).

use payment::RequestOptions;
use payment::transport::EngineBuilder;
use payment_examples::targets;

const CARD_FORM: &str =
    "card%5Bnumber%5D=4242424242424242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2035&card%5Bcvc%5D=123";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "framework".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let payjp = targets::named("payjp")?;
    let target = targets::start(payjp, EngineBuilder::new(payjp.name)).await?;
    let raw = reqwest::Client::new();
    for i in 0..n {
        match mode.as_str() {
            "framework" => {
                target
                    .client
                    .create_charge((payjp.fixtures)().charge(None), &RequestOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            "raw" => {
                let post = |path: &str, body: String, key: String| {
                    raw.post(format!("{}{path}", target.url))
                        .basic_auth("sk_test_soak", Some(""))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("idempotency-key", key)
                        .body(body)
                        .send()
                };
                let token: serde_json::Value = post("/v1/tokens", CARD_FORM.to_owned(), format!("raw-{i}-tok"))
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let tok = token["id"].as_str().unwrap_or_default().to_owned();
                let charge: serde_json::Value = post(
                    "/v1/charges",
                    format!("amount=1000&currency=jpy&card={tok}&capture=true"),
                    format!("raw-{i}"),
                )
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
                if charge["id"].is_null() {
                    return Err(format!("raw charge failed: {charge}"));
                }
            }
            other => return Err(format!("mode {other:?} is not framework or raw")),
        }
    }
    println!("{mode}: {n} charges");
    Ok(())
}
