//! The journal around a client, on the memory and SQLite stores: what is recorded, what a repeat
//! answers, and how recovery settles each kind of lost answer without a second charge.

mod support;

use std::sync::Arc;
use std::time::Duration;

use payment_core::{ChargeStatus, CreateRefund, ErrorKind, Outcome, PaymentSource};
use payment_journal::{AttemptState, Checkpoint, Journal, JournalStore, MemoryStore};
use support::{
    Fake, Fault, NONE_BLIND, NONE_FINDABLE, REJECT_DUPLICATE, REPLAY, charge, journaled, key, options, state, stores,
    webhook_for,
};

#[tokio::test]
async fn a_success_is_recorded_and_a_repeat_is_answered_from_the_journal() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let first = client.create_charge(charge(1000), &key("order-1")).await.unwrap();
        let again = client.create_charge(charge(1000), &key("order-1")).await.unwrap();
        assert_eq!(first.id, again.id, "{}", store.backend());
        assert_eq!(fake.sends(), 1, "a repeat of a succeeded payment sends nothing");
        let p = journal.payment("order-1").await.unwrap().unwrap();
        assert_eq!((p.state, p.charge_id.as_deref()), (AttemptState::Succeeded, Some(first.id.as_str())));
        let states: Vec<_> = store.events("order-1").await.unwrap().iter().map(|e| e.to_state).collect();
        assert_eq!(states, [AttemptState::Prepared, AttemptState::Dispatched, AttemptState::Succeeded]);
    }
}

#[tokio::test]
async fn a_lost_answer_under_replay_is_recovered_by_the_repeat_with_one_charge() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        let e = client.create_charge(charge(1000), &key("lost-1")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown);
        assert_eq!(state(&journal, "lost-1").await, AttemptState::Unknown);
        let record = client.create_charge(charge(1000), &key("lost-1")).await.unwrap();
        assert_eq!(fake.charges().len(), 1, "{}", store.backend());
        assert_eq!(fake.charges()[0].id, record.id);
        assert_eq!(state(&journal, "lost-1").await, AttemptState::Succeeded);
    }
}

#[tokio::test]
async fn reject_duplicate_is_found_by_reference_and_not_resent() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(700), &key("dup-1")).await.unwrap_err();
        let report = journal.recover(&fake.client()).await.unwrap();
        assert_eq!(report.resolutions.len(), 1);
        assert_eq!(report.resolutions[0].to, AttemptState::Succeeded);
        assert!(report.resolutions[0].how.contains("found by its reference"), "{:?}", report.resolutions[0]);
        assert_eq!(fake.sends(), 1, "found, so never resent");
        let p = journal.payment("dup-1").await.unwrap().unwrap();
        assert_eq!(p.charge_id.as_deref(), Some(fake.charges()[0].id.as_str()));
    }
}

#[tokio::test]
async fn reject_duplicate_is_resent_once_proven_absent() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseRequest]);
        client.create_charge(charge(700), &key("dup-2")).await.unwrap_err();
        assert!(fake.charges().is_empty());
        let report = journal.recover(&fake.client()).await.unwrap();
        assert_eq!(report.resolutions[0].to, AttemptState::Succeeded, "{:?}", report.resolutions[0]);
        assert!(report.resolutions[0].how.contains("proven absent"));
        assert_eq!(fake.charges().len(), 1);
        assert_eq!(fake.charges()[0].reference.as_deref(), Some("ref-dup-2"), "the reference fixed at dispatch");
    }
}

#[tokio::test]
async fn none_without_a_lookup_ends_in_reconciliation_never_resent() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&NONE_BLIND);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(500), &key("blind-1")).await.unwrap_err();
        let report = journal.recover(&fake.client()).await.unwrap();
        assert_eq!(report.resolutions[0].to, AttemptState::NeedsReconciliation);
        let e = client.create_charge(charge(500), &key("blind-1")).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Unknown);
        assert!(e.to_string().contains("reconciliation"), "{e}");
        assert_eq!(fake.sends(), 1, "never resent");
    }
}

#[tokio::test]
async fn none_with_a_lookup_proves_absence_and_a_repeat_makes_a_new_attempt() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&NONE_FINDABLE);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseRequest]);
        client.create_charge(charge(500), &key("find-1")).await.unwrap_err();
        // Not yet: the lost request may still land while the sender's lease and the settle
        // horizon run, and a new attempt would then pay twice.
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "find-1").await, AttemptState::Unknown);
        assert!(client.create_charge(charge(500), &key("find-1")).await.is_err(), "a repeat waits too");
        tokio::time::sleep(options().lease + options().settle_horizon).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "find-1").await, AttemptState::ProvenAbsent);
        client.create_charge(charge(500), &key("find-1")).await.unwrap();
        let p = journal.payment("find-1").await.unwrap().unwrap();
        assert_eq!(p.attempts.len(), 2);
        let second = &p.attempts[1].provider_key;
        assert!(second.starts_with("find-1-a2-"), "a new attempt gets its own provider key: {second}");
        // Never a key a caller could have used for another payment by numbering its retries.
        assert_ne!(second, "find-1-a2");
        // The same reference as the first attempt: a provider that refuses a reused reference
        // refuses the second charge if the first lands after all.
        assert_eq!(p.attempts[1].request.reference(), p.attempts[0].request.reference());
        assert!(p.attempts[0].request.reference().is_some());
        assert_eq!(fake.charges().len(), 1);
    }
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_the_repeat_charges_once() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::Refuse]);
        let e = client.create_charge(charge(300), &key("refused-1")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network);
        assert_eq!(state(&journal, "refused-1").await, AttemptState::NotSent);
        client.create_charge(charge(300), &key("refused-1")).await.unwrap();
        assert_eq!(fake.charges().len(), 1);
        assert_eq!(journal.payment("refused-1").await.unwrap().unwrap().attempts.len(), 2);
    }
}

/// Runs a charge whose process "dies" at `point` (the observer panics; the task ends there).
async fn crash_at(fake: &Fake, store: &Arc<dyn JournalStore>, point: Checkpoint, k: &'static str) {
    let journal = Journal::with_options(store.clone(), options()).on_checkpoint(move |at, _| {
        if at == point {
            panic!("simulated crash at {}", at.as_str());
        }
    });
    let client = fake.client().with_journal(journal.clone());
    let crashed = tokio::spawn(async move { client.create_charge(charge(1200), &key(k)).await }).await;
    assert!(crashed.is_err(), "the task died at {point:?}");
}

#[tokio::test]
async fn every_crash_point_recovers_to_exactly_one_charge() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        for (point, k) in [
            (Checkpoint::Prepared, "crash-prepared"),
            (Checkpoint::Dispatched, "crash-dispatched"),
            (Checkpoint::Replied, "crash-replied"),
            (Checkpoint::Recorded, "crash-recorded"),
        ] {
            let fake = Fake::new(&REPLAY);
            crash_at(&fake, store, point, k).await;
            let journal = Journal::with_options(store.clone(), options());
            // Nothing is taken over while the dead writer's lease runs.
            let early = journal.recover(&fake.client()).await.unwrap();
            assert!(point == Checkpoint::Recorded || early.resolutions.is_empty(), "{point:?}: {early:?}");
            let report = journal.recover_within(&fake.client(), Duration::from_secs(5)).await.unwrap();
            let client = fake.client().with_journal(journal.clone());
            let record = client.create_charge(charge(1200), &key(k)).await.unwrap();
            assert_eq!(fake.charges().len(), 1, "{} {point:?}: {report:?}", store.backend());
            assert_eq!(fake.charges()[0].id, record.id);
            assert_eq!(state(&journal, k).await, AttemptState::Succeeded);
        }
    }
}

#[tokio::test]
async fn pending_charges_are_reread_until_final() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (journal, client) = journaled(&fake, store);
        let c = client
            .create_charge(support::with_source(charge(900), PaymentSource::channel("alipay")), &key("async-1"))
            .await;
        assert_eq!(c.unwrap().status, ChargeStatus::Pending);
        assert_eq!(state(&journal, "async-1").await, AttemptState::Pending);
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "async-1").await, AttemptState::Pending);
        fake.complete_all();
        tokio::time::sleep(Duration::from_millis(60)).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "async-1").await, AttemptState::Succeeded);
        assert_eq!(fake.sends(), 1);
    }
}

#[tokio::test]
async fn a_card_is_tokenized_before_anything_is_journaled() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let card = payment_core::CardDetails::new("4242424242424242", 12, 2031, Some("123")).unwrap();
        client
            .create_charge(support::with_source(charge(100), PaymentSource::Card(card)), &key("card-1"))
            .await
            .unwrap();
        assert_eq!(fake.tokens(), 1);
        let p = journal.payment("card-1").await.unwrap().unwrap();
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("4242424242424242"), "{text}");
        assert!(text.contains("tok_card-1"), "the request as sent carries the token: {text}");
    }
}

#[tokio::test]
async fn a_decline_is_recorded_and_repeated_without_a_request() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let card = payment_core::CardDetails::new("4000000000000002", 12, 2031, None).unwrap();
        let request = support::with_source(charge(100), PaymentSource::Card(card));
        let e = client.create_charge(request.clone(), &key("declined-1")).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::CardDeclined(_)));
        assert_eq!(state(&journal, "declined-1").await, AttemptState::Declined);
        let again = client.create_charge(request, &key("declined-1")).await.unwrap_err();
        assert_eq!(again.kind(), e.kind());
    }
}

#[tokio::test]
async fn a_different_request_under_a_used_key_is_a_conflict() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (_journal, client) = journaled(&fake, store);
        client.create_charge(charge(100), &key("same-key")).await.unwrap();
        let e = client.create_charge(charge(101), &key("same-key")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IdempotencyConflict);
        let e = client.create_refund(CreateRefund::full(payment_core::ChargeId::new("ch_1")), &key("same-key")).await;
        assert_eq!(e.unwrap_err().kind(), ErrorKind::IdempotencyConflict);
        assert_eq!(fake.sends(), 1);
    }
}

#[tokio::test]
async fn an_unrepeatable_refund_is_found_by_elimination() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("rc")).await.unwrap();
        let part = |n| CreateRefund::partial(c.id.clone(), payment_core::Money::new(n, payment_core::Currency::JPY));
        client.create_refund(part(100), &key("refund-1")).await.unwrap();
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_refund(part(100), &key("refund-2")).await.unwrap_err();
        fake.fail_next(&[Fault::LoseRequest]);
        client.create_refund(part(150), &key("refund-3")).await.unwrap_err();
        tokio::time::sleep(options().lease + options().settle_horizon).await;
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "refund-2").await, AttemptState::Succeeded, "{}", store.backend());
        assert_eq!(state(&journal, "refund-3").await, AttemptState::ProvenAbsent);
        assert_eq!(fake.refunds().len(), 2, "never resent");
        let p = journal.payment("refund-2").await.unwrap().unwrap();
        assert_eq!(p.latest().unwrap().refund_id.as_deref(), Some("re_2"));
    }
}

#[tokio::test]
async fn lost_refunds_of_one_amount_that_cannot_be_told_apart_go_to_a_person() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        let c = client.create_charge(charge(1000), &key("rc2")).await.unwrap();
        let part = || CreateRefund::partial(c.id.clone(), payment_core::Money::new(100, payment_core::Currency::JPY));
        // One landed, one did not, same amount: which key got it cannot be known.
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_refund(part(), &key("same-a")).await.unwrap_err();
        fake.fail_next(&[Fault::LoseRequest]);
        client.create_refund(part(), &key("same-b")).await.unwrap_err();
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "same-a").await, AttemptState::NeedsReconciliation, "{}", store.backend());
        assert_eq!(state(&journal, "same-b").await, AttemptState::NeedsReconciliation);
        assert_eq!(fake.refunds().len(), 1, "never resent");
    }
}

#[tokio::test]
async fn a_background_recoverer_settles_lost_answers_by_itself() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer, Fault::LoseAnswer]);
        client.create_charge(charge(100), &key("bg-1")).await.unwrap_err();
        client.create_charge(charge(200), &key("bg-2")).await.unwrap_err();
        let recoverer =
            payment_journal::Recoverer::spawn(journal.clone(), Arc::new(fake.client()), Duration::from_millis(20));
        let mut settled = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if state(&journal, "bg-1").await == AttemptState::Succeeded
                && state(&journal, "bg-2").await == AttemptState::Succeeded
            {
                settled = true;
                break;
            }
        }
        recoverer.stop();
        assert!(settled, "{}: the recoverer settled both", store.backend());
        assert_eq!(fake.charges().len(), 2);
    }
}

#[tokio::test]
async fn a_verified_webhook_settles_a_lost_answer_before_any_lookup_and_a_late_one_changes_nothing() {
    use payment_core::webhook::Inbox;
    use payment_core::{EventKind, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(800), &key("wh-1")).await.unwrap_err();
        assert_eq!(state(&journal, "wh-1").await, AttemptState::Unknown);
        let charge = fake.charges()[0].clone();
        let settled = journal
            .apply_event(&webhook_for(&charge, EventKind::ChargeSucceeded, Trust::Verified, "evt_1"))
            .await
            .unwrap();
        assert_eq!(settled.len(), 1, "{}", store.backend());
        assert_eq!(state(&journal, "wh-1").await, AttemptState::Succeeded);
        assert_eq!(fake.sends(), 1, "no lookup, no resend");
        // A repeat is answered from the journal with the charge the webhook carried.
        assert_eq!(client.create_charge(support::charge(800), &key("wh-1")).await.unwrap().id, charge.id);
        let late = journal
            .apply_event(&webhook_for(&charge, EventKind::ChargePending, Trust::Verified, "evt_0"))
            .await
            .unwrap();
        assert!(late.is_empty());
        assert_eq!(state(&journal, "wh-1").await, AttemptState::Succeeded, "a late pending never undoes succeeded");
        // The journal is the inbox.
        use payment_core::DeliveryClaim;
        let lease = std::time::Duration::from_secs(60);
        let DeliveryClaim::New(first) = journal.claim("fake", "evt_1", lease).await.unwrap() else { panic!("new") };
        assert_eq!(journal.claim("fake", "evt_1", lease).await.unwrap(), DeliveryClaim::InProgress);
        journal.forget("fake", "evt_1", first).await.unwrap();
        let DeliveryClaim::New(second) = journal.claim("fake", "evt_1", lease).await.unwrap() else { panic!("again") };
        journal.done("fake", "evt_1", second).await.unwrap();
        assert_eq!(journal.claim("fake", "evt_1", lease).await.unwrap(), DeliveryClaim::Done);
    }
}

#[tokio::test]
async fn a_sender_only_webhook_only_makes_the_attempt_due_for_a_read_back() {
    use payment_core::{EventKind, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        let fake = Fake::new(&REJECT_DUPLICATE);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(900), &key("wh-2")).await.unwrap_err();
        let charge = fake.charges()[0].clone();
        let r = journal
            .apply_event(&webhook_for(&charge, EventKind::ChargeSucceeded, Trust::SenderOnly, "evt_2"))
            .await
            .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(state(&journal, "wh-2").await, AttemptState::Unknown, "not trusted without a read");
        journal.recover(&fake.client()).await.unwrap();
        assert_eq!(state(&journal, "wh-2").await, AttemptState::Succeeded, "{}", store.backend());
    }
}

#[tokio::test]
async fn an_event_naming_the_request_key_settles_its_attempt() {
    use payment_core::{EventKind, Trust};
    let (stores, _dir) = stores().await;
    for store in &stores {
        // Replay providers send no reference; their notifications name the request by its key.
        let fake = Fake::new(&REPLAY);
        let (journal, client) = journaled(&fake, store);
        fake.fail_next(&[Fault::LoseAnswer]);
        client.create_charge(charge(600), &key("req-key-1")).await.unwrap_err();
        let mut record = fake.charges()[0].clone();
        record.reference = None;
        let mut event = webhook_for(&record, EventKind::ChargeSucceeded, Trust::Verified, "note-1");
        event.object_id = None;
        event.reference = Some("req-key-1".into());
        assert_eq!(journal.apply_event(&event).await.unwrap().len(), 1, "{}", store.backend());
        assert_eq!(state(&journal, "req-key-1").await, AttemptState::Succeeded);
    }
}

#[tokio::test]
async fn a_routed_attempt_may_follow_at_another_account_and_a_plain_one_may_not() {
    let (stores, _dir) = stores().await;
    for store in &stores {
        let primary = Fake::new(&REPLAY);
        let secondary = Fake::new(&REPLAY);
        let journal = Journal::with_options(store.clone(), options());
        let a = primary.client().with_account("primary");
        let b = secondary.client().with_account("secondary");
        let m = || payment_core::Mutation::CreateCharge(charge(1000));
        primary.fail_next(&[Fault::Refuse, Fault::Refuse, Fault::Refuse, Fault::Refuse, Fault::Refuse]);
        let routed = payment_journal::AttemptRules { other_account: true, after_decline: false };
        let e = journal.execute_with(&a, m(), &key("routed-1"), routed).await.unwrap_err();
        assert_eq!(e.outcome(), Outcome::Definite, "{e}");
        let plain = journal.execute_with(&b, m(), &key("routed-1"), Default::default()).await.unwrap_err();
        assert_eq!(plain.kind(), ErrorKind::IdempotencyConflict, "{}: {plain}", store.backend());
        journal.execute_with(&b, m(), &key("routed-1"), routed).await.unwrap();
        let p = journal.payment("routed-1").await.unwrap().unwrap();
        let attempts: Vec<_> = p.attempts.iter().map(|a| (a.account.as_str(), a.state)).collect();
        assert_eq!(
            attempts,
            [("primary", AttemptState::NotSent), ("secondary", AttemptState::Succeeded)],
            "{}",
            store.backend()
        );
        assert_eq!((primary.charges().len(), secondary.charges().len()), (0, 1));
    }
}

#[tokio::test]
async fn a_bounded_memory_store_forgets_the_oldest_settled_payments_only() {
    let store: Arc<dyn JournalStore> = Arc::new(MemoryStore::bounded(3));
    let fake = Fake::new(&REPLAY);
    let (journal, client) = journaled(&fake, &store);
    fake.fail_next(&[Fault::LoseAnswer]);
    assert!(client.create_charge(charge(1000), &key("kept-unknown")).await.is_err());
    for i in 0..5 {
        client.create_charge(charge(1000), &key(&format!("settled-{i}"))).await.unwrap();
    }
    let kept: Vec<String> = store.payments(None).await.unwrap().into_iter().map(|p| p.idempotency_key).collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(kept.contains(&"kept-unknown".to_owned()), "an unresolved payment is never forgotten: {kept:?}");
    assert!(kept.contains(&"settled-4".to_owned()) && !kept.contains(&"settled-0".to_owned()), "{kept:?}");
    assert!(store.events("settled-0").await.unwrap().is_empty());
    assert_eq!(state(&journal, "kept-unknown").await, AttemptState::Unknown);
}
