//! Mock answers: success bodies serialized straight from the wire types (so yuan are exact
//! decimals, never f64), errors in the grpc-gateway shape `{code, message, details}`.

use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use payment_mock_kit::Reply;

/// gRPC status codes the mock answers with.
pub mod code {
    /// INVALID_ARGUMENT.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// NOT_FOUND.
    pub const NOT_FOUND: i32 = 5;
    /// ALREADY_EXISTS.
    pub const ALREADY_EXISTS: i32 = 6;
    /// RESOURCE_EXHAUSTED.
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// FAILED_PRECONDITION.
    pub const FAILED_PRECONDITION: i32 = 9;
    /// INTERNAL.
    pub const INTERNAL: i32 = 13;
    /// UNAVAILABLE.
    pub const UNAVAILABLE: i32 = 14;
    /// UNAUTHENTICATED.
    pub const UNAUTHENTICATED: i32 = 16;
}

/// Justap's error shape on the kit's reply.
pub trait JustapReply {
    /// `{code, message, details: []}` with an HTTP status.
    fn grpc(status: u16, code: i32, message: &str) -> Reply;
    /// 400 INVALID_ARGUMENT.
    fn invalid(message: &str) -> Reply;
    /// 404 NOT_FOUND for an object.
    fn missing(what: &str, id: &str) -> Reply;
    /// 400 FAILED_PRECONDITION: the object's state forbids it.
    fn precondition(message: &str) -> Reply;
}

impl JustapReply for Reply {
    fn grpc(status: u16, code: i32, message: &str) -> Reply {
        Reply::new(status, json!({"code": code, "message": message, "details": []}))
    }

    fn invalid(message: &str) -> Reply {
        Reply::grpc(400, code::INVALID_ARGUMENT, message)
    }

    fn missing(what: &str, id: &str) -> Reply {
        Reply::grpc(404, code::NOT_FOUND, &format!("{what} not found: {id}"))
    }

    fn precondition(message: &str) -> Reply {
        Reply::grpc(400, code::FAILED_PRECONDITION, message)
    }
}

/// A 200 answer serialized from `value` as it is.
pub fn ok<T: serde::Serialize>(value: &T) -> Result<Response, Reply> {
    let body = serde_json::to_vec(value).map_err(|e| Reply::grpc(500, code::INTERNAL, &e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The body for an injected or kit status.
pub fn for_status(status: u16, message: &str) -> Reply {
    let grpc = match status {
        400 | 413 => code::INVALID_ARGUMENT,
        401 => code::UNAUTHENTICATED,
        404 => code::NOT_FOUND,
        409 => code::ALREADY_EXISTS,
        429 => code::RESOURCE_EXHAUSTED,
        503 => code::UNAVAILABLE,
        _ => code::INTERNAL,
    };
    let message = if status == 404 { "Not Found" } else { message };
    Reply::grpc(status, grpc, message)
}
