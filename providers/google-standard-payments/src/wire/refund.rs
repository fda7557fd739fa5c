//! `POST /v1/refund`.

use payment_core::serde_adapters::Micros;
use serde::{Deserialize, Serialize};

use super::{RefundResult, RequestHeader, ResponseHeader};

/// The refund request: the capture is named by its `requestId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// The header; its `requestId` is the refund's idempotency key.
    pub request_header: RequestHeader,
    /// The PIAID.
    pub payment_integrator_account_id: String,
    /// The capture's `requestId`.
    pub capture_request_id: String,
    /// ISO 4217, the capture's.
    pub currency_code: String,
    /// Micros, as a string.
    pub refund_amount: Micros,
}

/// The refund answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    /// The header.
    pub response_header: ResponseHeader,
    /// `SUCCESS` or why not.
    pub result: RefundResult,
    /// The processor's own refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_integrator_refund_id: Option<String>,
}
