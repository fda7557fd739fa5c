//! The mock's charges and refunds for the console (`GET /__mock__/objects`).

use payment_core::{Currency, Money};
use payment_mock_kit::objects::newest;
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::json;

use super::state::Account;
use crate::mapping::REFERENCE_KEY;
use crate::wire::Charge;

/// PAY.JP charges carry flags, not a status; the console names the state they add up to.
fn status(c: &Charge, now: i64) -> &'static str {
    if c.failure_code.is_some() {
        "failed"
    } else if !c.paid && c.three_d_secure_status.as_deref() == Some("failed") {
        // The issuer said no; `tds_finish` has not ended the flow yet.
        "authentication_failed"
    } else if !c.paid && c.three_d_secure_status.is_some() {
        "requires_action"
    } else if c.amount_refunded >= c.amount && c.refunded {
        "refunded"
    } else if c.refunded {
        "partially_refunded"
    } else if !c.captured && c.expired_at.is_some_and(|t| t <= now) {
        "expired"
    } else if !c.captured {
        "authorized"
    } else {
        "succeeded"
    }
}

impl Account {
    /// The `limit` newest charges, and refunds applied, oldest first.
    pub fn objects(&self, now: i64, limit: usize) -> MockObjects {
        let charges = newest(self.charges.newest_first(), limit)
            .into_iter()
            .map(|c| {
                let reference = c.metadata.as_ref().and_then(|m| m.get(REFERENCE_KEY)).cloned().unwrap_or_default();
                MockObject::new(c.id.clone(), status(c, now), Money::new(c.amount, Currency::JPY), c.created)
                    .reference(reference)
                    .authenticable(
                        self.tds.contains_key(&c.id)
                            && c.three_d_secure_status.as_deref() == Some("unverified")
                            && now <= c.created + crate::mapping::THREE_D_SECURE_WINDOW_SECS,
                    )
                    .raw(json!(c))
            })
            .collect();
        let refunds = newest(self.refund_log.iter().enumerate().rev(), limit)
            .into_iter()
            .map(|(i, (charge, yen, at))| {
                // The client's id for a refund: the charge and its refunded total after it.
                let after: i64 = self.refund_log[..=i].iter().filter(|(c, _, _)| c == charge).map(|(_, y, _)| y).sum();
                MockObject::new(format!("{charge}#{}", i + 1), "succeeded", Money::new(*yen, Currency::JPY), *at)
                    .client_id(format!("{charge}:refund:{after}"))
                    .of_charge(charge.clone())
                    .raw(json!({"charge": charge, "amount": yen, "created": at, "note": "PAY.JP has no refund object: the refund is the charge's amount_refunded"}))
            })
            .collect();
        MockObjects { charges, refunds }
    }
}
