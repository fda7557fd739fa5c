//! The journaled client the crash tests kill: one process per logical payment (or one for a
//! list, in the soak), stopped at a chosen checkpoint, and the recovery run that follows.
//!
//! `journal-child charge|refund|capture --journal URL --key K [--charge-id ID] [--stop-at POINT] [--announce POINT] [--backup-url URL]`
//! `journal-child soak --journal URL --keys K1,K2,…`
//! `journal-child recover --journal URL [--within-ms N] [--backup-url URL]`
//!
//! The provider and its settings come from the environment (`PAYMENT_PROVIDER`,
//! `PAYMENT_<PROVIDER>_<KEY>`), as for any app. With `--backup-url`, charges are routed over two
//! accounts of that provider: the configured one first, then a backup at that URL with the same
//! credentials.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use payment::journal::{Checkpoint, Journal, JournalOptions};
use payment::{ChargeId, CreateCharge, CreateRefund, IdempotencyKey, PaymentClient, RequestOptions};

/// The lease a child holds on what it sends: short, so recovery after a kill does not wait long.
pub const CHILD_LEASE: Duration = Duration::from_millis(1000);

/// How long after a child's lease its last request may still land at the mock (which holds
/// requests 1.5 s in the matrix's `sent` cells).
pub const CHILD_SETTLE: Duration = Duration::from_millis(2000);

struct Args {
    command: String,
    journal: String,
    keys: Vec<String>,
    charge_id: Option<String>,
    stop_at: Option<String>,
    announce: Option<String>,
    within: Duration,
    backup_url: Option<String>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = argv.next().ok_or("give charge, refund, capture, soak or recover")?;
    let mut a = Args {
        command,
        journal: String::new(),
        keys: Vec::new(),
        charge_id: None,
        stop_at: None,
        announce: None,
        within: Duration::from_secs(30),
        backup_url: None,
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--journal" => a.journal = value()?,
            "--key" => a.keys = vec![value()?],
            "--keys" => a.keys = value()?.split(',').map(str::to_owned).collect(),
            "--charge-id" => a.charge_id = Some(value()?),
            "--stop-at" => a.stop_at = Some(value()?),
            "--announce" => a.announce = Some(value()?),
            "--within-ms" => a.within = Duration::from_millis(value()?.parse().map_err(|_| "--within-ms: a number")?),
            "--backup-url" => a.backup_url = Some(value()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.journal.is_empty() {
        return Err("--journal URL is required".into());
    }
    Ok(a)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // The harness reads these lines; if it has gone there is no one to tell.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The charge a child makes for `key`: the driver's ordinary fixture, referenced by the key so
/// the mock's ledger names it.
pub fn charge_for(driver: &payment::ProviderDriver, key: &str) -> CreateCharge {
    let f = (driver.fixtures)();
    let mut c = CreateCharge::new(f.amount, f.source);
    c.reference = Some(key.to_owned());
    c.payer_ip = Some("127.0.0.1".into());
    c
}

/// `request` asking for 3-D Secure, coming back to a local page.
pub fn authenticated(request: CreateCharge) -> CreateCharge {
    request.authenticate(
        payment::Authentication::required("http://127.0.0.1:9/back")
            .email("buyer@example.com")
            .browser("text/html", "Mozilla/5.0 (kill matrix)"),
    )
}

async fn run(a: Args) -> Result<String, payment::Error> {
    let config = payment::load_config(None)?;
    let name = config.provider_name()?.to_owned();
    let driver = payment::registry().get(&name)?;
    let client: PaymentClient = payment::connect(&config).await?;
    let options = JournalOptions {
        lease: CHILD_LEASE,
        recovery_lease: CHILD_LEASE,
        // The kill matrix's mock holds a request 1.5 s and then commits it, child dead or not.
        settle_horizon: CHILD_SETTLE,
        ..JournalOptions::default()
    };
    let mut journal: Journal = payment::journal::open(&a.journal, options).await?;
    let (stop, announce) = (a.stop_at.clone(), a.announce.clone());
    journal = journal.on_checkpoint(move |at: Checkpoint, _| {
        if announce.as_deref() == Some(at.as_str()) {
            say(&format!("AT {}", at.as_str()));
        }
        if stop.as_deref() == Some(at.as_str()) {
            say(&format!("STOP {}", at.as_str()));
            // Held here until the harness kills the process: the crash point.
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    });
    let router = match &a.backup_url {
        Some(url) => Some(routed(&config, &name, url, &journal).await?),
        None => None,
    };
    if a.command == "recover" {
        let report = match &router {
            Some(r) => r.recover(a.within).await?,
            None => journal.recover_within(&client, a.within).await?,
        };
        let unknown = report.still_unknown().count();
        return Ok(format!("RECOVERED {} UNKNOWN {unknown}", report.resolutions.len()));
    }
    let journaled = client.clone().with_journal(journal.clone());
    // A restarted soak goes on where it stopped: the journal says which orders are done.
    let done: std::collections::HashSet<String> = if a.command == "soak" {
        let payments = journal.store().payments(None).await?;
        payments
            .into_iter()
            .filter(|p| !p.state.is_unresolved() && !p.state.allows_new_attempt())
            .map(|p| p.idempotency_key)
            .collect()
    } else {
        Default::default()
    };
    let mut last = String::new();
    for key in a.keys.iter().filter(|k| !done.contains(*k)) {
        // The call's deadline stays inside the short lease.
        let options = RequestOptions::with_key(IdempotencyKey::new(key.clone())?).timeout(CHILD_LEASE * 3 / 4);
        last = match a.command.as_str() {
            "charge" | "soak" => {
                let charged = match &router {
                    Some(r) => r.route_charge(charge_for(driver, key), &Default::default(), &options).await.result,
                    None => journaled.create_charge(charge_for(driver, key), &options).await,
                };
                match charged {
                    Ok(c) => format!("OK {} {}", c.id, c.status),
                    Err(e) => format!("ERR {} {:?}", e.kind(), e.outcome()),
                }
            }
            "charge3ds" => match journaled.create_charge(authenticated(charge_for(driver, key)), &options).await {
                Ok(c) => format!("OK {} {}", c.id, c.status),
                Err(e) => format!("ERR {} {:?}", e.kind(), e.outcome()),
            },
            "complete" => {
                let id = a.charge_id.clone().ok_or_else(|| payment::Error::invalid("complete needs --charge-id"))?;
                let none = payment::CompletionData::none();
                match journaled.complete_charge(&ChargeId::new(id), &none, &options).await {
                    Ok(c) => format!("OK {} {}", c.id, c.status),
                    Err(e) => format!("ERR {} {:?}", e.kind(), e.outcome()),
                }
            }
            "capture" => {
                let id = a.charge_id.clone().ok_or_else(|| payment::Error::invalid("capture needs --charge-id"))?;
                // In full: what a lookup can prove from Worldpay's events, which state no
                // settled amount (a partial capture whose answer is lost goes to a person).
                match journaled.capture_charge(&ChargeId::new(id), None, &options).await {
                    Ok(c) => format!("OK {} {}", c.id, c.status),
                    Err(e) => format!("ERR {} {:?}", e.kind(), e.outcome()),
                }
            }
            "refund" => {
                let id = a.charge_id.clone().ok_or_else(|| payment::Error::invalid("refund needs --charge-id"))?;
                match journaled.create_refund(CreateRefund::full(ChargeId::new(id)), &options).await {
                    Ok(r) => format!("OK {} {}", r.id, r.status.as_str()),
                    Err(e) => format!("ERR {} {:?}", e.kind(), e.outcome()),
                }
            }
            other => return Err(payment::Error::invalid(format!("unknown command {other}"))),
        };
        if a.command == "soak" {
            say(&format!("{key} {last}"));
        }
    }
    Ok(last)
}

/// A router over two accounts of `provider`: the configured one first, then a backup at
/// `backup_url` with the same settings, sharing `journal`.
async fn routed(
    config: &payment::Config,
    provider: &str,
    backup_url: &str,
    journal: &Journal,
) -> Result<payment::RoutedClient, payment::Error> {
    let driver = payment::registry().get(provider)?;
    let engine = || payment::transport::EngineBuilder::new(driver.name);
    let settings = config.settings(provider);
    // No retries at the primary: its retries of a turned-away charge would spend the payment's
    // short deadline before the router could fail over.
    let primary = driver.connect_with(settings.clone(), engine().retry_policy(payment::retry::Once)).await?;
    let primary = primary.with_account("primary");
    let backup = driver.connect_with(settings.with("base_url", backup_url), engine()).await?.with_account("backup");
    let route = payment::RouteConfig {
        name: "all".into(),
        targets: vec!["primary".into(), "backup".into()],
        ..payment::RouteConfig::default()
    };
    payment::RoutedClient::builder()
        .account("primary", primary)
        .account("backup", backup)
        .routes(&[route])
        .journal(journal.clone())
        .build()
}

/// The child's `main`.
pub fn child_main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("journal-child: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("journal-child: no runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(line) => {
            say(&line);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("journal-child: {e}");
            ExitCode::from(1)
        }
    }
}
