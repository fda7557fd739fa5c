//! The v1 routes: auth, form parsing, the idempotency table, then the account's rules.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payment_mock_kit::{AuthenticationResult, Claim, StoredResponse};

use super::PayjpMock;
use super::auth_page;
use super::tds::StartPage as TdsPage;
use super::reply::{PayjpReply, Reply};
use super::state::Account;
use crate::signing::key_from_basic;
use crate::wire::Form;

/// The mock's routes (the kit adds faults, logging and `/__mock__/`).
pub fn routes(mock: PayjpMock) -> Router {
    Router::new()
        .route("/v1/tokens", post(create_token))
        .route("/v1/tokens/{id}", get(get_token))
        .route("/v1/charges", post(create_charge).get(list_charges))
        .route("/v1/charges/{id}", get(get_charge).post(update_charge))
        .route("/v1/charges/{id}/capture", post(capture))
        .route("/v1/charges/{id}/refund", post(refund))
        .route("/v1/charges/{id}/reauth", post(reauth))
        .route("/v1/charges/{id}/tds_finish", post(tds_finish))
        .route("/v1/tds/{id}/start", get(tds_start))
        .route("/v1/tds/{id}/result", post(tds_result))
        .with_state(mock)
}

/// The secret key, or PAY.JP's 401.
fn authenticate(headers: &HeaderMap) -> Result<String, Reply> {
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Err(Reply::error(401, "auth_error", Some("no_api_key"), "Invalid API Key: no key was given", None));
    };
    match key_from_basic(header) {
        Some(key) if key.starts_with("sk_test_") && key.len() > "sk_test_".len() => Ok(key),
        Some(key) if key.starts_with("sk_live_") => Err(Reply::error(
            401,
            "auth_error",
            Some("invalid_api_key"),
            "Live keys are not accepted by the mock",
            None,
        )),
        _ => Err(Reply::error(401, "auth_error", Some("invalid_api_key"), "Invalid API Key", None)),
    }
}

fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Runs a POST once per `Idempotency-Key` (scope: secret key, method, path): the same body replays
/// the stored answer; another body is 409 `idempotency_conflict`; a key still running is 409 `idempotency_timeout`.
fn once(
    mock: &PayjpMock,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    body: &Bytes,
    run: impl FnOnce(&Form) -> Result<Reply, Reply>,
) -> Response {
    let account = match authenticate(headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let form = Form::parse(body);
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return run(&form).unwrap_or_else(|e| e).into_response();
    };
    if !valid_idempotency_key(key) {
        return Reply::invalid("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 of [A-Za-z0-9_-]", None)
            .into_response();
    }
    let mut fields: Vec<&(String, String)> = form.fields().iter().collect();
    fields.sort();
    let fingerprint = format!("{method} {} {fields:?}", uri.path());
    let scope = format!("{account} {method} {}", uri.path());
    match mock.kit.idempotency.claim(&scope, key, &fingerprint) {
        Claim::Replay(stored) => {
            Reply { status: stored.status, body: serde_json::from_slice(&stored.body).unwrap_or_default() }
                .into_response()
        }
        Claim::Conflict => Reply::error(
            409,
            "client_error",
            Some("idempotency_conflict"),
            "Keys for idempotent requests can only be used with the same parameters they were first used with",
            None,
        )
        .into_response(),
        Claim::InFlight => Reply::error(
            409,
            "client_error",
            Some("idempotency_timeout"),
            "A request with this key is still being processed; retry later with the same key",
            None,
        )
        .into_response(),
        Claim::New(guard) => {
            let reply = run(&form).unwrap_or_else(|e| e);
            if reply.status < 500 {
                guard.complete(StoredResponse { status: reply.status, headers: Vec::new(), body: reply.bytes() });
            }
            reply.into_response()
        }
    }
}

fn read(headers: &HeaderMap, run: impl FnOnce() -> Result<Reply, Reply>) -> Response {
    match authenticate(headers) {
        Ok(_) => run().unwrap_or_else(|e| e).into_response(),
        Err(r) => r.into_response(),
    }
}

/// A POST through [`once`]: `rule` runs under the account lock with the mock's now and the form.
async fn posted(
    m: &PayjpMock,
    request: Request,
    rule: impl FnOnce(&mut Account, i64, &Form) -> Result<Reply, Reply>,
) -> Response {
    let (parts, body) = request.into_parts();
    // The kit's middleware already buffered (and size-checked) the body.
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let now = m.now();
    once(m, &parts.headers, &parts.method, &parts.uri, &body, |form| rule(&mut m.account(), now, form))
}

async fn create_token(State(m): State<PayjpMock>, request: Request) -> Response {
    posted(&m, request, |a, now, form| a.create_token(&m.kit.ids, now, form)).await
}

async fn get_token(State(m): State<PayjpMock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&headers, || {
        m.account()
            .tokens
            .get(&id)
            .map(|(t, _)| Reply::ok(serde_json::json!(t)))
            .ok_or_else(|| Reply::not_found("token", &id))
    })
}

async fn create_charge(State(m): State<PayjpMock>, request: Request) -> Response {
    // A 3-D Secure charge's `back_url` must be signed with the key that created it.
    let secret_key = authenticate(request.headers()).unwrap_or_default();
    posted(&m, request, |a, now, form| {
        let reply = a.create_charge(&m.kit.ids, now, form, &secret_key);
        // A charge waiting for 3-D Secure has not succeeded: its event comes with `tds_finish`.
        if reply.as_ref().is_ok_and(|r| r.body["paid"] == serde_json::Value::Bool(true)) {
            m.notify(&reply, "charge.succeeded");
        }
        reply
    })
    .await
}

async fn list_charges(State(m): State<PayjpMock>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let now = m.now();
    read(&headers, || {
        let mut account = m.account();
        account.expire_tds(now);
        account.list(&Form::parse(query.unwrap_or_default().as_bytes()))
    })
}

async fn get_charge(State(m): State<PayjpMock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let now = m.now();
    read(&headers, || {
        let mut account = m.account();
        account.expire_tds(now);
        account.charge(&id)
    })
}

async fn update_charge(State(m): State<PayjpMock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, |a, _, form| a.update_charge(&id, form)).await
}

async fn capture(State(m): State<PayjpMock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, |a, now, form| {
        let reply = a.capture(&id, now, form);
        m.notify(&reply, "charge.captured");
        reply
    })
    .await
}

async fn refund(State(m): State<PayjpMock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, |a, now, form| {
        let reply = a.refund(&id, now, form);
        m.notify(&reply, "charge.refunded");
        reply
    })
    .await
}

async fn reauth(State(m): State<PayjpMock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, |a, now, form| a.reauth(&id, now, form)).await
}

async fn tds_finish(State(m): State<PayjpMock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, |a, now, form| {
        super::state::only(form, &[])?;
        let reply = a.tds_finish(&id, now);
        m.notify(&reply, "charge.succeeded");
        reply
    })
    .await
}

/// The issuer's page; no API key (it is the customer's browser), the signed `back_url` instead.
async fn tds_start(State(m): State<PayjpMock>, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    let query = Form::parse(query.unwrap_or_default().as_bytes());
    let (public_key, back_url) = (query.get("publickey").unwrap_or(""), query.get("back_url").unwrap_or(""));
    let now = m.now();
    match m.account().tds_start(&id, now, public_key, back_url) {
        Ok(TdsPage::Challenge { charge, amount, back_url }) => auth_page::challenge(&charge, amount, &back_url),
        Ok(TdsPage::Back(url)) => auth_page::back_to(&url),
        Err((status, message)) => auth_page::refused(status, &message),
    }
}

/// The page's buttons: `result` and the `back_url` it carried.
async fn tds_result(State(m): State<PayjpMock>, Path(id): Path<String>, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let Some(result) = form.get("result").and_then(AuthenticationResult::from_name) else {
        return auth_page::refused(400, "result must be success, failure or abandon");
    };
    let now = m.now();
    match m.account().tds_result(&id, now, result, form.get("back_url").unwrap_or("")) {
        Ok(url) => auth_page::back_to(&url),
        Err((status, message)) => auth_page::refused(status, &message),
    }
}
