//! The routes of both families (`/v1/…` and the legacy `/transaction/v1/…`): the API key, the
//! request signature, then the account's rules.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::JustapMock;
use super::reply::{JustapReply, Reply, code};
use crate::signing;

/// Most a request timestamp may be off real time.
const SKEW: i64 = 300;

/// The routes (the kit adds faults, logging and `/__mock__/`).
pub fn routes(mock: JustapMock) -> Router {
    let mut router = Router::new();
    for prefix in ["/v1", "/transaction/v1"] {
        router = router
            .route(&format!("{prefix}/charges"), post(create_charge).get(list_charges))
            .route(&format!("{prefix}/charges/{{id}}"), get(get_charge))
            .route(&format!("{prefix}/charges/merchant_trade_id/{{trade}}"), get(get_by_trade_id))
            .route(&format!("{prefix}/charges/{{id}}/reverse"), post(reverse))
            .route(&format!("{prefix}/refunds"), post(create_refund).get(list_refunds));
    }
    router
        .route("/v1/refunds/{refund}", get(get_refund))
        .route("/transaction/v1/charges/{id}/refunds", get(legacy_list_refunds))
        .route("/transaction/v1/charges/{id}/refunds/{refund}", get(legacy_get_refund))
        .with_state(mock)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn unauthenticated(message: &str) -> Reply {
    Reply::grpc(401, code::UNAUTHENTICATED, message)
}

/// The API key (either spelling Justap documents), then the four signature headers over `body`.
fn authorize(mock: &JustapMock, headers: &HeaderMap, body: &[u8]) -> Result<(), Reply> {
    let key = header(headers, "x-justap-api-key").or_else(|| header(headers, "x_justap_api_key"));
    match key {
        Some(k) if (k.starts_with("sk_test_") || k.starts_with("TEST_")) && k.len() > 8 => {}
        Some(_) => return Err(unauthenticated("invalid api key")),
        None => return Err(unauthenticated("missing X-Justap-Api-Key")),
    }
    let Some(merchant) = mock.merchant_public_key() else { return Ok(()) };
    let (Some(ts), Some(nonce), Some(hash), Some(signature)) = (
        header(headers, signing::TIME_HEADER),
        header(headers, signing::NONCE_HEADER),
        header(headers, signing::BODY_HASH_HEADER),
        header(headers, signing::SIGNATURE_HEADER),
    ) else {
        return Err(unauthenticated("missing signature headers"));
    };
    // Checked against real time: the signer cannot know how far tests moved the mock clock.
    let now = payment_core::Timestamp::now().unix();
    if ts.parse::<i64>().map_or(true, |t| (t - now).abs() > SKEW) {
        return Err(unauthenticated("X-Justap-Request-Time is outside the allowed window"));
    }
    if nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(unauthenticated("X-Justap-Nonce must be letters and digits"));
    }
    if !body.is_empty() && signing::body_hash(body, ts, nonce) != hash {
        return Err(unauthenticated("X-Justap-Body-Hash does not match the body"));
    }
    if !signing::verify(merchant, hash, nonce, signature) {
        return Err(unauthenticated("signature verification failed"));
    }
    Ok(())
}

fn query_map(raw: Option<String>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn required<'q>(query: &'q BTreeMap<String, String>, key: &str) -> Result<&'q str, Reply> {
    query
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Reply::invalid(&format!("{key} is required")))
}

fn answer(result: Result<Response, Reply>) -> Response {
    result.unwrap_or_else(|e| e.into_response())
}

async fn create_charge(
    State(m): State<JustapMock>,
    signed: Option<axum::Extension<payment_mock_kit::SignedBody>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = signed.map_or_else(|| body.clone(), |s| s.0.0);
    answer(authorize(&m, &headers, &signed).and_then(|()| m.account().create_charge(m.ids(), m.now(), &body)))
}

async fn list_charges(State(m): State<JustapMock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    answer(authorize(&m, &headers, b"").and_then(|()| m.account().list_charges(m.now(), &query_map(q))))
}

async fn get_charge(
    State(m): State<JustapMock>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = query_map(q);
    answer(authorize(&m, &headers, b"").and_then(|()| m.account().charge(required(&query, "app_id")?, &id, m.now())))
}

async fn get_by_trade_id(
    State(m): State<JustapMock>,
    headers: HeaderMap,
    Path(trade): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = query_map(q);
    answer(
        authorize(&m, &headers, b"")
            .and_then(|()| m.account().charge_by_trade_id(required(&query, "app_id")?, &trade, m.now())),
    )
}

async fn reverse(State(m): State<JustapMock>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    answer(authorize(&m, &headers, &body).and_then(|()| m.account().reverse(&id, m.now(), &body)))
}

async fn create_refund(State(m): State<JustapMock>, headers: HeaderMap, body: Bytes) -> Response {
    let before = m.account().refunds_applied;
    let result = authorize(&m, &headers, &body).and_then(|()| m.account().refund(m.ids(), m.now(), &body));
    // `charge.refunded` fires per refund made, not for a replayed one.
    if m.account().refunds_applied > before
        && let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(charge) = request["charge_id"].as_str().and_then(|id| m.account().charge_view(id, m.now()))
    {
        m.notify("charge.refunded", &charge, request.get("amount"));
    }
    answer(result)
}

async fn list_refunds(State(m): State<JustapMock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let query = query_map(q);
    answer(
        authorize(&m, &headers, b"").and_then(|()| {
            m.account().list_refunds(required(&query, "app_id")?, required(&query, "charge_id")?, &query)
        }),
    )
}

async fn get_refund(
    State(m): State<JustapMock>,
    headers: HeaderMap,
    Path(refund): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = query_map(q);
    answer(
        authorize(&m, &headers, b"").and_then(|()| {
            m.account().refund_view(required(&query, "app_id")?, required(&query, "charge_id")?, &refund)
        }),
    )
}

async fn legacy_list_refunds(
    State(m): State<JustapMock>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = query_map(q);
    answer(
        authorize(&m, &headers, b"").and_then(|()| m.account().list_refunds(required(&query, "app_id")?, &id, &query)),
    )
}

async fn legacy_get_refund(
    State(m): State<JustapMock>,
    headers: HeaderMap,
    Path((id, refund)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = query_map(q);
    answer(
        authorize(&m, &headers, b"").and_then(|()| m.account().refund_view(required(&query, "app_id")?, &id, &refund)),
    )
}
