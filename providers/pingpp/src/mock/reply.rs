//! Mock answers in Ping++'s envelope (codes are the mock's own; see `mapping::ERROR_CODES`).

use serde_json::json;

pub use payment_mock_kit::Reply;

/// Ping++'s error shapes on the kit's reply.
pub trait PingppReply {
    /// Ping++'s error envelope.
    fn error(status: u16, error_type: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Reply;
    /// 400 `invalid_request_error` about a parameter.
    fn invalid(code: &str, message: &str, param: Option<&str>) -> Reply;
    /// 404 for an id.
    fn missing(what: &str, id: &str) -> Reply;
}

impl PingppReply for Reply {
    fn error(status: u16, error_type: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Reply {
        let mut e = json!({"type": error_type, "message": message});
        if let Some(c) = code {
            e["code"] = json!(c);
        }
        if let Some(p) = param {
            e["param"] = json!(p);
        }
        Reply::new(status, json!({ "error": e }))
    }

    fn invalid(code: &str, message: &str, param: Option<&str>) -> Reply {
        Reply::error(400, "invalid_request_error", Some(code), message, param)
    }

    fn missing(what: &str, id: &str) -> Reply {
        Reply::error(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("无法找到 {what} 对象: {id}"),
            Some("id"),
        )
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
