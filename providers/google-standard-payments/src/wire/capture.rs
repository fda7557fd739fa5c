//! `POST /v1/capture`.

use payment_core::serde_adapters::Micros;
use serde::{Deserialize, Serialize};

use super::{CaptureResult, RequestHeader, ResponseHeader};

/// The capture request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// The header; its `requestId` with the PIAID is the idempotency key.
    pub request_header: RequestHeader,
    /// The payment integrator account (PIAID).
    pub payment_integrator_account_id: String,
    /// Shown to the user.
    pub transaction_description: String,
    /// ISO 4217.
    pub currency_code: String,
    /// Micros, as a string.
    pub amount: Micros,
    /// User and merchant context.
    #[serde(default)]
    pub capture_context: serde_json::Value,
    /// The user's payment token (the `fopDetails` union's token form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_payment_token: Option<String>,
}

/// The processor's raw decline code, for Google's risk engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawResult {
    /// The code's scheme (`VISA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The code.
    pub raw_code: String,
}

/// The capture answer (HTTP 200 carries declines too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResponse {
    /// The header.
    pub response_header: ResponseHeader,
    /// `SUCCESS` or a decline.
    pub result: CaptureResult,
    /// The processor's own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_integrator_transaction_id: Option<String>,
    /// The raw decline code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_result: Option<RawResult>,
}
