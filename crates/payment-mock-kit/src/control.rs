//! Control endpoints under `/__mock__/` (never a real provider path) and the typed `MockControl`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::faults::FaultPlan;
use crate::kit::{ControlError, LoggedRequest, MockHooks, MockKit, MockStats};
use crate::middleware::MockContext;

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

async fn complete_charge(State(ctx): State<MockContext>, Path(id): Path<String>) -> Response {
    match ctx.hooks.complete_charge(&id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => control_error(e),
    }
}

async fn requests(State(ctx): State<MockContext>) -> Response {
    Json(ctx.kit.requests()).into_response()
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
        .route("/__mock__/faults", post(set_faults).delete(clear_faults))
        .route("/__mock__/clock/advance", post(advance_clock))
        .route("/__mock__/charges/{id}/complete", post(complete_charge))
        .route("/__mock__/requests", get(requests).delete(clear_requests))
        .route("/__mock__/stats", get(stats))
        .route("/__mock__/webhooks", get(webhooks))
        .with_state(ctx)
}
