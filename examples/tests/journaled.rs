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

/// PAY.JP's mock, a journal in memory, the journaled client, and a 3-D Secure charge request.
async fn payjp_3ds() -> (targets::Target, Journal, PaymentClient, CreateCharge) {
    let driver = payment::registry().get("payjp").unwrap();
    let target = targets::start(driver, EngineBuilder::new(driver.name)).await.unwrap();
    let journal = Journal::new(Arc::new(MemoryStore::new()));
    let client: PaymentClient = target.client.clone().with_journal(journal.clone());
    let f = (driver.fixtures)();
    let request = CreateCharge::new(f.amount, f.source.clone())
        .authenticate(payment::Authentication::required("https://shop.example/back").email("buyer@example.com"));
    (target, journal, client, request)
}

/// A charge awaiting its customer through the journal: a repeat of its key answers the same next
/// action with no new charge, recovery re-reads it without resending, the completion is
/// journaled, and the charge's own attempt settles from the provider's word once it is done
/// (or expired).
#[tokio::test]
async fn a_charge_awaiting_its_customer_is_answered_reread_and_settled_never_resent() {
    use payment::mocks::AuthenticationResult;
    use payment::{ChargeStatus, CompletionData};
    let (target, journal, client, request) = payjp_3ds().await;
    let posts = || target.control.requests().iter().filter(|r| r.method == "POST").count();

    let created = client.create_charge(request.clone(), &key("tds-charge".into())).await.unwrap();
    assert_eq!(created.status, ChargeStatus::RequiresAction);
    assert_eq!(state(&journal, "tds-charge").await, AttemptState::AwaitingCustomer);
    let sent = posts();
    journal.recover(&target.client).await.unwrap();
    assert_eq!(state(&journal, "tds-charge").await, AttemptState::AwaitingCustomer, "still the customer's turn");
    let again = client.create_charge(request.clone(), &key("tds-charge".into())).await.unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(again.next_action.unwrap().url, created.next_action.clone().unwrap().url, "the same next action");
    assert_eq!(posts(), sent, "recovery and the repeat only read");
    assert_eq!(target.control.stats().charges, 1);

    target.control.authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    let done = client.complete_charge(&created.id, &CompletionData::none(), &key("tds-done".into())).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);
    assert_eq!(state(&journal, "tds-done").await, AttemptState::Succeeded);
    let repeat = client.create_charge(request.clone(), &key("tds-charge".into())).await.unwrap();
    assert_eq!((repeat.id, repeat.status), (created.id.clone(), ChargeStatus::Succeeded), "read back once completed");
    assert_eq!(state(&journal, "tds-charge").await, AttemptState::Succeeded);

    // Nobody comes back: past PAY.JP's 30 minutes the charge fails and so does its attempt.
    let abandoned = client.create_charge(request, &key("tds-gone".into())).await.unwrap();
    target.control.advance_clock(std::time::Duration::from_secs(31 * 60));
    journal.recover(&target.client).await.unwrap();
    assert_eq!(state(&journal, "tds-gone").await, AttemptState::Declined);
    assert_eq!(target.control.stats().charges, 2, "{}", abandoned.id);
}

/// A customer who failed the issuer's question may go back and pass it: the charge's attempt
/// stays awaiting its customer until the provider ends the flow, never declined early; and a
/// completion whose answers were all lost while the customer had not finished is proven to have
/// done nothing, so the same key completes once they have.
#[tokio::test]
async fn a_failed_question_is_not_the_end_and_an_early_lost_completion_does_not_block_the_key() {
    use payment::mocks::{AuthenticationResult, FaultKind, FaultPlan, FaultRule};
    use payment::{ChargeStatus, CompletionData, Outcome};
    let (target, journal, client, request) = payjp_3ds().await;
    let created = client.create_charge(request.clone(), &key("tds-retry".into())).await.unwrap();
    target.control.authenticate_charge(created.id.as_str(), AuthenticationResult::Failure).unwrap();
    journal.recover(&target.client).await.unwrap();
    assert_eq!(state(&journal, "tds-retry").await, AttemptState::AwaitingCustomer, "not declined before the flow ends");
    let read = client.create_charge(request.clone(), &key("tds-retry".into())).await.unwrap();
    assert_eq!(read.status, ChargeStatus::RequiresAction);
    target.control.authenticate_charge(created.id.as_str(), AuthenticationResult::Success).unwrap();
    let done = client.complete_charge(&created.id, &CompletionData::none(), &key("tds-retry-done".into())).await;
    assert_eq!(done.unwrap().status, ChargeStatus::Succeeded);
    let repeat = client.create_charge(request.clone(), &key("tds-retry".into())).await.unwrap();
    assert_eq!(repeat.status, ChargeStatus::Succeeded);
    assert_eq!(state(&journal, "tds-retry").await, AttemptState::Succeeded);

    // Completed too early, and every answer lost: unknown, then proven to have done nothing.
    let second = client.create_charge(request, &key("tds-second".into())).await.unwrap();
    let lose = FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path("/v1/charges/*/tds_finish");
    target.control.set_faults(FaultPlan::new(vec![lose])).unwrap();
    let e = client.complete_charge(&second.id, &CompletionData::none(), &key("tds-early".into())).await.unwrap_err();
    assert_eq!(e.outcome(), Outcome::Unknown, "{e}");
    target.control.clear_faults();
    journal.recover(&target.client).await.unwrap();
    let p = journal.payment("tds-early").await.unwrap().unwrap();
    assert_eq!(p.state, AttemptState::ProvenAbsent, "{:#?}", journal.store().events("tds-early").await);
    // The customer passes; the same completion key now completes, once.
    target.control.authenticate_charge(second.id.as_str(), AuthenticationResult::Success).unwrap();
    let done = client.complete_charge(&second.id, &CompletionData::none(), &key("tds-early".into())).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);
    assert_eq!(state(&journal, "tds-early").await, AttemptState::Succeeded);
}

/// Worldpay's two customer steps through the journal: the charge awaits its customer across
/// both, a repeat of its key only reads, each completion is journaled under its own key, and the
/// charge's attempt settles once the payment is authorized, with one authorization.
#[tokio::test]
async fn worldpay_device_data_then_challenge_through_the_journal() {
    use payment::mocks::AuthenticationResult::Success;
    use payment::{ChargeStatus, CompletionData, NextActionKind};
    let driver = payment::registry().get("worldpay").unwrap();
    let target = targets::start(driver, EngineBuilder::new(driver.name)).await.unwrap();
    let journal = Journal::new(Arc::new(MemoryStore::new()));
    let client: PaymentClient = target.client.clone().with_journal(journal.clone());
    let f = (driver.fixtures)();
    let source = f.authentication.clone().unwrap().challenge;
    let request = CreateCharge::new(f.amount, source).authenticate(
        payment::Authentication::required("https://shop.example/back").browser("text/html", "Mozilla/5.0 (test)"),
    );
    let posts = || target.control.requests().iter().filter(|r| r.method == "POST").count();

    let created = client.create_charge(request.clone(), &key("wp3ds".into())).await.unwrap();
    assert_eq!(created.next_action.as_ref().unwrap().kind, NextActionKind::DeviceData);
    assert_eq!(state(&journal, "wp3ds").await, AttemptState::AwaitingCustomer);
    let sent = posts();
    journal.recover(&target.client).await.unwrap();
    let again = client.create_charge(request.clone(), &key("wp3ds".into())).await.unwrap();
    assert_eq!((&again.id, &again.next_action), (&created.id, &created.next_action), "the same step, read back");
    assert_eq!(posts(), sent, "recovery and the repeat only read");

    let answer = target.control.authenticate_charge(created.id.as_str(), Success).unwrap();
    let data = CompletionData(answer["data"].clone());
    let challenged = client.complete_charge(&created.id, &data, &key("wp3ds-ddc".into())).await.unwrap();
    assert_eq!(challenged.next_action.as_ref().unwrap().kind, NextActionKind::Challenge);
    assert_eq!(state(&journal, "wp3ds").await, AttemptState::AwaitingCustomer, "still the customer's turn");
    target.control.authenticate_charge(created.id.as_str(), Success).unwrap();
    let done = client.complete_charge(&created.id, &CompletionData::none(), &key("wp3ds-done".into())).await.unwrap();
    assert_eq!(done.status, ChargeStatus::Succeeded);
    assert_eq!(state(&journal, "wp3ds-done").await, AttemptState::Succeeded);
    let repeat = client.create_charge(request, &key("wp3ds".into())).await.unwrap();
    assert_eq!((repeat.id, repeat.status), (created.id.clone(), ChargeStatus::Succeeded), "read back once completed");
    assert_eq!(state(&journal, "wp3ds").await, AttemptState::Succeeded);
    let objects = target.control.objects(usize::MAX);
    let events = objects.charges[0].raw["events"].as_array().unwrap().clone();
    let authorized = events.iter().filter(|e| e["eventName"] == "authorizationSucceeded").count();
    assert_eq!(authorized, 1, "{events:?}");
}

/// A charge whose customer failed authentication: a repeat of its key answers the decline with
/// its own reason, as the completion did, not a generic one.
#[tokio::test]
async fn a_repeat_of_a_charge_that_failed_authentication_keeps_the_reason() {
    use payment::mocks::AuthenticationResult;
    use payment::{CompletionData, DeclineReason, ErrorKind};
    let (target, journal, client, request) = payjp_3ds().await;
    let created = client.create_charge(request.clone(), &key("tds-fail".into())).await.unwrap();
    target.control.authenticate_charge(created.id.as_str(), AuthenticationResult::Failure).unwrap();
    let e = client.complete_charge(&created.id, &CompletionData::none(), &key("tds-fail-done".into())).await;
    let failed = ErrorKind::CardDeclined(DeclineReason::AuthenticationFailed);
    assert_eq!(e.unwrap_err().kind(), failed);
    journal.recover(&target.client).await.unwrap();
    assert_eq!(state(&journal, "tds-fail").await, AttemptState::Declined);
    let repeat = client.create_charge(request, &key("tds-fail".into())).await.unwrap_err();
    assert_eq!(repeat.kind(), failed, "{repeat}");
}
