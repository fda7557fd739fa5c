//! The no-double-charge property over seeded fault schedules across mocked PAY.JP and Worldpay
//! (10,000 by default; `ROUTING_SCHEDULES=N` for more or fewer). Each logical payment meets a
//! fault at each account — refused before sending, a soft or hard decline, a lost answer after
//! the charge landed, a request lost before it landed, a 500 after committing — and maybe a
//! webhook held back until long after; the application repeats unknown outcomes (or runs
//! recovery first). Afterwards, from the providers' own records: at most one successful charge
//! per payment across both, never two requests in flight at once, and every charge the
//! providers hold is the one the journal names — none silently lost.

mod route_harness;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use payment::journal::AttemptState;
use payment::mocks::{FaultKind, FaultPlan, FaultRule};
use payment::routing::{FakeClock, RouteContext, RoutedClient, RoutingSettings};
use payment::webhooks::{EventHandler, MemoryInbox, WebhookServer};
use payment::{ChargeStatus, IdempotencyKey, Outcome, RequestOptions, RouteConfig, WebhookEvent};
use route_harness::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    PreSend,
    SoftDecline,
    HardDecline,
    HiddenSuccess,
    LostRequest,
    FailAfterCommit,
}

const FAULTS: [Fault; 7] = [
    Fault::None,
    Fault::PreSend,
    Fault::SoftDecline,
    Fault::HardDecline,
    Fault::HiddenSuccess,
    Fault::LostRequest,
    Fault::FailAfterCommit,
];

/// splitmix64: a seeded, reproducible schedule per payment.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// One payment's schedule, from its seed.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    at_payjp: Fault,
    at_worldpay: Fault,
    region: &'static str,
    late_webhook: bool,
    recover_first: bool,
}

impl Schedule {
    fn of(i: u64) -> Schedule {
        let mut rng = Rng(0x5eed_0000 + i);
        Schedule {
            at_payjp: rng.pick(&FAULTS),
            at_worldpay: rng.pick(&FAULTS),
            region: rng.pick(&["jp", "eu"]),
            late_webhook: rng.next().is_multiple_of(4),
            recover_first: rng.next().is_multiple_of(2),
        }
    }
}

/// Hands each verified event to the router, holding back (answering 500, so the mock redelivers
/// later) those of payments whose webhooks are to come late.
#[derive(Default)]
struct Handler {
    router: OnceLock<RoutedClient>,
    held: Mutex<HashSet<String>>,
    handled: AtomicUsize,
}

#[async_trait::async_trait]
impl EventHandler for Handler {
    async fn handle(&self, event: WebhookEvent) -> payment::Result<()> {
        if event.reference.as_ref().is_some_and(|r| self.held.lock().unwrap().contains(r)) {
            return Err(payment::Error::new(payment::ErrorKind::ProviderUnavailable, "held back by the test"));
        }
        let router = self.router.get().expect("the router is set before any charge");
        let account = event.provider.clone();
        router.handle_event(&account, &event).await?;
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn plan(fault: Fault, path: &str) -> Option<FaultPlan> {
    let rule = |kind| FaultRule::always(kind).methods(&["POST"]).path(path);
    Some(FaultPlan::new(vec![match fault {
        Fault::HiddenSuccess => rule(FaultKind::DropAfterCommit),
        Fault::LostRequest => rule(FaultKind::ResetBeforeCommit),
        Fault::FailAfterCommit => rule(FaultKind::StatusAfterCommit { status: 500 }).times(1),
        _ => return None,
    }]))
}

fn routes() -> Vec<RouteConfig> {
    let rule = |name: &str, region: &str, targets: [&str; 2]| RouteConfig {
        name: name.into(),
        region: vec![region.into()],
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        ..RouteConfig::default()
    };
    vec![rule("jp", "jp", ["payjp", "worldpay"]), rule("eu", "eu", ["worldpay", "payjp"])]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_schedule_charges_twice_or_loses_a_charge() {
    let schedules: u64 = std::env::var("ROUTING_SCHEDULES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}", listener.local_addr().unwrap());
    let shared = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let payjp = account("payjp", "payjp", Some(format!("{hook_url}/webhooks/payjp")), shared.clone()).await;
    let worldpay = account("worldpay", "worldpay", Some(format!("{hook_url}/webhooks/worldpay")), shared.clone()).await;
    let handler = Arc::new(Handler::default());
    let drivers: Vec<_> = ["payjp", "worldpay"].iter().map(|n| payment::registry().get(n).unwrap()).collect();
    let settings =
        BTreeMap::from([("payjp", payjp.mock.settings.clone()), ("worldpay", worldpay.mock.settings.clone())]);
    let server =
        WebhookServer::for_drivers(&drivers, |n| settings[n].clone(), Arc::new(MemoryInbox::new()), handler.clone());
    tokio::spawn(async move { server.serve(listener).await });
    let settings = RoutingSettings { failover_on_soft_decline: true, ..RoutingSettings::default() };
    let clock = FakeClock::default();
    let router = router(&[&payjp, &worldpay], &routes(), settings, &clock);
    assert!(handler.router.set(router.clone()).is_ok());

    let mut unknown_after_repeat = Vec::new();
    let (mut failovers, mut refused_locally) = (0, 0);
    let mut never_tried = HashSet::new();
    for i in 0..schedules {
        // A second per payment on the breakers' clock: circuits open on runs of failures and
        // probe again 30 payments later.
        clock.advance(Duration::from_secs(1));
        let Schedule { at_payjp, at_worldpay, region, late_webhook, recover_first } = Schedule::of(i);
        let key = format!("p{i}");
        if late_webhook {
            handler.held.lock().unwrap().insert(key.clone());
        }
        let number = match at_payjp {
            Fault::SoftDecline => PAYJP_SOFT,
            Fault::HardDecline => PAYJP_HARD,
            _ => PAYJP_OK,
        };
        let holder = match at_worldpay {
            Fault::SoftDecline => "REFUSED91",
            Fault::HardDecline => "REFUSED",
            _ => "Taro",
        };
        payjp.gate.refuse.store(at_payjp == Fault::PreSend, Ordering::SeqCst);
        worldpay.gate.refuse.store(at_worldpay == Fault::PreSend, Ordering::SeqCst);
        if let Some(p) = plan(at_payjp, "/v1/charges") {
            payjp.control().set_faults(p).unwrap();
        }
        if let Some(p) = plan(at_worldpay, "/payments/authorizations") {
            worldpay.control().set_faults(p).unwrap();
        }
        let request = charge(1000, &key, number, holder);
        let options = RequestOptions::with_key(IdempotencyKey::new(key.clone()).unwrap());
        let context = RouteContext { region: Some(region.into()) };
        let first = router.route_charge(request.clone(), &context, &options).await;
        failovers += first.failovers.len();
        let circuit = |r: &payment::routing::FailoverReason| format!("{r}").contains("circuit is open");
        refused_locally += first.failovers.iter().filter(|f| circuit(&f.reason)).count();
        if let Err(e) = &first.result
            && e.provider_code() == Some(payment::routing::CIRCUIT_OPEN)
            && first.failovers.iter().all(|f| circuit(&f.reason))
        {
            never_tried.insert(key.clone());
        }
        payjp.gate.refuse.store(false, Ordering::SeqCst);
        worldpay.gate.refuse.store(false, Ordering::SeqCst);
        payjp.control().clear_faults();
        worldpay.control().clear_faults();
        if let Err(e) = &first.result
            && e.outcome() == Outcome::Unknown
        {
            // The application was told the outcome is unknown: it repeats the payment (after a
            // recovery run, half the time), never a new one.
            if recover_first {
                router.recover(Duration::from_secs(2)).await.unwrap();
            }
            let again = router.route_charge(request, &context, &options).await;
            if let Err(e) = &again.result
                && e.outcome() == Outcome::Unknown
            {
                unknown_after_repeat
                    .push(format!("{key} ({at_payjp:?} at payjp, {at_worldpay:?} at worldpay, {region}): {e}"));
            }
        }
    }

    // Late webhooks: release them and let the mocks' schedules redeliver.
    handler.held.lock().unwrap().clear();
    let undelivered = |a: &Account| a.control().webhooks().iter().filter(|d| d.state != "delivered").count();
    for _ in 0..240 {
        if undelivered(&payjp) + undelivered(&worldpay) == 0 {
            break;
        }
        payjp.control().advance_clock(Duration::from_secs(180));
        // Small steps: the mock answers list queries only for a year back from its own clock.
        worldpay.control().advance_clock(Duration::from_secs(300));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!((undelivered(&payjp), undelivered(&worldpay)), (0, 0), "every webhook is delivered in the end");
    assert!(handler.handled.load(Ordering::SeqCst) > 0);

    // The providers' own records: successful charges by payment.
    let mut charged: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for a in [&payjp, &worldpay] {
        for c in a.client.list_charges(Default::default()).collect_all().await.unwrap() {
            if matches!(c.status, ChargeStatus::Succeeded | ChargeStatus::Authorized) {
                let reference = c.reference.clone().expect("every test charge has its reference");
                charged.entry(reference).or_default().push((a.name.to_owned(), c.id.as_str().to_owned()));
            }
        }
    }
    let twice: Vec<_> = charged.iter().filter(|(_, c)| c.len() > 1).collect();
    for (key, _) in &twice {
        let i: u64 = key[1..].parse().unwrap();
        let faults = Schedule::of(i);
        let events = router.journal().store().events(key).await.unwrap();
        let lines: Vec<String> = events
            .iter()
            .map(|e| format!("{} {:?}->{} {}", &e.attempt_id[..8], e.from_state, e.to_state, e.detail))
            .collect();
        eprintln!("{key} {faults:?}:\n  {}", lines.join("\n  "));
    }
    assert!(twice.is_empty(), "charged more than once: {twice:?}");
    assert!(router.double_charges().is_empty(), "{:?}", router.double_charges());
    assert_eq!(shared.1.load(Ordering::SeqCst), 1, "never two requests in flight");
    assert!(unknown_after_repeat.is_empty(), "still unknown after a repeat: {unknown_after_repeat:?}");

    let journal = router.journal();
    let mut succeeded = 0;
    for i in 0..schedules {
        let key = format!("p{i}");
        let at_providers = charged.get(&key).cloned().unwrap_or_default();
        let Some(payment) = journal.payment(&key).await.unwrap() else {
            assert!(never_tried.contains(&key), "{key} is not journaled, yet some account was tried");
            assert!(at_providers.is_empty(), "{key}: charged at {at_providers:?} but never journaled");
            continue;
        };
        if payment.state == AttemptState::Succeeded {
            succeeded += 1;
            let won = payment.latest().unwrap();
            let named = (won.account.clone(), won.charge_id.clone().unwrap_or_default());
            assert_eq!(at_providers, [named], "{key}: the journal's charge is the providers' one");
        } else {
            assert!(at_providers.is_empty(), "{key}: charged at {at_providers:?} but journaled {}", payment.state);
        }
        // No attempt began while another of the payment was unresolved.
        let mut states: BTreeMap<String, AttemptState> = BTreeMap::new();
        for e in journal.store().events(&key).await.unwrap() {
            if e.from_state.is_none() {
                let open: Vec<_> = states.iter().filter(|(_, s)| s.is_unresolved()).collect();
                assert!(open.is_empty(), "{key}: attempt {} began beside {open:?}", e.attempt_id);
            }
            states.insert(e.attempt_id.clone(), e.to_state);
        }
        let accounts: BTreeSet<&str> = payment.attempts.iter().map(|a| a.account.as_str()).collect();
        assert!(payment.attempts.len() <= 4 && !accounts.is_empty(), "{key}: {:?}", payment.attempts);
    }
    assert!(succeeded > schedules / 2, "most schedules end charged once ({succeeded} of {schedules})");
    let opened: Vec<u64> = router.accounts().values().map(|a| a.breaker.times_opened()).collect();
    // With the full run, runs of failures open each account's circuit at least once.
    assert!(schedules < 5_000 || opened.iter().all(|n| *n > 0), "both circuits opened at some point: {opened:?}");
    eprintln!(
        "{schedules} schedules: {succeeded} charged once, {} not charged ({} never sent: both circuits open); \
         {failovers} failovers ({refused_locally} by an open circuit); circuits opened {opened:?}; {} webhooks handled",
        schedules - succeeded,
        never_tried.len(),
        handler.handled.load(Ordering::SeqCst)
    );
}
