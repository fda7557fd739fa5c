//! The grpc-gateway error body `{code, message, details}`: `code` is the gRPC status code.

use serde::{Deserialize, Serialize};

/// `googlerpcStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("Justap error {code}: {message}")]
pub struct ApiError {
    /// The gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, 6 ALREADY_EXISTS, 16 UNAUTHENTICATED, …).
    #[serde(default)]
    pub code: i32,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// `protobufAny` details.
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}
