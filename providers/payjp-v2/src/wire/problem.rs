//! RFC 9457 `application/problem+json`: every v2 error.

use serde::{Deserialize, Serialize};

/// One invalid field of a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dot-separated path (`payment_method_options.card`).
    pub field: String,
    /// Why.
    pub message: String,
}

/// PAY.JP v2's error body (`code` is documented though the SDK's model drops it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{title} ({status}): {}", detail.as_deref().unwrap_or(""))]
pub struct Problem {
    /// A URL naming the error type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short title.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// PAY.JP's code (`card_declined`, `invalid_status`, `validation_error`, …).
    #[serde(default)]
    pub code: Option<String>,
    /// What happened.
    #[serde(default)]
    pub detail: Option<String>,
    /// The path of the request.
    #[serde(default)]
    pub instance: Option<String>,
    /// The invalid fields of a 422.
    #[serde(default)]
    pub errors: Option<Vec<FieldError>>,
}
