//! Regional: one TOML file routes each payment to its region's provider (`[[routes]]`), with a
//! second account to fail over to when the first is down.

use payment::routing::{RouteContext, RoutedClient};
use payment::{CardDetails, Config, CreateCharge, Money, PaymentSource, RequestOptions};

/// The example's config: Japan to PAY.JP (whose primary account is down here), then a backup
/// PAY.JP account, then Worldpay; everything else to Worldpay.
pub const REGIONS: &str = r#"
[payjp]
mode = "live"
secret_key = "sk_test_primary"
base_url = "http://127.0.0.1:9"   # nothing listens: the primary is down
timeout = "5s"

[accounts.payjp-backup]
provider = "payjp"
mode = "mock"

[worldpay]
mode = "mock"

[[routes]]
name = "japan"
region = ["jp"]
currency = ["JPY"]
targets = ["payjp", "payjp-backup", "worldpay"]

[[routes]]
name = "everywhere-else"
weights = { worldpay = 100 }
"#;

/// One routed payment: where it went and what it left behind.
#[derive(Debug, Clone)]
pub struct RegionalCharge {
    /// The payer's region.
    pub region: String,
    /// The rule that matched.
    pub rule: String,
    /// The account that charged.
    pub account: String,
    /// The charge id (`ACCOUNT/ID`).
    pub id: String,
    /// The amount.
    pub amount: Money,
    /// The accounts left, each with why.
    pub failovers: Vec<String>,
}

/// Connects the router of `config_text`.
pub async fn router(config_text: &str) -> payment::Result<RoutedClient> {
    payment::connect_routed(&Config::from_toml_str(config_text)?).await
}

/// Charges `amount` from a test card for a payer in `region`.
pub async fn charge(router: &RoutedClient, region: &str, amount: Money) -> payment::Result<RegionalCharge> {
    let card = PaymentSource::Card(CardDetails::new("4242424242424242", 12, 2030, Some("123"))?);
    let routed = router
        .route_charge(
            CreateCharge::new(amount, card),
            &RouteContext { region: Some(region.to_owned()) },
            &RequestOptions::default(),
        )
        .await;
    let record = routed.result?;
    Ok(RegionalCharge {
        region: region.to_owned(),
        rule: routed.rule.unwrap_or_default(),
        account: routed.account.unwrap_or_default(),
        id: record.id.as_str().to_owned(),
        amount: record.amount,
        failovers: routed.failovers.iter().map(|f| format!("{}: {}", f.account, f.reason)).collect(),
    })
}
