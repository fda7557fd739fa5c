//! `cargo run -p payment-examples --example checkout`: charge and refund through the provider the
//! environment or `payment.toml` names (default: PAY.JP's embedded mock).

use payment::{CardDetails, Config, Currency, Money, PaymentSource, ProviderSettings};

#[tokio::main]
async fn main() -> payment::Result<()> {
    let path = std::path::Path::new("payment.toml");
    let mut config = payment::load_config(path.exists().then_some(path))?;
    if config.provider.is_none() {
        config = Config::for_provider(ProviderSettings::new("payjp").with("mode", "mock"));
    }
    let card = PaymentSource::Card(CardDetails::new("4242424242424242", 12, 2035, Some("123"))?);
    let (charge, refund) =
        payment_examples::checkout::run(&config, Money::new(1200, Currency::JPY), card, "order-1001").await?;
    println!(
        "charged {} {} ({}), refunded {} as {}",
        charge.id, charge.amount, charge.status, refund.amount, refund.id
    );
    Ok(())
}
