//! The mock's payments and refunds for the console (`GET /__mock__/objects`).

use payment_core::Money;
use payment_mock_kit::objects::newest;
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::json;

use super::state::{Book, FINAL_AFTER};

impl Book {
    /// The `limit` newest payments as Payment Queries shows them (links relative: the console has no request
    /// origin), and refunds, whose status is the payment's refund event for that amount.
    pub fn objects(&self, now: i64, limit: usize) -> MockObjects {
        // Currencies were checked against ISO 4217 when the payment was authorized.
        let money = |amount: i64, currency: &str| Money::from_code(amount, currency).ok();
        let mut charges: Vec<MockObject> = self
            .newest_first()
            .take(limit)
            .filter_map(|p| {
                let object = MockObject::new(p.id.clone(), p.last_event(now), money(p.amount, &p.currency)?, p.created);
                // The client names a payment by what finds it again: reference, entity, amount.
                let key = crate::mapping::ChargeKey {
                    r: p.reference.clone(),
                    e: p.entity.clone(),
                    a: p.amount,
                    c: p.currency.clone(),
                    l: p.api_link.clone(),
                };
                let object = object.client_id(key.to_id().to_string()).authenticable(p.awaits_customer());
                Some(object.reference(p.reference.clone()).raw(self.query_item(p, now, "", true)))
            })
            .collect();
        charges.reverse();
        let refunds = newest(self.refund_log.iter().enumerate().rev(), limit)
            .into_iter()
            .filter_map(|(n, &(i, amount, at))| {
                let p = self.at(i)?;
                let status = if now - at >= FINAL_AFTER { "Refunded" } else { "Sent for Refund" };
                let raw = json!({"paymentId": p.id, "transactionReference": p.reference, "lastEvent": status,
                    "value": {"amount": amount, "currency": p.currency},
                    "timestamp": payment_core::Timestamp::from_unix(at).to_rfc3339(),
                    "note": "Worldpay has no refund object: the refund is an event of the payment"});
                let object = MockObject::new(format!("{}#{}", p.id, n + 1), status, money(amount, &p.currency)?, at);
                Some(object.reference(p.reference.clone()).of_charge(p.id.clone()).raw(raw))
            })
            .collect();
        MockObjects { charges, refunds }
    }
}
