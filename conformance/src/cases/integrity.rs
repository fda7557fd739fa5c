//! Integrity: what the provider says it did is checked against what was asked (docs/architecture.md §3): an
//! answer with another amount or currency is an `Integrity` error, never silently accepted.

use payment_core::{ErrorKind, Outcome, RequestOptions};
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};

use crate::case::{Case, Profile, mock};
use crate::check::{CaseResult, Failure};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![case!("integrity::altered_amount_is_refused", needs_an_amount_to_check, altered_amount_is_refused)]
}

fn needs_an_amount_to_check(p: &Profile) -> Option<&'static str> {
    let c = p.caps.charge;
    mock(p).or((!(c.amounts_echoed || c.retrieve))
        .then_some("the provider's answers carry no amount and it cannot read a charge back: nothing to check"))
}

/// With every answer's amount (or currency) changed by the mock, a new charge is refused as
/// `Integrity` when its answer echoes the amount (with its outcome unknown: the charge was made),
/// and otherwise reading it back is.
pub async fn altered_amount_is_refused(t: &Target) -> CaseResult {
    let control = t.control()?;
    control
        .set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::AlterAmount)]))
        .map_err(|e| Failure::new(e.to_string()))?;
    let requested = t.fixtures.amount;
    let outcome = match t.client.create_charge(t.charge_request(requested, true), &RequestOptions::default()).await {
        Err(e) => {
            // The provider made the charge; only what it answered is wrong, so the caller must not
            // read this as a definite failure.
            check!(e.outcome() == Outcome::Unknown, "an altered create answer was reported definite: {e}");
            Err(e)
        }
        Ok(created) => {
            check!(
                created.amount == requested,
                "the charge was accepted as {} for a request of {requested}",
                created.amount
            );
            check!(
                t.client.capabilities().charge.retrieve,
                "the create answer echoes no amount and the charge cannot be read back: nothing was checked"
            );
            t.client.retrieve_charge(&created.id).await.map(|read| (created, read))
        }
    };
    control.clear_faults();
    let altered = control.requests().iter().filter(|r| r.fault.as_deref() == Some("alter_amount")).count();
    check!(altered > 0, "the mock found no amount to alter in any answer");
    match outcome {
        Err(e) => check!(e.kind() == ErrorKind::Integrity, "expected Integrity, got {e}"),
        Ok((_, read)) => {
            return Err(Failure::new(format!("an altered answer was accepted: {} {}", read.id, read.amount)));
        }
    }
    Ok(())
}
