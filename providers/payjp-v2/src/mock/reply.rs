//! The mock's answers: objects with 200, errors as RFC 9457 `application/problem+json`.

use axum::response::Response;
use serde_json::json;

pub use payment_mock_kit::Reply;

/// The content type of every v2 error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem: `type`, `title`, `status`, `code`, `detail` and `instance` (strings only in `errors`).
pub fn problem(status: u16, code: &str, title: &str, detail: &str) -> Reply {
    Reply::new(
        status,
        json!({
            "type": format!("https://docs.pay.jp/v2/errors/{}", code.replace('_', "-")),
            "title": title,
            "status": status,
            "code": code,
            "detail": detail,
        }),
    )
}

/// 422 `validation_error` naming one field.
pub fn invalid(field: &str, message: &str) -> Reply {
    let mut r = problem(422, "validation_error", "Validation Error", "The request parameters didn't pass validation.");
    r.body["errors"] = json!([{"field": field, "message": message}]);
    r
}

/// 400 `invalid_status`, as PAY.JP words it.
pub fn invalid_status(what: &str, allowed: &str, current: &str) -> Reply {
    problem(
        400,
        "invalid_status",
        "Invalid Status",
        &format!("This operation can only be executed when the {what} status is {allowed}. The current status is {current}."),
    )
}

/// 404 for an id.
pub fn not_found(what: &str, id: &str) -> Reply {
    problem(404, "not_found", "Not Found", &format!("No such {what}: {id}"))
}

/// The HTTP answer: 200 JSON, or a problem with its own content type.
pub fn respond(reply: Reply) -> Response {
    if (200..300).contains(&reply.status) {
        reply.into_json_response("application/json")
    } else {
        reply.into_json_response(PROBLEM_JSON)
    }
}

/// The problem for a status injected by a fault, or returned by the kit (404, 413).
pub fn for_status(status: u16, message: &str) -> Response {
    let reply = match status {
        429 => problem(429, "rate_limit_exceeded", "Too Many Requests", message),
        401 => problem(401, "unauthorized", "Unauthorized", message),
        404 => problem(404, "not_found", "Not Found", message),
        500..=599 => problem(status, "internal_server_error", "Internal Server Error", message),
        _ => problem(status, "error", "Error", message),
    };
    respond(reply)
}
