//! The error envelope: `{"error":{"status":402,"type":"card_error","code":"card_declined",…}}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The whole error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// PAY.JP's own error, kept as the native error of every `payment::Error` it causes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP status, repeated.
    pub status: u16,
    /// `client_error`, `card_error`, `server_error`, `auth_error`, `invalid_request_error`, `not_allowed_method_error`.
    #[serde(rename = "type")]
    pub error_type: String,
    /// The code, e.g. `card_declined`.
    #[serde(default)]
    pub code: Option<String>,
    /// For humans.
    pub message: String,
    /// The parameter at fault.
    #[serde(default)]
    pub param: Option<String>,
    /// The failed charge, for card errors on charges.
    #[serde(default)]
    pub charge: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PAY.JP {} {}", self.status, self.error_type)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(param) = &self.param {
            write!(f, " (param {param})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
