//! Routing over mocked PAY.JP and Worldpay accounts: failover only when nothing was charged, the
//! circuit breaker on a fake clock, a late success reversed, and routing from a TOML config.

mod route_harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use payment::routing::{
    BreakerSettings, BreakerState, FailoverReason, FakeClock, Reversal, RouteContext, RoutingSettings,
};
use payment::{Charge, ChargeStatus, Config, ErrorKind, IdempotencyKey, Outcome, Refund, RequestOptions};
use route_harness::*;

fn key(k: &str) -> RequestOptions {
    RequestOptions::with_key(IdempotencyKey::new(k).unwrap())
}

fn shared() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    (Arc::default(), Arc::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_refusing_every_charge_succeeds_on_the_secondary_and_the_breaker_probes_once() {
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let clock = FakeClock::default();
    let settings = RoutingSettings {
        breaker: BreakerSettings { consecutive_failures: 3, open_for: Duration::from_secs(30), ..Default::default() },
        ..Default::default()
    };
    let router = router(&[&payjp, &worldpay], &japan(&["payjp", "worldpay"]), settings, &clock);
    payjp.gate.refuse.store(true, Ordering::SeqCst);
    for i in 0..100 {
        let routed = router
            .route_charge(
                charge(1000, &format!("down-{i}"), PAYJP_OK, "Taro"),
                &RouteContext::default(),
                &key(&format!("down-{i}")),
            )
            .await;
        let record = routed.result.unwrap_or_else(|e| panic!("charge {i}: {e}"));
        assert!(record.id.as_str().starts_with("worldpay/"), "{}", record.id);
        assert_eq!(routed.account.as_deref(), Some("worldpay"));
        assert_eq!(routed.failovers.len(), 1);
        assert!(matches!(&routed.failovers[0].reason, FailoverReason::NotSent(_)), "{:?}", routed.failovers);
    }
    // Three charges' worth of refused connections (each the engine's 3 tries) opened the circuit;
    // the other 97 failed over at once, without touching the primary.
    assert_eq!(payjp.gate.refused.load(Ordering::SeqCst), 9);
    let breaker = &router.account("payjp").unwrap().breaker;
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    assert_eq!(breaker.times_opened(), 1);
    assert_eq!(payjp.control().stats().charges, 0);
    assert_eq!(worldpay.control().stats().charges, 100);

    // The primary comes back; once the open time is up, exactly one probe goes to it and closes it.
    payjp.gate.refuse.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(29));
    let still_open =
        router.route_charge(charge(1000, "wait-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("wait-1")).await;
    assert!(still_open.result.unwrap().id.as_str().starts_with("worldpay/"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.state(), BreakerState::HalfOpen { probing: false });
    let probe =
        router.route_charge(charge(1000, "probe-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("probe-1")).await;
    assert!(probe.result.unwrap().id.as_str().starts_with("payjp/"));
    assert!(probe.failovers.is_empty());
    assert_eq!(breaker.state(), BreakerState::Closed);
    for i in 0..5 {
        let r = router
            .route_charge(
                charge(1000, &format!("up-{i}"), PAYJP_OK, "Taro"),
                &RouteContext::default(),
                &key(&format!("up-{i}")),
            )
            .await;
        assert!(r.result.unwrap().id.as_str().starts_with("payjp/"));
    }
    assert_eq!(payjp.control().stats().charges, 6);
    assert_eq!(breaker.times_opened(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_stay_put_unless_soft_and_allowed_and_captures_go_to_the_charging_account() {
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let clock = FakeClock::default();
    let routes = japan(&["payjp", "worldpay"]);
    let strict = router(&[&payjp, &worldpay], &routes, RoutingSettings::default(), &clock);
    let soft =
        strict.route_charge(charge(1000, "soft-1", PAYJP_SOFT, "Taro"), &RouteContext::default(), &key("soft-1")).await;
    assert!(matches!(soft.result.unwrap_err().kind(), ErrorKind::CardDeclined(_)), "soft declines stay by default");
    let lenient_settings = RoutingSettings { failover_on_soft_decline: true, ..Default::default() };
    let lenient = router(&[&payjp, &worldpay], &routes, lenient_settings, &clock);
    let soft = lenient
        .route_charge(charge(1000, "soft-2", PAYJP_SOFT, "Taro"), &RouteContext::default(), &key("soft-2"))
        .await;
    assert!(soft.result.unwrap().id.as_str().starts_with("worldpay/"));
    assert!(matches!(&soft.failovers[0].reason, FailoverReason::SoftDecline(_)));
    let p = lenient.journal().payment("soft-2").await.unwrap().unwrap();
    assert_eq!(p.attempts.len(), 2, "both attempts are journaled under the one key");
    let hard = lenient
        .route_charge(charge(1000, "hard-1", PAYJP_HARD, "Taro"), &RouteContext::default(), &key("hard-1"))
        .await;
    assert!(matches!(hard.result.unwrap_err().kind(), ErrorKind::CardDeclined(_)));
    assert!(hard.failovers.is_empty());
    assert_eq!(worldpay.control().stats().charges, 1);

    // An authorization captured, then refunded, through its routed id.
    let mut auth = charge(2000, "auth-1", PAYJP_OK, "Taro");
    auth.capture = false;
    let held = lenient.create_charge(auth, &key("auth-1")).await.unwrap();
    assert!(held.id.as_str().starts_with("payjp/"));
    let captured = lenient.capture_charge(&held.id, None, &key("auth-1-capture")).await.unwrap();
    assert_eq!((captured.id.clone(), captured.status), (held.id.clone(), ChargeStatus::Succeeded));
    let refund =
        lenient.create_refund(payment::CreateRefund::full(held.id.clone()), &key("auth-1-refund")).await.unwrap();
    assert_eq!(refund.charge_id, held.id);
    assert_eq!(lenient.retrieve_charge(&held.id).await.unwrap().amount_refunded.minor, 2000);
    let e = lenient.retrieve_charge(&payment::ChargeId::new("ch_unqualified")).await.unwrap_err();
    assert!(e.message().contains("ACCOUNT/ID"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_never_fails_over_and_its_repeat_goes_back_to_the_same_account() {
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let router =
        router(&[&payjp, &worldpay], &japan(&["payjp", "worldpay"]), RoutingSettings::default(), &FakeClock::default());
    let drop = payment::mocks::FaultRule::always(payment::mocks::FaultKind::DropAfterCommit).path("/v1/charges");
    payjp.control().set_faults(payment::mocks::FaultPlan::new(vec![drop])).unwrap();
    let lost =
        router.route_charge(charge(1000, "lost-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("lost-1")).await;
    let e = lost.result.unwrap_err();
    assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
    assert!(lost.failovers.is_empty());
    assert_eq!(worldpay.control().stats().charges, 0, "an unknown outcome never moves on");
    payjp.control().clear_faults();
    let again =
        router.route_charge(charge(1000, "lost-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("lost-1")).await;
    assert!(again.result.unwrap().id.as_str().starts_with("payjp/"));
    assert_eq!(payjp.control().stats().charges, 1, "recovered by replay: one charge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_success_after_failover_is_a_double_charge_and_is_refunded() {
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let router =
        router(&[&payjp, &worldpay], &japan(&["payjp", "worldpay"]), RoutingSettings::default(), &FakeClock::default());
    // A broken proxy: the charge reaches PAY.JP, but the client is told the connection was refused.
    *payjp.gate.lie_on.lock().unwrap() = Some("/v1/charges".into());
    let routed =
        router.route_charge(charge(1500, "late-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("late-1")).await;
    let kept = routed.result.unwrap();
    assert!(kept.id.as_str().starts_with("worldpay/"));
    *payjp.gate.lie_on.lock().unwrap() = None;
    assert_eq!(payjp.control().stats().charges, 1, "the hidden charge");
    // PAY.JP's webhook for it arrives: the journal had that attempt as not sent.
    let hidden = payjp.client.list_charges(Default::default()).collect_all().await.unwrap().remove(0);
    let event = payment::WebhookEvent {
        id: "evnt_late_1".into(),
        provider: "payjp".into(),
        kind: payment::EventKind::ChargeSucceeded,
        trust: payment::Trust::SenderOnly,
        object_id: Some(hidden.id.as_str().to_owned()),
        reference: hidden.reference.clone(),
        refund_reference: None,
        amount: Some(hidden.amount),
        occurred_at: None,
        record: payment::EventRecord::Other(serde_json::Value::Null),
        raw: serde_json::json!({}),
    };
    let found = router.handle_event("payjp", &event).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let dc = &found[0];
    assert!(dc.is_double());
    assert_eq!(dc.late_account, "payjp");
    assert!(matches!(dc.reversal, Reversal::Refunded { .. }), "{:?}", dc.reversal);
    assert_eq!(payjp.client.retrieve_charge(&hidden.id).await.unwrap().amount_refunded.minor, 1500);
    assert_eq!(router.double_charges().len(), 1);
    // The same event again finds nothing new.
    assert!(router.handle_event("payjp", &event).await.unwrap().is_empty());
}

/// A Worldpay charge held by the network past its deadline and the recovery lookup after it is
/// proven absent (nothing there yet; the card cannot be sent again from the journal); the
/// caller's repeat comes while that request may still land. It goes only to Worldpay, where the
/// same reference makes either one a duplicate of the other, never to PAY.JP, which would charge
/// beside the late landing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_proven_absent_goes_back_only_to_its_account_while_its_request_may_still_land() {
    use payment::journal::{Journal, JournalOptions, MemoryStore};
    use payment::mocks::{FaultKind, FaultPlan, FaultRule};
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let options = JournalOptions { lease: Duration::from_millis(1000), ..JournalOptions::default() };
    let journal = Journal::with_options(Arc::new(MemoryStore::new()), options);
    let mut builder = payment::RoutedClient::builder().routes(&japan(&["worldpay", "payjp"])).journal(journal);
    for a in [&worldpay, &payjp] {
        builder = builder.account(a.name, a.client.clone());
    }
    let router = builder.build().unwrap();
    let held = FaultRule::always(FaultKind::Delay { ms: 2500 }).methods(&["POST"]).path("/payments/authorizations");
    worldpay.control().set_faults(FaultPlan::new(vec![held])).unwrap();
    let request = || charge(1200, "held-1", PAYJP_OK, "Taro");
    let quick = key("held-1").timeout(Duration::from_millis(500));
    let first = router.route_charge(request(), &RouteContext::default(), &quick).await;
    assert_eq!(first.result.unwrap_err().outcome(), Outcome::Unknown);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = router.recover(Duration::ZERO).await.unwrap();
    assert_eq!(
        router.journal().payment("held-1").await.unwrap().unwrap().state,
        payment::journal::AttemptState::ProvenAbsent,
        "{report:?}"
    );
    let again = router.route_charge(request(), &RouteContext::default(), &key("held-1")).await;
    // Past the held request's landing, whatever the repeat was told.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(payjp.control().stats().charges, 0, "no charge beside the late landing: {:?}", again.result);
    let at_worldpay = worldpay.control().stats().charges_by_reference.get("held-1").copied().unwrap_or(0);
    assert_eq!(at_worldpay, 1, "one charge for the reference: {:?}", again.result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toml_config_routes_over_two_accounts_of_one_provider_and_explains_itself() {
    let config = Config::from_toml_str(
        r#"
        [payjp]
        mode = "mock"
        [accounts.payjp-backup]
        provider = "payjp"
        mode = "mock"
        [worldpay]
        mode = "mock"
        [routing]
        max_attempts = 2
        [[routes]]
        name = "japan"
        currency = ["JPY"]
        region = ["jp"]
        targets = ["payjp", "payjp-backup", "worldpay"]
        [[routes]]
        name = "elsewhere"
        weights = { worldpay = 100 }
        "#,
    )
    .unwrap();
    let router = payment::connect_routed(&config).await.unwrap();
    let jp = RouteContext { region: Some("jp".into()) };
    let r = router.route_charge(charge(1000, "cfg-1", PAYJP_OK, "Taro"), &jp, &key("cfg-1")).await;
    assert!(r.result.unwrap().id.as_str().starts_with("payjp/"));
    assert_eq!(r.rule.as_deref(), Some("japan"));
    let usd = {
        let mut c = charge(1000, "cfg-2", PAYJP_OK, "Taro");
        c.amount = payment::Money::from_code(1000, "USD").unwrap();
        c
    };
    let r = router.route_charge(usd, &jp, &key("cfg-2")).await;
    assert!(r.result.unwrap().id.as_str().starts_with("worldpay/"));
    assert_eq!(r.rule.as_deref(), Some("elsewhere"));
    let metadata = Default::default();
    let facts = payment::routing::PaymentFacts {
        operation: payment::routing::PaymentKind::Charge,
        currency: payment::Currency::JPY,
        amount: 1000,
        region: Some("jp"),
        metadata: &metadata,
    };
    let text = router.explain(&facts, "k").to_string();
    assert!(text.contains("rule japan: matches"), "{text}");
    assert!(text.contains("2. payjp-backup (payjp): eligible"), "{text}");
    // Mistakes name the rule.
    let bad = config
        .clone()
        .merged_with(Config::from_toml_str("[[routes]]\nname = \"typo\"\ntargets = [\"payjpp\"]\n").unwrap());
    let e = payment::connect_routed(&bad).await.unwrap_err();
    assert!(e.message().contains("route 1 `typo`: target `payjpp` is not a configured account"), "{e}");
    let e = payment::connect(
        &Config::from_toml_str("[payjp]\nmode = \"mock\"\n[[routes]]\nname = \"a\"\ntargets = [\"payjp\"]\n").unwrap(),
    )
    .await
    .unwrap_err();
    assert!(e.message().contains("connect_routed"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_sqlite_journal_records_every_attempt_of_a_routed_payment_and_secrets_stay_hidden() {
    let dir = std::env::temp_dir().join(format!("payment-routing-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("journal.db");
    let text = format!(
        r#"
        [journal]
        url = "sqlite://{}"
        [payjp]
        mode = "live"
        secret_key = "sk_test_do_not_print_me"
        base_url = "http://127.0.0.1:9"
        timeout = "3s"
        [accounts.payjp-backup]
        provider = "payjp"
        mode = "mock"
        [[routes]]
        name = "japan"
        targets = ["payjp", "payjp-backup"]
        "#,
        db.display()
    );
    let config = Config::from_toml_str(&text).unwrap();
    let router = payment::connect_routed(&config).await.unwrap();
    assert_eq!(router.journal().store().backend(), "sqlite");
    let r = router.route_charge(charge(1000, "sq-1", PAYJP_OK, "Taro"), &RouteContext::default(), &key("sq-1")).await;
    assert!(r.result.unwrap().id.as_str().starts_with("payjp-backup/"));
    let p = router.journal().payment("sq-1").await.unwrap().unwrap();
    let attempts: Vec<_> = p.attempts.iter().map(|a| (a.account.as_str(), a.state)).collect();
    use payment::journal::AttemptState::{NotSent, Succeeded};
    assert_eq!(attempts, [("payjp", NotSent), ("payjp-backup", Succeeded)]);
    for shown in [format!("{config:?}"), format!("{router:?}")] {
        assert!(!shown.contains("do_not_print_me"), "{shown}");
    }
    // A target whose provider is not compiled in (or not known) is refused, naming the rule.
    let bad = Config::from_toml_str(
        "[accounts.cards]\nprovider = \"stripe\"\n[[routes]]\nname = \"cards\"\ntargets = [\"cards\"]\n",
    )
    .unwrap();
    let e = payment::connect_routed(&bad).await.unwrap_err();
    assert!(e.message().starts_with("route 1 `cards`: target `cards`: unknown provider `stripe`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A payment that reached its customer's authentication step stays at its account: its
/// completion goes there, and a soft decline after authentication never fails over, even with
/// soft-decline failover on (no cross-processor retry once 3-D Secure was attempted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_past_three_d_secure_never_fails_over() {
    let s = shared();
    let payjp = account("payjp", "payjp", None, s.clone()).await;
    let worldpay = account("worldpay", "worldpay", None, s).await;
    let clock = FakeClock::default();
    let lenient_settings = RoutingSettings { failover_on_soft_decline: true, ..Default::default() };
    let lenient = router(&[&payjp, &worldpay], &japan(&["payjp", "worldpay"]), lenient_settings, &clock);
    let authenticated = |number: &str, reference: &str| {
        charge(1000, reference, number, "Taro")
            .authenticate(payment::Authentication::required("https://shop.example/back"))
    };
    let routed = lenient.route_charge(authenticated(PAYJP_OK, "tds-1"), &RouteContext::default(), &key("tds-1")).await;
    let held = routed.result.unwrap();
    assert_eq!(held.status, ChargeStatus::RequiresAction);
    assert!(held.id.as_str().starts_with("payjp/") && routed.failovers.is_empty(), "{}", held.id);
    let native = held.id.as_str().strip_prefix("payjp/").unwrap();
    payjp.control().authenticate_charge(native, payment::mocks::AuthenticationResult::Success).unwrap();
    let done = lenient.complete_charge(&held.id, &payment::CompletionData::none(), &key("tds-1-done")).await.unwrap();
    assert_eq!((done.id.clone(), done.status), (held.id.clone(), ChargeStatus::Succeeded));

    // Authenticated, then a soft decline: the payment's answer, never another processor's charge.
    let routed =
        lenient.route_charge(authenticated(PAYJP_SOFT, "tds-2"), &RouteContext::default(), &key("tds-2")).await;
    let held = routed.result.unwrap();
    let native = held.id.as_str().strip_prefix("payjp/").unwrap();
    payjp.control().authenticate_charge(native, payment::mocks::AuthenticationResult::Success).unwrap();
    let e = lenient.complete_charge(&held.id, &payment::CompletionData::none(), &key("tds-2-done")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::CardDeclined(_)), "{e}");
    let again = lenient.route_charge(authenticated(PAYJP_SOFT, "tds-2"), &RouteContext::default(), &key("tds-2")).await;
    assert!(again.failovers.is_empty(), "{:?}", again.failovers);
    let again = again.result.unwrap_err();
    assert!(matches!(again.kind(), ErrorKind::CardDeclined(_)), "{again}");
    assert_eq!(worldpay.control().stats().charges, 0, "nothing was charged at the other processor");
}
