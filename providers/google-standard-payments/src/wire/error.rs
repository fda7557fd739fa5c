//! `ErrorResponse`: a non-200 answer's body (encrypted like any other).

use serde::{Deserialize, Serialize};

use super::ResponseHeader;

/// `errorResponseCode` values and the HTTP status each goes with.
#[rustfmt::skip]
pub const ERROR_CODES: &[(&str, u16)] = &[
    ("INVALID_API_VERSION", 400),
    ("INVALID_PAYLOAD_SIGNATURE", 401),
    ("INVALID_PAYLOAD_ENCRYPTION", 400),
    ("REQUEST_TIMESTAMP_OUT_OF_RANGE", 400),
    ("INVALID_IDENTIFIER", 404),
    ("IDEMPOTENCY_VIOLATION", 412),
    ("INVALID_FIELD_VALUE", 400),
    ("MISSING_REQUIRED_FIELD", 400),
    ("PRECONDITION_VIOLATION", 400),
    ("USER_ACTION_IN_PROGRESS", 400),
    ("ABORTED", 409),
];

/// The code names, for matching.
pub struct ErrorResponseCode;

impl ErrorResponseCode {
    /// The HTTP status that goes with `code`.
    pub fn status(code: &str) -> u16 {
        ERROR_CODES.iter().find(|(c, _)| *c == code).map(|r| r.1).unwrap_or(400)
    }
}

/// The error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("GSP error {}: {}", .error_response_code.as_deref().unwrap_or("-"), .error_description.as_deref().unwrap_or(""))]
pub struct ErrorResponse {
    /// The header.
    pub response_header: ResponseHeader,
    /// The code (`IDEMPOTENCY_VIOLATION`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_response_code: Option<String>,
    /// For support staff, never shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// The processor's own debug id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_integrator_error_identifier: Option<String>,
}
