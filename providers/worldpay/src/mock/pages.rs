//! The customer's pages, standing in for the issuer's: device-data collection (posts the
//! session id back to the page that framed it, as Worldpay's collection page does) and the
//! challenge (Authenticate / Fail / Abandon, then back to the merchant's return URL).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use payment_mock_kit::AuthenticationResult;

use super::WorldpayMock;

/// The pages' routes.
pub fn routes() -> Router<WorldpayMock> {
    Router::new()
        .route("/3ds/collect", post(collect))
        .route("/3ds/challenge", post(challenge))
        .route("/3ds/challenge/answer", post(answer))
}

fn form(body: &Bytes) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Tokens are the mock's own (letters, digits, `_`): anything else never reaches a page.
fn token_ok(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn page(status: axum::http::StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><link rel=icon href=\"data:,\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:2rem auto\"><h1>{title}</h1>{body}\
         <p style=\"color:#666\">Worldpay mock issuer: nothing here reaches a real bank.</p></body></html>"
    );
    (status, Html(html)).into_response()
}

fn refused(why: &str) -> Response {
    page(axum::http::StatusCode::BAD_REQUEST, "Not a known step", &format!("<p>{why}</p>"))
}

/// `POST /3ds/collect` with `JWT` and `Bin`: collects, then posts `SessionId` to the parent.
async fn collect(State(m): State<WorldpayMock>, body: Bytes) -> Response {
    let f = form(&body);
    let token = f.get("JWT").map(String::as_str).unwrap_or("");
    if !token_ok(token) {
        return refused("The form carried no device-data JWT this mock issued.");
    }
    let Some(session) = m.book().collect(&m.kit.ids, token) else {
        return refused("This device-data collection is unknown or over.");
    };
    let message = format!("{{\"MessageType\":\"profile.completed\",\"SessionId\":\"{session}\",\"Status\":true}}");
    page(
        axum::http::StatusCode::OK,
        "Device data collected",
        &format!(
            "<p>SessionId <code id=session>{session}</code>: complete the charge with \
             <code>{{\"collectionReference\": \"{session}\"}}</code>.</p>\
             <script>if (window.parent !== window) window.parent.postMessage({message:?}, \"*\");</script>"
        ),
    )
}

/// `POST /3ds/challenge` with `JWT`: the question.
async fn challenge(State(m): State<WorldpayMock>, body: Bytes) -> Response {
    let f = form(&body);
    let token = f.get("JWT").map(String::as_str).unwrap_or("");
    if !token_ok(token) || m.book().challenged(token).is_none() {
        return refused("This challenge is unknown or over.");
    }
    let button = |result: &str, label: &str| {
        format!(
            "<form method=post action=\"/3ds/challenge/answer\" style=\"display:inline\">\
             <input type=hidden name=JWT value=\"{token}\"><input type=hidden name=result value={result}>\
             <button id={result}>{label}</button></form> "
        )
    };
    page(
        axum::http::StatusCode::OK,
        "Verify it is you",
        &format!(
            "<p>Your bank asks you to confirm this payment.</p>{}{}{}",
            button("success", "Authenticate"),
            button("failure", "Fail"),
            button("abandon", "Abandon")
        ),
    )
}

/// `POST /3ds/challenge/answer`: records the answer and sends the browser back to the merchant.
async fn answer(State(m): State<WorldpayMock>, body: Bytes) -> Response {
    let f = form(&body);
    let token = f.get("JWT").map(String::as_str).unwrap_or("");
    let Some(result) = f.get("result").and_then(|r| AuthenticationResult::from_name(r)) else {
        return refused("The answer must be success, failure or abandon.");
    };
    let mut book = m.book();
    let Some(i) = book.challenged(token).filter(|_| token_ok(token)) else {
        return refused("This challenge is unknown or over.");
    };
    book.answer_challenge(i, result);
    if result == AuthenticationResult::Abandon {
        return page(axum::http::StatusCode::OK, "Abandoned", "<p>You left the challenge unanswered.</p>");
    }
    let back = book.return_url(i).unwrap_or_default();
    match axum::http::HeaderValue::from_str(&back) {
        Ok(location) => (axum::http::StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, location)]).into_response(),
        Err(_) => refused("The return URL cannot be sent back."),
    }
}
