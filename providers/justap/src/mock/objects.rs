//! The mock's charges and refunds for the console (`GET /__mock__/objects`).

use payment_core::{Currency, Money};
use payment_mock_kit::objects::{newest, newest_by};
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::json;

use super::state::{Account, MockCharge};

impl Account {
    /// Justap charges carry flags, not a status; the console names the state they add up to.
    fn status(&self, c: &MockCharge, now: i64) -> &'static str {
        let refunded: i64 = self.refunds.get(&c.id).map(|l| l.iter().map(|r| r.fen).sum()).unwrap_or(0);
        if c.reversed_at.is_some() {
            "reversed"
        } else if c.paid_at.is_some() && refunded >= c.fen {
            "refunded"
        } else if c.paid_at.is_some() && refunded > 0 {
            "partially_refunded"
        } else if c.paid_at.is_some() {
            "succeeded"
        } else if c.closed_at(now).is_some() {
            "closed"
        } else {
            "pending"
        }
    }

    /// The `limit` newest charges as `GET /v1/charges/{id}` shows them, and refunds, oldest first.
    pub fn objects(&self, now: i64, limit: usize) -> MockObjects {
        let charges = newest(self.charges.newest_first(), limit)
            .into_iter()
            .map(|c| {
                let status = self.status(c, now);
                MockObject::new(c.id.clone(), status, Money::new(c.fen, Currency::CNY), c.created)
                    .reference(c.trade_id.clone())
                    .completable(status == "pending")
                    .raw(json!(self.charge_wire(c, now)))
            })
            .collect();
        // Refunds of different charges interleave in time: pick the newest before rendering any.
        let all = self
            .charges
            .oldest_first()
            .flat_map(|c| self.refunds.get(&c.id).into_iter().flatten().map(move |r| (c, r)))
            .collect();
        let refunds = newest_by(all, |(_, r)| r.created, limit)
            .into_iter()
            .map(|(c, r)| {
                MockObject::new(r.id.clone(), "succeeded", Money::new(r.fen, Currency::CNY), r.created)
                    .reference(r.merchant_refund_id.clone())
                    .of_charge(r.charge_id.clone())
                    .raw(json!(self.refund_wire(r, &c.trade_id)))
            })
            .collect();
        MockObjects { charges, refunds }
    }
}

#[cfg(test)]
mod tests {
    use payment_mock_kit::IdGen;

    use super::*;

    #[test]
    fn a_charge_is_pending_until_paid_then_partially_refunded() {
        let ids = IdGen::new(7);
        let mut account = Account::default();
        let body = json!({"app_id": "app_mock_0001", "merchant_trade_id": "order1", "amount": "12.34",
            "currency": "CNY", "channel": "AlipayQR", "subject": "s", "body": "b", "client_ip": "127.0.0.1"});
        account.create_charge(&ids, 1_000, body.to_string().as_bytes()).unwrap();
        let listed = account.objects(1_000, 10);
        let charge = listed.charges[0].clone();
        assert_eq!((charge.status.as_str(), charge.completable), ("pending", true));
        assert_eq!((charge.amount, charge.amount_display.as_str()), (1_234, "12.34"));
        assert_eq!(charge.reference.as_deref(), Some("order1"));
        assert_eq!(charge.raw["amount"].to_string(), "12.34");
        account.pay(&ids, &charge.id, 1_001).unwrap();
        let refund = json!({"app_id": "app_mock_0001", "charge_id": charge.id, "merchant_refund_id": "r1",
            "description": "d", "amount": "0.34"});
        account.refund(&ids, 1_002, refund.to_string().as_bytes()).unwrap();
        let listed = account.objects(1_002, 10);
        assert_eq!(listed.charges[0].status, "partially_refunded");
        assert_eq!(listed.refunds[0].charge.as_deref(), Some(charge.id.as_str()));
        assert_eq!(listed.refunds[0].amount_display, "0.34");
    }

    #[test]
    fn an_unpaid_charge_closes_at_its_ttl() {
        let ids = IdGen::new(7);
        let mut account = Account::default();
        let body = json!({"app_id": "app_mock_0001", "merchant_trade_id": "order2", "amount": "1",
            "currency": "CNY", "channel": "AlipayQR", "subject": "s", "body": "b", "client_ip": "127.0.0.1", "ttl": 60});
        account.create_charge(&ids, 1_000, body.to_string().as_bytes()).unwrap();
        let later = account.objects(1_060, 10);
        assert_eq!((later.charges[0].status.as_str(), later.charges[0].completable), ("closed", false));
    }
}
