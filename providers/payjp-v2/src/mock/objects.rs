//! The mock's flows and refunds for the console (`GET /__mock__/objects`).

use payment_core::{Currency, Money};
use payment_mock_kit::objects::newest;
use payment_mock_kit::{MockObject, MockObjects};
use serde_json::json;

use super::state::Account;
use crate::mapping::{REFERENCE_KEY, action_url, metadata_text};

impl Account {
    /// The `limit` newest flows and refunds.
    pub fn objects(&self, limit: usize) -> MockObjects {
        let charges = newest(self.flows.newest_first(), limit)
            .into_iter()
            .map(|f| {
                let w = &f.wire;
                let step = w.next_action.as_ref().and_then(action_url).unwrap_or_default();
                let status = match w.status.as_str() {
                    "requires_payment_method" if w.last_payment_error.is_some() => "failed",
                    other => other,
                };
                MockObject::new(w.id.clone(), status, Money::new(w.amount, Currency::JPY), f.created)
                    .reference(w.metadata.get(REFERENCE_KEY).map(metadata_text).unwrap_or_default())
                    .authenticable(w.status == "requires_action" && step.contains("/v2/mock/3ds/"))
                    .completable(
                        (w.status == "requires_action" && step.contains("/v2/mock/paypay/")) || w.status == "processing",
                    )
                    .raw(json!(w))
            })
            .collect();
        let refunds = newest(self.refunds.newest_first(), limit)
            .into_iter()
            .map(|r| {
                MockObject::new(r.wire.id.clone(), r.wire.status.clone(), Money::new(r.wire.amount, Currency::JPY), r.created)
                    .of_charge(r.wire.payment_flow_id.clone())
                    .raw(json!(r.wire))
            })
            .collect();
        MockObjects { charges, refunds }
    }
}
