//! `cargo run -p payment-examples --example regional`: route payments by region from one TOML file.

use payment::{CardDetails, CreateCharge, Currency, Money, PaymentSource, RequestOptions};
use payment_examples::regional::Regions;

const REGIONS: &str = r#"
[regions]
jp = "payjp"
test = "memory"

[payjp]
mode = "mock"
"#;

#[tokio::main]
async fn main() -> payment::Result<()> {
    let regions = Regions::from_toml(REGIONS)?;
    for region in regions.regions() {
        let client = regions.connect(region).await?;
        let card = PaymentSource::Card(CardDetails::new("4242424242424242", 12, 2035, Some("123"))?);
        let charge = client
            .create_charge(CreateCharge::new(Money::new(800, Currency::JPY), card), &RequestOptions::default())
            .await?;
        println!("{region}: {} charged {} via {}", charge.id, charge.amount, client.provider_name());
    }
    Ok(())
}
