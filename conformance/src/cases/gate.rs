//! The capability gate: what a provider cannot do is refused before any I/O, naming the provider.

use payment_core::{ChargeId, CreateRefund, ErrorKind, ListCharges, ListRefunds, Money, RefundId, RequestOptions};

use crate::case::{Case, Profile, mock};
use crate::check::{CaseResult, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("gate::unsupported_refused_before_io", needs_something_unsupported, unsupported_refused_before_io),
        case!("gate::amount_limits_before_io", needs_limits, amount_limits_before_io),
    ]
}

fn needs_something_unsupported(p: &Profile) -> Option<&'static str> {
    let c = p.caps;
    let all = c.charge.capture_later
        && c.charge.partial_capture
        && c.charge.cancel
        && c.charge.list
        && c.refund.partial
        && c.refund.retrieve
        && c.refund.list;
    mock(p).or(all.then_some("the provider supports every gated operation"))
}

fn needs_limits(p: &Profile) -> Option<&'static str> {
    mock(p).or(p.caps.amount_limits.is_empty().then_some("the provider declares no amount limits"))
}

/// Every operation the capabilities deny answers `Unsupported` naming the provider, and the mock sees nothing.
pub async fn unsupported_refused_before_io(t: &Target) -> CaseResult {
    let control = t.control()?;
    control.clear_requests();
    let caps = t.client.capabilities();
    let id = ChargeId::new("ch_gate");
    let opts = RequestOptions::default();
    let part = Money::new(1, t.fixtures.amount.currency);
    let mut results = Vec::new();
    if !caps.charge.capture_later {
        results.push((
            "authorize only",
            t.client.create_charge(t.charge_request(t.fixtures.amount, false), &opts).await.err(),
        ));
        results.push(("capture", t.client.capture_charge(&id, None, &opts).await.err()));
    } else if !caps.charge.partial_capture {
        results.push(("partial capture", t.client.capture_charge(&id, Some(part), &opts).await.err()));
    }
    if !caps.charge.cancel {
        results.push(("cancel", t.client.cancel_charge(&id, &opts).await.err()));
    }
    if !caps.charge.list {
        results.push(("list", t.client.list_charges(ListCharges::default()).collect_all().await.err()));
    }
    if !caps.refund.partial {
        results.push((
            "partial refund",
            t.client.create_refund(CreateRefund::partial(id.clone(), part), &opts).await.err(),
        ));
    }
    if !caps.refund.retrieve {
        results.push(("retrieve refund", t.client.retrieve_refund(&id, &RefundId::new("re_gate")).await.err()));
    }
    if !caps.refund.list {
        results.push(("list refunds", t.client.list_refunds(&id, ListRefunds::default()).collect_all().await.err()));
    }
    for (what, err) in results {
        let e = match err {
            Some(e) => e,
            None => return Err(crate::check::Failure::new(format!("{what}: expected Unsupported, got success"))),
        };
        check!(e.kind() == ErrorKind::Unsupported, "{what}: {e}");
        check!(e.to_string().contains(t.client.provider_name()), "{what}: the error must name the provider: {e}");
    }
    check!(control.requests().is_empty(), "the mock saw {} requests", control.requests().len());
    Ok(())
}

/// Amounts outside the declared limits are `InvalidRequest` before any I/O.
pub async fn amount_limits_before_io(t: &Target) -> CaseResult {
    let control = t.control()?;
    control.clear_requests();
    for limit in t.client.capabilities().amount_limits {
        for minor in [limit.min - 1, limit.max.saturating_add(1)] {
            let amount = Money::new(minor, limit.currency);
            let e = expect_err(
                t.client.create_charge(t.charge_request(amount, true), &RequestOptions::default()).await,
                "out of limits",
            )?;
            check!(e.kind() == ErrorKind::InvalidRequest, "{amount}: {e}");
        }
    }
    check!(control.requests().is_empty(), "the mock saw {} requests", control.requests().len());
    Ok(())
}
