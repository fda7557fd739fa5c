//! What a mock handler answers: a status and a JSON body, so replies can be stored for replay.

use serde_json::json;

pub use payment_mock_kit::Reply;

/// PAY.JP's error shapes on the kit's reply.
pub trait PayjpReply {
    /// PAY.JP's error envelope.
    fn error(status: u16, error_type: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Reply;
    /// 400 `client_error` with a code and parameter.
    fn invalid(code: &str, message: &str, param: Option<&str>) -> Reply;
    /// 404 `not_found` for an id.
    fn not_found(what: &str, id: &str) -> Reply;
}

impl PayjpReply for Reply {
    fn error(status: u16, error_type: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Reply {
        let mut e = json!({"status": status, "type": error_type, "message": message});
        if let Some(c) = code {
            e["code"] = json!(c);
        }
        if let Some(p) = param {
            e["param"] = json!(p);
        }
        Reply::new(status, json!({ "error": e }))
    }

    fn invalid(code: &str, message: &str, param: Option<&str>) -> Reply {
        Reply::error(400, "client_error", Some(code), message, param)
    }

    fn not_found(what: &str, id: &str) -> Reply {
        Reply::error(404, "client_error", Some("not_found"), &format!("No such {what}: {id}"), Some("id"))
    }
}

/// The error body for a status injected by a fault, or returned by the kit (404, 413).
pub fn for_status(status: u16, message: &str) -> Reply {
    match status {
        429 => Reply::error(
            429,
            "client_error",
            Some("over_capacity"),
            "The service is over capacity. Please try again later.",
            None,
        ),
        503 => Reply::error(503, "server_error", Some("under_maintenance"), message, None),
        500..=599 => Reply::error(status, "server_error", Some("payjp_wrong"), message, None),
        404 => Reply::error(404, "client_error", Some("not_found"), message, None),
        401 => Reply::error(401, "auth_error", Some("invalid_api_key"), message, None),
        _ => Reply::error(status, "client_error", None, message, None),
    }
}
