//! The soak through a router over two accounts of one provider (two mocks, each under faults)
//! with a journal under faults: a payment may move to the second account only when nothing was
//! charged at the first, so a reference is charged at most once across both.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use payment::journal::{AttemptState, FaultyStore, Journal};
use payment::mocks::MockControl;
use payment::routing::{RouteContext, RoutedClient};
use payment::{IdempotencyKey, ProviderDriver, RequestOptions, RouteConfig};

use super::{
    CALL_DEADLINE, Report, Rng, Told, call_twice, engine, is_live, journal_options, mock_faults, payment_of,
    plan_journal_faults, provider_down, told,
};
use crate::targets;

/// One routed charge and what its caller was told, first and after a repeat.
struct RoutedCall {
    key: String,
    first: Told,
    last: Told,
    /// A definite failure either of two concurrent calls was told.
    told_failed: Option<String>,
}

/// Runs `schedules` seeded routed charges over two accounts of `provider` with the journal at `url`.
pub async fn run_routed(
    provider: &'static ProviderDriver,
    url: &str,
    schedules: u64,
    seed: u64,
) -> Result<Report, String> {
    let first = targets::start(provider, engine(provider.name, seed)).await?;
    let second = targets::start(provider, engine(provider.name, seed ^ 1)).await?;
    let names = [format!("{}-a", provider.name), format!("{}-b", provider.name)];
    let store = payment::journal::open_store(url).await.map_err(|e| e.to_string())?;
    let faulty = Arc::new(FaultyStore::new(store));
    let journal = Journal::with_options(faulty.clone(), journal_options());
    let route = RouteConfig { name: "all".into(), targets: names.to_vec(), ..RouteConfig::default() };
    let router = RoutedClient::builder()
        .account(names[0].clone(), first.client.clone())
        .account(names[1].clone(), second.client.clone())
        .routes(&[route])
        .journal(journal.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let mocks = [first.control.clone(), second.control.clone()];
    mocks[0].set_faults(mock_faults(seed)).map_err(|e| e.to_string())?;
    mocks[1].set_faults(mock_faults(seed.wrapping_add(1))).map_err(|e| e.to_string())?;
    let mut report =
        Report { provider: format!("{} (routed)", provider.name), schedules: schedules as usize, ..Report::default() };
    let fixtures = (provider.fixtures)();
    let mut calls = Vec::new();
    for n in 0..schedules {
        super::progress(&report.provider, n, schedules);
        let mut rng = Rng(seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
        plan_journal_faults(&mut rng, &faulty);
        let key = format!("radv{seed}n{n}");
        let request = fixtures.charge(Some(key.clone()));
        let options = RequestOptions::with_key(IdempotencyKey::new(key.clone()).map_err(|e| e.to_string())?);
        let charging = call_twice(rng.below(5) == 0, || async {
            router
                .route_charge(request.clone(), &RouteContext::default(), &options)
                .await
                .result
                .map(|c| c.id.to_string())
        });
        match tokio::time::timeout(CALL_DEADLINE * 6, charging).await {
            Ok((result, told_failed)) => {
                if let Ok(id) = &result {
                    pay(&mocks, id);
                }
                let t = told(&result);
                calls.push(RoutedCall { key, first: t.clone(), last: t, told_failed });
            }
            Err(_) => {
                report.hung += 1;
                report.violate(format!("routed payment {key} hung"));
            }
        }
    }
    super::progress(&report.provider, schedules, schedules);
    report.journal_faults = faulty.fired().len();
    faulty.clear();
    for control in &mocks {
        for entry in control.requests() {
            if let Some(fault) = entry.fault {
                *report.mock_faults.entry(fault.split_whitespace().next().unwrap_or("?").to_owned()).or_default() += 1;
            }
        }
    }
    // Recovery while both accounts are down must change nothing it cannot prove.
    for control in &mocks {
        control.set_faults(provider_down()).map_err(|e| e.to_string())?;
    }
    tokio::time::sleep(journal.options().lease).await;
    journal.recover(&router).await.map_err(|e| format!("recovery while down: {e}"))?;
    for control in &mocks {
        control.clear_faults();
    }
    settle_all(&router, &mocks, Duration::from_secs(10)).await?;
    for call in calls.iter_mut().filter(|c| c.first == Told::Unknown) {
        let request = fixtures.charge(Some(call.key.clone()));
        let options = RequestOptions::with_key(IdempotencyKey::new(call.key.clone()).map_err(|e| e.to_string())?);
        let result =
            router.route_charge(request, &RouteContext::default(), &options).await.result.map(|c| c.id.to_string());
        if let Ok(id) = &result {
            pay(&mocks, id);
        }
        call.last = told(&result);
    }
    settle_all(&router, &mocks, Duration::from_secs(5)).await?;
    check(&journal, &mocks, &calls, &mut report).await?;
    Ok(report)
}

/// The payer pays a charge at whichever account made it (a routed id may carry the account).
fn pay(mocks: &[MockControl; 2], id: &str) {
    let provider_id = id.rsplit('/').next().unwrap_or(id);
    for control in mocks {
        let _ = control.complete_charge(provider_id);
    }
}

/// Pays what is still waiting at either account and recovers, until nothing is left to pay.
async fn settle_all(router: &RoutedClient, mocks: &[MockControl; 2], within: Duration) -> Result<(), String> {
    for _ in 0..3 {
        let mut waiting = 0;
        for control in mocks {
            for c in control.objects(usize::MAX).charges.into_iter().filter(|c| c.completable) {
                waiting += 1;
                let _ = control.complete_charge(&c.id);
            }
        }
        router.recover(within).await.map_err(|e| format!("recovery: {e}"))?;
        if waiting == 0 {
            break;
        }
    }
    Ok(())
}

async fn check(
    journal: &Journal,
    mocks: &[MockControl; 2],
    calls: &[RoutedCall],
    report: &mut Report,
) -> Result<(), String> {
    report.calls = calls.len();
    for call in calls {
        report.told[match call.first {
            Told::Done(_) => 0,
            Told::Failed(_) => 1,
            Told::Unknown => 2,
        }] += 1;
    }
    // 1. A reference charged at most once across both accounts.
    let objects: Vec<_> = mocks.iter().map(|m| m.objects(usize::MAX).charges).collect();
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    for c in objects.iter().flatten().filter(|c| is_live(c)) {
        if let Some(reference) = &c.reference {
            *live.entry(payment_of(reference).to_owned()).or_default() += 1;
        }
    }
    for (reference, n) in &live {
        if *n > 1 {
            report.duplicate_effects += 1;
            report.violate(format!("reference {reference} charged {n} times across the two accounts"));
        }
    }
    // 2. Distinct keys never share a charge.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for call in calls {
        for t in [&call.first, &call.last] {
            if let Told::Done(id) = t
                && let Some(other) = seen.insert(id.clone(), call.key.clone())
                && other != call.key
            {
                report.shared_objects += 1;
                report.violate(format!("{id} answered to keys {other} and {}", call.key));
            }
        }
    }
    // 3. Told "failed", yet charged at either account.
    for call in calls {
        let failed =
            matches!(call.first, Told::Failed(_)) || matches!(call.last, Told::Failed(_)) || call.told_failed.is_some();
        if failed && live.contains_key(&call.key) {
            report.failed_but_done += 1;
            report.violate(format!(
                "{} was told {:?} then {:?} (a concurrent call: {:?}), but an account charged it",
                call.key, call.first, call.last, call.told_failed
            ));
        }
    }
    // 4. Every payment terminal, or with a person and a reason.
    for p in journal.store().payments(None).await.map_err(|e| e.to_string())? {
        match p.state {
            AttemptState::NeedsReconciliation => {
                report.reconcile += 1;
                if p.latest().is_none_or(|a| a.outcome.is_none()) {
                    report.unresolved += 1;
                    report.violate(format!("{} needs reconciliation without a reason", p.idempotency_key));
                }
            }
            s if s.is_unresolved() => {
                report.unresolved += 1;
                report.violate(format!("{} left {s}", p.idempotency_key));
            }
            _ => {}
        }
    }
    Ok(())
}
