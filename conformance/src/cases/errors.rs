//! Errors map to the right kinds: not found, bad key, decline.

use payment_core::{ChargeId, ChargeStatus, CreateCharge, ErrorKind, Operation, RequestOptions};

use crate::case::{Case, Profile, retrieve};
use crate::check::{CaseResult, Failure, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("errors::not_found", retrieve, not_found),
        case!("errors::bad_key", needs_bad_key, bad_key),
        case!("errors::decline", needs_decline, decline),
    ]
}

fn needs_bad_key(p: &Profile) -> Option<&'static str> {
    (!p.bad_key).then_some("no bad-key client for this target (in-process providers and sandboxes)")
}

fn needs_decline(p: &Profile) -> Option<&'static str> {
    (!p.decline).then_some("no decline fixture")
}

/// A charge that does not exist is `NotFound`, not a decode error or a 500.
pub async fn not_found(t: &Target) -> CaseResult {
    let id = ChargeId::new(format!("ch_{}missing", t.tag));
    let e = expect_err(t.client.retrieve_charge(&id).await, "retrieve of a missing charge")?;
    check!(e.kind() == ErrorKind::NotFound, "missing charge: {e}");
    check!(e.provider() == t.client.provider_name(), "error names provider {:?}", e.provider());
    check!(e.operation() == Some(Operation::RetrieveCharge), "error names operation {:?}", e.operation());
    Ok(())
}

/// Wrong credentials are `Authentication`, and the key never shows in the error.
pub async fn bad_key(t: &Target) -> CaseResult {
    let client = t.bad_key_client.as_ref().ok_or_else(|| Failure::new("no bad-key client"))?;
    let e = expect_err(
        client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await,
        "bad key",
    )?;
    check!(e.kind() == ErrorKind::Authentication, "bad key: {e}");
    check!(!e.is_retryable(), "an authentication failure is not retryable");
    Ok(())
}

/// A declining source is `CardDeclined` with the neutral reason (or a `failed` record for async providers).
pub async fn decline(t: &Target) -> CaseResult {
    let (source, reason) = t.fixtures.decline.clone().ok_or_else(|| Failure::new("no decline fixture"))?;
    let mut request = CreateCharge::new(t.fixtures.amount, source).reference(t.reference());
    request.payer_ip = Some("127.0.0.1".into());
    match t.client.create_charge(request, &RequestOptions::default()).await {
        Err(e) => {
            check!(e.kind() == ErrorKind::CardDeclined(reason), "decline: expected {reason:?}, got {e}");
            check!(e.provider_code().is_some(), "a decline keeps the provider's code");
        }
        Ok(record) => {
            check!(record.status == ChargeStatus::Failed, "declined charge has status {}", record.status);
            check!(record.failure.is_some(), "a failed charge says why");
        }
    }
    Ok(())
}
