//! `{"errorName":…,"message":…,"validationErrors":[{"errorName","message","jsonPath"}]}`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Worldpay's own error, kept as the native error of the `payment::Error` it causes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// The top-level name (the reliable part).
    pub error_name: String,
    /// For humans.
    #[serde(default)]
    pub message: String,
    /// Field errors.
    #[serde(default)]
    pub validation_errors: Vec<ValidationError>,
    /// The field, on some 400s.
    #[serde(default)]
    pub json_path: Option<String>,
    /// The header, on 406s.
    #[serde(default)]
    pub header_name: Option<String>,
}

/// One field error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationError {
    /// E.g. `unrecognizedField`, `fieldIsMissing`.
    pub error_name: String,
    /// For humans.
    #[serde(default)]
    pub message: String,
    /// `$.instruction.value.amount`.
    #[serde(default)]
    pub json_path: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Worldpay {}: {}", self.error_name, self.message)?;
        for v in &self.validation_errors {
            write!(f, "; {} at {}", v.error_name, v.json_path.as_deref().unwrap_or("?"))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
