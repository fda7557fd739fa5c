//! The adversarial soak: seeded schedules of charges, captures, cancels and refunds through a
//! journaled client against each provider's mock, with the faults a real provider, network or
//! disk produces on at once — answers dropped after the provider committed, requests that commit
//! after the client gave up (a delay past the attempt timeout), altered echoes, 5xx and 429s
//! with hostile `Retry-After`, journal writes that fail or whose commit answer is lost,
//! concurrent repeats of one key, and the provider down while recovery runs. Afterwards it
//! checks, against the mock's own ledger:
//!
//! 1. at most one provider effect per idempotency key (charges per reference, refunds per charge);
//! 2. distinct keys never share a provider object;
//! 3. a call the caller was told failed *definitely* has no effect at the provider, even after
//!    recovery and repeats;
//! 4. after recovery every payment is terminal, or `needs_reconciliation` with a reason;
//! 5. no schedule hung past its bound.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use payment::journal::{AttemptState, FaultyStore, Journal, JournalOptions, StoreFault, StoreStep};
use payment::mocks::{FaultKind, FaultPlan, FaultRule, MockControl};
use payment::transport::{EngineBuilder, Sleeper};
use payment::{
    ChargeId, ChargeStatus, CreateRefund, ExponentialBackoff, IdempotencyKey, Money, Outcome, PaymentClient,
    ProviderDriver, RequestOptions,
};

use crate::targets;

/// What the caller was told by one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Told {
    Done(String),
    Failed(String),
    Unknown,
}

/// One logical operation and what it was told, first and after repeats.
#[derive(Debug, Clone)]
struct Call {
    key: String,
    op: Op,
    first: Told,
    last: Told,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Charge,
    Capture,
    Cancel,
    Refund,
}

/// The counts of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The provider.
    pub provider: String,
    /// Schedules run.
    pub schedules: usize,
    /// Logical calls made.
    pub calls: usize,
    /// Calls first told success / definite failure / unknown.
    pub told: [usize; 3],
    /// Mock faults fired, by kind.
    pub mock_faults: BTreeMap<String, usize>,
    /// Journal faults fired.
    pub journal_faults: usize,
    /// Payments left `needs_reconciliation` (allowed, each with a reason).
    pub reconcile: usize,
    /// Invariant 1: references charged more than once, charges refunded more than asked.
    pub duplicate_effects: usize,
    /// Invariant 2: provider objects answered to two keys.
    pub shared_objects: usize,
    /// Invariant 3: calls told "failed" whose effect exists at the provider.
    pub failed_but_done: usize,
    /// Invariant 4: payments left unresolved, or reconciliation without a reason.
    pub unresolved: usize,
    /// Invariant 5: schedules that hung past their bound.
    pub hung: usize,
    /// The first violation, in words.
    pub first_violation: Option<String>,
}

impl Report {
    /// Violations of all five invariants.
    pub fn violations(&self) -> usize {
        self.duplicate_effects + self.shared_objects + self.failed_but_done + self.unresolved + self.hung
    }

    fn violate(&mut self, what: String) {
        self.first_violation.get_or_insert(what);
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults: Vec<String> = self.mock_faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
        write!(
            f,
            "{}: {} schedules, {} calls (told ok {}, failed {}, unknown {}); faults: mock [{}], journal {}; \
             needs_reconciliation {}; violations: duplicate effects {}, shared objects {}, failed-but-done {}, \
             unresolved {}, hung {}",
            self.provider,
            self.schedules,
            self.calls,
            self.told[0],
            self.told[1],
            self.told[2],
            faults.join(", "),
            self.journal_faults,
            self.reconcile,
            self.duplicate_effects,
            self.shared_objects,
            self.failed_but_done,
            self.unresolved,
            self.hung,
        )?;
        if let Some(v) = &self.first_violation {
            write!(f, "; first: {v}")?;
        }
        Ok(())
    }
}

/// Waits a hundredth of each delay, so retries run but the soak stays quick.
#[derive(Debug)]
struct ScaledSleeper;

impl Sleeper for ScaledSleeper {
    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep((d / 100).min(Duration::from_millis(200))))
    }
}

/// The per-attempt timeout; a delay fault longer than it commits after the client gave up.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(400);
/// The deadline of one call.
const CALL_DEADLINE: Duration = Duration::from_secs(3);

/// The mock's fault mix.
fn mock_faults(seed: u64) -> FaultPlan {
    let post = |kind, p| FaultRule::always(kind).methods(&["POST"]).probability(p);
    FaultPlan {
        seed,
        rules: vec![
            post(FaultKind::DropAfterCommit, 0.08),
            post(FaultKind::ResetBeforeCommit, 0.04),
            post(FaultKind::StatusAfterCommit { status: 500 }, 0.05),
            // Past the attempt timeout: the provider commits after the client hung up.
            post(FaultKind::Delay { ms: 600 }, 0.04),
            post(FaultKind::AlterAmount, 0.04),
            FaultRule::always(FaultKind::Status { status: 503, retry_after: None }).probability(0.04),
            // A hostile Retry-After (a day): the deadline, not the provider, bounds the wait.
            FaultRule::always(FaultKind::Status { status: 429, retry_after: Some(86_400) }).probability(0.03),
        ],
    }
}

/// Every request refused while "the provider is down" for recovery.
fn provider_down() -> FaultPlan {
    FaultPlan::new(vec![
        FaultRule::always(FaultKind::ResetBeforeCommit).probability(0.5),
        FaultRule::always(FaultKind::Status { status: 503, retry_after: None }),
    ])
}

fn told(result: &payment::Result<String>) -> Told {
    match result {
        Ok(id) => Told::Done(id.clone()),
        Err(e) if e.outcome() == Outcome::Unknown => Told::Unknown,
        Err(e) => Told::Failed(e.to_string()),
    }
}

/// splitmix64: each schedule's choices from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Runs one call, and with `twice` a concurrent repeat of the same key; what the caller saw.
async fn call_twice<F, Fut>(twice: bool, call: F) -> payment::Result<String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = payment::Result<String>>,
{
    if !twice {
        return call().await;
    }
    let (a, b) = futures::join!(call(), call());
    // Both answers are the caller's; a definite failure in either is what a caller would act on.
    match (a, b) {
        (Err(e), _) | (_, Err(e)) if e.outcome() == Outcome::Definite => Err(e),
        (Ok(id), _) => Ok(id),
        (_, r) => r,
    }
}

/// The journaled client and the pieces the soak checks with.
struct Rig {
    client: PaymentClient,
    raw: PaymentClient,
    journal: Journal,
    faulty: Arc<FaultyStore>,
    control: MockControl,
}

async fn rig(driver: &'static ProviderDriver, url: &str, seed: u64) -> Result<Rig, String> {
    let engine = EngineBuilder::new(driver.name)
        .retry_policy(ExponentialBackoff { max_attempts: 6, ..ExponentialBackoff::default() }.with_seed(seed))
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .call_timeout(CALL_DEADLINE)
        .sleeper(Arc::new(ScaledSleeper));
    let target = targets::start(driver, engine).await?;
    let store = payment::journal::open_store(url).await.map_err(|e| e.to_string())?;
    let faulty = Arc::new(FaultyStore::new(store));
    let options = JournalOptions {
        lease: CALL_DEADLINE + Duration::from_secs(2),
        recovery_lease: Duration::from_secs(4),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    };
    let journal = Journal::with_options(faulty.clone(), options);
    let raw = target.client.clone();
    let client = raw.clone().with_journal(journal.clone());
    Ok(Rig { client, raw, journal, faulty, control: target.control })
}

/// Plans this schedule's journal faults (they fire on the next matching writes).
fn plan_journal_faults(rng: &mut Rng, faulty: &FaultyStore) {
    let step = match rng.below(8) {
        0 => StoreStep::Transition(AttemptState::Dispatched),
        1 => StoreStep::Transition(AttemptState::Succeeded),
        2 => StoreStep::Transition(AttemptState::Unknown),
        3 => StoreStep::Transition(AttemptState::NotSent),
        4 => StoreStep::Transition(AttemptState::ProvenAbsent),
        5 => StoreStep::Transition(AttemptState::Declined),
        _ => return,
    };
    let fault = match rng.below(3) {
        0 => StoreFault::Fail,
        1 => StoreFault::LoseCommit,
        _ => StoreFault::Delay(Duration::from_millis(50)),
    };
    faulty.inject(step, fault, 1);
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
    let charge = {
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
    let first = told(&charge);
    let mut calls = vec![(
        Call { key: key.clone(), op: Op::Charge, first: first.clone(), last: first },
        RequestKind::Charge(request.clone()),
    )];
    let Ok(charge_id) = charge else { return calls };
    let charge_id = ChargeId::new(charge_id);
    let follow = match (authorize_only, rng.below(3)) {
        (true, 0) if caps.charge.cancel => Some(Op::Cancel),
        (true, _) => Some(Op::Capture),
        // A refund is only soaked where the journal can read it back to final: Worldpay's
        // refunds cannot be read yet (its journaled refunds stay pending: issue 28, path 3).
        (false, 0) if caps.refund.partial && (caps.refund.retrieve || caps.refund.list) => Some(Op::Refund),
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
    let result = call_twice(rng.below(5) == 0, || kind.send(&rig.client, &options)).await;
    let first = told(&result);
    calls.push((Call { key, op, first: first.clone(), last: first }, kind));
    calls
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
    for _ in 0..3 {
        let waiting: Vec<String> =
            rig.control.objects(usize::MAX).charges.into_iter().filter(|c| c.completable).map(|c| c.id).collect();
        for id in &waiting {
            let _ = rig.control.complete_charge(id);
        }
        rig.journal.recover_within(&rig.raw, within).await.map_err(|e| format!("recovery: {e}"))?;
        if waiting.is_empty() {
            break;
        }
    }
    Ok(())
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
    // 1. At most one effect per key.
    for (reference, n) in &stats.charges_by_reference {
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
    let charged: BTreeSet<&str> = objects.charges.iter().filter_map(|c| c.reference.as_deref()).collect();
    for (call, kind) in calls {
        let failed = matches!(call.first, Told::Failed(_)) || matches!(call.last, Told::Failed(_));
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
                "{} ({:?}) was told {:?} then {:?}, but the provider did it",
                call.key, call.op, call.first, call.last
            ));
        }
    }
    // 4. Every payment terminal, or with a person and a reason.
    for p in rig.journal.store().payments(None).await.map_err(|e| e.to_string())? {
        match p.state {
            AttemptState::NeedsReconciliation => {
                report.reconcile += 1;
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

/// Whether a mock charge with `reference` took money: a declined or failed charge object is no effect.
fn is_live_charge(charges: &[payment::mocks::MockObject], reference: &str) -> bool {
    charges.iter().filter(|c| c.reference.as_deref() == Some(reference)).any(|c| {
        let status = c.status.to_ascii_lowercase();
        !(status.contains("fail") || status.contains("refus") || status.contains("declin"))
    })
}
