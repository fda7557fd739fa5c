//! The crash tests: the journaled client runs as a child process, is SIGKILLed at each crash
//! point (or at random moments, in the soak), is restarted with recovery, and the journal is
//! compared with the mock's ledger: no payment charged twice, none lost, none left unknown.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use payment::journal::AttemptState;
use payment::mocks::{FaultKind, FaultPlan, FaultRule, MockDriver, MockHandle, MockOptions};
use payment::{ChargeId, ListRefunds, Operation, PaymentClient, ProviderDriver};

use crate::crash::charge_for;
use crate::targets;

/// Where the journal lives: a fresh SQLite file or PostgreSQL schema per scenario.
#[derive(Debug, Clone)]
pub enum JournalTarget {
    /// SQLite files in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database; each scenario gets its own schema.
    Postgres(String),
}

impl JournalTarget {
    /// The URL of the journal named `run`.
    pub fn url(&self, run: &str) -> String {
        match self {
            JournalTarget::Sqlite(dir) => format!("sqlite://{}", dir.join(format!("{run}.db")).display()),
            JournalTarget::Postgres(base) => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}journal_schema={run}")
            }
        }
    }

    fn backend(&self) -> &'static str {
        match self {
            JournalTarget::Sqlite(_) => "sqlite",
            JournalTarget::Postgres(_) => "postgres",
        }
    }
}

/// The crash points, in the order an attempt passes them. `sent` is after the request went out
/// and before the reply (the mock holds the request while the child is killed). `lost` is no
/// crash: the provider acts, its answer is lost and the lookups after it fail, so the child is
/// told the outcome is unknown and recovery settles it later.
pub const POINTS: [&str; 6] = ["prepared", "dispatched", "sent", "replied", "recorded", "lost"];
/// What one (scenario, crash point) cell found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// `payjp charge (replay)`, …
    pub scenario: String,
    /// The crash point.
    pub point: String,
    /// Logical payments.
    pub payments: usize,
    /// Stopped at the point: killed there, or at `lost` told the outcome is unknown.
    pub killed: usize,
    /// Payments the provider holds twice or more (must be 0).
    pub duplicates: usize,
    /// Provider objects the journal does not show as succeeded/pending, or the reverse (must be 0).
    pub lost: usize,
    /// Payments left unknown or needing reconciliation (must be 0 here: every outcome is knowable).
    pub unresolved: usize,
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct MatrixOptions {
    /// The `journal-child` executable.
    pub child: PathBuf,
    /// The journal.
    pub journal: JournalTarget,
    /// Payments per cell.
    pub n: usize,
    /// Children at once.
    pub parallel: usize,
    /// A tag keeping this run's journals apart from earlier ones.
    pub run: String,
}

/// What a scenario's children do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// Charge (the fixture, referenced by the key).
    Charge,
    /// Refund a paid charge in full.
    Refund,
    /// Capture an authorized charge in full.
    Capture,
    /// Charge with 3-D Secure: the charge waits for the customer.
    ChargeAuthenticated,
    /// Complete a charge whose customer authenticated.
    Complete,
}

struct Scenario {
    provider: &'static str,
    act: Act,
    /// Over two accounts of the provider, each its own mock: the primary turns new charges away
    /// (429) while the child is killed at the ordinary points, so the router fails over to the
    /// backup; it holds (`sent`) or loses (`lost`) them otherwise, where the router must not.
    routed: bool,
    /// Reads the operation makes before it sends (Worldpay's actions read the payment's links):
    /// at `lost`, those pass and only the lookups after the send fail.
    reads_first: u32,
    label: &'static str,
}

const SCENARIOS: [Scenario; 8] = [
    Scenario {
        provider: "payjp",
        act: Act::Charge,
        routed: false,
        reads_first: 0,
        label: "payjp create_charge (Replay)",
    },
    Scenario {
        provider: "pingpp",
        act: Act::Charge,
        routed: false,
        reads_first: 0,
        label: "pingpp create_charge (RejectDuplicate)",
    },
    Scenario {
        provider: "pingpp",
        act: Act::Refund,
        routed: false,
        reads_first: 0,
        label: "pingpp create_refund (None)",
    },
    Scenario {
        provider: "worldpay",
        act: Act::Capture,
        routed: false,
        reads_first: 1,
        label: "worldpay capture_charge (action link)",
    },
    Scenario {
        provider: "payjp",
        act: Act::Charge,
        routed: true,
        reads_first: 0,
        label: "payjp create_charge routed (Replay)",
    },
    Scenario {
        provider: "payjp",
        act: Act::ChargeAuthenticated,
        routed: false,
        reads_first: 0,
        label: "payjp create_charge 3-D Secure (Replay)",
    },
    Scenario {
        provider: "payjp",
        act: Act::Complete,
        routed: false,
        reads_first: 0,
        label: "payjp complete_charge (Replay)",
    },
    Scenario {
        provider: "worldpay",
        act: Act::Complete,
        routed: false,
        reads_first: 1,
        label: "worldpay complete_charge 3-D Secure challenge (action link)",
    },
];

/// How many cells a run has.
pub const CELLS: usize = SCENARIOS.len() * POINTS.len();

/// The environment a child needs to reach the mock: the provider and its settings.
pub fn child_env(handle: &MockHandle, provider: &str) -> Vec<(String, String)> {
    let mut env = vec![("PAYMENT_PROVIDER".to_owned(), provider.to_owned())];
    for key in handle.settings.keys() {
        if let Some(v) = handle.settings.get(key) {
            env.push((payment::config::env_var_name(provider, key), v.to_owned()));
        }
    }
    env
}

/// Spawns a child with `args`, its stdout piped.
pub fn spawn(child: &PathBuf, env: &[(String, String)], args: &[String]) -> Result<Child, String> {
    Command::new(child)
        .args(args)
        .envs(env.iter().cloned())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", child.display()))
}

/// Runs a child to its crash point and SIGKILLs it there; true when it was killed at the point.
fn kill_at(mut child: Child, point: &str) -> Result<bool, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut killed = false;
    let mut last = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        last.clone_from(&line);
        if point == "sent" && line == "AT dispatched" {
            // The request is on its way and the mock holds it: die before the reply.
            std::thread::sleep(Duration::from_millis(300));
            child.kill().map_err(|e| e.to_string())?;
            killed = true;
            break;
        }
        if line == format!("STOP {point}") {
            child.kill().map_err(|e| e.to_string())?;
            killed = true;
            break;
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !killed {
        let mut why = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut why);
        }
        return Err(format!("the child ended ({status}, last said {last:?}) before reaching {point}: {}", why.trim()));
    }
    Ok(killed)
}

/// Runs a child to its end and returns its last line.
pub fn finish(mut child: Child) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let last = BufReader::new(stdout).lines().map_while(Result::ok).last().unwrap_or_default();
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        let mut why = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut why);
        }
        return Err(format!("the child failed ({status}); last line {last:?}: {}", why.trim()));
    }
    Ok(last)
}

/// One child's run, on its own thread.
type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` on up to `parallel` threads.
fn in_parallel<T: Send>(parallel: usize, jobs: Vec<Job<'_, T>>) -> Vec<T> {
    let mut out = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let batch: Vec<_> = jobs.by_ref().take(parallel.max(1)).collect();
        out.extend(std::thread::scope(|s| {
            let handles: Vec<_> = batch.into_iter().map(|j| s.spawn(j)).collect();
            handles.into_iter().map(|h| h.join().expect("a job thread panicked")).collect::<Vec<_>>()
        }));
    }
    out
}

fn key_for(scenario: usize, point: &str, i: usize) -> String {
    format!("s{scenario}{point}{i}")
}

async fn refunds_of(client: &PaymentClient, charge: &str) -> Result<usize, String> {
    let mut n = 0;
    let mut pages = client.list_refunds(&ChargeId::new(charge), ListRefunds::default());
    while let Some(r) = pages.next().await {
        r.map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

/// Runs every scenario at every crash point.
pub async fn run(options: &MatrixOptions) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    for (s, scenario) in SCENARIOS.iter().enumerate() {
        cells.extend(run_scenario(options, scenario, s).await?);
    }
    Ok(cells)
}

/// The object a scenario's payment acts on: a paid charge to refund, an authorized one to capture.
async fn target_of(
    scenario: &Scenario,
    driver: &'static ProviderDriver,
    client: &PaymentClient,
    control: &payment::mocks::MockControl,
    key: &str,
) -> Result<Option<String>, String> {
    let request = charge_for(driver, &format!("{key}c"));
    let request = match scenario.act {
        Act::Charge | Act::ChargeAuthenticated => return Ok(None),
        Act::Refund => request,
        Act::Capture => request.authorize_only(),
        Act::Complete => crate::crash::authenticated(request),
    };
    let created = client.create_charge(request, &Default::default()).await.map_err(|e| e.to_string())?;
    let id = created.id.clone();
    if scenario.act == Act::Refund {
        // The payer pays, so the charge can be refunded.
        control.complete_charge(id.as_str()).map_err(|e| e.to_string())?;
    }
    if scenario.act == Act::Complete {
        use payment::mocks::AuthenticationResult::Success;
        // Device data first where the provider asks for it (Worldpay), completed here: the
        // children complete the customer's own step.
        let mut current = created;
        while current.next_action.as_ref().is_some_and(|a| a.kind == payment::NextActionKind::DeviceData) {
            let answer = control.authenticate_charge(id.as_str(), Success).map_err(|e| e.to_string())?;
            let data = payment::CompletionData(answer.get("data").cloned().unwrap_or_default());
            current = client.complete_charge(&id, &data, &Default::default()).await.map_err(|e| e.to_string())?;
        }
        // The customer authenticates, so the charge can be completed.
        control.authenticate_charge(id.as_str(), Success).map_err(|e| e.to_string())?;
    }
    Ok(Some(id.to_string()))
}

/// How many times the provider (at every account) did what `key`'s payment asked (more than
/// once is a duplicate).
async fn effects(
    scenario: &Scenario,
    client: &PaymentClient,
    controls: &[payment::mocks::MockControl],
    key: &str,
    target: &Option<String>,
) -> Result<usize, String> {
    let control = &controls[0];
    match (scenario.act, target) {
        (Act::Refund, Some(c)) => refunds_of(client, c).await,
        (Act::Complete, Some(_)) => {
            // Authorized at most once by construction of PAY.JP's flow: the question is whether
            // the journal and the charge agree that it was.
            let objects = control.objects(usize::MAX);
            let charge = objects.charges.iter().find(|c| c.reference.as_deref() == Some(&format!("{key}c")));
            let paid = charge.is_some_and(|c| c.raw.get("paid") == Some(&serde_json::Value::Bool(true)));
            // Worldpay's payment lists its authorizations among its events.
            let events = charge.and_then(|c| c.raw.get("events")).and_then(|e| e.as_array());
            let authorized =
                |e: &&serde_json::Value| e.get("eventName").and_then(|n| n.as_str()) == Some("authorizationSucceeded");
            Ok(usize::from(paid) + events.map(|e| e.iter().filter(authorized).count()).unwrap_or(0))
        }
        (Act::Capture, Some(_)) => {
            // The payment's events as Payment Queries lists them: one per settlement asked.
            let objects = control.objects(usize::MAX);
            let payment = objects.charges.iter().find(|c| c.reference.as_deref() == Some(&format!("{key}c")));
            let events = payment.and_then(|p| p.raw.get("events")).and_then(|e| e.as_array());
            let settled =
                |e: &&serde_json::Value| e.get("eventName").and_then(|n| n.as_str()) == Some("settlementRequested");
            Ok(events.map(|e| e.iter().filter(settled).count()).unwrap_or(0))
        }
        _ => Ok(controls.iter().map(|c| c.stats().charges_by_reference.get(key).copied().unwrap_or(0)).sum()),
    }
}

async fn run_scenario(options: &MatrixOptions, scenario: &Scenario, index: usize) -> Result<Vec<Cell>, String> {
    let driver: &'static ProviderDriver = targets::named(scenario.provider)?;
    let mock = MockDriver::of(driver).ok_or("no mock")?;
    let handle = payment::mocks::start(driver, MockOptions::default()).await.map_err(|e| e.to_string())?;
    let control = handle.control();
    let client =
        driver.connect_with(handle.settings.clone(), payment::transport::EngineBuilder::new(driver.name)).await;
    let client = client.map_err(|e| e.to_string())?;
    let env = child_env(&handle, scenario.provider);
    let mut routing = Vec::new();
    let mut controls = vec![control.clone()];
    let backup = match scenario.routed {
        true => Some(payment::mocks::start(driver, MockOptions::default()).await.map_err(|e| e.to_string())?),
        false => None,
    };
    if let Some(b) = &backup {
        routing = vec!["--backup-url".to_owned(), b.url().to_owned()];
        controls.push(b.control());
    }
    let url = options.journal.url(&format!("{}_{}_{index}", options.run, options.journal.backend()));
    let (op, paths) = match scenario.act {
        Act::Charge => ("charge", (mock.paths)(Operation::CreateCharge)),
        Act::Refund => ("refund", (mock.paths)(Operation::CreateRefund)),
        Act::Capture => ("capture", (mock.paths)(Operation::CaptureCharge)),
        Act::ChargeAuthenticated => ("charge3ds", (mock.paths)(Operation::CreateCharge)),
        Act::Complete => ("complete", (mock.paths)(Operation::CompleteCharge)),
    };
    // One logical payment per (point, i), each with its own charge to act on.
    let mut work: Vec<(&'static str, String, Option<String>)> = Vec::new();
    for point in POINTS {
        for i in 0..options.n {
            let key = key_for(index, point, i);
            let target = target_of(scenario, driver, &client, &control, &key).await?;
            work.push((point, key, target));
        }
    }
    let args = |key: &str, target: &Option<String>| -> Vec<String> {
        let mut a = vec![op.to_owned(), "--journal".into(), url.clone(), "--key".into(), key.to_owned()];
        if let Some(c) = target {
            a.extend(["--charge-id".to_owned(), c.clone()]);
        }
        a.extend(routing.iter().cloned());
        a
    };
    let mut killed: BTreeMap<&'static str, usize> = BTreeMap::new();
    // Phase 1: the points a child is killed at but `sent`; phase 2: `sent`, with the mock
    // holding each request.
    for phase in [false, true] {
        let fault = match (phase, scenario.routed) {
            (true, _) => Some(FaultKind::Delay { ms: 1500 }),
            // The primary turns the charge away: nothing done there, so the router moves on.
            (false, true) => Some(FaultKind::Status { status: 429, retry_after: None }),
            (false, false) => None,
        };
        if let Some(fault) = fault {
            let rules = paths.iter().map(|p| FaultRule::always(fault.clone()).methods(&["POST"]).path(p)).collect();
            control.set_faults(FaultPlan::new(rules)).map_err(|e| e.to_string())?;
        }
        let jobs: Vec<Job<'_, Result<(&'static str, bool), String>>> = work
            .iter()
            .filter(|(point, _, _)| *point != "lost" && (*point == "sent") == phase)
            .map(|(point, key, target)| {
                let mut a = args(key, target);
                if *point == "sent" {
                    a.extend(["--announce".to_owned(), "dispatched".to_owned()]);
                } else {
                    a.extend(["--stop-at".to_owned(), (*point).to_owned()]);
                }
                let (child, env, label) = (&options.child, &env, scenario.label);
                let killed =
                    move || kill_at(spawn(child, env, &a)?, point).map_err(|e| format!("{label} at {point}: {e}"));
                Box::new(move || Ok((*point, killed()?))) as Box<_>
            })
            .collect();
        for r in in_parallel(options.parallel, jobs) {
            let (point, was_killed) = r?;
            *killed.entry(point).or_default() += usize::from(was_killed);
        }
        if phase {
            // Let the held requests land (or not) before recovery looks.
            tokio::time::sleep(Duration::from_millis(1600)).await;
        }
        control.clear_faults();
    }
    // Phase 3, `lost`: one payment at a time, the provider acts and its answer is lost, and
    // every read after the operation's own fails, so no lookup can tell.
    for (point, key, target) in work.iter().filter(|(point, _, _)| *point == "lost") {
        let mut rules: Vec<FaultRule> =
            paths.iter().map(|p| FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path(p)).collect();
        let failing = FaultRule::always(FaultKind::Status { status: 503, retry_after: None }).methods(&["GET"]);
        rules.push(failing.after(scenario.reads_first));
        control.set_faults(FaultPlan::new(rules)).map_err(|e| e.to_string())?;
        let line = finish(spawn(&options.child, &env, &args(key, target))?)?;
        control.clear_faults();
        if !line.starts_with("ERR OutcomeUnknown") && !line.contains("Unknown") {
            return Err(format!("{}: a lost answer was told {line:?}, not unknown", scenario.label));
        }
        *killed.entry(point).or_default() += 1;
    }
    // Restart: recovery first (it waits out the dead children's leases), then every payment again.
    let mut recover = vec!["recover".to_owned(), "--journal".into(), url.clone()];
    recover.extend(routing.iter().cloned());
    let recovered = finish(spawn(&options.child, &env, &recover)?)?;
    if !recovered.starts_with("RECOVERED") || !recovered.ends_with("UNKNOWN 0") {
        return Err(format!("{}: recovery said {recovered:?}", scenario.label));
    }
    let jobs: Vec<Job<'_, Result<String, String>>> = work
        .iter()
        .map(|(point, key, target)| {
            let a = args(key, target);
            let (child, env) = (&options.child, &env);
            Box::new(move || Ok(format!("{point} {key}: {}", finish(spawn(child, env, &a)?)?))) as Box<_>
        })
        .collect();
    for line in in_parallel(options.parallel, jobs) {
        let line = line?;
        if !line.contains(": OK ") {
            return Err(format!("{}: a restarted payment ended {line:?}", scenario.label));
        }
    }
    // The ledger against the journal.
    let journal = payment::journal::open(&url, Default::default()).await.map_err(|e| e.to_string())?;
    let mut cells: BTreeMap<&str, Cell> = BTreeMap::new();
    for (point, key, target) in &work {
        let cell = cells.entry(point).or_insert_with(|| Cell {
            scenario: scenario.label.to_owned(),
            point: (*point).to_owned(),
            killed: killed.get(point).copied().unwrap_or(0),
            ..Cell::default()
        });
        cell.payments += 1;
        let held = effects(scenario, &client, &controls, key, target).await?;
        let state = journal.payment(key).await.map_err(|e| e.to_string())?.map(|p| p.state);
        let shown =
            matches!(state, Some(AttemptState::Succeeded | AttemptState::Pending | AttemptState::AwaitingCustomer));
        cell.duplicates += usize::from(held > 1);
        cell.lost += usize::from((held >= 1) != shown || held == 0);
        cell.unresolved += usize::from(
            matches!(state, Some(s) if s == AttemptState::NeedsReconciliation || (s.is_unresolved() && !matches!(s, AttemptState::Pending | AttemptState::AwaitingCustomer))),
        );
    }
    Ok(cells.into_values().collect())
}

/// Whether every key's payment is charged (succeeded or pending) in the journal.
async fn settled(journal: &payment::journal::Journal, keys: &[String]) -> Result<bool, String> {
    let payments = journal.store().payments(None).await.map_err(|e| e.to_string())?;
    let done = payments
        .iter()
        .filter(|p| matches!(p.state, AttemptState::Succeeded | AttemptState::Pending | AttemptState::AwaitingCustomer))
        .count();
    Ok(done == keys.len())
}

/// What the random-kill soak found.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// Logical charges.
    pub payments: usize,
    /// Children killed.
    pub kills: usize,
    /// Restarts until every payment finished.
    pub restarts: usize,
    /// Charges the mock holds.
    pub mock_charges: usize,
    /// Payments charged twice (must be 0).
    pub duplicates: usize,
    /// Charges the journal does not show, or payments shown that the mock lacks (must be 0).
    pub lost: usize,
    /// Payments not settled at the end (must be 0).
    pub unresolved: usize,
    /// Wall time.
    pub took: Duration,
}

/// `payments` charges through `provider`'s mock with faults on, the child killed at random moments
/// and restarted (recovering first) until every payment finished.
pub async fn random_kill_soak(
    options: &MatrixOptions,
    provider: &str,
    payments: usize,
    seed: u64,
) -> Result<SoakReport, String> {
    let started = Instant::now();
    let driver = targets::named(provider)?;
    let handle = payment::mocks::start(driver, MockOptions::default()).await.map_err(|e| e.to_string())?;
    let control = handle.control();
    let plan = FaultPlan {
        seed,
        rules: vec![
            FaultRule { probability: 0.05, ..FaultRule::always(FaultKind::DropAfterCommit) },
            FaultRule { probability: 0.05, ..FaultRule::always(FaultKind::ResetBeforeCommit) },
            FaultRule { probability: 0.05, ..FaultRule::always(FaultKind::Status { status: 503, retry_after: None }) },
        ],
    };
    control.set_faults(plan).map_err(|e| e.to_string())?;
    let env = child_env(&handle, provider);
    let url = options.journal.url(&format!("{}_{}_soak_{provider}", options.run, options.journal.backend()));
    let keys: Vec<String> = (0..payments).map(|i| format!("soak{provider}{i}").replace('-', "")).collect();
    let mut report = SoakReport { payments, ..SoakReport::default() };
    let mut rng = seed | 1;
    let mut next = move || {
        // xorshift: the kill moments, repeatable from the seed.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let journal = payment::journal::open(&url, Default::default()).await.map_err(|e| e.to_string())?;
    let mut finished = false;
    loop {
        // After a kill, recovery takes what is due now and the next life goes on with the rest
        // (a payment the dead child still holds is skipped until its lease runs out); after a
        // life that finished, recovery waits out leases so nothing is left behind.
        let within = if finished { "3000" } else { "0" };
        let recover = ["recover", "--journal", url.as_str(), "--within-ms", within].map(str::to_owned);
        finish(spawn(&options.child, &env, &recover)?)?;
        if finished && settled(&journal, &keys).await? {
            break;
        }
        let args = vec!["soak".to_owned(), "--journal".into(), url.clone(), "--keys".into(), keys.join(",")];
        let mut child = spawn(&options.child, &env, &args)?;
        // Killed after a random 50..650 ms, unless it finishes first.
        let until = Instant::now() + Duration::from_millis(50 + next() % 600);
        finished = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                if !status.success() {
                    return Err(format!("a soak child failed: {status}"));
                }
                break true;
            }
            if Instant::now() >= until {
                child.kill().map_err(|e| e.to_string())?;
                child.wait().map_err(|e| e.to_string())?;
                report.kills += 1;
                break false;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        report.restarts += 1;
        if report.restarts > 10 * payments + 100 {
            return Err("the soak does not finish".into());
        }
    }
    control.clear_faults();
    let stats = control.stats();
    report.mock_charges = stats.charges;
    for key in &keys {
        let held = stats.charges_by_reference.get(key).copied().unwrap_or(0);
        let state = journal.payment(key).await.map_err(|e| e.to_string())?.map(|p| p.state);
        let shown =
            matches!(state, Some(AttemptState::Succeeded | AttemptState::Pending | AttemptState::AwaitingCustomer));
        report.duplicates += usize::from(held > 1);
        report.lost += usize::from((held >= 1) != shown);
        report.unresolved += usize::from(!shown);
    }
    report.took = started.elapsed();
    Ok(report)
}
