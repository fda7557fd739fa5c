//! The customer's pages: the issuer's 3-D Secure page and PayPay's payer page. Plain HTML with
//! no external resources; each answer sends the browser back to the flow's `return_url`, with
//! `client_secret` appended unless the flow's `redirect_options` say not to.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use payment_mock_kit::AuthenticationResult;
use payment_mock_kit::console::escape_html;

use super::PayjpV2Mock;

/// Where the browser goes once the step is answered, or `None` when the flow has no return URL.
fn back(m: &PayjpV2Mock, id: &str) -> Option<String> {
    let account = m.account();
    let flow = account.flows.get(id)?;
    let mut url = url::Url::parse(flow.wire.return_url.as_deref()?).ok()?;
    if flow.wire.redirect_options.include_client_secret {
        url.query_pairs_mut().append_pair("client_secret", &flow.wire.client_secret);
    }
    Some(url.into())
}

fn answered(m: &PayjpV2Mock, id: &str) -> Response {
    match back(m, id) {
        Some(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        None => page(StatusCode::OK, "Done", &format!("<p id=\"done\">Payment flow <code>{}</code> has its answer; this flow has no return_url to go back to.</p>", escape_html(id))),
    }
}

fn refused(status: u16, message: &str) -> Response {
    page(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), "Cannot go on", &format!("<p id=\"error\">{}</p>", escape_html(message)))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} (PAY.JP v2 mock)</title><link rel=\"icon\" href=\"data:,\">\
         <style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}button{{margin-right:.5rem;padding:.5rem 1rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html).into_response()
}

fn buttons(action: &str, choices: &[(&str, &str, &str)]) -> String {
    let mut form = format!("<form method=\"post\" action=\"{}\">", escape_html(action));
    for (value, id, label) in choices {
        form.push_str(&format!("<button type=\"submit\" name=\"result\" value=\"{value}\" id=\"{id}\">{label}</button>"));
    }
    form.push_str("</form>");
    form
}

fn result_of(body: &Bytes) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == "result").map(|(_, v)| v.into_owned())
}

/// `GET /v2/mock/3ds/{id}`: a frictionless or refusing card is decided at once; any other asks.
pub async fn three_d_secure(State(m): State<PayjpV2Mock>, Path(id): Path<String>) -> Response {
    let decided = m.account().decides_alone(&id);
    if let Some(result) = decided {
        return authenticate(&m, &id, result);
    }
    let amount = {
        let now = m.now();
        let mut account = m.account();
        account.lapse(now);
        match account.flows.get(&id) {
            Some(f) if f.wire.status == "requires_action" => f.wire.amount,
            Some(f) => return refused(409, &format!("Payment flow {id} is {} and not waiting for 3-D Secure", f.wire.status)),
            None => return refused(404, &format!("No such payment_flow: {id}")),
        }
    };
    let choices = [("success", "authenticate", "Authenticate"), ("failure", "fail", "Fail"), ("abandon", "abandon", "Abandon")];
    let body = format!(
        "<p>The PAY.JP v2 mock's issuer asks the customer to authenticate payment flow <code id=\"flow\">{}</code> of <strong>¥{amount}</strong>.</p>{}",
        escape_html(&id),
        buttons(&format!("/v2/mock/3ds/{id}/result"), &choices)
    );
    page(StatusCode::OK, "3-D Secure", &body)
}

/// `POST /v2/mock/3ds/{id}/result`: the customer's button.
pub async fn three_d_secure_result(State(m): State<PayjpV2Mock>, Path(id): Path<String>, body: Bytes) -> Response {
    match result_of(&body).as_deref().and_then(AuthenticationResult::from_name) {
        Some(result) => authenticate(&m, &id, result),
        None => refused(400, "result must be success, failure or abandon"),
    }
}

fn authenticate(m: &PayjpV2Mock, id: &str, result: AuthenticationResult) -> Response {
    let now = m.now();
    let outcome = m.account().authenticate(id, now, result);
    match outcome {
        Ok((_, changes)) => {
            m.emit(changes);
            answered(m, id)
        }
        Err((status, message)) => refused(status, &message),
    }
}

/// `GET /v2/mock/paypay/{id}`: the payer approves or declines in PayPay.
pub async fn paypay(State(m): State<PayjpV2Mock>, Path(id): Path<String>) -> Response {
    let amount = {
        let now = m.now();
        let mut account = m.account();
        account.lapse(now);
        match account.flows.get(&id) {
            Some(f) if f.wire.status == "requires_action" => f.wire.amount,
            Some(f) => return refused(409, &format!("Payment flow {id} is {} and not waiting for its payer", f.wire.status)),
            None => return refused(404, &format!("No such payment_flow: {id}")),
        }
    };
    let choices = [("approve", "approve", "Pay"), ("decline", "decline", "Decline")];
    let body = format!(
        "<p>PayPay (PAY.JP v2 mock) asks the payer to pay <strong>¥{amount}</strong> for payment flow <code id=\"flow\">{}</code>.</p>{}",
        escape_html(&id),
        buttons(&format!("/v2/mock/paypay/{id}/result"), &choices)
    );
    page(StatusCode::OK, "PayPay", &body)
}

/// `POST /v2/mock/paypay/{id}/result`: approved flows are `processing` until PayPay confirms.
pub async fn paypay_result(State(m): State<PayjpV2Mock>, Path(id): Path<String>, body: Bytes) -> Response {
    let approve = match result_of(&body).as_deref() {
        Some("approve") => true,
        Some("decline") => false,
        _ => return refused(400, "result must be approve or decline"),
    };
    let now = m.now();
    let outcome = m.account().paypay_answer(&id, now, approve);
    match outcome {
        Ok(changes) => {
            m.emit(changes);
            answered(&m, &id)
        }
        Err((status, message)) => refused(status, &message),
    }
}
