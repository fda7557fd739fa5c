//! The console's listing (`GET /__mock__/objects`): every mock shows what it holds in one shape,
//! amounts in minor units with the currency's decimals, and forgets it all on reset.

use payment_core::{CreateRefund, Money, RequestOptions};

use crate::case::{Case, Profile, mock};
use crate::check::CaseResult;
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("console::objects_show_charges_and_refunds", needs_refund, objects_show_charges_and_refunds),
        case!(
            "console::an_async_charge_is_completable_until_paid",
            needs_async,
            an_async_charge_is_completable_until_paid
        ),
        case!("console::reset_forgets_everything", mock, reset_forgets_everything),
    ]
}

fn needs_refund(p: &Profile) -> Option<&'static str> {
    mock(p).or((!p.caps.refund.full).then_some("provider cannot refund"))
}

fn needs_async(p: &Profile) -> Option<&'static str> {
    mock(p).or((!p.caps.charge.async_completion).then_some("provider's charges complete at once"))
}

/// A paid and refunded charge is listed once with its amount, and its refund beside it.
pub async fn objects_show_charges_and_refunds(t: &Target) -> CaseResult {
    let amount = t.fixtures.amount;
    let paid = t.paid_charge(amount).await?;
    let part = Money::new(amount.minor / 4, amount.currency);
    let refund = if t.client.capabilities().refund.partial {
        CreateRefund::partial(paid.id.clone(), part)
    } else {
        CreateRefund::full(paid.id.clone())
    };
    let refunded = t.client.create_refund(refund.reason("console"), &RequestOptions::default()).await?;
    let listed = t.control()?.objects(10);
    check!(listed.charges.len() == 1, "expected one charge, the mock lists {}", listed.charges.len());
    let charge = &listed.charges[0];
    check!(
        (charge.amount, charge.currency.as_str()) == (amount.minor, amount.currency.code()),
        "listed as {} {} for a charge of {amount}",
        charge.amount,
        charge.currency
    );
    check!(charge.amount_display == amount.to_major_string(), "shown as {} for {amount}", charge.amount_display);
    check!(!charge.completable, "a paid charge is still offered to the payer");
    check!(charge.reference.is_some(), "the charge shows no merchant reference");
    check!(charge.raw.is_object(), "no provider-shaped JSON: {}", charge.raw);
    check!(listed.refunds.len() == 1, "expected one refund, the mock lists {}", listed.refunds.len());
    let listed_refund = &listed.refunds[0];
    check!(
        listed_refund.amount == refunded.amount.minor,
        "refund listed as {} for {}",
        listed_refund.amount,
        refunded.amount
    );
    check!(
        listed_refund.charge.as_ref() == Some(&charge.id),
        "the refund names {:?}, not {}",
        listed_refund.charge,
        charge.id
    );
    // Where the client's ids are not the provider's, the console shows the client's beside them.
    let shown = |o: &payment_mock_kit::MockObject| o.client_id.clone().unwrap_or_else(|| o.id.clone());
    check!(
        shown(charge) == paid.id.as_str(),
        "the console shows charge {}, the client said {}",
        shown(charge),
        paid.id
    );
    if listed_refund.client_id.is_some() {
        check!(
            shown(listed_refund) == refunded.id.as_str(),
            "the console shows refund {}, the client said {}",
            shown(listed_refund),
            refunded.id
        );
    }
    Ok(())
}

/// The payer can pay a charge the console lists as completable; once paid it no longer is.
pub async fn an_async_charge_is_completable_until_paid(t: &Target) -> CaseResult {
    let created = t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?;
    let control = t.control()?;
    let before = control.objects(10);
    check!(
        before.charges.len() == 1 && before.charges[0].completable,
        "the new charge {} is not completable",
        created.id
    );
    let id = before.charges[0].id.clone();
    control.complete_charge(&id).map_err(|e| crate::Failure::new(format!("complete {id}: {e}")))?;
    let after = control.objects(10);
    check!(!after.charges[0].completable, "still completable after the payer paid");
    check!(after.charges[0].status != before.charges[0].status, "the status stayed {}", after.charges[0].status);
    let read = t.client.retrieve_charge(&created.id).await?;
    check!(
        read.status == payment_core::ChargeStatus::Succeeded,
        "the client reads {} after the payer paid",
        read.status
    );
    Ok(())
}

/// A reset leaves the mock as freshly started: nothing listed, counted or logged.
pub async fn reset_forgets_everything(t: &Target) -> CaseResult {
    t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?;
    let control = t.control()?;
    check!(!control.objects(10).charges.is_empty(), "the charge is not listed");
    control.reset();
    let listed = control.objects(10);
    check!(listed.charges.is_empty() && listed.refunds.is_empty(), "objects survived the reset");
    check!(control.stats().charges == 0, "the stats still count {} charges", control.stats().charges);
    check!(control.requests().is_empty(), "the request log survived the reset");
    let again = t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await;
    check!(again.is_ok(), "the mock does not charge after a reset: {:?}", again.err());
    Ok(())
}
