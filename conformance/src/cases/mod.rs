//! Every case of the suite, by group.

pub mod action;
pub mod charge;
pub mod console;
pub mod errors;
pub mod faults;
pub mod gate;
pub mod idempotency;
pub mod integrity;
pub mod list;
pub mod money;
pub mod reconcile;
pub mod refund;
pub mod tolerance;

use crate::case::Case;

/// All cases, in a stable order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(charge::cases());
    v.extend(refund::cases());
    v.extend(list::cases());
    v.extend(errors::cases());
    v.extend(idempotency::cases());
    v.extend(faults::cases());
    v.extend(integrity::cases());
    v.extend(money::cases());
    v.extend(gate::cases());
    v.extend(tolerance::cases());
    v.extend(console::cases());
    v.extend(action::cases());
    v.extend(reconcile::cases());
    v
}
