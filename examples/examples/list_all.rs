//! `cargo run -p payment-examples --example list_all`: create a few charges at PAY.JP's embedded
//! mock, then stream every one back with the paginator.

use payment::{Config, ProviderSettings, RequestOptions};

#[tokio::main]
async fn main() -> payment::Result<()> {
    let client = payment::connect(&Config::for_provider(ProviderSettings::new("payjp").with("mode", "mock"))).await?;
    for i in 0..25 {
        client
            .create_charge(
                payment::payjp::fixtures::fixtures().charge(Some(format!("list-{i}"))),
                &RequestOptions::default(),
            )
            .await?;
    }
    let (count, totals) = payment_examples::list_all::run(&client, 10).await?;
    println!("{count} charges, totals: {totals:?}");
    Ok(())
}
