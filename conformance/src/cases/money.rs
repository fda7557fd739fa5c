//! Money: every currency exponent the provider accepts round-trips exactly.

use payment_core::RequestOptions;

use crate::case::{Case, always};
use crate::check::CaseResult;
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![case!("money::currency_exponents_round_trip", always, currency_exponents_round_trip)]
}

/// A charge in each fixture currency (JPY 0, CNY 2, BHD 3 where accepted) reads back to the minor unit.
pub async fn currency_exponents_round_trip(t: &Target) -> CaseResult {
    check!(!t.fixtures.currencies.is_empty(), "the harness gave no currency fixtures");
    for amount in &t.fixtures.currencies {
        let created = t.client.create_charge(t.charge_request(*amount, true), &RequestOptions::default()).await?;
        check!(created.amount == *amount, "created {} for {amount}", created.amount);
        let read = t.read_back(created).await?;
        check!(read.amount == *amount, "read back {} for {amount}", read.amount);
    }
    Ok(())
}
