//! Healing's rules, each on a journal written as a crash, a late success or a retry leaves it:
//! a charge is settled only from its own attempt's evidence, never past a live lease, never over
//! a late success or a second charge, and reference-only matches only where the reference names
//! one attempt.

mod support;

use std::sync::Arc;

use payment_core::{ChargeId, ChargeRecord, ChargeStatus, Timestamp};
use payment_journal::record::{Begin, NewAttempt, Transition};
use payment_journal::{
    Attempt, AttemptState, Class, Finding, JournalStore, MemoryStore, ReconcileOptions, Reconciler, StoredOutcome,
    StoredRequest, Window,
};
use support::{Fake, LISTED, charge};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A charge attempt for `key` sent with `reference`, dispatched, its lease (until `lease_until`) held by "app".
async fn sent(store: &dyn JournalStore, key: &str, reference: &str, lease_until: i64) -> Attempt {
    let request = StoredRequest::of(&payment_core::Mutation::CreateCharge(charge(1000).reference(reference)));
    let new = NewAttempt {
        idempotency_key: key.into(),
        account: "fake".into(),
        request,
        lease_owner: "app".into(),
        lease_until_ms: lease_until,
        now_ms: now() - 2000,
        // A retry after a decline (the caller judged it worth another try).
        rules: payment_journal::AttemptRules { after_decline: true, ..Default::default() },
    };
    let Begin::Started(a) = store.prepare(new).await.unwrap() else { panic!("a new attempt") };
    store
        .transition(Transition::to(&a, AttemptState::Dispatched, now() - 2000, "sent").leased("app", lease_until))
        .await
        .unwrap()
}

async fn write(store: &dyn JournalStore, a: &Attempt, to: AttemptState, outcome: Option<StoredOutcome>) -> Attempt {
    let mut t = Transition::to(a, to, now(), "test");
    if let Some(o) = outcome {
        t = t.outcome(o);
    }
    store.transition(t).await.unwrap()
}

fn provider_charge(id: &str, reference: &str, status: ChargeStatus) -> ChargeRecord {
    let amount = charge(1000).amount;
    let zero = payment_core::Money::new(0, amount.currency);
    ChargeRecord {
        provider: "fake".into(),
        id: ChargeId::new(id),
        status,
        amount,
        amount_captured: if status == ChargeStatus::Succeeded { amount } else { zero },
        amount_refunded: zero,
        reference: Some(reference.into()),
        description: None,
        metadata: Default::default(),
        created: Timestamp::now(),
        next_action: None,
        failure: None,
        raw: serde_json::json!({}).into(),
    }
}

async fn heal(store: &Arc<dyn JournalStore>, fake: &Fake) -> Vec<Finding> {
    let options = ReconcileOptions { heal: true, late_data_secs: Some(0), ..ReconcileOptions::default() };
    let window = Window {
        since: Timestamp::from_unix(Timestamp::now().unix() - 60),
        until: Timestamp::from_unix(Timestamp::now().unix() + 60),
    };
    let mut found = Vec::new();
    Reconciler::new(store.clone(), options)
        .run(&fake.client(), window, &mut |f: &Finding| found.push(f.clone()))
        .await
        .unwrap();
    found
}

async fn state_of(store: &Arc<dyn JournalStore>, a: &Attempt) -> AttemptState {
    let p = store.payment(&a.idempotency_key).await.unwrap().unwrap();
    p.attempts.iter().find(|b| b.id == a.id).unwrap().state
}

#[tokio::test]
async fn an_unsettled_attempt_is_settled_from_its_own_charge() {
    let store: Arc<dyn JournalStore> = Arc::new(MemoryStore::new());
    let fake = Fake::new(&LISTED);
    let lost = sent(store.as_ref(), "k1", "order-1", now() - 1).await;
    let lost = write(store.as_ref(), &lost, AttemptState::Unknown, None).await;
    fake.add_charge(provider_charge("ch_1", "order-1", ChargeStatus::Succeeded));
    let found = heal(&store, &fake).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].class, Class::Healed, "{found:?}");
    let payment = store.payment("k1").await.unwrap().unwrap();
    assert_eq!((payment.state, payment.charge_id.as_deref()), (AttemptState::Succeeded, Some("ch_1")));
    assert_eq!(state_of(&store, &lost).await, AttemptState::Succeeded);
}

#[tokio::test]
async fn a_live_lease_is_left_to_its_holder() {
    let store: Arc<dyn JournalStore> = Arc::new(MemoryStore::new());
    let fake = Fake::new(&LISTED);
    let held = sent(store.as_ref(), "k1", "order-1", now() + 60_000).await;
    fake.add_charge(provider_charge("ch_1", "order-1", ChargeStatus::Succeeded));
    let found = heal(&store, &fake).await;
    assert_eq!(found[0].class, Class::Unresolved, "{found:?}");
    assert!(found[0].evidence.contains("leased to app"), "{found:?}");
    assert_eq!(state_of(&store, &held).await, AttemptState::Dispatched);
}

/// PAY.JP: a retry after a decline goes out with the same reference. The declined charge is the
/// first attempt's (its id says so) and never settles the second; the second, matched by the
/// shared reference alone, is for a person.
#[tokio::test]
async fn a_shared_reference_settles_nothing_by_itself() {
    let store: Arc<dyn JournalStore> = Arc::new(MemoryStore::new());
    let fake = Fake::new(&LISTED);
    let first = sent(store.as_ref(), "k1", "order-1", now() - 1).await;
    let declined = provider_charge("ch_declined", "order-1", ChargeStatus::Failed);
    write(store.as_ref(), &first, AttemptState::Declined, Some(StoredOutcome::Charge(Box::new(declined.clone()))))
        .await;
    let second = sent(store.as_ref(), "k1", "order-1", now() - 1).await;
    let second = write(store.as_ref(), &second, AttemptState::Unknown, None).await;
    fake.add_charge(declined);
    fake.add_charge(provider_charge("ch_paid", "order-1", ChargeStatus::Succeeded));
    let found = heal(&store, &fake).await;
    let of = |id: &str| {
        found.iter().find(|f| f.charge_id.as_deref() == Some(id)).unwrap_or_else(|| panic!("{id}: {found:?}"))
    };
    let decline = of("ch_declined");
    assert_eq!(decline.class, Class::Matched, "{decline:?}");
    assert_eq!(
        decline.in_journal.as_ref().map(|j| j.seq),
        Some(1),
        "judged against the attempt that named it: {decline:?}"
    );
    let paid = of("ch_paid");
    assert_eq!(paid.class, Class::Unresolved, "{paid:?}");
    assert!(paid.evidence.contains("other attempt(s) were sent with its reference"), "{paid:?}");
    assert_eq!(state_of(&store, &second).await, AttemptState::Unknown, "left for a person");
}

/// A charge that landed after its payment was settled without it (declined, then paid again
/// under another key) is a late success: a person keeps or reverses it; heal never makes it
/// the payment's success.
#[tokio::test]
async fn a_late_success_is_left_to_a_person() {
    let store: Arc<dyn JournalStore> = Arc::new(MemoryStore::new());
    let fake = Fake::new(&LISTED);
    let late = sent(store.as_ref(), "k1", "order-1", now() - 1).await;
    let late = write(store.as_ref(), &late, AttemptState::ProvenAbsent, None).await;
    let arrived = provider_charge("ch_late", "order-1", ChargeStatus::Succeeded);
    let late = write(
        store.as_ref(),
        &late,
        AttemptState::NeedsReconciliation,
        Some(StoredOutcome::Charge(Box::new(arrived.clone()))),
    )
    .await;
    fake.add_charge(arrived);
    let found = heal(&store, &fake).await;
    assert_eq!(found[0].class, Class::Unresolved, "{found:?}");
    assert!(found[0].evidence.contains("late success"), "{found:?}");
    assert_eq!(state_of(&store, &late).await, AttemptState::NeedsReconciliation);
}
