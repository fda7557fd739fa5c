//! The `/v1` routes: auth (Bearer or Basic), the request signature when a merchant key is
//! registered, then the account's rules.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;

use super::PingppMock;
use super::reply::{PingppReply, Reply};
use crate::signing;

/// Most a request timestamp may be off the mock's clock.
const SKEW: i64 = 300;

/// The routes (the kit adds faults, logging and `/__mock__/`).
pub fn routes(mock: PingppMock) -> Router {
    Router::new()
        .route("/v1/charges", post(create_charge).get(list_charges))
        .route("/v1/charges/{id}", get(get_charge))
        .route("/v1/charges/{id}/reverse", post(reverse))
        .route("/v1/charges/{id}/refunds", post(create_refund).get(list_refunds))
        .route("/v1/charges/{id}/refunds/{refund}", get(get_refund))
        .with_state(mock)
}

fn secret_key(headers: &HeaderMap) -> Option<String> {
    let header = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = header.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(header.strip_prefix("Basic ")?.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':').map(|(u, _)| u).unwrap_or(&text).to_owned())
}

/// Auth, then (when a merchant key is registered) timestamp and signature over body + URI + timestamp.
fn authorize(mock: &PingppMock, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<(), Reply> {
    match secret_key(headers) {
        Some(k) if k.starts_with("sk_test_") && k.len() > 8 => {}
        Some(_) => {
            return Err(Reply::error(401, "invalid_request_error", Some("invalid_api_key"), "无效的 API Key", None));
        }
        None => {
            return Err(Reply::error(401, "invalid_request_error", Some("invalid_api_key"), "没有提供 API Key", None));
        }
    }
    let Some(key) = mock.merchant_public_key() else { return Ok(()) };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header(signing::TIMESTAMP_HEADER).unwrap_or("");
    let Some(signature) = header(signing::SIGNATURE_HEADER) else {
        return Err(Reply::invalid("missing_signature", "没有提供签名串，需要在 header 中加入签名串。", None));
    };
    // The skew is checked against real time: the signer cannot know how far tests moved the mock clock.
    let now = payment_core::Timestamp::now().unix();
    if timestamp.parse::<i64>().map_or(true, |t| (t - now).abs() > SKEW) {
        return Err(Reply::invalid("timestamp_out_of_range", "请求时间戳无效或已过期", None));
    }
    let uri_on_wire = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if !signing::verify_request(&key, body, uri_on_wire, timestamp, signature) {
        return Err(Reply::invalid("invalid_signature", "提供了无效的签名", None));
    }
    Ok(())
}

fn query_map(raw: Option<String>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn answer(result: Result<Reply, Reply>) -> Response {
    result.unwrap_or_else(|e| e).into_response()
}

async fn create_charge(
    State(m): State<PingppMock>,
    signed: Option<axum::Extension<payment_mock_kit::SignedBody>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let signed = signed.map_or_else(|| body.clone(), |s| s.0.0);
    answer(authorize(&m, &headers, &uri, &signed).and_then(|()| m.account().create_charge(m.ids(), m.now(), &body)))
}

async fn list_charges(State(m): State<PingppMock>, headers: HeaderMap, uri: Uri, RawQuery(q): RawQuery) -> Response {
    answer(authorize(&m, &headers, &uri, b"").and_then(|()| m.account().list_charges(m.now(), &query_map(q))))
}

async fn get_charge(State(m): State<PingppMock>, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    answer(authorize(&m, &headers, &uri, b"").and_then(|()| m.account().charge(&id, m.now())))
}

async fn reverse(
    State(m): State<PingppMock>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    answer(authorize(&m, &headers, &uri, &body).and_then(|()| m.account().reverse(&id, m.now())))
}

async fn create_refund(
    State(m): State<PingppMock>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = authorize(&m, &headers, &uri, &body).and_then(|()| m.account().refund(m.ids(), &id, m.now(), &body));
    if let Ok(reply) = &result {
        // Sent when the refund succeeds: now, or once its pending time has passed on the clock.
        let delay = m.refund_delay();
        let mut object = reply.body.clone();
        object["status"] = serde_json::json!("succeeded");
        object["succeed"] = serde_json::json!(true);
        let _ = m.send_webhook("refund.succeeded", object, delay);
    }
    answer(result)
}

async fn list_refunds(
    State(m): State<PingppMock>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(authorize(&m, &headers, &uri, b"").and_then(|()| m.account().list_refunds(&id, m.now(), &query_map(q))))
}

async fn get_refund(
    State(m): State<PingppMock>,
    headers: HeaderMap,
    uri: Uri,
    Path((id, refund)): Path<(String, String)>,
) -> Response {
    answer(authorize(&m, &headers, &uri, b"").and_then(|()| m.account().refund_view(&id, &refund, m.now())))
}
