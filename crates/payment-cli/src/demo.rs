//! `payment demo`: a scripted tour through every compiled-in provider's embedded mock.

use std::io::Write;
use std::time::Instant;

use payment::mocks::MockDriver;
use payment::{
    ChargeRecord, ChargeStatus, Config, CreateRefund, ListCharges, Money, PaymentClient, ProviderDriver,
    ProviderSettings, RequestOptions,
};

use crate::failure::Failure;

/// Whether rows are JSON objects (`--json`), set once at the start of the tour.
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs the tour; fails when any provider's step fails.
pub async fn run(json: bool) -> Result<(), Failure> {
    JSON.store(json, std::sync::atomic::Ordering::Relaxed);
    if !json {
        row("PROVIDER", "STEP", "RESULT", "DETAIL");
    }
    let mut failed = Vec::new();
    for driver in payment::drivers() {
        let started = Instant::now();
        if let Err(e) = tour(driver).await {
            row(driver.name, "error", "FAILED", &e.to_string());
            failed.push(driver.name);
        } else {
            row(driver.name, "total", "ok", &format!("{} ms", started.elapsed().as_millis()));
        }
    }
    if let Err(e) = routing_tour().await {
        row("routing", "error", "FAILED", &e.to_string());
        failed.push("routing");
    }
    if failed.is_empty() {
        if !json {
            out!("\nAll providers completed the tour against their mocks.");
        }
        Ok(())
    } else {
        Err(Failure::Usage(format!("the demo failed for: {}", failed.join(", "))))
    }
}

/// One step's line: a table row, or with `--json` `{"provider", "step", "result", "detail"}`.
fn row(provider: &str, step: &str, result: &str, detail: &str) {
    if JSON.load(std::sync::atomic::Ordering::Relaxed) {
        out!("{}", serde_json::json!({"provider": provider, "step": step, "result": result, "detail": detail}));
    } else {
        out!("{provider:<26} {step:<16} {result:<8} {detail}");
    }
    let _ = std::io::stdout().flush();
}

fn describe(c: &ChargeRecord) -> String {
    format!("{} {} captured {} refunded {}", c.id, c.status, c.amount_captured, c.amount_refunded)
}

async fn tour(driver: &'static ProviderDriver) -> payment::Result<()> {
    let name = driver.name;
    let mut settings = ProviderSettings::new(name);
    if MockDriver::of(driver).is_some() {
        settings.set("mode", "mock");
    }
    let client: PaymentClient = payment::connect(&Config::for_provider(settings)).await?;
    let caps = client.capabilities();
    let opts = RequestOptions::default;
    let mut request = (driver.fixtures)().charge(None).description("payment demo").metadata("demo", "true");
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
    if caps.charge.retrieve {
        let read = client.retrieve_charge(&charge.id).await?;
        row(name, "retrieve", "ok", &describe(&read));
    } else {
        row(name, "retrieve", "skipped", "the provider cannot read a charge back");
    }
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

/// Routing with a failover: two accounts of the first provider with a mock, the primary down
/// (its address refuses connections), the backup its mock; the charge moves on only because
/// nothing reached the primary.
async fn routing_tour() -> payment::Result<()> {
    use payment::routing::{RouteContext, RoutedClient};
    let Some((driver, _)) = payment::mocks::drivers().into_iter().find(|(d, _)| d.name != "memory") else {
        row("routing", "skipped", "-", "no provider with a mock is compiled in");
        return Ok(());
    };
    let name = driver.name;
    let request = (driver.fixtures)().charge(None).description("payment demo: routed");
    let currency = request.amount.currency.code().to_owned();
    // The primary: the mock's credentials, at an address nothing listens on.
    let handle = payment::mocks::start(driver, payment::mocks::MockOptions::default()).await?;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| payment::Error::config(e.to_string()))?;
    let dead_url = format!("http://{}", dead.local_addr().map_err(|e| payment::Error::config(e.to_string()))?);
    drop(dead);
    let mut primary_settings = handle.settings.clone();
    primary_settings.set("base_url", dead_url);
    primary_settings.set("timeout", "5s");
    let engine = payment::transport::EngineBuilder::new(driver.name).retry_policy(payment::Retry { max_attempts: 2 });
    let primary = driver.connect_with(primary_settings, engine).await?;
    let backup = payment::mocks::connect_embedded(
        driver,
        ProviderSettings::new(name),
        payment::transport::EngineBuilder::new(driver.name),
    )
    .await?;
    let backup_name = format!("{name}-backup");
    let rule = payment::RouteConfig {
        name: "demo".into(),
        currency: vec![currency.clone()],
        targets: vec![name.to_owned(), backup_name.clone()],
        ..payment::RouteConfig::default()
    };
    let router = RoutedClient::builder().account(name, primary).account(backup_name, backup).routes(&[rule]).build()?;
    row("routing", "rule", "ok", &format!("demo: {currency} to {name}, then {name}-backup"));
    let routed = router.route_charge(request, &RouteContext::default(), &RequestOptions::default()).await;
    for f in &routed.failovers {
        row("routing", "failover", "ok", &format!("{} did not charge ({})", f.account, f.reason));
    }
    let charge = routed.result?;
    row(
        "routing",
        "charged",
        "ok",
        &format!("{} by account {}", describe(&charge), routed.account.unwrap_or_default()),
    );
    if routed.failovers.is_empty() {
        return Err(payment::Error::new(
            payment::ErrorKind::Integrity,
            "the demo expected a failover from the down primary",
        ));
    }
    drop(handle);
    Ok(())
}
