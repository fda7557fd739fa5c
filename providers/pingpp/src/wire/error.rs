//! The error envelope: `{"error":{"type":"invalid_request_error","message":"…","code":"…","param":"…"}}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The whole error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// Ping++'s own error, kept as the native error of the `payment::Error` it causes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// `invalid_request_error`, `api_error`, `channel_error`, …
    #[serde(rename = "type")]
    pub error_type: String,
    /// For humans (Chinese by default).
    pub message: String,
    /// The code, when there is one.
    #[serde(default)]
    pub code: Option<String>,
    /// The parameter at fault.
    #[serde(default)]
    pub param: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ping++ {}", self.error_type)?;
        if let Some(c) = &self.code {
            write!(f, " {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}
