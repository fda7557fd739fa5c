//! Webhook verification and neutral events.

use serde::Serialize;

use crate::charge::ChargeRecord;
use crate::error::Result;
use crate::refund::RefundRecord;

/// What a webhook event says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A charge was paid or captured.
    ChargeSucceeded,
    /// A charge failed.
    ChargeFailed,
    /// A charge was canceled or expired.
    ChargeCanceled,
    /// A refund finished.
    RefundSucceeded,
    /// A refund failed.
    RefundFailed,
    /// An event type this library does not model.
    Unknown {
        /// The provider's event type.
        raw_type: String,
    },
}

/// The resource an event carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum EventRecord {
    /// A charge.
    Charge(Box<ChargeRecord>),
    /// A refund.
    Refund(Box<RefundRecord>),
    /// Something else, as the provider sent it.
    Other(serde_json::Value),
}

/// A verified webhook event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEvent {
    /// The provider's event id.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// The resource.
    pub record: EventRecord,
}

/// Verifies a provider's webhook request and parses it.
pub trait WebhookVerifier: Send + Sync {
    /// Checks the signature or token over the raw body, then parses the event.
    fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent>;
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
}
