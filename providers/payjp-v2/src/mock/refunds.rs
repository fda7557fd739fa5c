//! Refunds: several partial ones per captured flow, never more than it received; a PayPay
//! refund is `pending` for a minute of mock time.

use std::collections::BTreeMap;

use payment_mock_kit::{IdAlphabet, IdGen};
use serde_json::{Map, Value, json};

use super::flows::Changes;
use super::reply::{self, Reply};
use super::state::{Account, RefundEntry, int, iso, metadata, one_of, only, text};
use crate::wire::PaymentRefund;

/// Events kept for `GET /v2/events`.
const EVENT_LIMIT: usize = 10_000;
/// How long a PayPay refund stays `pending`.
const PAYPAY_REFUND_DELAY: i64 = 60;

impl Account {
    /// What flow `id`'s refunds take back (all but failed or canceled ones).
    pub fn refunded(&self, id: &str) -> i64 {
        self.refunds
            .oldest_first()
            .filter(|r| r.wire.payment_flow_id == id && crate::mapping::refund_counts(&r.wire.status))
            .map(|r| r.wire.amount)
            .sum()
    }

    /// `POST /v2/payment_refunds`: without `amount`, what is left.
    pub fn create_refund(&mut self, ids: &IdGen, now: i64, body: &Map<String, Value>, changes: &mut Changes) -> Result<Reply, Reply> {
        only(body, &["payment_flow_id", "amount", "reason", "metadata"])?;
        let flow_id = text(body, "payment_flow_id")?.ok_or_else(|| reply::invalid("payment_flow_id", "Field required"))?.to_owned();
        let amount = int(body, "amount")?;
        if amount.is_some_and(|a| a < 1) {
            return Err(reply::invalid("amount", "Input should be greater than or equal to 1"));
        }
        let reason = one_of(body, "reason", crate::mapping::REFUND_REASONS)?.map(str::to_owned);
        let mut meta = BTreeMap::new();
        metadata(body, &mut meta)?;
        self.lapse(now);
        let flow = self.flows.get(&flow_id).ok_or_else(|| reply::not_found("payment_flow", &flow_id))?;
        if flow.wire.status != "succeeded" {
            return Err(reply::invalid_status("payment_flow", "succeeded", &flow.wire.status));
        }
        let paypay = flow.wire.payment_method_id.as_deref().and_then(|m| self.methods.get(m)).is_some_and(|m| m.kind() == "paypay");
        let left = flow.wire.amount_received.unwrap_or(0) - self.refunded(&flow_id);
        if left <= 0 {
            return Err(reply::problem(400, "already_refunded", "Already Refunded", &format!("Payment flow {flow_id} is refunded in full")));
        }
        let amount = amount.unwrap_or(left);
        if amount > left {
            return Err(reply::problem(
                400,
                "refund_amount_gt_net",
                "Refund Amount Too Large",
                &format!("The refund of {amount} is more than the {left} left to refund"),
            ));
        }
        let wire = PaymentRefund {
            object: "payment_refund".into(),
            id: ids.next("pyr_", 24, IdAlphabet::Alphanumeric),
            livemode: false,
            payment_flow_id: flow_id,
            amount,
            status: if paypay { "pending" } else { "succeeded" }.into(),
            reason,
            metadata: meta,
            created_at: iso(now),
            updated_at: iso(now),
        };
        let answer = Reply::ok(json!(wire));
        changes.push(("refund.created", wire.id.clone()));
        self.refunds.insert(wire.id.clone(), RefundEntry { created: now, settles_at: paypay.then_some(now + PAYPAY_REFUND_DELAY), wire });
        Ok(answer)
    }

    /// Pending refunds whose minute has passed succeed.
    pub fn settle_refunds(&mut self, now: i64) {
        let due: Vec<String> =
            self.refunds.oldest_first().filter(|r| r.settles_at.is_some_and(|t| now >= t)).map(|r| r.wire.id.clone()).collect();
        for id in due {
            if let Some(r) = self.refunds.get_mut(&id) {
                r.wire.status = "succeeded".into();
                r.wire.updated_at = iso(now);
                r.settles_at = None;
            }
        }
    }

    /// `GET /v2/payment_refunds/{id}`.
    pub fn refund(&mut self, id: &str, now: i64) -> Result<Reply, Reply> {
        self.lapse(now);
        self.refunds.get(id).map(|r| Reply::ok(json!(r.wire))).ok_or_else(|| reply::not_found("payment_refund", id))
    }

    /// `GET /v2/payment_refunds` or a flow's `GET /v2/payment_flows/{id}/refunds`.
    pub fn list_refunds(&mut self, now: i64, flow: Option<&str>, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        self.lapse(now);
        let url = match flow {
            Some(f) if self.flows.get(f).is_none() => return Err(reply::not_found("payment_flow", f)),
            Some(f) => format!("/v2/payment_flows/{f}/refunds"),
            None => "/v2/payment_refunds".to_owned(),
        };
        let all: Vec<&RefundEntry> = self.refunds.newest_first().filter(|r| flow.is_none_or(|f| r.wire.payment_flow_id == f)).collect();
        super::routes::list_page(&all, |r| &r.wire.id, query, &url, |r| json!(r.wire))
    }

    /// Records an event (`GET /v2/events`); answers it for delivery.
    pub fn record_event(&mut self, ids: &IdGen, now: i64, event_type: &str, data: Value, deliveries: i64) -> Value {
        let event = json!({
            "object": "event", "id": ids.next("evnt_", 24, IdAlphabet::Alphanumeric), "livemode": false,
            "type": event_type, "pending_webhooks": deliveries, "data": data,
            "created_at": iso(now), "updated_at": iso(now),
        });
        // The newest events only, so a mock that runs for days stays bounded.
        if self.events.len() == EVENT_LIMIT {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        event
    }

    /// `GET /v2/events`: newest first, filtered by `type`, `object` and `resource_id`.
    pub fn list_events(&self, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        let matches = |e: &&Value| {
            query.get("type").is_none_or(|t| e["type"].as_str() == Some(t))
                && query.get("object").is_none_or(|o| e["data"]["object"].as_str() == Some(o))
                && query.get("resource_id").is_none_or(|r| e["data"]["id"].as_str() == Some(r))
        };
        let all: Vec<&Value> = self.events.iter().rev().filter(matches).collect();
        super::routes::list_page(&all, |e| e["id"].as_str().unwrap_or_default(), query, "/v2/events", |e| (*e).clone())
    }

    /// `GET /v2/events/{id}`.
    pub fn event(&self, id: &str) -> Result<Reply, Reply> {
        self.events.iter().find(|e| e["id"] == id).map(|e| Reply::ok(e.clone())).ok_or_else(|| reply::not_found("event", id))
    }
}
