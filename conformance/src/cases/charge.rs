//! Charges: create, retrieve, capture later (full, partial), cancel.

use payment_core::{ChargeStatus, ErrorKind, Money, RequestOptions};

use crate::case::{Case, Profile, retrieve};
use crate::check::{CaseResult, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("charge::create_and_retrieve", retrieve, create_and_retrieve),
        case!("charge::capture_later_full", needs_capture, capture_later_full),
        case!("charge::capture_later_partial", needs_partial_capture, capture_later_partial),
        case!("charge::cancel", needs_cancel, cancel),
        case!("charge::cancel_unpaid", needs_async_cancel, cancel_unpaid),
    ]
}

fn needs_capture(p: &Profile) -> Option<&'static str> {
    (!p.caps.charge.capture_later).then_some("provider cannot capture later")
}

fn needs_partial_capture(p: &Profile) -> Option<&'static str> {
    needs_capture(p).or((!p.caps.charge.partial_capture).then_some("provider cannot capture in part"))
}

fn needs_cancel(p: &Profile) -> Option<&'static str> {
    needs_capture(p).or((!p.caps.charge.cancel).then_some("provider cannot cancel"))
}

fn needs_async_cancel(p: &Profile) -> Option<&'static str> {
    (!(p.caps.charge.async_completion && p.caps.charge.cancel))
        .then_some("charges are not asynchronous or cannot be canceled")
}

/// A created charge reports the amount, reference and provider asked for, and reads back the same.
pub async fn create_and_retrieve(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let request = t.charge_request(amount, true);
    let reference = request.reference.clone();
    let created = t.client.create_charge(request, &RequestOptions::default()).await?;
    check!(
        created.provider == t.client.provider_name(),
        "provider {} != {}",
        created.provider,
        t.client.provider_name()
    );
    check!(created.amount == amount, "amount {} != {amount}", created.amount);
    check!(created.reference == reference, "reference {:?} != {reference:?}", created.reference);
    let expected = if t.client.capabilities().charge.async_completion {
        matches!(created.status, ChargeStatus::RequiresAction | ChargeStatus::Pending)
    } else {
        created.status == ChargeStatus::Succeeded
    };
    check!(expected, "unexpected status {} for a new charge", created.status);
    let read = t.client.retrieve_charge(&created.id).await?;
    check!(read.id == created.id, "retrieved id {} != {}", read.id, created.id);
    check!(read.amount == amount && read.reference == reference, "retrieved charge differs: {read:?}");
    Ok(())
}

/// Authorize now, capture the whole amount later.
pub async fn capture_later_full(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let auth = t.authorized_charge(amount).await?;
    check!(auth.amount_captured.minor == 0, "nothing captured yet, got {}", auth.amount_captured);
    let captured = t.client.capture_charge(&auth.id, None, &RequestOptions::default()).await?;
    t.expect_paid(&captured, amount)?;
    let again =
        expect_err(t.client.capture_charge(&auth.id, None, &RequestOptions::default()).await, "second capture")?;
    check!(matches!(again.kind(), ErrorKind::Conflict | ErrorKind::InvalidRequest), "second capture: {again}");
    Ok(())
}

/// Authorize, then capture part: what the merchant keeps (captured minus refunded) is the part.
///
/// Providers report the released rest differently (PAY.JP counts it as refunded), so the case pins
/// the money kept, the one thing every provider must agree on.
pub async fn capture_later_partial(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let auth = t.authorized_charge(amount).await?;
    let part = Money::new(amount.minor / 2, amount.currency);
    let captured = t.client.capture_charge(&auth.id, Some(part), &RequestOptions::default()).await?;
    check!(captured.status == ChargeStatus::Succeeded, "status {}", captured.status);
    let kept = captured.amount_captured.checked_sub(captured.amount_refunded)?;
    check!(
        kept == part,
        "kept {kept} (captured {} - refunded {}) != {part}",
        captured.amount_captured,
        captured.amount_refunded
    );
    let caps = t.client.capabilities();
    if caps.charge.retrieve && caps.charge.partial_amounts_on_read {
        let read = t.client.retrieve_charge(&auth.id).await?;
        check!(
            read.amount_captured.checked_sub(read.amount_refunded)? == part,
            "the charge reads back differently: {read:?}"
        );
    }
    Ok(())
}

/// An authorized charge can be canceled, and then not captured.
pub async fn cancel(t: &Target) -> CaseResult {
    let auth = t.authorized_charge(t.fixtures.amount).await?;
    let canceled = t.client.cancel_charge(&auth.id, &RequestOptions::default()).await?;
    check!(canceled.status == ChargeStatus::Canceled, "status {}", canceled.status);
    let read = t.read_back(canceled).await?;
    check!(read.status == ChargeStatus::Canceled, "retrieved status {}", read.status);
    let e =
        expect_err(t.client.capture_charge(&auth.id, None, &RequestOptions::default()).await, "capture after cancel")?;
    check!(matches!(e.kind(), ErrorKind::Conflict | ErrorKind::InvalidRequest), "capture after cancel: {e}");
    Ok(())
}

/// An asynchronous charge the payer has not paid yet can be canceled; the payer can then no longer pay it.
pub async fn cancel_unpaid(t: &Target) -> CaseResult {
    let created = t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?;
    check!(
        matches!(created.status, ChargeStatus::RequiresAction | ChargeStatus::Pending),
        "new charge is {}",
        created.status
    );
    let canceled = t.client.cancel_charge(&created.id, &RequestOptions::default()).await?;
    check!(canceled.status == ChargeStatus::Canceled, "status {}", canceled.status);
    let again = t.client.cancel_charge(&created.id, &RequestOptions::default()).await?;
    check!(again.status == ChargeStatus::Canceled, "a second cancel changes nothing, got {}", again.status);
    if let Some(control) = &t.control {
        check!(control.complete_charge(created.id.as_str()).is_err(), "a canceled charge cannot be paid");
    }
    let read = t.read_back(again).await?;
    check!(read.status == ChargeStatus::Canceled, "retrieved status {}", read.status);
    Ok(())
}
