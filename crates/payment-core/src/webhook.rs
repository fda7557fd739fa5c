//! Webhook verification and the one normalized event every provider's notifications become.

use serde::Serialize;

use crate::charge::ChargeRecord;
use crate::error::Result;
use crate::money::Money;
use crate::refund::RefundRecord;
use crate::time::Timestamp;

/// What a webhook event says happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A charge was paid (captured at once).
    ChargeSucceeded,
    /// A charge was authorized, to be captured later.
    ChargeAuthorized,
    /// A charge failed or was refused.
    ChargeFailed,
    /// A charge is under way (sent for authorization or settlement).
    ChargePending,
    /// An authorized charge was captured (settled).
    ChargeCaptured,
    /// A charge was canceled before capture.
    ChargeCanceled,
    /// An authorization or an unpaid charge expired.
    ChargeExpired,
    /// A refund was accepted and is not final yet.
    RefundPending,
    /// A refund finished.
    RefundSucceeded,
    /// A refund failed.
    RefundFailed,
    /// An event type this library does not model: kept, never an error.
    Unknown {
        /// The provider's event type.
        provider_type: String,
    },
}

impl EventKind {
    /// The snake_case name (`charge_succeeded`, …; `unknown` for types not modelled).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ChargeSucceeded => "charge_succeeded",
            EventKind::ChargeAuthorized => "charge_authorized",
            EventKind::ChargeFailed => "charge_failed",
            EventKind::ChargePending => "charge_pending",
            EventKind::ChargeCaptured => "charge_captured",
            EventKind::ChargeCanceled => "charge_canceled",
            EventKind::ChargeExpired => "charge_expired",
            EventKind::RefundPending => "refund_pending",
            EventKind::RefundSucceeded => "refund_succeeded",
            EventKind::RefundFailed => "refund_failed",
            EventKind::Unknown { .. } => "unknown",
        }
    }

    /// The provider's type when it is not modelled.
    pub fn provider_type(&self) -> Option<&str> {
        match self {
            EventKind::Unknown { provider_type } => Some(provider_type),
            _ => None,
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How far an event can be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// A signature (or decryption) over the body proves the provider sent these bytes.
    Verified,
    /// Only the sender is authenticated (a shared token): the body may have been altered, so
    /// read the object back before acting on amounts or states.
    SenderOnly,
}

/// The resource an event carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum EventRecord {
    /// A charge.
    Charge(Box<ChargeRecord>),
    /// A refund.
    Refund(Box<RefundRecord>),
    /// Something else, or a notification that carries no whole resource.
    Other(serde_json::Value),
}

/// A verified, normalized webhook event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEvent {
    /// The provider's event id (what deliveries are deduplicated by).
    pub id: String,
    /// The provider's name.
    pub provider: String,
    /// What happened.
    pub kind: EventKind,
    /// The charge or refund the event is about, when it names one.
    pub object_id: Option<String>,
    /// The merchant's reference of that object (order number, `transactionReference`, …).
    pub reference: Option<String>,
    /// The merchant's own reference of the refund the event is about, where the provider names a
    /// refund by the reference sent with it (Worldpay's partial refunds); `reference` still
    /// names the payment.
    pub refund_reference: Option<String>,
    /// The amount the event states.
    pub amount: Option<Money>,
    /// How far the body can be believed.
    pub trust: Trust,
    /// When the provider says it happened.
    pub occurred_at: Option<Timestamp>,
    /// The resource, parsed when the body carries one.
    pub record: EventRecord,
    /// The event as the provider sent it (never logged).
    pub raw: serde_json::Value,
}

impl WebhookEvent {
    /// The event's stable line: provider, event_id, kind, provider_type, object_id, reference,
    /// refund_reference, amount and trust (no raw payload).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "provider": self.provider,
            "event_id": self.id,
            "kind": self.kind,
            "provider_type": self.kind.provider_type(),
            "object_id": self.object_id,
            "reference": self.reference,
            "refund_reference": self.refund_reference,
            "amount": self.amount,
            "trust": self.trust,
            "occurred_at": self.occurred_at,
        })
    }
}

/// What a delivery of an event finds in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// This delivery handles it: marked in progress until its lease ends (a new event, or one
    /// whose earlier handling died without a word). The token names this delivery's lease:
    /// marking it done or forgetting it takes effect only while the lease is still this one's.
    New(u64),
    /// Another delivery is handling it now: the provider should deliver again later.
    InProgress,
    /// Handled already.
    Done,
}

/// Remembers webhook events by provider and event id: in progress (under a lease, so a handling
/// that dies expires) or done. Every operation is atomic across the processes sharing it (a
/// journal keeps it durably; `payment_webhooks::MemoryInbox` in memory).
#[async_trait::async_trait]
pub trait Inbox: Send + Sync {
    /// Claims `(provider, event_id)` for this delivery's handling, for `lease` at most.
    async fn claim(&self, provider: &str, event_id: &str, lease: std::time::Duration) -> Result<DeliveryClaim>;
    /// Marks an event handled under the lease `token` names (no effect once another delivery
    /// took it over).
    async fn done(&self, provider: &str, event_id: &str, token: u64) -> Result<()>;
    /// Forgets an event the application did not take under the lease `token` names, so the
    /// provider's next delivery is handled (no effect once another delivery took it over).
    async fn forget(&self, provider: &str, event_id: &str, token: u64) -> Result<()>;
}

/// What a delivery is answered with once taken: most providers want any 2xx; some (Google
/// Standard Payments) want a protected reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAck {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, when there is a body.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl WebhookAck {
    /// 200 with no body.
    pub fn ok() -> WebhookAck {
        WebhookAck { status: 200, content_type: None, body: Vec::new() }
    }
}

/// Verifies a provider's webhook request and parses it, on the raw bytes and headers, with no I/O.
pub trait WebhookVerifier: Send + Sync {
    /// Checks the signature, token or encryption over the raw body, then normalizes the event.
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent>;
    /// The answer to a delivery of `event` (also to a repeated one); 200 with no body by default.
    fn acknowledge(&self, _event: &WebhookEvent) -> Result<WebhookAck> {
        Ok(WebhookAck::ok())
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"whook_abc", b"whook_abc"));
        assert!(!constant_time_eq(b"whook_abc", b"whook_abd"));
        assert!(!constant_time_eq(b"whook_abc", b"whook_ab"));
    }

    #[test]
    fn kinds_are_snake_case_and_unknown_keeps_the_provider_type() {
        assert_eq!(serde_json::to_value(EventKind::ChargeCaptured).unwrap(), "charge_captured");
        let u = EventKind::Unknown { provider_type: "customer.updated".into() };
        assert_eq!((u.as_str(), u.provider_type()), ("unknown", Some("customer.updated")));
    }
}
