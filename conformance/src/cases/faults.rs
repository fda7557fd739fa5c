//! Faults at the mock: retries that never charge twice, and `OutcomeUnknown` where nothing can be repeated.

use std::time::Duration;

use payment_core::{CreateRefund, ErrorKind, IdempotencySupport, Money, Outcome, RequestOptions};
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};

use crate::case::{Case, Profile, mock};
use crate::check::{CaseResult, Failure, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("faults::retry_503_then_success", needs_repeatable_create, retry_503_then_success),
        case!("faults::rate_limit_waits_retry_after", needs_sleeper, rate_limit_waits_retry_after),
        case!("faults::drop_after_commit_charges_once", needs_repeatable_create, drop_after_commit_charges_once),
        case!("faults::reset_before_commit_is_retried", needs_repeatable_create, reset_before_commit_is_retried),
        case!(
            "faults::drop_on_unrepeatable_is_outcome_unknown",
            needs_unrepeatable,
            drop_on_unrepeatable_is_outcome_unknown
        ),
    ]
}

fn needs_repeatable_create(p: &Profile) -> Option<&'static str> {
    mock(p).or((!p.caps.idempotency.create_charge.survives_ambiguity()).then_some("charge creation cannot be repeated"))
}

fn needs_sleeper(p: &Profile) -> Option<&'static str> {
    mock(p).or((!p.recording_sleeper).then_some("needs a recording sleeper"))
}

fn needs_unrepeatable(p: &Profile) -> Option<&'static str> {
    let i = p.caps.idempotency;
    mock(p).or((i.create_charge != IdempotencySupport::None && i.create_refund != IdempotencySupport::None)
        .then_some("every operation can be repeated"))
}

fn fault(t: &Target, kind: FaultKind) -> Result<(), Failure> {
    let plan = FaultPlan::new(vec![FaultRule::always(kind).methods(&["POST"]).times(1)]);
    t.control()?.set_faults(plan).map_err(|e| Failure::new(e.to_string()))
}

async fn create_once_under(t: &Target, kind: FaultKind) -> CaseResult {
    let control = t.control()?;
    fault(t, kind)?;
    let request = t.charge_request(t.fixtures.amount, true);
    let reference = request.reference.clone().unwrap_or_default();
    let charge = t.client.create_charge(request, &RequestOptions::default()).await?;
    check!(charge.amount == t.fixtures.amount, "amount {}", charge.amount);
    let stats = control.stats();
    check!(stats.charges == 1, "the mock holds {} charges, expected exactly one", stats.charges);
    if let Some(n) = stats.charges_by_reference.get(&reference) {
        check!(*n == 1, "reference {reference} charged {n} times");
    }
    let read = t.client.retrieve_charge(&charge.id).await?;
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

/// The response to a create is lost after the provider committed: the caller still gets a
/// definite charge and the provider holds exactly one.
pub async fn drop_after_commit_charges_once(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::DropAfterCommit).await
}

/// The connection breaks before the provider committed: retried, one charge.
pub async fn reset_before_commit_is_retried(t: &Target) -> CaseResult {
    create_once_under(t, FaultKind::ResetBeforeCommit).await
}

/// On an operation nothing makes repeatable, a lost response is `OutcomeUnknown` carrying the key,
/// and the request is not sent again.
pub async fn drop_on_unrepeatable_is_outcome_unknown(t: &Target) -> CaseResult {
    let control = t.control()?;
    let caps = t.client.capabilities();
    let options = RequestOptions::default().timeout(Duration::from_secs(30));
    let result = if caps.idempotency.create_refund == IdempotencySupport::None {
        let paid = t.paid_charge(t.fixtures.amount).await?;
        let part = Money::new(t.fixtures.amount.minor / 2, t.fixtures.amount.currency);
        control.clear_requests();
        fault(t, FaultKind::DropAfterCommit)?;
        t.client.create_refund(CreateRefund::partial(paid.id, part).reason("conformance"), &options).await.map(|_| ())
    } else {
        control.clear_requests();
        fault(t, FaultKind::DropAfterCommit)?;
        t.client.create_charge(t.charge_request(t.fixtures.amount, true), &options).await.map(|_| ())
    };
    let e = expect_err(result, "lost response on an unrepeatable operation")?;
    check!(
        e.kind() == ErrorKind::OutcomeUnknown && e.outcome() == Outcome::Unknown,
        "expected OutcomeUnknown, got {e}"
    );
    check!(
        e.idempotency_key().is_some() || e.reference().is_some(),
        "OutcomeUnknown must carry a key or reference: {e}"
    );
    let posts = control.requests().iter().filter(|r| r.method == "POST").count();
    check!(posts == 1, "the request was sent {posts} times; it must never be resent");
    Ok(())
}
