//! Reading the journal's rows and writing its JSON columns, the same for every SQL backend:
//! generic over sqlx's `Row`, so a decoding error points here and not into the store macro.

use payment_core::{Operation, Result};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::record::{Attempt, Payment, StoredOutcome};
use crate::state::AttemptState;
use crate::store::storage;

/// The operation a stored row names; a name no mutation has is a store written by something else.
pub(crate) fn stored_operation(name: &str) -> Result<Operation> {
    Operation::from_name(name).filter(|op| op.is_mutation()).ok_or_else(|| {
        storage("read an attempt's operation", format!("{name:?} is not an operation the journal records"))
    })
}

/// An attempt from its row (the columns of `ATTEMPT_COLUMNS`).
pub(crate) fn attempt_from_row<R>(row: &R) -> Result<Attempt>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let text = |c: &str| row.try_get::<String, _>(c).map_err(|e| storage("read an attempt", e));
    let opt = |c: &str| row.try_get::<Option<String>, _>(c).map_err(|e| storage("read an attempt", e));
    let int = |c: &str| row.try_get::<i64, _>(c).map_err(|e| storage("read an attempt", e));
    let opt_int = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(|e| storage("read an attempt", e));
    let state: AttemptState = text("state")?.parse().map_err(|e: String| storage("read an attempt's state", e))?;
    let request = serde_json::from_str(&text("request")?).map_err(|e| storage("read an attempt's request", e))?;
    let outcome: Option<StoredOutcome> = match opt("outcome")? {
        Some(o) => Some(serde_json::from_str(&o).map_err(|e| storage("read an attempt's outcome", e))?),
        None => None,
    };
    Ok(Attempt {
        id: text("id")?,
        idempotency_key: text("idempotency_key")?,
        seq: int("seq")?,
        account: text("provider")?,
        operation: stored_operation(&text("operation")?)?,
        state,
        version: int("version")?,
        provider_key: text("provider_key")?,
        request,
        charge_id: opt("charge_id")?,
        refund_id: opt("refund_id")?,
        outcome,
        created_ms: int("created_ms")?,
        updated_ms: int("updated_ms")?,
        dispatched_ms: opt_int("dispatched_ms")?,
        due_ms: int("due_ms")?,
        lease_owner: opt("lease_owner")?,
        lease_until_ms: opt_int("lease_until_ms")?,
        recover_tries: int("recover_tries")?,
    })
}

/// A payment from its row, with its attempts.
pub(crate) fn payment_from_row<R>(row: &R, attempts: Vec<Attempt>) -> Result<Payment>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    payment_from_columns(row, "", attempts)
}

/// A payment from its columns, each named `prefix` + the column (a joined row's `p_…`).
pub(crate) fn payment_from_columns<R>(row: &R, prefix: &str, attempts: Vec<Attempt>) -> Result<Payment>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let name = |c: &str| format!("{prefix}{c}");
    let text = |c: &str| row.try_get::<String, _>(name(c).as_str()).map_err(|e| storage("read a payment", e));
    let int = |c: &str| row.try_get::<i64, _>(name(c).as_str()).map_err(|e| storage("read a payment", e));
    Ok(Payment {
        idempotency_key: text("idempotency_key")?,
        operation: stored_operation(&text("operation")?)?,
        account: text("provider")?,
        state: text("state")?.parse().map_err(|e: String| storage("read a payment's state", e))?,
        charge_id: row
            .try_get::<Option<String>, _>(name("charge_id").as_str())
            .map_err(|e| storage("read a payment", e))?,
        fingerprint: text("fingerprint")?,
        created_ms: int("created_ms")?,
        updated_ms: int("updated_ms")?,
        attempts,
    })
}

/// An outcome as the text column stores it.
pub(crate) fn outcome_text(o: &Option<StoredOutcome>) -> Result<Option<String>> {
    o.as_ref().map(|o| serde_json::to_string(o).map_err(|e| storage("encode an outcome", e))).transpose()
}
