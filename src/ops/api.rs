//! The ops HTTP API, on the health server: `GET /ops/jobs`, `POST /ops/jobs/{id}/run`,
//! `POST /ops/jobs/{id}/pause`, `POST /ops/jobs/{id}/resume`, `GET /ops/queue`.
//!
//! Every route needs `Authorization: Bearer $OPS_API_TOKEN` (compared in constant time);
//! without it, or when no token is configured, the answer is 401. The allowlist does not
//! open these routes: they change things.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::health::AccessPolicy;
use crate::scheduler::{Scheduler, SchedulerError};
use crate::store::Store;

pub(crate) struct OpsApi {
    pub scheduler: Arc<Scheduler>,
    pub store: Store,
    /// Only the token matters here; the allowlist is ignored.
    pub access: AccessPolicy,
}

pub(crate) fn router(api: Arc<OpsApi>) -> Router {
    Router::new()
        .route("/ops/jobs", get(list_jobs))
        .route("/ops/jobs/{id}/run", post(run_job))
        .route("/ops/jobs/{id}/pause", post(pause_job))
        .route("/ops/jobs/{id}/resume", post(resume_job))
        .route("/ops/queue", get(queue))
        .route_layer(middleware::from_fn_with_state(api.clone(), require_token))
        .with_state(api)
}

async fn require_token(State(api): State<Arc<OpsApi>>, req: Request, next: Next) -> Response {
    if api.access.bearer_ok(req.headers()) {
        return next.run(req).await;
    }
    let hint = if api.access.token.is_some() {
        "send Authorization: Bearer <OPS_API_TOKEN>"
    } else {
        "OPS_API_TOKEN is not set, so the ops API is closed; set it to use this API"
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({"error": "unauthorized", "hint": hint})),
    )
        .into_response()
}

fn scheduler_error(e: SchedulerError) -> Response {
    let status = match &e {
        SchedulerError::UnknownJob(..) => StatusCode::NOT_FOUND,
        SchedulerError::AlreadyRunning(_) => StatusCode::CONFLICT,
        SchedulerError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, axum::Json(json!({"error": e.to_string()}))).into_response()
}

/// The `{id}` of a job route. A path that is not one (not UTF-8 once decoded, say) is
/// answered in JSON like every other error here; axum's own rejection is plain text.
struct JobId(String);

impl<S: Send + Sync> FromRequestParts<S> for JobId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(JobId(id)),
            Err(e) => Err((
                e.status(),
                axum::Json(json!({
                    "error": format!("the job id in the path is not usable: {}", e.body_text()),
                    "hint": "GET /ops/jobs lists the job ids",
                })),
            )
                .into_response()),
        }
    }
}

async fn list_jobs(State(api): State<Arc<OpsApi>>) -> Response {
    let recent = api.store.recent_runs(None, 50).await.unwrap_or_default();
    axum::Json(json!({"jobs": api.scheduler.views(), "recent_runs": recent})).into_response()
}

async fn run_job(State(api): State<Arc<OpsApi>>, JobId(id): JobId) -> Response {
    match api.scheduler.run_now(&id, "ops-api").await {
        Ok(h) => {
            let _ = api
                .store
                .audit(
                    "ops-api",
                    "job.run",
                    Some(&id),
                    Some(json!({"run_id": h.run_id})),
                )
                .await;
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"job": h.job, "run_id": h.run_id, "trace": h.trace})),
            )
                .into_response()
        }
        Err(e) => scheduler_error(e),
    }
}

async fn set_paused(api: &OpsApi, id: &str, paused: bool) -> Response {
    match api.scheduler.set_paused(id, paused, "ops-api").await {
        Ok(()) => axum::Json(json!({"job": id, "paused": paused})).into_response(),
        Err(e) => scheduler_error(e),
    }
}

async fn pause_job(State(api): State<Arc<OpsApi>>, JobId(id): JobId) -> Response {
    set_paused(&api, &id, true).await
}

async fn resume_job(State(api): State<Arc<OpsApi>>, JobId(id): JobId) -> Response {
    set_paused(&api, &id, false).await
}

async fn queue() -> Response {
    axum::Json(json!({"configured": false, "status": "not configured", "detail": "the live queue is not set up in this build"})).into_response()
}
