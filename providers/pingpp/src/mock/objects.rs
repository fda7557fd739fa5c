//! The mock's charges and refunds for the console (`GET /__mock__/objects`).

use payment_core::{Currency, Money};
use payment_mock_kit::objects::{newest, newest_by};
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::Value;

use super::state::Account;
use crate::wire::Charge;

/// Ping++ charges carry flags, not a status; the console names the state they add up to.
fn status(raw: &Value, c: &Charge, now: i64) -> &'static str {
    let refunded = raw["amount_refunded"].as_i64().unwrap_or(0);
    if c.reversed {
        "reversed"
    } else if c.paid && refunded >= c.amount {
        "refunded"
    } else if c.paid && refunded > 0 {
        "partially_refunded"
    } else if c.paid {
        "succeeded"
    } else if c.time_expire.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "pending"
    }
}

impl Account {
    /// The `limit` newest charges as `GET /v1/charges/{id}` shows them, and refunds, oldest first.
    pub fn objects(&self, now: i64, limit: usize) -> MockObjects {
        let charges = newest(self.charges.newest_first(), limit)
            .into_iter()
            .map(|c| {
                let raw = self.render(c, now);
                let status = status(&raw, c, now);
                MockObject::new(c.id.clone(), status, Money::new(c.amount, Currency::CNY), c.created)
                    .reference(c.order_no.clone())
                    .completable(status == "pending")
                    .raw(raw)
            })
            .collect();
        // Refunds of different charges interleave in time: pick the newest before rendering any.
        let all = self.charges.oldest_first().flat_map(|c| self.refunds.get(&c.id).into_iter().flatten()).collect();
        let refunds = newest_by(all, |stored| stored.created(), limit)
            .into_iter()
            .map(|stored| {
                let r = stored.view(now);
                MockObject::new(r.id.clone(), r.status.clone(), Money::new(r.amount, Currency::CNY), r.created)
                    .reference(r.order_no.clone())
                    .of_charge(r.charge.clone())
                    .raw(serde_json::json!(r))
            })
            .collect();
        MockObjects { charges, refunds }
    }

    /// Forgets every charge and refund, keeping the configured refund delay.
    pub fn reset(&mut self) {
        let refund_delay = self.refund_delay;
        *self = Account::default();
        self.refund_delay = refund_delay;
    }
}

#[cfg(test)]
mod tests {
    use payment_mock_kit::IdGen;

    use super::*;

    fn charge_body(order_no: &str, amount: i64) -> Vec<u8> {
        serde_json::json!({"order_no": order_no, "app": {"id": "app_MockMockMock0001"}, "channel": "alipay",
            "amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_charge_is_pending_until_paid_then_partially_refunded() {
        let ids = IdGen::new(7);
        let mut account = Account::default();
        let created = account.create_charge(&ids, 1_000, &charge_body("order1", 1_234)).unwrap();
        let id = created.body["id"].as_str().unwrap().to_owned();
        let listed = account.objects(1_000, 10);
        let charge = &listed.charges[0];
        assert_eq!((charge.status.as_str(), charge.completable), ("pending", true));
        assert_eq!((charge.amount, charge.amount_display.as_str()), (1_234, "12.34"));
        assert_eq!(charge.reference.as_deref(), Some("order1"));
        account.pay(&ids, &id, 1_001).unwrap();
        account.refund(&ids, &id, 1_002, br#"{"description":"d","amount":34}"#).unwrap();
        let listed = account.objects(1_002, 10);
        assert_eq!((listed.charges[0].status.as_str(), listed.charges[0].completable), ("partially_refunded", false));
        assert_eq!(listed.refunds.len(), 1);
        assert_eq!(listed.refunds[0].charge.as_deref(), Some(id.as_str()));
        assert_eq!(listed.refunds[0].amount_display, "0.34");
        account.reset();
        assert!(account.objects(1_003, 10).charges.is_empty());
    }
}
