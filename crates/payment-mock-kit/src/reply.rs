//! A mock handler's answer: a status and a JSON body, kept as values so the idempotency table can
//! store and replay them. Each provider's mock adds its own error shapes on top.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

/// A status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    /// An answer with any status.
    pub fn new(status: u16, body: Value) -> Reply {
        Reply { status, body }
    }

    /// 200 with a body.
    pub fn ok(body: Value) -> Reply {
        Reply::new(200, body)
    }

    /// The body as bytes (what is stored for replay).
    pub fn bytes(&self) -> Bytes {
        Bytes::from(self.body.to_string())
    }

    /// The HTTP response with a chosen content type.
    pub fn into_json_response(self, content_type: &str) -> Response {
        let status =
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(axum::http::header::CONTENT_TYPE, content_type.to_owned())], self.body.to_string()).into_response()
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        self.into_json_response("application/json; charset=utf-8")
    }
}
