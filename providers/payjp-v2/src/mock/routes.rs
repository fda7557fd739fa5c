//! The v2 routes: auth, the JSON body, the idempotency table, then the account's rules.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use payment_mock_kit::{Claim, StoredResponse};
use serde_json::{Map, Value, json};

use super::PayjpV2Mock;
use super::flows::Changes;
use super::reply::{self, Reply, respond};
use super::state::{Account, object};
use crate::signing::key_from_header;

/// The mock's routes (the kit adds faults, logging and `/__mock__/`).
pub fn routes(mock: PayjpV2Mock) -> Router {
    Router::new()
        .route("/v2/payment_methods", post(create_method))
        .route("/v2/payment_methods/{id}", get(get_method))
        .route("/v2/payment_methods/{id}/attach", post(attach))
        .route("/v2/customers", post(create_customer))
        .route("/v2/customers/{id}", get(get_customer))
        .route("/v2/payment_flows", post(create_flow).get(list_flows))
        .route("/v2/payment_flows/{id}", get(get_flow).post(update_flow))
        .route("/v2/payment_flows/{id}/confirm", post(confirm))
        .route("/v2/payment_flows/{id}/capture", post(capture))
        .route("/v2/payment_flows/{id}/cancel", post(cancel))
        .route("/v2/payment_flows/{id}/refunds", get(flow_refunds))
        .route("/v2/payment_refunds", post(create_refund).get(list_refunds))
        .route("/v2/payment_refunds/{id}", get(get_refund))
        .route("/v2/events", get(list_events))
        .route("/v2/events/{id}", get(get_event))
        .route("/v2/mock/3ds/{id}", get(super::pages::three_d_secure))
        .route("/v2/mock/3ds/{id}/result", post(super::pages::three_d_secure_result))
        .route("/v2/mock/paypay/{id}", get(super::pages::paypay))
        .route("/v2/mock/paypay/{id}/result", post(super::pages::paypay_result))
        .with_state(mock)
}

/// The secret key, or a 401 problem.
fn authenticate(headers: &HeaderMap) -> Result<String, Reply> {
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Err(reply::problem(401, "unauthorized", "Unauthorized", "No API key was given"));
    };
    match key_from_header(header) {
        Some(key) if key.starts_with("sk_test_") && key.len() > "sk_test_".len() => Ok(key),
        Some(key) if key.starts_with("sk_live_") => {
            Err(reply::problem(401, "unauthorized", "Unauthorized", "Live keys are not accepted by the mock"))
        }
        _ => Err(reply::problem(401, "unauthorized", "Unauthorized", "Invalid API key")),
    }
}

fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the customer's pages are: the host this request came to.
fn base(headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// What a rule gets: the account (lapses applied), the mock, its now, the JSON body and where
/// to note the changes it makes.
type Rule<'a> = dyn FnOnce(&mut Account, &PayjpV2Mock, i64, &Map<String, Value>, &mut Changes) -> Result<Reply, Reply> + Send + 'a;

/// A POST: authenticated, its body a JSON object (empty is `{}`), run once per
/// `Idempotency-Key` per account (same body: the stored answer; another: 409
/// `idempotency_conflict`; still running: 409 `idempotency_timeout`), its events emitted.
async fn posted(m: &PayjpV2Mock, request: Request, rule: Box<Rule<'_>>) -> Response {
    let (parts, body) = request.into_parts();
    let account = match authenticate(&parts.headers) {
        Ok(k) => k,
        Err(r) => return respond(r),
    };
    // The kit's middleware already buffered (and size-checked) the body.
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let run = |body: &[u8]| -> Reply {
        let parsed = match object(body) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let now = m.now();
        let mut changes = Vec::new();
        let answer = {
            let mut a = m.account();
            changes.extend(a.lapse(now));
            rule(&mut a, m, now, &parsed, &mut changes).unwrap_or_else(|e| e)
        };
        m.emit(changes);
        answer
    };
    let Some(key) = parts.headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return respond(run(&body));
    };
    if !valid_idempotency_key(key) {
        return respond(reply::problem(400, "invalid_idempotency_key", "Invalid Idempotency Key", "Idempotency-Key must be 1 to 255 of [A-Za-z0-9_-]"));
    }
    // The canonical body (keys sorted) so that the same request written in another order replays.
    let canonical = object(&body).map(|o| Value::Object(o).to_string()).unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
    let fingerprint = format!("{} {} {canonical}", parts.method, parts.uri.path());
    match m.kit.idempotency.claim(&account, key, &fingerprint) {
        Claim::Replay(stored) => {
            respond(Reply { status: stored.status, body: serde_json::from_slice(&stored.body).unwrap_or_default() })
        }
        Claim::Conflict => respond(reply::problem(
            409,
            "idempotency_conflict",
            "Idempotency Conflict",
            "This Idempotency-Key was used with other parameters: retry with a new key",
        )),
        Claim::InFlight => respond(reply::problem(
            409,
            "idempotency_timeout",
            "Idempotency Timeout",
            "A request with this Idempotency-Key is still being processed: retry later with the same key",
        )),
        Claim::New(guard) => {
            let answer = run(&body);
            if answer.status < 500 {
                guard.complete(StoredResponse { status: answer.status, headers: Vec::new(), body: answer.bytes() });
            }
            respond(answer)
        }
    }
}

/// A GET: authenticated, lapses applied (and their events emitted) before the rule reads.
fn read(m: &PayjpV2Mock, headers: &HeaderMap, rule: impl FnOnce(&mut Account, i64) -> Result<Reply, Reply>) -> Response {
    if let Err(r) = authenticate(headers) {
        return respond(r);
    }
    let now = m.now();
    let (answer, changes) = {
        let mut a = m.account();
        let changes = a.lapse(now);
        (rule(&mut a, now).unwrap_or_else(|e| e), changes)
    };
    m.emit(changes);
    respond(answer)
}

fn query(raw: Option<String>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// One page of `all` (newest first) as `{object: "list", url, has_more, data}`.
pub fn list_page<T>(
    all: &[T],
    id: impl Fn(&T) -> &str,
    query: &BTreeMap<String, String>,
    url: &str,
    render: impl Fn(&T) -> Value,
) -> Result<Reply, Reply> {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => return Err(reply::invalid("limit", "Input should be greater than or equal to 1 and less than or equal to 100")),
    };
    let (page, has_more) = payment_mock_kit::pages::cursor_page(
        all,
        id,
        query.get("starting_after").map(String::as_str),
        query.get("ending_before").map(String::as_str),
        limit,
    )
    .map_err(|cursor| reply::not_found("object", &cursor))?;
    Ok(Reply::ok(json!({"object": "list", "url": url, "has_more": has_more, "data": page.iter().map(render).collect::<Vec<_>>()})))
}

async fn create_method(State(m): State<PayjpV2Mock>, request: Request) -> Response {
    posted(&m, request, Box::new(|a, m, now, body, _| a.create_method(&m.kit.ids, now, body))).await
}

async fn get_method(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&m, &headers, |a, _| a.method(&id).map(|pm| Reply::ok(pm.object.clone())))
}

async fn attach(State(m): State<PayjpV2Mock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, Box::new(move |a, m, now, body, _| a.attach(&m.kit.ids, now, &id, body))).await
}

async fn create_customer(State(m): State<PayjpV2Mock>, request: Request) -> Response {
    posted(&m, request, Box::new(|a, m, now, body, _| a.create_customer(&m.kit.ids, now, body))).await
}

async fn get_customer(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&m, &headers, |a, now| a.customer(&m.kit.ids, now, &id).map(|c| Reply::ok(c.clone())))
}

async fn create_flow(State(m): State<PayjpV2Mock>, request: Request) -> Response {
    let base = base(request.headers());
    posted(&m, request, Box::new(move |a, m, now, body, changes| a.create_flow(&m.kit.ids, now, &base, body, changes))).await
}

async fn list_flows(State(m): State<PayjpV2Mock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    read(&m, &headers, |a, now| a.list_flows(now, &query(q)))
}

async fn get_flow(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&m, &headers, |a, now| a.flow(&id, now).map(|f| Reply::ok(json!(f.wire))))
}

async fn update_flow(State(m): State<PayjpV2Mock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, Box::new(move |a, _, now, body, _| a.update_flow(&id, now, body))).await
}

async fn confirm(State(m): State<PayjpV2Mock>, Path(id): Path<String>, request: Request) -> Response {
    let base = base(request.headers());
    posted(&m, request, Box::new(move |a, _, now, body, changes| a.confirm(&id, now, &base, body, changes))).await
}

async fn capture(State(m): State<PayjpV2Mock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, Box::new(move |a, _, now, body, changes| a.capture(&id, now, body, changes))).await
}

async fn cancel(State(m): State<PayjpV2Mock>, Path(id): Path<String>, request: Request) -> Response {
    posted(&m, request, Box::new(move |a, _, now, body, changes| a.cancel(&id, now, body, changes))).await
}

async fn flow_refunds(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    read(&m, &headers, |a, now| a.list_refunds(now, Some(&id), &query(q)))
}

async fn create_refund(State(m): State<PayjpV2Mock>, request: Request) -> Response {
    posted(&m, request, Box::new(|a, m, now, body, changes| a.create_refund(&m.kit.ids, now, body, changes))).await
}

async fn list_refunds(State(m): State<PayjpV2Mock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    read(&m, &headers, |a, now| a.list_refunds(now, None, &query(q)))
}

async fn get_refund(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&m, &headers, |a, now| a.refund(&id, now))
}

async fn list_events(State(m): State<PayjpV2Mock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    read(&m, &headers, |a, _| a.list_events(&query(q)))
}

async fn get_event(State(m): State<PayjpV2Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    read(&m, &headers, |a, _| a.event(&id))
}
