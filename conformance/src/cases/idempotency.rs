//! Idempotency: a replay returns the same charge; the same key with another body is refused.

use payment_core::{ErrorKind, IdempotencyKey, Money, RequestOptions};

use crate::case::{Case, always};
use crate::check::{CaseResult, expect_err};
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("idempotency::replay_returns_same_charge", always, replay_returns_same_charge),
        case!("idempotency::same_key_different_body", always, same_key_different_body),
        case!("idempotency::long_keys_sharing_a_prefix_are_two_payments", always, long_keys_sharing_a_prefix),
    ]
}

fn key(t: &Target) -> IdempotencyKey {
    IdempotencyKey::new(format!("{}key", t.reference())).unwrap_or_else(|_| IdempotencyKey::generate())
}

/// Sending the same request with the same key twice creates one charge and returns it twice.
pub async fn replay_returns_same_charge(t: &Target) -> CaseResult {
    let options = RequestOptions::with_key(key(t));
    let mut request = t.charge_request(t.fixtures.amount, true);
    request.reference = None;
    let first = t.client.create_charge(request.clone(), &options).await?;
    let second = t.client.create_charge(request, &options).await?;
    check!(first.id == second.id, "replay created a second charge: {} then {}", first.id, second.id);
    check!(first.amount == second.amount, "replay changed the amount");
    if let Some(control) = &t.control {
        check!(control.stats().charges == 1, "the mock holds {} charges", control.stats().charges);
    }
    Ok(())
}

/// Reusing a key for a different request is `IdempotencyConflict`, and creates nothing.
pub async fn same_key_different_body(t: &Target) -> CaseResult {
    let options = RequestOptions::with_key(key(t));
    let mut request = t.charge_request(t.fixtures.amount, true);
    request.reference = None;
    t.client.create_charge(request.clone(), &options).await?;
    let mut other = request;
    other.amount = Money::new(t.fixtures.amount.minor + 1, t.fixtures.amount.currency);
    let e = expect_err(t.client.create_charge(other, &options).await, "same key, other amount")?;
    check!(e.kind() == ErrorKind::IdempotencyConflict, "same key, other amount: {e}");
    if let Some(control) = &t.control {
        check!(control.stats().charges == 1, "the mock holds {} charges", control.stats().charges);
    }
    Ok(())
}

/// Two keys that share their first 70 characters are two payments: a natural key made from them
/// (an order number, a transaction reference) never cuts them to the same name.
pub async fn long_keys_sharing_a_prefix(t: &Target) -> CaseResult {
    let prefix = format!("{}{}", t.reference(), "p".repeat(56));
    let mut ids = Vec::new();
    for n in 1..=2 {
        let key =
            IdempotencyKey::new(format!("{prefix}-{n}")).map_err(|e| crate::check::Failure::new(e.to_string()))?;
        let mut request = t.charge_request(t.fixtures.amount, true);
        request.reference = None;
        ids.push(t.client.create_charge(request, &RequestOptions::with_key(key)).await?.id);
    }
    check!(ids[0] != ids[1], "two keys were answered with one charge {}", ids[0]);
    if let Some(control) = &t.control {
        check!(control.stats().charges == 2, "the mock holds {} charges for two payments", control.stats().charges);
    }
    Ok(())
}
