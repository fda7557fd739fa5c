//! Every provider's mutating calls through the journal: charge (paid at the mock when the payer
//! acts), capture, cancel and refund are each recorded as succeeded, and each repeat is answered
//! from the journal with no request at the mock.

use std::sync::Arc;

use payment::journal::{AttemptState, Journal, MemoryStore};
use payment::transport::EngineBuilder;
use payment::{CreateCharge, CreateRefund, IdempotencyKey, PaymentClient, RequestOptions};
use payment_examples::targets;

fn key(k: String) -> RequestOptions {
    RequestOptions::with_key(IdempotencyKey::new(k).unwrap())
}

async fn state(journal: &Journal, k: &str) -> AttemptState {
    journal.payment(k).await.unwrap().unwrap_or_else(|| panic!("{k} is journaled")).state
}

#[tokio::test]
async fn every_provider_journals_charge_capture_cancel_and_refund() {
    for driver in targets::all() {
        let target = targets::start(driver, EngineBuilder::new(driver.name)).await.unwrap();
        let journal = Journal::new(Arc::new(MemoryStore::new()));
        let client: PaymentClient = target.client.clone().with_journal(journal.clone());
        let caps = client.capabilities();
        let f = (driver.fixtures)();
        let name = driver.name;
        let mut request = CreateCharge::new(f.amount, f.source.clone());
        request.payer_ip = Some("127.0.0.1".into());
        let charge = client.create_charge(request.clone(), &key(format!("{name}-charge"))).await.unwrap();
        let charge = targets::settle(&target.client, charge).await.unwrap();
        let before = target.control.requests().len();
        let again = client.create_charge(request.clone(), &key(format!("{name}-charge"))).await.unwrap();
        assert_eq!(again.id, charge.id, "{name}");
        let after = target.control.requests().len();
        // A pending charge is read again once (recovery re-reads it); a final one needs nothing.
        assert!(after - before <= 1, "{name}: {} requests for a repeat", after - before);

        if caps.charge.capture_later {
            let auth =
                client.create_charge(request.clone().authorize_only(), &key(format!("{name}-auth"))).await.unwrap();
            let captured = client.capture_charge(&auth.id, None, &key(format!("{name}-capture"))).await.unwrap();
            let n = target.control.requests().len();
            let repeat = client.capture_charge(&auth.id, None, &key(format!("{name}-capture"))).await.unwrap();
            assert_eq!((repeat.id, target.control.requests().len()), (captured.id, n), "{name}: capture answered");
            assert_eq!(state(&journal, &format!("{name}-capture")).await, AttemptState::Succeeded);
        }
        if caps.charge.cancel && caps.charge.capture_later {
            let auth =
                client.create_charge(request.clone().authorize_only(), &key(format!("{name}-auth2"))).await.unwrap();
            client.cancel_charge(&auth.id, &key(format!("{name}-cancel"))).await.unwrap();
            assert_eq!(state(&journal, &format!("{name}-cancel")).await, AttemptState::Succeeded, "{name}");
        }
        if caps.refund.full {
            let refund =
                client.create_refund(CreateRefund::full(charge.id.clone()), &key(format!("{name}-refund"))).await;
            let refund = refund.unwrap_or_else(|e| panic!("{name}: {e}"));
            let n = target.control.requests().len();
            let repeat =
                client.create_refund(CreateRefund::full(charge.id.clone()), &key(format!("{name}-refund"))).await;
            assert_eq!(repeat.unwrap().id, refund.id, "{name}");
            assert!(target.control.requests().len() - n <= 1, "{name}: a refund repeat is answered (or re-read once)");
            let s = state(&journal, &format!("{name}-refund")).await;
            assert!(
                matches!(s, AttemptState::Succeeded | AttemptState::Pending | AttemptState::AwaitingCustomer),
                "{name}: {s}"
            );
        }
        assert_eq!(
            state(&journal, &format!("{name}-charge")).await,
            AttemptState::Succeeded,
            "{name}: paid and re-read"
        );
    }
}

/// A full refund whose answer is lost is answered on the repeat with the amount it refunded: the
/// amount is fixed before the first byte goes out, so a replay of a refund that landed (which
/// shows the charge refunded already) is never recorded as refunding nothing.
#[tokio::test]
async fn a_full_refund_whose_answer_was_lost_is_recorded_with_what_it_refunded() {
    use payment::mocks::{FaultKind, FaultPlan, FaultRule};
    for driver in targets::all() {
        let target =
            targets::start(driver, EngineBuilder::new(driver.name).retry_policy(payment::retry::Once)).await.unwrap();
        let journal = Journal::new(Arc::new(MemoryStore::new()));
        let client: PaymentClient = target.client.clone().with_journal(journal.clone());
        if !client.capabilities().refund.full {
            continue;
        }
        let f = (driver.fixtures)();
        let name = driver.name;
        let mut request = CreateCharge::new(f.amount, f.source.clone());
        request.payer_ip = Some("127.0.0.1".into());
        let charge = client.create_charge(request, &key(format!("{name}-paid"))).await.unwrap();
        let charge = targets::settle(&target.client, charge).await.unwrap();
        let lose = FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).times(1);
        target.control.set_faults(FaultPlan::new(vec![lose])).unwrap();
        let k = format!("{name}-lost-refund");
        let first = client.create_refund(CreateRefund::full(charge.id.clone()), &key(k.clone())).await;
        target.control.set_faults(FaultPlan::new(vec![])).unwrap();
        if let Ok(refund) = first {
            // A provider whose client read the refund back within the call.
            assert_eq!(refund.amount, charge.amount, "{name}");
            continue;
        }
        let replays = client.capabilities().idempotency.create_refund == payment::IdempotencySupport::Replay;
        match client.create_refund(CreateRefund::full(charge.id.clone()), &key(k.clone())).await {
            Ok(refund) => assert_eq!(refund.amount, charge.amount, "{name}: the repeat reports what was refunded"),
            // A provider whose refunds cannot be read back hands the refund to a person; one that
            // replays a key always answers the repeat.
            Err(e) => assert!(
                !replays
                    && matches!(state(&journal, &k).await, AttemptState::NeedsReconciliation | AttemptState::Unknown),
                "{name}: {e}"
            ),
        }
    }
}
