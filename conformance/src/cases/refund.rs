//! Refunds: full, second rejected, partial up to and over the total, retrieve and list.

use std::collections::HashSet;

use payment_core::{CreateRefund, ErrorKind, ListRefunds, Money, RefundStatus, RequestOptions};

use crate::case::{Case, Profile};
use crate::check::{CaseResult, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("refund::full_then_second_rejected", needs_full, full_then_second_rejected),
        case!("refund::partial_twice", needs_multiple, partial_twice),
        case!("refund::partial_up_to_total_then_over", needs_multiple, partial_up_to_total_then_over),
        case!("refund::retrieve_and_list", needs_retrieve_list, retrieve_and_list),
    ]
}

fn needs_full(p: &Profile) -> Option<&'static str> {
    (!p.caps.refund.full)
        .then_some("provider cannot refund in full")
        .or((p.caps.charge.async_completion && !p.control).then_some("paying an async charge needs the mock"))
}

fn needs_multiple(p: &Profile) -> Option<&'static str> {
    needs_full(p).or((!(p.caps.refund.partial && p.caps.refund.multiple_partial))
        .then_some("provider cannot refund in several parts"))
}

fn needs_retrieve_list(p: &Profile) -> Option<&'static str> {
    needs_full(p)
        .or((!(p.caps.refund.retrieve && p.caps.refund.list)).then_some("provider cannot read refunds on their own"))
}

/// Whether a refund shows on the charge read back at once (refunds are synchronous and charges readable).
fn reads_refunds(t: &Target) -> bool {
    let caps = t.client.capabilities();
    caps.charge.retrieve && !caps.refund.async_completion
}

fn refund_ok(status: RefundStatus) -> bool {
    matches!(status, RefundStatus::Succeeded | RefundStatus::Pending)
}

fn over_refund_kind(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Conflict | ErrorKind::InvalidRequest)
}

/// A full refund returns the whole amount; a second full refund is refused and moves nothing.
pub async fn full_then_second_rejected(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let paid = t.paid_charge(amount).await?;
    let refund = t
        .client
        .create_refund(CreateRefund::full(paid.id.clone()).reason("requested_by_customer"), &RequestOptions::default())
        .await?;
    check!(refund.amount == amount, "refund amount {} != {amount}", refund.amount);
    check!(refund.charge_id == paid.id, "refund names charge {} not {}", refund.charge_id, paid.id);
    check!(refund_ok(refund.status), "refund status {}", refund.status.as_str());
    let e = expect_err(
        t.client.create_refund(CreateRefund::full(paid.id.clone()), &RequestOptions::default()).await,
        "second full refund",
    )?;
    check!(over_refund_kind(e.kind()), "second full refund: {e}");
    if reads_refunds(t) {
        let read = t.client.retrieve_charge(&paid.id).await?;
        check!(read.amount_refunded == amount, "charge says refunded {} != {amount}", read.amount_refunded);
    }
    Ok(())
}

/// Two partial refunds add up on the charge.
pub async fn partial_twice(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let paid = t.paid_charge(amount).await?;
    let a = Money::new(amount.minor / 4, amount.currency);
    let b = Money::new(amount.minor / 4, amount.currency);
    let r1 = t
        .client
        .create_refund(CreateRefund::partial(paid.id.clone(), a).reason("partial"), &RequestOptions::default())
        .await?;
    let r2 = t
        .client
        .create_refund(CreateRefund::partial(paid.id.clone(), b).reason("partial"), &RequestOptions::default())
        .await?;
    check!(r1.amount == a && r2.amount == b, "refund amounts {} and {}", r1.amount, r2.amount);
    check!(r1.id != r2.id, "two refunds share the id {}", r1.id);
    if reads_refunds(t) {
        let read = t.client.retrieve_charge(&paid.id).await?;
        check!(read.amount_refunded == a.checked_add(b)?, "charge says refunded {}", read.amount_refunded);
    }
    Ok(())
}

/// Partial refunds may reach the captured total exactly; one minor unit more is refused.
pub async fn partial_up_to_total_then_over(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let paid = t.paid_charge(amount).await?;
    let first = Money::new(amount.minor / 3, amount.currency);
    let rest = amount.checked_sub(first)?;
    t.client
        .create_refund(CreateRefund::partial(paid.id.clone(), first).reason("partial"), &RequestOptions::default())
        .await?;
    let over = Money::new(rest.minor + 1, amount.currency);
    let e = expect_err(
        t.client
            .create_refund(CreateRefund::partial(paid.id.clone(), over).reason("partial"), &RequestOptions::default())
            .await,
        "refund over the remaining amount",
    )?;
    check!(over_refund_kind(e.kind()), "over-refund: {e}");
    t.client
        .create_refund(CreateRefund::partial(paid.id.clone(), rest).reason("partial"), &RequestOptions::default())
        .await?;
    let one = Money::new(1, amount.currency);
    let e = expect_err(
        t.client
            .create_refund(CreateRefund::partial(paid.id.clone(), one).reason("partial"), &RequestOptions::default())
            .await,
        "refund of a fully refunded charge",
    )?;
    check!(over_refund_kind(e.kind()), "refund past the total: {e}");
    Ok(())
}

/// Each refund reads back by id, and the list shows each exactly once.
pub async fn retrieve_and_list(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let paid = t.paid_charge(amount).await?;
    let part = Money::new(amount.minor / 4, amount.currency);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = t
            .client
            .create_refund(CreateRefund::partial(paid.id.clone(), part).reason("partial"), &RequestOptions::default())
            .await?;
        let read = t.client.retrieve_refund(&paid.id, &r.id).await?;
        check!(read.id == r.id && read.amount == part, "retrieved refund differs: {read:?}");
        ids.push(r.id);
    }
    let listed = t.client.list_refunds(&paid.id, ListRefunds { page_size: Some(2) }).collect_all().await?;
    let mut seen = HashSet::new();
    for r in &listed {
        check!(seen.insert(r.id.clone()), "refund {} listed twice", r.id);
    }
    for id in &ids {
        check!(seen.contains(id), "refund {id} missing from the list");
    }
    Ok(())
}
