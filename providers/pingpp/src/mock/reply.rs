//! Mock answers in Ping++'s envelope (codes are the mock's own; see `mapping::ERROR_CODES`).

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A status and a JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: Value) -> Reply {
        Reply { status: 200, body }
    }

    /// Ping++'s error envelope.
    pub fn error(status: u16, error_type: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Reply {
        let mut e = json!({"type": error_type, "message": message});
        if let Some(c) = code {
            e["code"] = json!(c);
        }
        if let Some(p) = param {
            e["param"] = json!(p);
        }
        Reply { status, body: json!({ "error": e }) }
    }

    /// 400 `invalid_request_error` about a parameter.
    pub fn invalid(code: &str, message: &str, param: Option<&str>) -> Reply {
        Reply::error(400, "invalid_request_error", Some(code), message, param)
    }

    /// 404 for an id.
    pub fn missing(what: &str, id: &str) -> Reply {
        Reply::error(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("无法找到 {what} 对象: {id}"),
            Some("id"),
        )
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status =
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], self.body.to_string())
            .into_response()
    }
}

/// The body for an injected or kit status.
pub fn for_status(status: u16, message: &str) -> Reply {
    match status {
        403 | 429 => Reply::error(status, "api_error", Some("rate_limited"), "请求过于频繁，请稍后再试", None),
        404 => Reply::error(404, "invalid_request_error", Some("resource_missing"), message, None),
        500..=599 => Reply::error(status, "api_error", None, message, None),
        _ => Reply::error(status, "invalid_request_error", None, message, None),
    }
}
