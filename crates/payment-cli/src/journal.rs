//! `payment journal list | show | recover`: the durable record of every mutating command.

use std::collections::{BTreeSet, HashMap};

use payment::journal::{Attempt, AttemptState, ClaimFilter, Journal, Payment, RecoveryEvent, StoredOutcome};
use payment::{Error, ErrorKind, Mode, PaymentClient, Timestamp};

use crate::args::{Cli, JournalCommand};
use crate::config;
use crate::failure::{Failure, usage};

async fn open(cli: &Cli) -> Result<(payment::Config, Journal), Failure> {
    let config = config::config_without_provider(cli)?;
    match payment::open_journal(&config).await? {
        Some(j) => Ok((config, j)),
        None => Err(usage("no journal: give --journal URL, or set [journal] url or PAYMENT_JOURNAL_URL")),
    }
}

fn time(ms: i64) -> String {
    Timestamp::from_unix(ms.div_euclid(1000)).to_rfc3339()
}

fn note(a: &Attempt) -> Option<String> {
    match &a.outcome {
        Some(StoredOutcome::Note(n)) => Some(n.clone()),
        Some(StoredOutcome::Error(e)) => Some(format!("{}: {}", e.kind, e.message)),
        _ => None,
    }
}

fn attempt_json(a: &Attempt) -> serde_json::Value {
    serde_json::json!({
        "seq": a.seq,
        "state": a.state,
        "account": a.account,
        "provider_key": a.provider_key,
        "reference": a.request.reference(),
        "request": a.request,
        "charge_id": a.charge_id,
        "refund_id": a.refund_id,
        "created": time(a.created_ms),
        "dispatched": a.dispatched_ms.map(time),
        "updated": time(a.updated_ms),
        "recover_tries": a.recover_tries,
        "note": note(a),
    })
}

fn payment_json(p: &Payment) -> serde_json::Value {
    serde_json::json!({
        "idempotency_key": p.idempotency_key,
        "operation": p.operation,
        "provider": p.account,
        "account": p.account,
        "state": p.state,
        "charge_id": p.charge_id,
        "amount": p.latest().and_then(|a| a.request.amount()),
        "refund_id": p.latest().and_then(|a| a.refund_id.clone()),
        "created": time(p.created_ms),
        "updated": time(p.updated_ms),
        "attempts": p.attempts.iter().map(attempt_json).collect::<Vec<_>>(),
    })
}

/// The header over [`payment_line`]s.
fn payment_header() {
    out!(
        "{:<36} {:<20} {:<14} {:<24} {:<16} CHARGE (ATTEMPTS)",
        "IDEMPOTENCY KEY",
        "STATE",
        "OPERATION",
        "ACCOUNT",
        "AMOUNT"
    );
}

fn payment_line(p: &Payment) {
    let amount = p.latest().and_then(|a| a.request.amount()).map_or_else(|| "in full".to_owned(), |m| m.to_string());
    out!(
        "{:<36} {:<20} {:<14} {:<24} {:<16} {} ({} attempt{})",
        p.idempotency_key,
        p.state.as_str(),
        p.operation,
        p.account,
        amount,
        p.charge_id.as_deref().unwrap_or("-"),
        p.attempts.len(),
        if p.attempts.len() == 1 { "" } else { "s" }
    );
}

/// `payment journal …`
pub async fn run(cli: &Cli, command: &JournalCommand) -> Result<(), Failure> {
    match command {
        JournalCommand::List { state } => {
            let state = state
                .as_deref()
                .map(|s| s.parse::<AttemptState>().map_err(|e| usage(format!("--state: {e}"))))
                .transpose()?;
            let (_, journal) = open(cli).await?;
            let payments = journal.store().payments(state).await?;
            if !cli.json && !payments.is_empty() {
                payment_header();
            }
            for p in payments {
                if cli.json {
                    out!("{}", payment_json(&p));
                } else {
                    payment_line(&p);
                }
            }
            Ok(())
        }
        JournalCommand::Show { key } => {
            let (_, journal) = open(cli).await?;
            let Some(p) = journal.payment(key).await? else {
                return Err(Error::new(ErrorKind::NotFound, format!("the journal has no payment {key}")).into());
            };
            let events = journal.store().events(key).await?;
            if cli.json {
                let mut v = payment_json(&p);
                v["events"] = serde_json::to_value(&events).unwrap_or_default();
                out!("{v}");
                return Ok(());
            }
            payment_line(&p);
            for a in &p.attempts {
                out!(
                    "  attempt {}  {:<20} key {}  reference {}  charge {}{}",
                    a.seq,
                    a.state.as_str(),
                    a.provider_key,
                    a.request.reference().unwrap_or("-"),
                    a.charge_id.as_deref().unwrap_or("-"),
                    a.refund_id.as_deref().map(|r| format!("  refund {r}")).unwrap_or_default()
                );
                if let Some(n) = note(a) {
                    out!("    {n}");
                }
            }
            for e in &events {
                let from = e.from_state.map_or("-", |s| s.as_str());
                out!("  {}  {from} -> {}  v{}  {}", time(e.at_ms), e.to_state.as_str(), e.version, e.detail);
            }
            Ok(())
        }
        JournalCommand::Recover { within } => recover(cli, within).await,
    }
}

/// Connects every provider the journal has unresolved attempts for, then settles them.
async fn recover(cli: &Cli, within: &str) -> Result<(), Failure> {
    let within = payment::time::parse_duration(within).map_err(|why| usage(format!("--within {within:?} {why}")))?;
    let (config, journal) = open(cli).await?;
    let only = cli.provider.clone();
    // The accounts of the unresolved attempts, not of the payments: a routed payment's later
    // attempt (failed over to `payjp-backup`) is settled through its own account.
    let open_providers: BTreeSet<String> = journal
        .store()
        .payments(None)
        .await?
        .into_iter()
        .flat_map(|p| p.attempts)
        .filter(|a| a.state.is_unresolved())
        .map(|a| a.account)
        .filter(|a| only.as_ref().is_none_or(|o| o == a))
        .collect();
    // Every account the journal names, routed ones (`payjp-backup`) included. One that cannot be
    // connected is skipped and reported: the others are still recovered.
    let mut clients: HashMap<String, PaymentClient> = HashMap::new();
    let mut skipped = Vec::new();
    let mut config = config;
    // The journal is this command's own; the clients only send and look up.
    config.tables.remove(payment::config::JOURNAL_TABLE);
    for name in &open_providers {
        let embedded = config.all_accounts().get(name).map(|a| a.settings.mode()).transpose()?;
        if embedded == Some(Mode::Mock) {
            skipped.push(format!(
                "{name} is configured as an embedded mock, which starts empty: recovery against it would prove nothing; \
                 point --base-url (or [{name}] base_url) at the running `payment mock`"
            ));
            continue;
        }
        match payment::connect_account(&config, name).await {
            Ok(client) => {
                clients.insert(name.clone(), client);
            }
            Err(e) => skipped.push(format!("{name} could not be connected: {e}")),
        }
    }
    for why in &skipped {
        eprintln!("skipped: {why}");
    }
    if clients.is_empty() && !skipped.is_empty() {
        return Err(usage(format!("no account the journal names could be connected: {}", skipped.join("; "))));
    }
    if open_providers.is_empty() {
        if !cli.json {
            out!("nothing to recover");
        }
        return Ok(());
    }
    let filter = ClaimFilter { key: None, account: only.clone() };
    // Each result is printed as it is written, once per change of an attempt's state (an
    // attempt asked again later is not repeated); waits on leases and backoffs are said.
    let shown: std::sync::Mutex<HashMap<(String, i64), AttemptState>> = Default::default();
    let json = cli.json;
    let observer = move |event: RecoveryEvent<'_>| match event {
        RecoveryEvent::Resolved(r) => {
            let mut shown = shown.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if shown.insert((r.idempotency_key.clone(), r.seq), r.to) == Some(r.to) {
                return;
            }
            if json {
                out!("{}", serde_json::to_string(r).unwrap_or_default());
            } else {
                out!(
                    "{} #{} {} {}: {} -> {}: {}",
                    r.idempotency_key,
                    r.seq,
                    r.account,
                    r.operation,
                    r.from,
                    r.to,
                    r.how
                );
            }
        }
        RecoveryEvent::Waiting(wait) if !json => {
            eprintln!("waiting {:.1}s for a lease or a backoff to run out", wait.as_secs_f64());
        }
        RecoveryEvent::Waiting(_) => {}
    };
    // `--within` bounds the whole run: cut short, an attempt being asked about keeps its state
    // and its lease, as after a crash, and the next run goes on from there.
    let run = journal.recover_within_observed(&clients, within, &filter, &observer);
    match tokio::time::timeout(within, run).await {
        Ok(report) => drop(report?),
        Err(_) => eprintln!("stopped after --within {}s; what is still open is listed below", within.as_secs_f64()),
    }
    let left: Vec<Payment> = journal
        .store()
        .payments(None)
        .await?
        .into_iter()
        .filter(|p| only.as_ref().is_none_or(|o| p.attempts.iter().any(|a| a.account == *o)))
        .collect();
    let mut unknown = 0;
    for p in &left {
        let why = p.latest().and_then(note).unwrap_or_default();
        match p.state {
            AttemptState::NeedsReconciliation => {
                eprintln!("needs reconciliation: {} ({}): {why}", p.idempotency_key, p.account)
            }
            AttemptState::Pending => {
                eprintln!("pending: {} ({}) waits for the payer or the provider", p.idempotency_key, p.account)
            }
            AttemptState::AwaitingCustomer => {
                eprintln!(
                    "awaiting the customer: {} ({}) until they finish its next action",
                    p.idempotency_key, p.account
                )
            }
            AttemptState::Prepared | AttemptState::Dispatched | AttemptState::Unknown => {
                unknown += 1;
                eprintln!("still unknown: {} ({}): {why}", p.idempotency_key, p.account);
            }
            _ => {}
        }
    }
    if unknown > 0 {
        return Err(Error::new(
            ErrorKind::OutcomeUnknown,
            format!("{unknown} payment(s) are still unknown; run `payment journal recover` again later"),
        )
        .into());
    }
    Ok(())
}
