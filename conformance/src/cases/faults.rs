//! Faults at the mock, each aimed at the operation's own request: retries that never apply an
//! operation twice, and `OutcomeUnknown` where nothing can be repeated.

use std::time::Duration;

use payment_core::{
    ChargeRecord, ChargeStatus, CreateRefund, ErrorKind, IdempotencySupport, Money, Operation, Outcome, RequestOptions,
};
use payment_mock_kit::FaultKind;

use crate::case::{Case, Profile, mock, repeatable};
use crate::check::{CaseResult, Failure, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("faults::retry_503_then_success", needs_create, retry_503_then_success),
        case!("faults::rate_limit_waits_retry_after", needs_sleeper, rate_limit_waits_retry_after),
        case!("faults::drop_after_commit_charges_once", needs_create, drop_after_commit_charges_once),
        case!("faults::reset_before_commit_is_retried", needs_create, reset_before_commit_is_retried),
        case!("faults::drop_after_commit_captures_once", needs_capture, drop_after_commit_captures_once),
        case!("faults::reset_before_commit_capture_is_retried", needs_capture, reset_before_commit_capture_is_retried),
        case!("faults::drop_after_commit_cancels_once", needs_cancel, drop_after_commit_cancels_once),
        case!("faults::reset_before_commit_cancel_is_retried", needs_cancel, reset_before_commit_cancel_is_retried),
        case!("faults::drop_after_commit_refunds_once", needs_refund, drop_after_commit_refunds_once),
        case!("faults::reset_before_commit_refund_is_retried", needs_refund, reset_before_commit_refund_is_retried),
        case!(
            "faults::drop_on_unrepeatable_is_outcome_unknown",
            needs_unrepeatable,
            drop_on_unrepeatable_is_outcome_unknown
        ),
    ]
}

fn needs_create(p: &Profile) -> Option<&'static str> {
    repeatable(p, Operation::CreateCharge)
}

fn needs_sleeper(p: &Profile) -> Option<&'static str> {
    needs_create(p).or((!p.recording_sleeper).then_some("needs a recording sleeper"))
}

fn needs_capture(p: &Profile) -> Option<&'static str> {
    (!p.caps.charge.capture_later)
        .then_some("provider cannot capture later")
        .or(repeatable(p, Operation::CaptureCharge))
}

fn needs_cancel(p: &Profile) -> Option<&'static str> {
    let c = p.caps.charge;
    (!(c.cancel && (c.capture_later || c.async_completion)))
        .then_some("provider has nothing to cancel")
        .or(repeatable(p, Operation::CancelCharge))
        .or((c.async_completion && !c.retrieve).then_some("an unpaid charge is read back to check it"))
}

fn needs_refund(p: &Profile) -> Option<&'static str> {
    (!p.caps.refund.partial).then_some("provider cannot refund in part").or(repeatable(p, Operation::CreateRefund))
}

fn needs_unrepeatable(p: &Profile) -> Option<&'static str> {
    let i = p.caps.idempotency;
    mock(p).or((i.create_charge != IdempotencySupport::None && i.create_refund != IdempotencySupport::None)
        .then_some("every operation can be repeated"))
}

async fn create_once_under(t: &Target, kind: FaultKind) -> CaseResult {
    let control = t.control()?;
    t.fault_on(Operation::CreateCharge, kind)?;
    let request = t.charge_request(t.fixtures.amount, true);
    let reference = request.reference.clone().unwrap_or_default();
    let charge = t.client.create_charge(request, &RequestOptions::default()).await?;
    check!(charge.amount == t.fixtures.amount, "amount {}", charge.amount);
    check!(control.kit().counts().1 == 1, "the fault did not fire on the charge's own request");
    let stats = control.stats();
    check!(stats.charges == 1, "the mock holds {} charges, expected exactly one", stats.charges);
    if let Some(n) = stats.charges_by_reference.get(&reference) {
        check!(*n == 1, "reference {reference} charged {n} times");
    }
    let read = t.read_back(charge.clone()).await?;
    check!(read.id == charge.id, "the returned charge reads back");
    Ok(())
}

/// A 503 on create is retried and ends with one charge.
pub async fn retry_503_then_success(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::Status { status: 503, retry_after: None }).await
}

/// A 429 with `Retry-After: 2` makes the engine wait exactly two seconds, then succeed.
pub async fn rate_limit_waits_retry_after(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::Status { status: 429, retry_after: Some(2) }).await?;
    let sleeper = t.sleeper.as_ref().ok_or_else(|| Failure::new("no recording sleeper"))?;
    check!(sleeper.delays().contains(&Duration::from_secs(2)), "delays chosen: {:?}", sleeper.delays());
    Ok(())
}

/// The answer to a create is lost after the provider committed: the caller still gets a
/// definite charge and the provider holds exactly one.
pub async fn drop_after_commit_charges_once(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::DropAfterCommit).await
}

/// The connection breaks before the provider committed: retried, one charge.
pub async fn reset_before_commit_is_retried(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::ResetBeforeCommit).await
}

async fn capture_once_under(t: &Target, kind: FaultKind) -> CaseResult {
    let control = t.control()?;
    let auth = t.authorized_charge(t.fixtures.amount).await?;
    let before = control.kit().counts().1;
    t.fault_on(Operation::CaptureCharge, kind)?;
    let captured = t.client.capture_charge(&auth.id, None, &RequestOptions::default()).await?;
    check!(control.kit().counts().1 == before + 1, "the fault did not fire on the capture's own request");
    t.expect_paid(&captured, t.fixtures.amount)?;
    check!(
        control.stats().captures == 1,
        "the mock applied {} captures, expected exactly one",
        control.stats().captures
    );
    let read = t.read_back(captured).await?;
    check!(read.status == ChargeStatus::Succeeded, "the charge reads back {}", read.status);
    Ok(())
}

/// The answer to a capture is lost after the provider captured: one capture, and the caller knows it.
pub async fn drop_after_commit_captures_once(t: &Target) -> CaseResult {
    capture_once_under(t, FaultKind::DropAfterCommit).await
}

/// The connection breaks before the capture landed: retried, captured once.
pub async fn reset_before_commit_capture_is_retried(t: &Target) -> CaseResult {
    capture_once_under(t, FaultKind::ResetBeforeCommit).await
}

/// A charge that can still be canceled: authorized, or (asynchronous providers) not yet paid.
async fn cancelable(t: &Target) -> Result<ChargeRecord, Failure> {
    if t.client.capabilities().charge.capture_later {
        return t.authorized_charge(t.fixtures.amount).await;
    }
    Ok(t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?)
}

async fn cancel_once_under(t: &Target, kind: FaultKind) -> CaseResult {
    let control = t.control()?;
    let open = cancelable(t).await?;
    let before = control.kit().counts().1;
    t.fault_on(Operation::CancelCharge, kind)?;
    let canceled = t.client.cancel_charge(&open.id, &RequestOptions::default()).await?;
    check!(control.kit().counts().1 == before + 1, "the fault did not fire on the cancel's own request");
    check!(canceled.status == ChargeStatus::Canceled, "status {}", canceled.status);
    let read = t.read_back(canceled).await?;
    check!(read.status == ChargeStatus::Canceled, "the charge reads back {}", read.status);
    check!(read.amount_captured.minor == 0, "a canceled charge captured {}", read.amount_captured);
    Ok(())
}

/// The answer to a cancel is lost after the provider canceled: the caller still learns it is canceled.
pub async fn drop_after_commit_cancels_once(t: &Target) -> CaseResult {
    cancel_once_under(t, FaultKind::DropAfterCommit).await
}

/// The connection breaks before the cancel landed: retried, canceled.
pub async fn reset_before_commit_cancel_is_retried(t: &Target) -> CaseResult {
    cancel_once_under(t, FaultKind::ResetBeforeCommit).await
}

async fn refund_once_under(t: &Target, kind: FaultKind) -> CaseResult {
    let control = t.control()?;
    let paid = t.paid_charge(t.fixtures.amount).await?;
    let part = Money::new(t.fixtures.amount.minor / 4, t.fixtures.amount.currency);
    let before = control.kit().counts().1;
    t.fault_on(Operation::CreateRefund, kind)?;
    let request = CreateRefund::partial(paid.id.clone(), part).reason("conformance");
    let refund = t.client.create_refund(request, &RequestOptions::default()).await?;
    check!(control.kit().counts().1 == before + 1, "the fault did not fire on the refund's own request");
    check!(refund.amount == part, "refund amount {} != {part}", refund.amount);
    check!(control.stats().refunds == 1, "the mock applied {} refunds, expected exactly one", control.stats().refunds);
    let caps = t.client.capabilities();
    if caps.charge.retrieve && !caps.refund.async_completion {
        let read = t.client.retrieve_charge(&paid.id).await?;
        check!(read.amount_refunded == part, "the charge says refunded {} != {part}", read.amount_refunded);
    }
    Ok(())
}

/// The answer to a refund is lost after the provider refunded: one refund, and the caller knows it.
pub async fn drop_after_commit_refunds_once(t: &Target) -> CaseResult {
    refund_once_under(t, FaultKind::DropAfterCommit).await
}

/// The connection breaks before the refund landed: retried, refunded once.
pub async fn reset_before_commit_refund_is_retried(t: &Target) -> CaseResult {
    refund_once_under(t, FaultKind::ResetBeforeCommit).await
}

/// On an operation nothing makes repeatable, a lost answer is `OutcomeUnknown` carrying the key,
/// and the request is not sent again.
pub async fn drop_on_unrepeatable_is_outcome_unknown(t: &Target) -> CaseResult {
    let control = t.control()?;
    let caps = t.client.capabilities();
    let options = RequestOptions::default().timeout(Duration::from_secs(30));
    let (result, operation) = if caps.idempotency.create_refund == IdempotencySupport::None {
        let paid = t.paid_charge(t.fixtures.amount).await?;
        let part = Money::new(t.fixtures.amount.minor / 2, t.fixtures.amount.currency);
        control.clear_requests();
        t.fault_on(Operation::CreateRefund, FaultKind::DropAfterCommit)?;
        let request = CreateRefund::partial(paid.id, part).reason("conformance");
        (t.client.create_refund(request, &options).await.map(|_| ()), Operation::CreateRefund)
    } else {
        control.clear_requests();
        t.fault_on(Operation::CreateCharge, FaultKind::DropAfterCommit)?;
        (
            t.client.create_charge(t.charge_request(t.fixtures.amount, true), &options).await.map(|_| ()),
            Operation::CreateCharge,
        )
    };
    let e = expect_err(result, "lost answer on an unrepeatable operation")?;
    check!(
        e.kind() == ErrorKind::OutcomeUnknown && e.outcome() == Outcome::Unknown,
        "expected OutcomeUnknown, got {e}"
    );
    check!(
        e.idempotency_key().is_some() || e.reference().is_some(),
        "OutcomeUnknown must carry a key or reference: {e}"
    );
    check!(e.operation() == Some(operation), "the error names operation {:?}, not {operation}", e.operation());
    let faulted: Vec<_> = control.requests().into_iter().filter(|r| r.fault.is_some()).collect();
    check!(faulted.len() == 1, "the fault fired {} times", faulted.len());
    let resent = control.requests().iter().filter(|r| r.method == "POST" && r.path == faulted[0].path).count();
    check!(resent == 1, "the request was sent {resent} times; it must never be resent");
    Ok(())
}
