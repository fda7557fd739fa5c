//! Reconciliation: each kind of difference between the journal and the provider made on purpose
//! and found by name; an attempt left unsettled by a journal that failed its write is settled by
//! `heal` from the provider's word; a provider with no list API is refused, never skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use payment_core::{
    ChargeRecord, ChargeStatus, CreateRefund, ErrorKind, ListCharges, Money, PaymentClient, RequestOptions, Timestamp,
};
use payment_journal::{
    AttemptState, Class, FaultyStore, Finding, Journal, JournalOptions, JournalStore, MemoryStore, ReconcileOptions,
    ReconcileSummary, Reconciler, StoreFault, StoreStep, Window,
};
use payment_mock_kit::FaultKind;

use crate::case::{Case, Profile};
use crate::check::{CaseResult, Failure};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("reconcile::every_difference_named", needs_mock_and_refunds, every_difference_named),
        case!("reconcile::refused_without_a_list", crate::case::always, refused_without_a_list),
    ]
}

fn needs_mock_and_refunds(p: &Profile) -> Option<&'static str> {
    crate::case::mock(p)
        .or((!p.caps.charge.list).then_some("provider has no list API (see reconcile::refused_without_a_list)"))
        .or((!p.caps.refund.full).then_some("provider cannot refund"))
}

fn reconciler(store: &Arc<FaultyStore>, heal: bool) -> Reconciler {
    // Lists of the mocks are never late; small slices and pages walk the slicing too.
    let options = ReconcileOptions { heal, slice: 2, page_size: Some(2), late_data_secs: Some(0) };
    Reconciler::new(store.clone() as Arc<dyn JournalStore>, options)
}

async fn run(
    t: &Target,
    store: &Arc<FaultyStore>,
    client: &PaymentClient,
    heal: bool,
) -> Result<(ReconcileSummary, HashMap<String, Finding>), Failure> {
    let window = Window { since: t.started, until: Timestamp::from_unix(Timestamp::now().unix() + 60) };
    let mut by_reference = HashMap::new();
    let mut stray = Vec::new();
    let summary = reconciler(store, heal)
        .run(client, window, &mut |f: &Finding| match &f.reference {
            Some(r) if r.starts_with(&t.tag) => {
                if by_reference.insert(r.clone(), f.clone()).is_some() {
                    stray.push(format!("{r} judged twice"));
                }
            }
            _ => stray.push(format!("{f:?}")),
        })
        .await?;
    check!(stray.is_empty(), "findings not about this case's charges, or twice: {stray:?}");
    Ok((summary, by_reference))
}

fn class_of(found: &HashMap<String, Finding>, reference: &str, what: &str) -> Result<Class, Failure> {
    found.get(reference).map(|f| f.class).ok_or_else(|| Failure::new(format!("{what} ({reference}) was not examined")))
}

/// A charge through `client`, paid at the mock when the payer must act.
async fn paid(t: &Target, client: &PaymentClient, amount: Money) -> Result<ChargeRecord, Failure> {
    let created = client.create_charge(t.charge_request(amount, true), &RequestOptions::default()).await?;
    complete(t, created).await
}

async fn complete(t: &Target, created: ChargeRecord) -> Result<ChargeRecord, Failure> {
    if matches!(created.status, ChargeStatus::RequiresAction | ChargeStatus::Pending) {
        t.control()?.complete_charge(created.id.as_str()).map_err(|e| Failure::new(format!("complete: {e}")))?;
        return Ok(t.client.retrieve_charge(&created.id).await?);
    }
    Ok(created)
}

/// The charge the provider holds with `reference` (this case's charges only).
async fn listed(t: &Target, reference: &str) -> Result<ChargeRecord, Failure> {
    let query = ListCharges { created_from: Some(t.started), ..ListCharges::default() };
    let mut charges = t.client.list_charges(query);
    while let Some(c) = charges.next().await {
        let c = c?;
        if c.reference.as_deref() == Some(reference) {
            return Ok(c);
        }
    }
    Err(Failure::new(format!("no charge with reference {reference} is listed")))
}

async fn every_difference_named(t: &Target) -> CaseResult {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    // A short client lease: the attempt a failed journal write leaves dispatched is free soon.
    let options = JournalOptions { lease: Duration::from_millis(1500), ..JournalOptions::default() };
    let journal = Journal::with_options(store.clone(), options);
    let journaled = t.client.unjournaled().with_journal(journal.hook());
    let amount = t.fixtures.amount;
    let asynchronous = t.client.capabilities().charge.async_completion;

    // A journaled success whose provider forgets it (the mock is reset).
    let gone = paid(t, &journaled, amount).await?;
    if asynchronous {
        // Paid at the mock; the journal hears it from heal here (a webhook, in an app).
        let (_, found) = run(t, &store, &journaled, true).await?;
        let class = class_of(&found, gone.reference.as_deref().unwrap_or_default(), "a paid charge")?;
        check!(class == Class::Healed, "a paid charge the journal held open: {class:?}");
    }
    t.control()?.reset();
    let gone_reference = gone.reference.clone().unwrap_or_default();

    let matched = paid(t, &journaled, amount).await?;
    let refunded_later = paid(t, &journaled, amount).await?;
    let outside = paid(t, &t.client, amount).await?;

    // The provider charges one unit more than asked, and says it charged what was asked.
    t.fault_on(payment_core::Operation::CreateCharge, FaultKind::ChargeOtherAmount)?;
    let other_amount = paid(t, &journaled, amount).await?;
    t.control()?.set_faults(Default::default()).map_err(|e| Failure::new(e.to_string()))?;

    // The journal fails to write the outcome: the money moved, the attempt stays dispatched.
    let outcome_state = if asynchronous { AttemptState::Pending } else { AttemptState::Succeeded };
    store.inject(StoreStep::Transition(outcome_state), StoreFault::Fail, 1);
    let stuck_request = t.charge_request(amount, true);
    let stuck_reference = stuck_request.reference.clone().unwrap_or_default();
    // The caller may hear the answer (the money moved) or an error; the journal holds neither.
    let _answered = journaled.create_charge(stuck_request, &RequestOptions::default()).await;
    let left = journal.store().attempts_for(journaled.account(), None, Some(&stuck_reference)).await?;
    check!(left.iter().all(|a| a.state.is_unresolved()), "the failed write left a settled attempt: {left:?}");
    complete(t, listed(t, &stuck_reference).await?).await?;
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let reference = |c: &ChargeRecord| c.reference.clone().unwrap_or_default();
    // First with heal: what the journal left open and the provider has decided is settled.
    let (healing, found) = run(t, &store, &journaled, true).await?;
    check!(
        class_of(&found, &stuck_reference, "the stuck charge")? == Class::Healed,
        "stuck: {:?}",
        found.get(&stuck_reference)
    );
    let stuck = journal.store().attempts_for(journaled.account(), None, Some(&stuck_reference)).await?;
    check!(
        stuck.iter().any(|a| a.state == AttemptState::Succeeded && a.charge_id.is_some()),
        "heal did not settle the stuck attempt as a success with its charge: {stuck:?}"
    );
    if asynchronous {
        // Paid at the mock, pending in the journal (no webhook here): settled the same way.
        check!(
            class_of(&found, &reference(&matched), "a paid charge")? == Class::Healed,
            "{:?}",
            found.get(&reference(&matched))
        );
    }

    // A refund made at the provider, not through the journal.
    let refund = match t.client.capabilities().refund.partial {
        true => CreateRefund::partial(refunded_later.id.clone(), Money::new(amount.minor / 2, amount.currency)),
        false => CreateRefund::full(refunded_later.id.clone()),
    };
    t.client.create_refund(refund, &RequestOptions::default()).await?;

    let (summary, found) = run(t, &store, &journaled, false).await?;
    let expect = [
        (reference(&matched), Class::Matched, "a journaled charge"),
        (stuck_reference.clone(), Class::Matched, "the healed charge"),
        (gone_reference.clone(), Class::JournalOnly, "a journaled success the provider forgot"),
        (reference(&outside), Class::ProviderOnly, "a charge made without the journal"),
        (reference(&refunded_later), Class::StatusMismatch, "a charge refunded at the provider"),
        (reference(&other_amount), Class::AmountMismatch, "a charge of another amount"),
    ];
    for (r, class, what) in &expect {
        let got = class_of(&found, r, what)?;
        check!(got == *class, "{what}: {:?}, expected {}", found.get(r), class.as_str());
    }
    check!(found.len() == expect.len(), "examined {} charges, expected {}: {found:?}", found.len(), expect.len());
    check!(summary.differences() == 4, "differences {} != 4 ({:?})", summary.differences(), summary.counts);
    check!(healing.count(Class::Healed) >= 1, "{healing:?}");
    let gone_finding = &found[&gone_reference];
    check!(
        gone_finding.idempotency_key.is_some() && gone_finding.evidence.contains(gone.id.as_str()),
        "journal_only names its payment and charge: {gone_finding:?}"
    );
    Ok(())
}

async fn refused_without_a_list(t: &Target) -> CaseResult {
    if t.client.capabilities().charge.list {
        return Ok(());
    }
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let window = Window { since: t.started, until: Timestamp::now() };
    let refused = reconciler(&store, false).run(&t.client, window, &mut |_| {}).await;
    match refused {
        Err(e) => {
            check!(e.kind() == ErrorKind::Unsupported, "{e}");
            check!(e.to_string().contains("no list API"), "the refusal names the reason: {e}");
            Ok(())
        }
        Ok(summary) => Err(Failure::new(format!("reconciled without a list API: {summary:?}"))),
    }
}
