//! The layer every mock request passes: body limit, request log, and fault injection.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::faults::FaultKind;
use crate::kit::{LoggedRequest, MockHooks, MockKit};

/// Marks a response whose connection must be closed without sending it.
#[derive(Debug, Clone, Copy)]
pub struct Disconnect;

/// Tells a handler whose answers are not plain JSON (encrypted ones) which content fault to apply
/// itself before it seals the answer: `extra_fields` or `alter_amount`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentFault(pub FaultKind);

/// The body as the client sent and signed it, set on a request whose body a fault changed
/// (`charge_other_amount`): a mock checking a signature over the body checks it over this one,
/// since the provider changes what it charges after it verified the request.
#[derive(Debug, Clone)]
pub struct SignedBody(pub axum::body::Bytes);

/// Set on a response by a handler that applied the request's [`ContentFault`] itself; `true`
/// when the answer changed. The kit then leaves the body alone.
#[derive(Debug, Clone, Copy)]
pub struct ContentFaultApplied(pub bool);

/// The kit and the provider's hooks, as the middleware and control routes need them.
#[derive(Clone)]
pub struct MockContext {
    /// Shared state.
    pub kit: Arc<MockKit>,
    /// The provider's hooks.
    pub hooks: Arc<dyn MockHooks>,
}

const LOGGED_BODY: usize = 4096;

/// Buffers the body (413 past the limit), applies faults, runs the handler, logs the exchange.
pub async fn fault_and_log(State(ctx): State<MockContext>, request: Request, next: Next) -> Response {
    let arrived = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let control = parts.uri.path().starts_with("/__mock__/");
    if control && let Some(refusal) = crate::control::refuse_cross_site(&parts) {
        return refusal;
    }
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (k.as_str().to_owned(), crate::redact::header_value(k.as_str(), &String::from_utf8_lossy(v.as_bytes())))
        })
        .collect();
    let mut entry = LoggedRequest {
        seq: 0,
        at: ctx.kit.clock.now().unix(),
        latency_ms: 0,
        method,
        path,
        headers,
        body: String::new(),
        status: None,
        answer: String::new(),
        fault: None,
    };
    let bytes = match axum::body::to_bytes(body, ctx.kit.body_limit()).await {
        Ok(b) => b,
        Err(e) => {
            // Over the limit is 413; a body that breaks off or is badly framed is the client's 400.
            let (status, message) = if is_over_limit(&e) {
                (413, format!("request body over {} bytes", ctx.kit.body_limit()))
            } else {
                (400, format!("the request body could not be read: {e}"))
            };
            let response = ctx.hooks.error_response(status, &message);
            entry.status = Some(status);
            entry.latency_ms = elapsed_ms(arrived);
            if !control {
                ctx.kit.record(entry);
            }
            return response;
        }
    };
    entry.body = crate::redact::body(&String::from_utf8_lossy(&bytes[..bytes.len().min(LOGGED_BODY)]));
    // Once the body is read the request is the provider's: it runs to its end on its own task,
    // as a real provider commits what it received even if the client hung up or gave up waiting
    // (a delay past the caller's deadline, then the charge).
    let task = tokio::spawn(run_request(ctx, parts, bytes, entry, arrived, control, next));
    match task.await {
        Ok(response) => response,
        Err(e) => {
            let mut r = Response::new(Body::from(format!("the mock's handler failed: {e}")));
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

/// Applies the faults planned for one read request, runs its handler and logs the exchange.
async fn run_request(
    ctx: MockContext,
    parts: http::request::Parts,
    bytes: axum::body::Bytes,
    mut entry: LoggedRequest,
    arrived: std::time::Instant,
    control: bool,
    next: Next,
) -> Response {
    let decision = if control { Default::default() } else { ctx.kit.decide_faults(&entry.method, parts.uri.path()) };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
        entry.fault = Some(format!("delay {}ms", decision.delay.as_millis()));
    }
    let mut parts = parts;
    if let Some(kind @ (FaultKind::ExtraFields | FaultKind::AlterAmount)) = &decision.action {
        parts.extensions.insert(ContentFault(kind.clone()));
    }
    let mut bytes = bytes;
    let mut charged_other = false;
    if decision.action == Some(FaultKind::ChargeOtherAmount)
        && let Some(raised) = raise_amount(&bytes)
    {
        parts.extensions.insert(SignedBody(bytes.clone()));
        bytes = axum::body::Bytes::from(raised);
        parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
        charged_other = true;
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    let response = match decision.action {
        None => next.run(request).await,
        Some(FaultKind::ResetBeforeCommit) => {
            entry.fault = Some("reset_before_commit".into());
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(Disconnect);
            r
        }
        Some(FaultKind::DropAfterCommit) => {
            entry.fault = Some("drop_after_commit".into());
            let mut r = next.run(request).await;
            r.extensions_mut().insert(Disconnect);
            r
        }
        Some(FaultKind::Status { status, retry_after }) => {
            entry.fault = Some(format!("status {status}"));
            let mut r = ctx.hooks.error_response(status, "injected fault: the service is unavailable");
            if let Some(secs) = retry_after {
                r.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            r
        }
        Some(FaultKind::StatusAfterCommit { status }) => {
            entry.fault = Some(format!("status {status} after commit"));
            let _committed = next.run(request).await;
            ctx.hooks.error_response(status, "injected fault: the service failed after committing")
        }
        Some(FaultKind::ExtraFields) => {
            entry.fault = Some("extra_fields".into());
            let response = next.run(request).await;
            match response.extensions().get::<ContentFaultApplied>() {
                Some(_) => response,
                None => with_extra_fields(response, ctx.kit.body_limit()).await,
            }
        }
        Some(FaultKind::AlterAmount) => {
            let hooks = ctx.hooks.clone();
            let altered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = altered.clone();
            let response = next.run(request).await;
            let response = match response.extensions().get::<ContentFaultApplied>().copied() {
                Some(ContentFaultApplied(changed)) => {
                    altered.store(changed, std::sync::atomic::Ordering::Relaxed);
                    response
                }
                None => {
                    rewrite_json(response, ctx.kit.body_limit(), move |v| {
                        let changed = hooks.alter_amount(v);
                        flag.store(changed, std::sync::atomic::Ordering::Relaxed);
                        changed
                    })
                    .await
                }
            };
            // Logged as a fault only when the answer really changed: a case can tell "nothing to alter".
            if altered.load(std::sync::atomic::Ordering::Relaxed) {
                entry.fault = Some("alter_amount".into());
            }
            response
        }
        Some(FaultKind::ChargeOtherAmount) => {
            let response = next.run(request).await;
            if charged_other {
                entry.fault = Some("charge_other_amount".into());
                rewrite_json(response, ctx.kit.body_limit(), |v| crate::alter::shift_first_amount(v, -1)).await
            } else {
                response
            }
        }
        Some(FaultKind::Delay { .. }) => next.run(request).await,
    };
    entry.status = response.extensions().get::<Disconnect>().is_none().then(|| response.status().as_u16());
    entry.latency_ms = elapsed_ms(arrived);
    if control {
        return response;
    }
    // The answer is kept for the log (the console shows it): the mocks answer small bodies.
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, ctx.kit.body_limit()).await.unwrap_or_default();
    ctx.kit.record_answered(entry, bytes.slice(..bytes.len().min(LOGGED_BODY)));
    // The provider's `Date` is its clock: the mock's, moved by `clock advance` like its objects.
    parts.headers.insert(http::header::DATE, date_header(ctx.kit.clock.now().unix()));
    Response::from_parts(parts, Body::from(bytes))
}

/// The request body with its first amount one more (JSON or form-encoded), if it has one.
fn raise_amount(body: &[u8]) -> Option<Vec<u8>> {
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        return crate::alter::shift_first_amount(&mut value, 1).then(|| value.to_string().into_bytes());
    }
    crate::alter::shift_form_amount(std::str::from_utf8(body).ok()?, 1).map(String::into_bytes)
}

fn date_header(unix: i64) -> http::HeaderValue {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    http::HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

fn elapsed_ms(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The unknown field a tolerant client must ignore.
pub const EXTRA_FIELD: &str = "x_mock_unknown_field";

fn extra_value() -> serde_json::Value {
    serde_json::json!({"added_by": "payment-mock-kit", "nested": [1, "two", {"three": null}], "flag": true})
}

fn is_over_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Adds [`EXTRA_FIELD`] to a JSON object answer, to each object in its `data` list, and inside a `data` object.
async fn with_extra_fields(response: Response, limit: usize) -> Response {
    rewrite_json(response, limit, add_extra_fields).await
}

/// What the `extra_fields` fault does to an answer's JSON; `false` when it is not an object.
pub fn add_extra_fields(value: &mut serde_json::Value) -> bool {
    let serde_json::Value::Object(map) = value else { return false };
    match map.get_mut("data") {
        Some(serde_json::Value::Array(items)) => {
            for item in items.iter_mut().filter_map(serde_json::Value::as_object_mut) {
                item.insert(EXTRA_FIELD.into(), extra_value());
            }
        }
        // A wrapper (`{"object": "Charge", "data": {…}}`) gets one inside too.
        Some(serde_json::Value::Object(inner)) => {
            inner.insert(EXTRA_FIELD.into(), extra_value());
        }
        _ => {}
    }
    map.insert(EXTRA_FIELD.into(), extra_value());
    true
}

/// Runs `change` over a JSON answer's body; other answers pass unchanged.
async fn rewrite_json(
    response: Response,
    limit: usize,
    change: impl FnOnce(&mut serde_json::Value) -> bool,
) -> Response {
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => {
            if change(&mut value) {
                Body::from(value.to_string())
            } else {
                Body::from(bytes)
            }
        }
        Err(_) => Body::from(bytes),
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}
