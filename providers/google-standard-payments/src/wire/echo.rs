//! `POST /v1/echo`: a connectivity check through the whole encryption path.

use serde::{Deserialize, Serialize};

use super::{RequestHeader, ResponseHeader};

/// The echo request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EchoRequest {
    /// The header.
    pub request_header: RequestHeader,
    /// What to echo.
    pub client_message: String,
}

/// The echo answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EchoResponse {
    /// The header.
    pub response_header: ResponseHeader,
    /// The same message.
    pub client_message: String,
    /// The processor's own text (a debug id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_message: Option<String>,
}
