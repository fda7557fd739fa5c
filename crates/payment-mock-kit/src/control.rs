//! Control endpoints under `/__mock__/` (never a real provider path) and the typed `MockControl`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::faults::FaultPlan;
use crate::kit::{ControlError, LoggedRequest, MockHooks, MockKit, MockStats};
use crate::middleware::MockContext;
use crate::objects::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MockObjects};

/// A typed handle over the control operations, for in-process tests.
#[derive(Clone)]
pub struct MockControl {
    url: String,
    ctx: MockContext,
}

impl std::fmt::Debug for MockControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockControl").field("url", &self.url).finish_non_exhaustive()
    }
}

impl MockControl {
    pub(crate) fn new(url: String, kit: Arc<MockKit>, hooks: Arc<dyn MockHooks>) -> MockControl {
        MockControl { url, ctx: MockContext { kit, hooks } }
    }

    /// The mock's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.ctx.hooks.provider()
    }

    /// The shared state (clock, ids, idempotency table).
    pub fn kit(&self) -> &Arc<MockKit> {
        &self.ctx.kit
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), ControlError> {
        plan.validate().map_err(|m| ControlError::new(400, m))?;
        self.ctx.kit.set_faults(plan);
        Ok(())
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.ctx.kit.clear_faults();
    }

    /// Moves the mock's clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.ctx.kit.clock.advance(by);
    }

    /// Finishes an asynchronous payment.
    pub fn complete_charge(&self, id: &str) -> Result<serde_json::Value, ControlError> {
        self.ctx.hooks.complete_charge(id)
    }

    /// Acts as the customer on charge `id`'s authentication step (see [`crate::MockHooks::authenticate_charge`]).
    pub fn authenticate_charge(
        &self,
        id: &str,
        result: crate::kit::AuthenticationResult,
    ) -> Result<serde_json::Value, ControlError> {
        self.ctx.hooks.authenticate_charge(id, result)
    }

    /// Every request seen (control requests excluded).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.ctx.kit.requests()
    }

    /// How many requests with `method` had a path starting with `path`.
    pub fn count_requests(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path)).count()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.ctx.kit.clear_requests();
    }

    /// The webhooks queued or sent: target, event type, attempts, last status, state.
    pub fn webhooks(&self) -> Vec<crate::webhooks::Delivery> {
        self.ctx.kit.webhooks.deliveries()
    }

    /// Counts of charges and refunds held.
    pub fn stats(&self) -> MockStats {
        self.ctx.hooks.stats()
    }

    /// The newest `limit` charges and refunds held, newest first.
    pub fn objects(&self, limit: usize) -> MockObjects {
        self.ctx.hooks.objects(limit).newest_first(limit)
    }

    /// Back to a freshly started mock: no objects, faults, logged requests, keys or webhooks.
    pub fn reset(&self) {
        reset_all(&self.ctx);
    }
}

fn reset_all(ctx: &MockContext) {
    ctx.hooks.reset();
    ctx.kit.reset();
}

/// Refuses a control request a web page could have made through the browser of someone running
/// the mock: one addressed by a host name other than `localhost` (a DNS-rebinding page resolves
/// its own name to 127.0.0.1), or a state-changing one whose `Origin` is another site. curl,
/// tests and the mock's own console are let through.
pub(crate) fn refuse_cross_site(parts: &http::request::Parts) -> Option<Response> {
    let host = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !is_ip_or_localhost(host) {
        return Some(control_error(ControlError::new(
            403,
            format!("control requests must name the mock by IP address or localhost, not {host:?}"),
        )));
    }
    if parts.method == http::Method::GET || parts.method == http::Method::HEAD {
        return None;
    }
    let origin = parts.headers.get(http::header::ORIGIN)?.as_bytes();
    let same = origin.strip_prefix(b"http://").is_some_and(|o| o.eq_ignore_ascii_case(host.as_bytes()));
    (!same).then(|| {
        control_error(ControlError::new(
            403,
            "control requests from another origin are refused: use the mock's own console, or send no Origin",
        ))
    })
}

/// `127.0.0.1:8080`, `[::1]:80`, `localhost:3000`, with or without the port.
fn is_ip_or_localhost(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => return rest.split_once(']').is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    !name.is_empty() && (name.parse::<std::net::Ipv4Addr>().is_ok() || name.eq_ignore_ascii_case("localhost"))
}

fn control_error(e: ControlError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(serde_json::json!({"error": {"message": e.message}}))).into_response()
}

async fn set_faults(State(ctx): State<MockContext>, body: Bytes) -> Response {
    let plan: FaultPlan = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return control_error(ControlError::new(400, format!("bad fault plan: {e}"))),
    };
    if let Err(m) = plan.validate() {
        return control_error(ControlError::new(400, m));
    }
    let rules = plan.rules.len();
    ctx.kit.set_faults(plan);
    Json(serde_json::json!({"rules": rules})).into_response()
}

async fn clear_faults(State(ctx): State<MockContext>) -> Response {
    ctx.kit.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(ctx): State<MockContext>, body: Bytes) -> Response {
    match serde_json::from_slice::<Advance>(&body) {
        Ok(a) => {
            ctx.kit.clock.advance(Duration::from_secs(a.seconds));
            Json(serde_json::json!({"now": ctx.kit.clock.now(), "offset_seconds": ctx.kit.clock.offset_secs()}))
                .into_response()
        }
        Err(e) => control_error(ControlError::new(400, format!("expected {{\"seconds\": N}}: {e}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Authenticate {
    result: crate::kit::AuthenticationResult,
}

async fn authenticate_charge(State(ctx): State<MockContext>, Path(id): Path<String>, body: Bytes) -> Response {
    match serde_json::from_slice::<Authenticate>(&body) {
        Ok(a) => match ctx.hooks.authenticate_charge(&id, a.result) {
            Ok(v) => Json(v).into_response(),
            Err(e) => control_error(e),
        },
        Err(e) => control_error(ControlError::new(
            400,
            format!("expected {{\"result\": \"success\" | \"failure\" | \"abandon\"}}: {e}"),
        )),
    }
}

async fn complete_charge(State(ctx): State<MockContext>, Path(id): Path<String>) -> Response {
    match ctx.hooks.complete_charge(&id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => control_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn requests(State(ctx): State<MockContext>, query: Result<Query<Since>, QueryRejection>) -> Response {
    match query {
        Ok(Query(Since { since: None, limit: None })) => Json(ctx.kit.requests()).into_response(),
        Ok(Query(Since { limit: Some(0), .. })) => control_error(ControlError::new(400, "limit must be at least 1")),
        Ok(Query(Since { since, limit })) => Json(ctx.kit.requests_since(since.unwrap_or(0), limit)).into_response(),
        Err(e) => {
            control_error(ControlError::new(400, format!("expected ?since=N (a request number) and/or ?limit=N: {e}")))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
}

async fn objects(State(ctx): State<MockContext>, query: Result<Query<Limit>, QueryRejection>) -> Response {
    let limit = match query {
        Ok(Query(Limit { limit: None })) => DEFAULT_LIST_LIMIT,
        Ok(Query(Limit { limit: Some(n) })) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
        Ok(Query(Limit { limit: Some(n) })) => {
            return control_error(ControlError::new(400, format!("limit {n} is not within 1..={MAX_LIST_LIMIT}")));
        }
        Err(e) => return control_error(ControlError::new(400, format!("expected ?limit=N: {e}"))),
    };
    let objects = ctx.hooks.objects(limit).newest_first(limit);
    Json(serde_json::json!({
        "provider": ctx.hooks.provider(),
        "charges": objects.charges,
        "refunds": objects.refunds,
    }))
    .into_response()
}

async fn state(State(ctx): State<MockContext>) -> Response {
    let (seen, faulted) = ctx.kit.counts();
    Json(serde_json::json!({
        "provider": ctx.hooks.provider(),
        "now": ctx.kit.clock.now().unix(),
        "offset_seconds": ctx.kit.clock.offset_secs(),
        "stats": ctx.hooks.stats(),
        "requests_seen": seen,
        "requests_faulted": faulted,
        "oldest_logged": ctx.kit.oldest_logged(),
        "faults": ctx.kit.faults(),
    }))
    .into_response()
}

async fn faults(State(ctx): State<MockContext>) -> Response {
    Json(ctx.kit.faults()).into_response()
}

async fn reset(State(ctx): State<MockContext>) -> Response {
    reset_all(&ctx);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_requests(State(ctx): State<MockContext>) -> Response {
    ctx.kit.clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

async fn webhooks(State(ctx): State<MockContext>) -> Response {
    Json(ctx.kit.webhooks.deliveries()).into_response()
}

async fn stats(State(ctx): State<MockContext>) -> Response {
    Json(ctx.hooks.stats()).into_response()
}

/// The `/__mock__/` routes.
pub fn control_routes(ctx: MockContext) -> Router {
    Router::new()
        .route("/__mock__/faults", get(faults).post(set_faults).delete(clear_faults))
        .route("/__mock__/clock/advance", post(advance_clock))
        .route("/__mock__/charges/{id}/complete", post(complete_charge))
        .route("/__mock__/charges/{id}/authenticate", post(authenticate_charge))
        .route("/__mock__/requests", get(requests).delete(clear_requests))
        .route("/__mock__/stats", get(stats))
        .route("/__mock__/webhooks", get(webhooks))
        .route("/__mock__/objects", get(objects))
        .route("/__mock__/state", get(state))
        .route("/__mock__/reset", post(reset))
        .merge(crate::console::console_routes())
        .with_state(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, host: Option<&str>, origin: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri("/__mock__/reset");
        if let Some(h) = host {
            b = b.header(http::header::HOST, h);
        }
        if let Some(o) = origin {
            b = b.header(http::header::ORIGIN, o);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn refused(method: &str, host: Option<&str>, origin: Option<&str>) -> bool {
        refuse_cross_site(&parts(method, host, origin)).is_some()
    }

    #[test]
    fn hosts_are_ip_literals_or_localhost() {
        for ok in ["127.0.0.1:8080", "127.0.0.1", "[::1]:80", "[::1]", "localhost:3000", "LOCALHOST", "10.0.0.2:1"] {
            assert!(is_ip_or_localhost(ok), "{ok}");
        }
        for bad in ["", ":80", "evil.example:8080", "evil.example", "[evil]:80", "127.0.0.1.nip.io:80", "[::1"] {
            assert!(!is_ip_or_localhost(bad), "{bad}");
        }
    }

    #[test]
    fn only_same_origin_or_originless_requests_change_state() {
        assert!(!refused("POST", Some("127.0.0.1:9"), None), "curl sends no Origin");
        assert!(!refused("POST", Some("127.0.0.1:9"), Some("http://127.0.0.1:9")), "the console");
        assert!(refused("POST", Some("127.0.0.1:9"), Some("http://127.0.0.1:10")), "another mock's page");
        assert!(refused("DELETE", Some("127.0.0.1:9"), Some("https://evil.example")));
        assert!(refused("POST", Some("127.0.0.1:9"), Some("null")), "a sandboxed frame");
        assert!(!refused("GET", Some("127.0.0.1:9"), Some("https://evil.example")), "reads cannot be read cross-site");
        assert!(refused("GET", Some("rebound.example:9"), None), "DNS rebinding");
        assert!(refused("GET", None, None), "HTTP/1.0 without Host");
    }
}
