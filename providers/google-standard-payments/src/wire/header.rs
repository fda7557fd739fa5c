//! `requestHeader` and `responseHeader`.

use payment_core::serde_adapters::int64_string;
use serde::{Deserialize, Serialize};

/// `{major, minor, revision}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolVersion {
    /// 1 for these methods.
    pub major: i32,
    /// Minor version.
    #[serde(default)]
    pub minor: i32,
    /// Revision.
    #[serde(default)]
    pub revision: i32,
}

/// The version capture, refund and echo speak: 1.0.0.
pub const PROTOCOL_V1: ProtocolVersion = ProtocolVersion { major: 1, minor: 0, revision: 0 };

/// What every request starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestHeader {
    /// The idempotency key: at most 100 of `a-zA-Z0-9:-_`.
    pub request_id: String,
    /// Epoch milliseconds, as a string; new on every retry.
    #[serde(with = "int64_string")]
    pub request_timestamp: i64,
    /// The protocol version.
    pub protocol_version: ProtocolVersion,
}

/// What every answer starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseHeader {
    /// Epoch milliseconds, as a string.
    #[serde(with = "int64_string")]
    pub response_timestamp: i64,
}
