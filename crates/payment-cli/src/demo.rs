//! `payment demo`: a scripted tour through every compiled-in provider's embedded mock.

use std::io::Write;
use std::time::Instant;

use payment::{
    ChargeRecord, ChargeStatus, Config, CreateCharge, CreateRefund, Currency, ListCharges, Money, PaymentClient,
    PaymentSource, ProviderSettings, RequestOptions,
};

use crate::failure::Failure;

/// Runs the tour; fails when any provider's step fails.
pub async fn run() -> Result<(), Failure> {
    row("PROVIDER", "STEP", "RESULT", "DETAIL");
    let mut failed = Vec::new();
    for driver in payment::registry().drivers() {
        let started = Instant::now();
        if let Err(e) = tour(driver.name).await {
            row(driver.name, "error", "FAILED", &e.to_string());
            failed.push(driver.name);
        } else {
            row(driver.name, "total", "ok", &format!("{} ms", started.elapsed().as_millis()));
        }
    }
    if failed.is_empty() {
        println!("\nAll providers completed the tour against their mocks.");
        Ok(())
    } else {
        Err(Failure::Usage(format!("the demo failed for: {}", failed.join(", "))))
    }
}

fn row(provider: &str, step: &str, result: &str, detail: &str) {
    println!("{provider:<26} {step:<16} {result:<8} {detail}");
    let _ = std::io::stdout().flush();
}

fn describe(c: &ChargeRecord) -> String {
    format!("{} {} captured {} refunded {}", c.id, c.status, c.amount_captured, c.amount_refunded)
}

/// What each provider is charged with in the demo.
fn demo_charge(name: &str) -> CreateCharge {
    let (amount, source) = match name {
        // Test card: the client tokenizes it at the mock first, as a PCI-scoped merchant would.
        "payjp" => (Money::new(1200, Currency::JPY), test_card()),
        "pingpp" | "justap" => (Money::new(1234, Currency::CNY), PaymentSource::channel("alipay")),
        "worldpay" => (Money::new(1250, Currency::GBP), test_card_numbered("4444333322221111")),
        _ => (Money::new(1200, Currency::JPY), PaymentSource::Token("tok_visa".into())),
    };
    let mut request = CreateCharge::new(amount, source).description("payment demo").metadata("demo", "true");
    request.payer_ip = Some("127.0.0.1".into());
    request
}

fn test_card() -> PaymentSource {
    test_card_numbered("4242424242424242")
}

fn test_card_numbered(number: &str) -> PaymentSource {
    payment::CardDetails::new(number, 12, 2030, Some("123"))
        .map(PaymentSource::Card)
        .unwrap_or_else(|_| PaymentSource::Token("tok_visa".into()))
}

async fn tour(name: &'static str) -> payment::Result<()> {
    let config = Config::for_provider(ProviderSettings::new(name).with("mode", "mock"));
    let client: PaymentClient = payment::connect(&config).await?;
    let caps = client.capabilities();
    let opts = RequestOptions::default;
    let mut request = demo_charge(name);
    request.capture = !caps.charge.capture_later;
    let amount = request.amount;
    let created = client.create_charge(request, &opts()).await?;
    row(name, "create", "ok", &describe(&created));
    let charge = if caps.charge.capture_later {
        let captured = client.capture_charge(&created.id, None, &opts()).await?;
        row(name, "capture", "ok", &describe(&captured));
        captured
    } else if matches!(created.status, ChargeStatus::RequiresAction | ChargeStatus::Pending) {
        match client.keep_alive::<payment::mocks::MockServer>() {
            Some(mock) => {
                mock.control()
                    .complete_charge(created.id.as_str())
                    .map_err(|e| payment::Error::config(e.to_string()))?;
                let paid = client.retrieve_charge(&created.id).await?;
                row(name, "payer pays", "ok", &describe(&paid));
                paid
            }
            None => created,
        }
    } else {
        created
    };
    let part = Money::new(amount.minor / 4, amount.currency);
    let refund = client.create_refund(CreateRefund::partial(charge.id.clone(), part).reason("demo"), &opts()).await?;
    row(name, "partial refund", "ok", &format!("{} {} {}", refund.id, refund.status.as_str(), refund.amount));
    let read = client.retrieve_charge(&charge.id).await?;
    row(name, "retrieve", "ok", &describe(&read));
    if caps.charge.list {
        let listed =
            client.list_charges(ListCharges { page_size: Some(10), ..ListCharges::default() }).collect_all().await?;
        let found = listed.iter().any(|c| c.id == charge.id);
        row(
            name,
            "list",
            if found { "ok" } else { "MISSING" },
            &format!("{} charge(s), ours included: {found}", listed.len()),
        );
        if !found {
            return Err(payment::Error::new(payment::ErrorKind::Integrity, "the new charge is missing from the list"));
        }
    } else {
        row(name, "list", "skipped", "the provider has no list endpoint");
    }
    Ok(())
}
