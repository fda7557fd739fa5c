//! Faults a real provider, network or disk produces, against the journal: an answer refused
//! after the provider acted, a provider down during recovery, a journal write that fails or
//! whose commit answer is lost. None may make a second charge or tell the caller "failed" when
//! money moved.

mod support;

use std::sync::Arc;

use payment_core::{CreateRefund, Outcome};
use payment_journal::{AttemptState, FaultyStore, Journal, StoreFault, StoreStep};
use support::{Fake, Fault, REJECT_DUPLICATE, REPLAY, charge, journaled, key, options, state, stores, webhook_for};

#[tokio::test]
async fn an_answer_refused_after_the_provider_charged_is_unknown_and_the_repeat_charges_nothing_more() {
    let (stores, _dir) = stores().await;
    for (n, caps) in [&REPLAY, &REJECT_DUPLICATE].into_iter().enumerate() {
        for store in &stores {
            let fake = Fake::new(caps);
            let journal = Journal::with_options(store.clone(), options());
            let client = fake.client().with_journal(journal.clone());
            let k = format!("echo-{n}");
            fake.fail_next(&[Fault::AlterEcho]);
            let e = client.create_charge(charge(1000), &key(&k)).await.unwrap_err();
            assert_eq!(e.outcome(), Outcome::Unknown, "told definite while the charge exists: {e}");
            assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(k.as_str()));
            assert_eq!(state(&journal, &k).await, AttemptState::Unknown, "never not_sent after the provider acted");
            let again = client.create_charge(charge(1000), &key(&k)).await.unwrap();
            assert_eq!(fake.charges().len(), 1, "{}: one charge for one key", store.backend());
            assert_eq!(fake.charges()[0].id, again.id);
        }
    }
}

#[tokio::test]
async fn an_altered_refund_answer_is_never_refunded_again() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (_journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("refund-echo-charge")).await.unwrap();
        fake.fail_next(&[Fault::AlterEcho]);
        let e = client.create_refund(CreateRefund::partial(c.id.clone(), c.amount), &key("refund-echo")).await;
        assert_eq!(e.unwrap_err().outcome(), Outcome::Unknown);
        let _ = client.create_refund(CreateRefund::partial(c.id.clone(), c.amount), &key("refund-echo")).await;
        assert_eq!(fake.refunds().len(), 1, "{}: one refund for one key", store.backend());
    }
}

#[tokio::test]
async fn a_resend_that_never_left_proves_nothing_about_the_original() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        let e = client.create_charge(charge(500), &key("down-1")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown);
        // Recovery while the provider refuses connections: its resend never left.
        fake.fail_next(&[Fault::Refuse]);
        let report = journal.recover(&fake.client()).await.unwrap();
        assert_eq!(report.resolutions.len(), 1);
        assert_eq!(state(&journal, "down-1").await, AttemptState::Unknown, "{}", store.backend());
        tokio::time::sleep(options().max_backoff).await;
        client.create_charge(charge(500), &key("down-1")).await.unwrap();
        assert_eq!(fake.charges().len(), 1, "{}: the repeat found the first charge", store.backend());
    }
}

#[tokio::test]
async fn an_outcome_the_journal_cannot_write_is_unknown_to_the_caller_never_definite() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let faulty = Arc::new(FaultyStore::new(store.clone()));
        let journal = Journal::with_options(faulty.clone(), options());
        let client = fake.client().with_journal(journal.clone());
        // Turned away with a 429, and the journal is locked when that is written.
        fake.fail_next(&[Fault::RateLimit]);
        faulty.inject(StoreStep::Transition(AttemptState::ProvenAbsent), StoreFault::Fail, 1);
        let e = client.create_charge(charge(700), &key("locked-1")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown, "{}: {e}", store.backend());
        assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("locked-1"));
        assert_eq!(state(&journal, "locked-1").await, AttemptState::Dispatched);
        // Recovery may now send it; the caller was told to ask again, and a repeat finds one charge.
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        let again = client.create_charge(charge(700), &key("locked-1")).await.unwrap();
        assert_eq!(fake.charges().len(), 1);
        assert_eq!(fake.charges()[0].id, again.id);
    }
}

#[tokio::test]
async fn a_dispatch_the_journal_cannot_write_sends_nothing_and_says_so_only_when_it_is_sure() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let faulty = Arc::new(FaultyStore::new(store.clone()));
        let journal = Journal::with_options(faulty.clone(), options());
        let client = fake.client().with_journal(journal.clone());
        // Not written, and the attempt marked not sent: this call sent nothing, but a concurrent
        // call with the key may send a later attempt, so the caller hears unknown, never
        // "failed"; a repeat with the same key sends once.
        faulty.inject(StoreStep::Transition(AttemptState::Dispatched), StoreFault::Fail, 1);
        let e = client.create_charge(charge(800), &key("dispatch-1")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
        assert_eq!(state(&journal, "dispatch-1").await, AttemptState::NotSent);
        assert_eq!(fake.sends(), 0);
        assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("dispatch-1"));
        assert!(e.message().contains("repeat with the same key"), "{e}");
        client.create_charge(charge(800), &key("dispatch-1")).await.unwrap();
        assert_eq!(fake.sends(), 1, "the repeat sent it once");
        // Written, but the commit's answer lost: recovery may send it, so the caller hears unknown.
        faulty.inject(StoreStep::Transition(AttemptState::Dispatched), StoreFault::LoseCommit, 1);
        let e = client.create_charge(charge(800), &key("dispatch-2")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown, "{}: {e}", store.backend());
        assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("dispatch-2"));
        assert_eq!(fake.sends(), 1, "nothing more is sent without a durable Dispatched");
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        client.create_charge(charge(800), &key("dispatch-2")).await.unwrap();
        assert_eq!(fake.charges().len(), 2, "{}", store.backend());
    }
}

/// An attempt the journal could not record (a failed write, or one whose commit answer was
/// lost and which recovery may then mark not sent) sent nothing, but a concurrent call with the
/// key may: the caller hears unknown with the key, and a repeat charges once.
#[tokio::test]
async fn an_attempt_the_journal_could_not_record_is_unknown_never_failed() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let faulty = Arc::new(FaultyStore::new(store.clone()));
        let journal = Journal::with_options(faulty.clone(), options());
        let client = fake.client().with_journal(journal.clone());
        for (n, fault) in [StoreFault::Fail, StoreFault::LoseCommit].into_iter().enumerate() {
            let k = format!("prepare-{n}");
            faulty.inject(StoreStep::Prepare, fault, 1);
            let e = client.create_charge(charge(700), &key(&k)).await.unwrap_err();
            assert_eq!(e.outcome(), Outcome::Unknown, "{}: {fault:?}: {e}", store.backend());
            assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(k.as_str()));
            assert_eq!(fake.sends(), n, "nothing sent by the failed call");
            tokio::time::sleep(options().lease).await;
            journal.recover(&fake.client()).await.unwrap();
            client.create_charge(charge(700), &key(&k)).await.unwrap();
            assert_eq!(fake.sends(), n + 1, "{}: the repeat sent it once", store.backend());
        }
    }
}

#[tokio::test]
async fn a_retry_of_an_order_under_a_new_key_is_never_a_late_success_of_the_declined_one() {
    use payment_core::{EventKind, PaymentSource, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let card = payment_core::CardDetails::new("4000000000000002", 12, 2031, None).unwrap();
        let declined = support::with_source(charge(100).reference("order-9"), PaymentSource::Card(card));
        client.create_charge(declined, &key("order-9-try-1")).await.unwrap_err();
        assert_eq!(state(&journal, "order-9-try-1").await, AttemptState::Declined);
        let paid = client.create_charge(charge(100).reference("order-9"), &key("order-9-try-2")).await.unwrap();
        let event = webhook_for(&paid, EventKind::ChargeSucceeded, Trust::Verified, "evt_order_9");
        let resolutions = journal.apply_event(&event).await.unwrap();
        assert!(resolutions.iter().all(|r| !r.is_late_success()), "{}: {resolutions:?}", store.backend());
        assert_eq!(state(&journal, "order-9-try-1").await, AttemptState::Declined);
        assert_eq!(state(&journal, "order-9-try-2").await, AttemptState::Succeeded);
    }
}

#[tokio::test]
async fn a_lost_capture_is_found_only_when_what_was_captured_is_what_it_asked() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let mut authorize = charge(1000);
        authorize.capture = false;
        let c = client.create_charge(authorize, &key("cap-charge")).await.unwrap();
        let part = |n| Some(payment_core::Money::new(n, c.amount.currency));
        client.capture_charge(&c.id, part(400), &key("cap-1")).await.unwrap();
        // A second capture whose request was lost before it landed: the charge is captured (by
        // the first), but not by this one.
        fake.fail_next(&[Fault::LoseRequest]);
        let e = client.capture_charge(&c.id, part(300), &key("cap-2")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown);
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_ne!(
            state(&journal, "cap-2").await,
            AttemptState::Succeeded,
            "{}: never found by another capture",
            store.backend()
        );
        // A lost capture that did land is found.
        let mut authorize = charge(900);
        authorize.capture = false;
        let d = client.create_charge(authorize, &key("cap-charge-2")).await.unwrap();
        fake.fail_next(&[Fault::LoseAnswer]);
        client
            .capture_charge(&d.id, Some(payment_core::Money::new(500, d.amount.currency)), &key("cap-3"))
            .await
            .unwrap_err();
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "cap-3").await, AttemptState::Succeeded, "{}", store.backend());
    }
}

#[tokio::test]
async fn a_reject_duplicate_refund_that_cannot_be_looked_up_is_never_resent() {
    // Refunds under RejectDuplicate whose provider cannot list them (Worldpay): a lost refund
    // goes to a person, because a resend may take a fresh action link and refund again.
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&support::NO_REFUND_LIST);
        let (journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("nolist-charge")).await.unwrap();
        fake.fail_next(&[Fault::LoseAnswer]);
        let e = client.create_refund(CreateRefund::partial(c.id.clone(), c.amount), &key("nolist-refund")).await;
        assert_eq!(e.unwrap_err().outcome(), Outcome::Unknown);
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(fake.refunds().len(), 1, "{}: never refunded again", store.backend());
        assert_eq!(state(&journal, "nolist-refund").await, AttemptState::NeedsReconciliation);
    }
}

#[tokio::test]
async fn a_resend_turned_away_says_nothing_about_the_charge_it_repeats() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        // Charged, answer lost; recovery's resend with the same key is then turned away (429).
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(600), &key("away-1")).await.unwrap_err();
        fake.fail_next(&[Fault::RateLimit]);
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "away-1").await, AttemptState::Unknown, "{}", store.backend());
        tokio::time::sleep(options().max_backoff).await;
        let again = client.create_charge(charge(600), &key("away-1")).await.unwrap();
        assert_eq!(fake.charges().len(), 1, "{}: replayed, never charged under a new key", store.backend());
        assert_eq!(fake.charges()[0].id, again.id);
    }
}

#[tokio::test]
async fn a_webhook_for_a_retry_still_in_flight_is_not_a_late_success_of_the_declined_try() {
    use payment_core::{EventKind, PaymentSource, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let card = payment_core::CardDetails::new("4000000000000002", 12, 2031, None).unwrap();
        let declined = support::with_source(charge(100).reference("order-10"), PaymentSource::Card(card));
        client.create_charge(declined, &key("order-10-try-1")).await.unwrap_err();
        // The retry's answer is lost, so its attempt is open and holds no charge id yet when the
        // charge's webhook arrives.
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(100).reference("order-10"), &key("order-10-try-2")).await.unwrap_err();
        let paid = fake.charges().last().unwrap().clone();
        let event = webhook_for(&paid, EventKind::ChargeSucceeded, Trust::Verified, "evt_order_10");
        let resolutions = journal.apply_event(&event).await.unwrap();
        assert!(resolutions.iter().all(|r| !r.is_late_success()), "{}: {resolutions:?}", store.backend());
        assert_eq!(state(&journal, "order-10-try-1").await, AttemptState::Declined);
        assert_eq!(state(&journal, "order-10-try-2").await, AttemptState::Succeeded, "settled by its webhook");
    }
}

#[tokio::test]
async fn a_refund_that_cannot_be_read_back_is_settled_by_its_charges_event_when_it_is_the_only_one_open() {
    use payment_core::{EventKind, EventRecord, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&support::PENDING_REFUNDS);
        let (journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("wp-charge")).await.unwrap();
        let part = |n| CreateRefund::partial(c.id.clone(), payment_core::Money::new(n, c.amount.currency));
        client.create_refund(part(100), &key("wp-refund-1")).await.unwrap();
        assert_eq!(state(&journal, "wp-refund-1").await, AttemptState::Pending);
        // The payment's event, named by its reference alone and carrying no refund (Worldpay's):
        // the one open refund is settled by it.
        let mut event = webhook_for(&c, EventKind::RefundSucceeded, Trust::Verified, "evt_refunded_1");
        event.record = EventRecord::Other(serde_json::json!({}));
        event.object_id = None;
        assert!(event.reference.is_some());
        // Without the amount, nothing tells it is this refund's.
        event.amount = None;
        journal.apply_event(&event).await.unwrap();
        assert_eq!(state(&journal, "wp-refund-1").await, AttemptState::Pending);
        // A failure is never settled by elimination.
        event.id = "evt_refund_failed".into();
        event.kind = EventKind::RefundFailed;
        event.amount = Some(payment_core::Money::new(100, c.amount.currency));
        journal.apply_event(&event).await.unwrap();
        assert_eq!(state(&journal, "wp-refund-1").await, AttemptState::Pending);
        event.id = "evt_refunded_1b".into();
        event.kind = EventKind::RefundSucceeded;
        journal.apply_event(&event).await.unwrap();
        assert_eq!(state(&journal, "wp-refund-1").await, AttemptState::Succeeded, "{}", store.backend());
        // With two open, an event for the charge cannot tell which: both stay pending.
        client.create_refund(part(200), &key("wp-refund-2")).await.unwrap();
        client.create_refund(part(200), &key("wp-refund-3")).await.unwrap();
        event.id = "evt_refunded_2".into();
        event.amount = Some(payment_core::Money::new(200, c.amount.currency));
        journal.apply_event(&event).await.unwrap();
        assert_eq!(state(&journal, "wp-refund-2").await, AttemptState::Pending);
        assert_eq!(state(&journal, "wp-refund-3").await, AttemptState::Pending);
    }
}

/// A refund named by its own reference (Worldpay's partial refunds, the reference fixed before
/// it is sent): its event settles that refund and no other — with several open, with the answer
/// to sending it lost, and after it went to a person for want of a lookup.
#[tokio::test]
async fn a_refund_event_naming_the_refunds_own_reference_settles_that_refund_alone() {
    use payment_core::{EventKind, EventRecord, Money, RefundStatus, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&support::PENDING_REFUNDS);
        let (journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("named-charge")).await.unwrap();
        let part = |n, r: &str| CreateRefund::partial(c.id.clone(), Money::new(n, c.amount.currency)).reference(r);
        client.create_refund(part(200, "rf-a"), &key("named-refund-a")).await.unwrap();
        client.create_refund(part(200, "rf-b"), &key("named-refund-b")).await.unwrap();
        fake.fail_next(&[Fault::LoseAnswer]);
        let lost = client.create_refund(part(300, "rf-c"), &key("named-refund-c")).await.unwrap_err();
        assert_eq!(lost.outcome(), Outcome::Unknown);
        // No lookup can tell: recovery hands it to a person, never resends.
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "named-refund-c").await, AttemptState::NeedsReconciliation);
        // Another payment's refund sent with the same reference text: never named by c's events.
        let other = client.create_charge(charge(1000), &key("named-other-charge")).await.unwrap();
        let same = CreateRefund::partial(other.id.clone(), Money::new(200, c.amount.currency)).reference("rf-b");
        client.create_refund(same, &key("named-other-refund")).await.unwrap();
        let event = |id: &str, kind, reference: &str, amount| {
            let mut e = webhook_for(&c, kind, Trust::Verified, id);
            e.record = EventRecord::Other(serde_json::json!({}));
            e.object_id = None;
            e.refund_reference = Some(reference.into());
            e.amount = Some(Money::new(amount, c.amount.currency));
            e
        };
        journal.apply_event(&event("e1", EventKind::RefundSucceeded, "rf-b", 200)).await.unwrap();
        assert_eq!(state(&journal, "named-other-refund").await, AttemptState::Pending, "another charge's refund");
        assert_eq!(state(&journal, "named-refund-a").await, AttemptState::Pending, "{}", store.backend());
        assert_eq!(state(&journal, "named-refund-b").await, AttemptState::Succeeded, "{}", store.backend());
        // An amount that is not the refund's proves nothing about it.
        journal.apply_event(&event("e2", EventKind::RefundFailed, "rf-a", 999)).await.unwrap();
        assert_eq!(state(&journal, "named-refund-a").await, AttemptState::Pending);
        journal.apply_event(&event("e3", EventKind::RefundFailed, "rf-a", 200)).await.unwrap();
        assert_eq!(state(&journal, "named-refund-a").await, AttemptState::Declined, "named exactly, a failure too");
        journal.apply_event(&event("e4", EventKind::RefundSucceeded, "rf-c", 300)).await.unwrap();
        assert_eq!(state(&journal, "named-refund-c").await, AttemptState::Succeeded, "{}", store.backend());
        let answered = client.create_refund(part(300, "rf-c"), &key("named-refund-c")).await.unwrap();
        assert_eq!((answered.amount.minor, answered.status), (300, RefundStatus::Succeeded));
        assert_eq!(answered.id, payment_core::RefundId::synthesized(&c.id, "rf-c"));
        assert_eq!(fake.refunds().len(), 4, "each refund sent once");
    }
}

/// A pending refund the provider gives no way to read back waits for the provider's event; past
/// the wait for one it goes to a person (never pending for ever), and the event, if it comes
/// after all, still settles it.
#[tokio::test]
async fn a_pending_refund_no_event_finishes_goes_to_a_person_after_the_wait() {
    use payment_core::{EventKind, EventRecord, Money, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&support::PENDING_REFUNDS);
        let waiting = Journal::with_options(store.clone(), options());
        let client = fake.client().with_journal(waiting.clone());
        let c = client.create_charge(charge(1000), &key("quiet-charge")).await.unwrap();
        let part = CreateRefund::partial(c.id.clone(), Money::new(300, c.amount.currency)).reference("rf-quiet");
        client.create_refund(part, &key("quiet-refund")).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        waiting.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&waiting, "quiet-refund").await, AttemptState::Pending, "inside the wait");
        // Past the backoff recovery put it back with.
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let impatient = Journal::with_options(
            store.clone(),
            payment_journal::JournalOptions { event_wait: std::time::Duration::ZERO, ..options() },
        );
        impatient.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&impatient, "quiet-refund").await, AttemptState::NeedsReconciliation, "{}", store.backend());
        let mut event = webhook_for(&c, EventKind::RefundSucceeded, Trust::Verified, "evt_quiet");
        event.record = EventRecord::Other(serde_json::json!({}));
        event.object_id = None;
        event.refund_reference = Some("rf-quiet".into());
        event.amount = Some(Money::new(300, c.amount.currency));
        impatient.apply_event(&event).await.unwrap();
        assert_eq!(state(&impatient, "quiet-refund").await, AttemptState::Succeeded);
    }
}

/// A recovery run that panics (here the source of clients) is reported, and the background
/// recoverer goes on: the next run still settles what is due.
#[tokio::test]
async fn the_background_recoverer_survives_a_run_that_panics() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct PanicsOnce(Fake, AtomicUsize);
    impl payment_journal::ClientSource for PanicsOnce {
        fn client_for(&self, _provider: &str) -> payment_core::Result<payment_core::PaymentClient> {
            if self.1.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a client that panics");
            }
            Ok(self.0.client())
        }
    }
    let fake = Fake::new(&REPLAY);
    // The panicking run leaves its claim leased: a short recovery lease lets the next one in.
    let short = payment_journal::JournalOptions { recovery_lease: std::time::Duration::from_millis(200), ..options() };
    let journal = Journal::with_options(Arc::new(payment_journal::MemoryStore::new()), short);
    let client = fake.client().with_journal(journal.clone());
    fake.fail_next(&[Fault::LoseAnswer]);
    assert_eq!(client.create_charge(charge(700), &key("supervised")).await.unwrap_err().outcome(), Outcome::Unknown);
    tokio::time::sleep(options().lease).await;
    let source = Arc::new(PanicsOnce(fake.clone(), AtomicUsize::new(0)));
    let recoverer = payment_journal::Recoverer::spawn(journal.clone(), source, std::time::Duration::from_millis(20));
    for _ in 0..150 {
        if state(&journal, "supervised").await == AttemptState::Succeeded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    recoverer.stop();
    assert_eq!(state(&journal, "supervised").await, AttemptState::Succeeded, "recovered after the panicking run");
}

/// A refund event that names its payment before the journal has settled that payment's charge
/// (the charge's answer was lost, so the journal has no charge id to find the refunds by) is
/// refused, for the provider to deliver again; once recovery settles the charge, it settles the
/// refund. Acknowledged at once, it would have been lost and the refund left pending.
#[tokio::test]
async fn a_refund_event_before_its_charge_is_settled_is_delivered_again_later() {
    use payment_core::{EventKind, EventRecord, Money, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&support::PENDING_REFUNDS);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        let lost = client.create_charge(charge(1000), &key("early-charge")).await.unwrap_err();
        assert_eq!(lost.outcome(), Outcome::Unknown);
        let c = fake.charges().remove(0);
        let part = CreateRefund::partial(c.id.clone(), Money::new(400, c.amount.currency)).reference("rf-early");
        client.create_refund(part, &key("early-refund")).await.unwrap();
        let mut event = webhook_for(&c, EventKind::RefundSucceeded, Trust::Verified, "evt_early");
        event.record = EventRecord::Other(serde_json::json!({}));
        event.object_id = None;
        event.refund_reference = Some("rf-early".into());
        event.amount = Some(Money::new(400, c.amount.currency));
        assert!(journal.apply_event(&event).await.is_err(), "{}: deliver it again later", store.backend());
        tokio::time::sleep(options().lease).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "early-charge").await, AttemptState::Succeeded);
        journal.apply_event(&event).await.unwrap();
        assert_eq!(state(&journal, "early-refund").await, AttemptState::Succeeded, "{}", store.backend());
    }
}
