//! Tolerant reading: answers with fields the client does not know still decode, and keep them in `raw`.

use payment_core::{ListCharges, RequestOptions};
use payment_mock_kit::middleware::EXTRA_FIELD;
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule};

use crate::case::{Case, mock};
use crate::check::{CaseResult, Failure};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![case!("tolerance::unknown_fields", mock, unknown_fields)]
}

/// With unknown fields added to every answer (and to every list item), create, retrieve and list
/// still work, and the unknown field is kept in the record's raw JSON.
pub async fn unknown_fields(t: &Target) -> CaseResult {
    let control = t.control()?;
    control
        .set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::ExtraFields)]))
        .map_err(|e| Failure::new(e.to_string()))?;
    let created = t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?;
    check!(created.raw.field(EXTRA_FIELD).is_some(), "the created record's raw JSON lacks the unknown field");
    if t.client.capabilities().charge.retrieve {
        let read = t.client.retrieve_charge(&created.id).await?;
        check!(
            read.id == created.id && read.raw.field(EXTRA_FIELD).is_some(),
            "retrieve did not keep the unknown field"
        );
    }
    if t.client.capabilities().charge.list {
        let query = ListCharges { page_size: Some(5), created_from: Some(t.started), ..ListCharges::default() };
        let listed = t.client.list_charges(query).collect_all().await?;
        check!(listed.iter().any(|c| c.id == created.id), "the charge is missing from the list");
    }
    control.clear_faults();
    Ok(())
}
