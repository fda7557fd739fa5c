//! `cargo run -p payment-examples --example regional`: route payments by region from one TOML
//! file, failing over from a primary account that is down.

use payment::{Currency, Money};
use payment_examples::regional;

#[tokio::main]
async fn main() -> payment::Result<()> {
    let router = regional::router(regional::REGIONS).await?;
    for (region, amount) in [("jp", Money::new(800, Currency::JPY)), ("gb", Money::new(1250, Currency::GBP))] {
        let c = regional::charge(&router, region, amount).await?;
        for f in &c.failovers {
            println!("{region}: failed over from {f}");
        }
        println!("{region}: {} charged {} by account {} (rule {})", c.id, c.amount, c.account, c.rule);
    }
    Ok(())
}
