//! The mock processor's captures and refunds for the console (`GET /__mock__/objects`).

use payment_core::Money;
use payment_mock_kit::objects::{newest, newest_by};
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::{Value, json};

use super::ledger::{Capture, Ledger};

/// Micros as GSP writes them (a decimal string); `null` for an amount too large to have micros.
fn micros(money: Money) -> Value {
    money.to_micros().map(|m| json!(m.to_string())).unwrap_or(Value::Null)
}

/// A declined capture keeps its result code; a successful one says how much of it is refunded.
fn status(c: &Capture) -> &str {
    if !c.succeeded() {
        c.result.as_str()
    } else if c.refunded >= c.amount.minor {
        "refunded"
    } else if c.refunded > 0 {
        "partially_refunded"
    } else {
        "succeeded"
    }
}

impl Ledger {
    /// The `limit` newest captures under their `requestId` (what GSP addresses them by), and refunds.
    /// GSP has no resource to read back, so `raw` holds what the processor answered and kept.
    pub fn objects(&self, limit: usize) -> MockObjects {
        let books = self.books();
        // The books are keyed by request id: pick the newest by time before rendering any.
        let charges = newest_by(books.captures.iter().collect(), |(_, c)| c.created, limit)
            .into_iter()
            .map(|(request_id, c)| {
                let raw = json!({"captureRequestId": request_id, "result": c.result.as_str(),
                    "paymentIntegratorTransactionId": c.transaction_id, "currencyCode": c.amount.currency.code(),
                    "amount": micros(c.amount), "refundedAmount": micros(Money::new(c.refunded, c.amount.currency)),
                    "transactionDescription": c.description});
                MockObject::new(request_id.clone(), status(c), c.amount, c.created)
                    .client_id(crate::mapping::ChargeKey::new(request_id, c.amount).id().to_string())
                    .reference(request_id.clone())
                    .raw(raw)
            })
            .collect();
        let refunds = newest(books.refunds.iter().rev(), limit)
            .into_iter()
            .map(|r| {
                let raw = json!({"refundRequestId": r.request_id, "captureRequestId": r.capture_request_id,
                    "result": "SUCCESS", "paymentIntegratorRefundId": r.refund_id,
                    "currencyCode": r.amount.currency.code(), "refundAmount": micros(r.amount)});
                MockObject::new(r.refund_id.clone(), "succeeded", r.amount, r.created)
                    .reference(r.request_id.clone())
                    .of_charge(r.capture_request_id.clone())
                    .raw(raw)
            })
            .collect();
        MockObjects { charges, refunds }
    }
}
