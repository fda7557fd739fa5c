//! The issuer's page the mock serves at `/v1/tds/{id}/start`: plain HTML with no external
//! resources, three buttons that post `result` to `/v1/tds/{id}/result`, and the answer that
//! sends the browser back to the merchant's `back_url`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use payment_mock_kit::console::escape_html;

/// The challenge page for charge `charge` of `amount` yen.
pub fn challenge(charge: &str, amount: i64, back_url: &str) -> Response {
    let charge = escape_html(charge);
    let back_url = escape_html(back_url);
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure (PAY.JP mock)</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}button{{margin-right:.5rem;padding:.5rem 1rem}}</style>
</head><body>
<h1>3-D Secure</h1>
<p>The PAY.JP mock's issuer asks the customer to authenticate charge <code id="charge">{charge}</code> of <strong>¥{amount}</strong>.</p>
<form method="post" action="/v1/tds/{charge}/result">
<input type="hidden" name="back_url" value="{back_url}">
<button type="submit" name="result" value="success" id="authenticate">Authenticate</button>
<button type="submit" name="result" value="failure" id="fail">Fail</button>
<button type="submit" name="result" value="abandon" id="abandon">Abandon</button>
</form>
</body></html>
"#
    );
    html(StatusCode::OK, body)
}

/// A page that says why the flow cannot go on (a bad `back_url`, an unknown charge).
pub fn refused(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>3-D Secure (PAY.JP mock)</title></head>\
         <body><h1>3-D Secure cannot go on</h1><p id=\"error\">{}</p></body></html>\n",
        escape_html(message)
    );
    html(status, body)
}

/// Sends the browser back to the merchant.
pub fn back_to(url: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_owned())]).into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}
