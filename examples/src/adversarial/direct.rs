//! The soak through one journaled client per provider: charges, captures, cancels and refunds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use payment::journal::{AttemptState, FaultyStore, Journal};
use payment::mocks::MockControl;
use payment::{
    ChargeId, ChargeStatus, CreateRefund, IdempotencyKey, Money, PaymentClient, ProviderDriver, RequestOptions,
};

use super::{
    CALL_DEADLINE, Report, Rng, Told, call_twice, engine, is_live_charge, journal_options, mock_faults, payment_of,
    plan_journal_faults, provider_down, told,
};
use crate::targets;

/// One logical operation and what it was told, first and after repeats.
#[derive(Debug, Clone)]
struct Call {
    key: String,
    op: Op,
    first: Told,
    last: Told,
    /// A definite failure either of two concurrent calls was told.
    told_failed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Charge,
    Capture,
    Cancel,
    Refund,
}

/// The journaled client and the pieces the soak checks with.
struct Rig {
    client: PaymentClient,
    raw: PaymentClient,
    journal: Journal,
    faulty: Arc<FaultyStore>,
    control: MockControl,
    /// The mock's webhooks reach the journal.
    events: bool,
}

/// Whether the journal learns a refund's fate only from the provider's events (Worldpay keeps no
/// refund to read back): then the mock's webhooks reach the journal, as they would in production.
fn refunds_by_events(caps: &payment::Capabilities) -> bool {
    caps.webhooks && caps.refund.async_completion && !caps.refund.retrieve && !caps.refund.list
}

/// Hands every verified event to the journal; an error makes the mock deliver it again later.
struct ToJournal(Journal);

#[payment::async_trait]
impl payment::webhooks::EventHandler for ToJournal {
    async fn handle(&self, event: payment::WebhookEvent) -> payment::Result<()> {
        self.0.apply_event(&event).await.map(|_| ())
    }
}

async fn rig(driver: &'static ProviderDriver, url: &str, seed: u64) -> Result<Rig, String> {
    let events = refunds_by_events(driver.capabilities);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let hook = format!("http://{}/webhooks/{}", listener.local_addr().map_err(|e| e.to_string())?, driver.name);
    let mock = payment::mocks::MockOptions { webhook_url: events.then_some(hook), ..Default::default() };
    let target = targets::start_with(driver, engine(driver.name, seed), mock).await?;
    let store = payment::journal::open_store(url).await.map_err(|e| e.to_string())?;
    let faulty = Arc::new(FaultyStore::new(store));
    let journal = Journal::with_options(faulty.clone(), journal_options());
    if events {
        let settings = target.settings.clone();
        let server = payment::webhooks::WebhookServer::for_drivers(
            &[driver],
            move |_| settings.clone(),
            Arc::new(journal.clone()),
            Arc::new(ToJournal(journal.clone())),
        );
        tokio::spawn(async move { server.serve(listener).await });
    }
    let raw = target.client.clone();
    let client = raw.clone().with_journal(journal.clone());
    Ok(Rig { client, raw, journal, faulty, control: target.control, events })
}

/// One schedule: a charge, then maybe a capture, cancel or refund; each call maybe repeated at once.
async fn schedule(rig: &Rig, provider: &'static ProviderDriver, seed: u64, n: u64) -> Vec<(Call, RequestKind)> {
    let mut rng = Rng(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let caps = rig.client.capabilities();
    let fixtures = (provider.fixtures)();
    plan_journal_faults(&mut rng, &rig.faulty);
    let key = format!("adv{seed}n{n}");
    let mut request = fixtures.charge(Some(key.clone()));
    let authorize_only = caps.charge.capture_later && rng.below(3) == 0;
    request.capture = !authorize_only;
    let options = RequestOptions::with_key(IdempotencyKey::new(key.clone()).expect("a valid key"));
    let (charge, told_failed) = {
        let client = &rig.client;
        call_twice(rng.below(5) == 0, || async {
            client.create_charge(request.clone(), &options).await.map(|c| c.id.to_string())
        })
        .await
    };
    if let Ok(id) = &charge {
        // The payer pays an asynchronous charge; a read that fails here is the soak's, not the call's.
        let _ = rig.control.complete_charge(id);
    }
    // A caller told "unknown" asks again at once with the same key, as the error tells it to.
    let charge = match charge {
        Err(e) if e.outcome() == payment::Outcome::Unknown => {
            let again = client_charge(rig, &request, &options).await;
            if again.is_ok() { again } else { Err(e) }
        }
        other => other,
    };
    let first = told(&charge);
    let mut calls = vec![(
        Call { key: key.clone(), op: Op::Charge, first: first.clone(), last: first, told_failed },
        RequestKind::Charge(request.clone()),
    )];
    let Ok(charge_id) = charge else { return calls };
    let charge_id = ChargeId::new(charge_id);
    let follow = match (authorize_only, rng.below(3)) {
        (true, 0) if caps.charge.cancel => Some(Op::Cancel),
        (true, _) => Some(Op::Capture),
        // A refund is soaked where the journal can learn it is final: by reading it back, or
        // (Worldpay) from the provider's events.
        (false, 0) if caps.refund.partial && (caps.refund.retrieve || caps.refund.list || rig.events) => {
            Some(Op::Refund)
        }
        _ => None,
    };
    let Some(op) = follow else { return calls };
    plan_journal_faults(&mut rng, &rig.faulty);
    let key = format!(
        "adv{seed}n{n}{}",
        match op {
            Op::Capture => "c",
            Op::Cancel => "x",
            _ => "r",
        }
    );
    let options = RequestOptions::with_key(IdempotencyKey::new(key.clone()).expect("a valid key"));
    let part = Money::new((fixtures.amount.minor / 4).max(1), fixtures.amount.currency);
    let kind = match op {
        Op::Capture => RequestKind::Capture(charge_id.clone()),
        Op::Cancel => RequestKind::Cancel(charge_id.clone()),
        _ => RequestKind::Refund(CreateRefund::partial(charge_id.clone(), part)),
    };
    let (result, told_failed) = call_twice(rng.below(5) == 0, || kind.send(&rig.client, &options)).await;
    let result = match result {
        Err(e) if e.outcome() == payment::Outcome::Unknown => {
            let again = kind.send(&rig.client, &options).await;
            if again.is_ok() { again } else { Err(e) }
        }
        other => other,
    };
    let first = told(&result);
    calls.push((Call { key, op, first: first.clone(), last: first, told_failed }, kind));
    calls
}

async fn client_charge(
    rig: &Rig,
    request: &payment::CreateCharge,
    options: &RequestOptions,
) -> payment::Result<String> {
    rig.client.create_charge(request.clone(), options).await.map(|c| c.id.to_string())
}

/// A mutating request the soak can repeat with its key.
#[derive(Debug, Clone)]
enum RequestKind {
    Charge(payment::CreateCharge),
    Capture(ChargeId),
    Cancel(ChargeId),
    Refund(CreateRefund),
}

impl RequestKind {
    async fn send(&self, client: &PaymentClient, options: &RequestOptions) -> payment::Result<String> {
        match self {
            RequestKind::Charge(r) => client.create_charge(r.clone(), options).await.map(|c| c.id.to_string()),
            RequestKind::Capture(id) => client.capture_charge(id, None, options).await.map(|c| c.id.to_string()),
            RequestKind::Cancel(id) => client.cancel_charge(id, options).await.map(|c| c.id.to_string()),
            RequestKind::Refund(r) => client.create_refund(r.clone(), options).await.map(|r| r.id.to_string()),
        }
    }
}

/// Runs `schedules` seeded schedules against `provider`'s mock with the journal at `url`.
pub async fn run(provider: &'static ProviderDriver, url: &str, schedules: u64, seed: u64) -> Result<Report, String> {
    let rig = rig(provider, url, seed).await?;
    rig.control.set_faults(mock_faults(seed)).map_err(|e| e.to_string())?;
    let mut report = Report { provider: provider.name.to_owned(), schedules: schedules as usize, ..Report::default() };
    let mut calls = Vec::new();
    let verbose = std::env::var_os("ADVERSARIAL_VERBOSE").is_some();
    for n in 0..schedules {
        super::progress(provider.name, n, schedules);
        let began = std::time::Instant::now();
        if verbose {
            eprintln!("schedule {n}");
        }
        match tokio::time::timeout(CALL_DEADLINE * 6, schedule(&rig, provider, seed, n)).await {
            Ok(done) => {
                if verbose {
                    eprintln!(
                        "schedule {n}: {:?} in {:?}",
                        done.iter().map(|(c, _)| (&c.op, &c.first)).collect::<Vec<_>>(),
                        began.elapsed()
                    );
                }
                calls.extend(done)
            }
            Err(_) => {
                report.hung += 1;
                report.violate(format!("schedule {n} hung"));
            }
        }
    }
    super::progress(provider.name, schedules, schedules);
    for (_, step) in rig.faulty.fired() {
        let _ = step;
        report.journal_faults += 1;
    }
    rig.faulty.clear();
    for entry in rig.control.requests() {
        if let Some(fault) = entry.fault {
            let kind = fault.split_whitespace().next().unwrap_or("?").to_owned();
            *report.mock_faults.entry(kind).or_default() += 1;
        }
    }
    if verbose {
        eprintln!("schedules done; recovery while the provider is down");
    }
    // Recovery while the provider is down must change nothing it cannot prove.
    rig.control.set_faults(provider_down()).map_err(|e| e.to_string())?;
    tokio::time::sleep(rig.journal.options().lease).await;
    rig.journal.recover(&rig.raw).await.map_err(|e| format!("recovery while down: {e}"))?;
    rig.control.clear_faults();
    // Then recovery for real, and every caller told "unknown" asks again with its key.
    if verbose {
        eprintln!("recovery");
    }
    settle_all(&rig, Duration::from_secs(10)).await?;
    for (call, kind) in calls.iter_mut() {
        if call.first == Told::Unknown {
            let options = RequestOptions::with_key(IdempotencyKey::new(call.key.clone()).expect("a valid key"));
            call.last = told(&kind.send(&rig.client, &options).await);
        }
    }
    settle_all(&rig, Duration::from_secs(5)).await?;
    check(&rig, &calls, &mut report).await?;
    Ok(report)
}

/// Every payer pays and recovery runs, until nothing is left to pay: what is pending at the
/// provider (a charge whose answer was lost, or that recovery itself resent) is completed, so
/// recovery can read it to final.
async fn settle_all(rig: &Rig, within: Duration) -> Result<(), String> {
    deliver_all(rig).await;
    for _ in 0..3 {
        let waiting: Vec<String> =
            rig.control.objects(usize::MAX).charges.into_iter().filter(|c| c.completable).map(|c| c.id).collect();
        for id in &waiting {
            let _ = rig.control.complete_charge(id);
        }
        rig.journal.recover_within(&rig.raw, within).await.map_err(|e| format!("recovery: {e}"))?;
        // Events that waited for recovery to settle the charge they name.
        deliver_all(rig).await;
        if waiting.is_empty() {
            break;
        }
    }
    Ok(())
}

/// Lets the provider's events reach the journal: mock time moves on past each stage that turns
/// final later, and past the retries of deliveries the journal refused, until none is pending
/// (a big run queues thousands: the bound is a minute of real time).
async fn deliver_all(rig: &Rig) {
    if !rig.events {
        return;
    }
    let pending = || rig.control.webhooks().iter().filter(|d| d.state == "pending").count();
    let (mut last, mut idle) = (usize::MAX, 0);
    for round in 0..600 {
        if round % 10 == 0 {
            rig.control.advance_clock(Duration::from_secs(61));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = pending();
        // Done, or what is left waits for something else (recovery settling the charge an event
        // names): the next round of `settle_all` delivers it.
        idle = if now < last { 0 } else { idle + 1 };
        last = now;
        if now == 0 || idle >= 50 {
            return;
        }
    }
}

async fn check(rig: &Rig, calls: &[(Call, RequestKind)], report: &mut Report) -> Result<(), String> {
    report.calls = calls.len();
    for (call, _) in calls {
        let slot = match call.first {
            Told::Done(_) => 0,
            Told::Failed(_) => 1,
            Told::Unknown => 2,
        };
        report.told[slot] += 1;
    }
    let stats = rig.control.stats();
    let objects = rig.control.objects(usize::MAX);
    // 1. At most one effect per key (a later attempt's charge counts for its payment).
    let mut per_payment: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, n) in &stats.charges_by_reference {
        *per_payment.entry(payment_of(name)).or_default() += n;
    }
    for (reference, n) in &per_payment {
        if *n > 1 {
            report.duplicate_effects += 1;
            report.violate(format!("reference {reference} charged {n} times"));
        }
    }
    let mut refunds_per_charge: BTreeMap<String, usize> = BTreeMap::new();
    for r in &objects.refunds {
        *refunds_per_charge.entry(r.charge.clone().unwrap_or_default()).or_default() += 1;
    }
    for (charge, n) in &refunds_per_charge {
        if *n > 1 {
            report.duplicate_effects += 1;
            report.violate(format!("charge {charge} refunded {n} times for one refund key"));
        }
    }
    // 2. Distinct keys never share an object.
    let mut seen: BTreeMap<(Op, String), String> = BTreeMap::new();
    for (call, _) in calls {
        for t in [&call.first, &call.last] {
            if let Told::Done(id) = t
                && let Some(other) = seen.insert((call.op, id.clone()), call.key.clone())
                && other != call.key
            {
                report.shared_objects += 1;
                report.violate(format!("{id} answered to keys {other} and {}", call.key));
            }
        }
    }
    // 3. Told "failed", yet done at the provider.
    let can_read = rig.raw.capabilities().charge.retrieve;
    let charged: BTreeSet<&str> =
        objects.charges.iter().filter_map(|c| c.reference.as_deref()).map(payment_of).collect();
    for (call, kind) in calls {
        let failed =
            matches!(call.first, Told::Failed(_)) || matches!(call.last, Told::Failed(_)) || call.told_failed.is_some();
        if !failed {
            continue;
        }
        let done = match kind {
            RequestKind::Charge(r) => {
                let reference = r.reference.as_deref().unwrap_or_default();
                charged.contains(reference) && is_live_charge(&objects.charges, reference)
            }
            RequestKind::Refund(r) => refunds_per_charge.contains_key(r.charge_id.as_str()),
            RequestKind::Capture(id) if can_read => {
                matches!(rig.raw.retrieve_charge(id).await.map(|c| c.status), Ok(ChargeStatus::Succeeded))
            }
            RequestKind::Cancel(id) if can_read => {
                matches!(rig.raw.retrieve_charge(id).await.map(|c| c.status), Ok(ChargeStatus::Canceled))
            }
            RequestKind::Capture(_) | RequestKind::Cancel(_) => false,
        };
        if done {
            report.failed_but_done += 1;
            report.violate(format!(
                "{} ({:?}) was told {:?} then {:?} (a concurrent call: {:?}), but the provider did it",
                call.key, call.op, call.first, call.last, call.told_failed
            ));
        }
    }
    // 4. Every payment terminal, or with a person and a reason.
    for p in rig.journal.store().payments(None).await.map_err(|e| e.to_string())? {
        match p.state {
            AttemptState::NeedsReconciliation => {
                report.reconcile += 1;
                if std::env::var_os("ADVERSARIAL_VERBOSE").is_some() {
                    let note = p.latest().map(|a| format!("{} {:?}", a.operation, a.outcome)).unwrap_or_default();
                    eprintln!(
                        "{} needs reconciliation: {}",
                        p.idempotency_key,
                        note.chars().take(400).collect::<String>()
                    );
                }
                let reason = p.latest().map(|a| a.outcome.is_some()).unwrap_or(false);
                if !reason {
                    report.unresolved += 1;
                    report.violate(format!("{} needs reconciliation without a reason", p.idempotency_key));
                }
            }
            s if s.is_unresolved() => {
                report.unresolved += 1;
                let why = p
                    .latest()
                    .map(|a| {
                        format!(
                            "{:?} charge {:?}",
                            a.outcome.as_ref().map(|o| format!("{o:?}").chars().take(300).collect::<String>()),
                            a.charge_id
                        )
                    })
                    .unwrap_or_default();
                let now = match p.charge_id.as_deref() {
                    Some(id) => format!("{:?}", rig.raw.retrieve_charge(&ChargeId::new(id)).await.map(|c| c.status)),
                    None => "no charge".into(),
                };
                let events = rig
                    .journal
                    .store()
                    .events(&p.idempotency_key)
                    .await
                    .map(|e| e.iter().map(|e| format!("{}:{}", e.to_state, e.detail)).collect::<Vec<_>>().join(" | "))
                    .unwrap_or_default();
                report.violate(format!("{} left {s} (provider now {now}; {events}): {why}", p.idempotency_key));
            }
            _ => {}
        }
    }
    Ok(())
}
