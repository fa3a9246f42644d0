//! The HTTP server Render probes: `/healthz` (liveness), `/ready` (readiness),
//! `/health` (status, details for operators) and `/metrics` (Prometheus). Later features
//! mount the `/ops/*` API on the same router.
//!
//! Every response carries `X-Trace-Id`; every request is logged once (method, path,
//! status, ms, trace), at debug level for the probe paths so probes don't flood the log.

pub(crate) mod access;
pub(crate) mod assess;
mod request_line;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub(crate) use access::AccessPolicy;
pub(crate) use assess::assess;
use request_line::{GuardedListener, Peer};

use crate::runtime::{Level, Liveness, RuntimeStatus};
use crate::telemetry::metrics::{Metrics, RuntimeFigures};
use crate::telemetry::{intern, new_trace_id};

/// Paths logged at debug level: probes hit them every few seconds.
const PROBE_PATHS: [&str; 4] = ["/healthz", "/ready", "/health", "/metrics"];

#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub env: String,
    pub bot: String,
}

pub struct HealthContext {
    pub status: Arc<RuntimeStatus>,
    pub access: AccessPolicy,
    pub metrics: Arc<Metrics>,
    pub info: BuildInfo,
}

/// The request's trace id, for handlers that echo it.
#[derive(Debug, Clone)]
pub(crate) struct TraceId(pub String);

/// The route pattern that matched, passed from the inner layer to the outer one.
#[derive(Debug, Clone, Copy)]
struct RouteLabel(&'static str);

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(
        "cannot listen on {addr}: {source}. Is another process using the port? Set PORT (or HOST) to a free one"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub async fn bind(host: IpAddr, port: u16) -> Result<TcpListener, HealthError> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| HealthError::Bind { addr, source })
}

/// Serves until `shutdown` is cancelled, then finishes in-flight requests and returns.
/// `metrics` also counts the requests refused before they reach the router.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        GuardedListener::new(listener, metrics),
        app.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}

/// The probe routes plus `extra` (the ops API, say), wrapped in the trace and access-log
/// layers so every route gets them.
pub fn router(ctx: Arc<HealthContext>, extra: Router) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ready", get(ready))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(ctx.clone())
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(label_route))
        .layer(middleware::from_fn_with_state(ctx, trace_and_log))
}

async fn label_route(req: Request, next: Next) -> Response {
    let label = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| intern(m.as_str()));
    let mut resp = next.run(req).await;
    if let Some(l) = label {
        resp.extensions_mut().insert(RouteLabel(l));
    }
    resp
}

async fn trace_and_log(
    State(ctx): State<Arc<HealthContext>>,
    mut req: Request,
    next: Next,
) -> Response {
    let trace = new_trace_id();
    let method = method_label(req.method());
    let path = req.uri().path().to_owned();
    req.extensions_mut().insert(TraceId(trace.clone()));
    let started = Instant::now();
    let span = tracing::info_span!("http", trace = %trace);
    let mut resp = next.run(req).instrument(span).await;
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&trace) {
        resp.headers_mut().insert("x-trace-id", v);
    }
    let route = resp
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0);
    let status = resp.status().as_u16();
    ctx.metrics
        .observe_http(method, route, status, elapsed.as_secs_f64());
    let ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    if PROBE_PATHS.contains(&path.as_str()) {
        tracing::debug!(trace = %trace, method, path = %path, status, ms, "http request");
    } else {
        tracing::info!(trace = %trace, method, path = %path, status, ms, "http request");
    }
    resp
}

/// Methods as metric labels: the standard ones by name, anything else lumped together.
fn method_label(m: &axum::http::Method) -> &'static str {
    method_label_str(m.as_str())
}

pub(crate) fn method_label_str(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

fn code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn status_word(level: Level) -> &'static str {
    match level {
        Level::Ok => "ok",
        Level::Degraded => "degraded",
        Level::Down => "down",
    }
}

fn peer(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(a))| *a)
}

async fn healthz(State(ctx): State<Arc<HealthContext>>) -> Response {
    let age = ctx.status.liveness.age(ctx.status.now());
    if age <= Liveness::STALE_AFTER {
        Json(json!({"status": "ok", "uptime_sec": ctx.status.uptime().as_secs()})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "down", "reason": format!("runtime loop has not ticked for {}s", age.as_secs())})),
        )
            .into_response()
    }
}

async fn ready(State(ctx): State<Arc<HealthContext>>) -> Response {
    let a = assess(&ctx.status);
    let now = ctx.status.now();
    let gateway = ctx.status.gateway().map(|g| {
        json!({
            "stage": g.stage,
            "heartbeat_ack_age_sec": g.ack_age(now).map(|d| d.as_secs()),
        })
    });
    let body = json!({
        "ready": a.ready,
        "state": a.state,
        "pending": a.pending,
        "phases": ctx.status.phases.views(),
        "gateway": gateway,
    });
    let status = if a.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn health(State(ctx): State<Arc<HealthContext>>, req: Request) -> Response {
    let a = assess(&ctx.status);
    let code = code(a.http_status());
    if !authorized(&ctx, &req) {
        return (code, Json(json!({"status": status_word(a.status)}))).into_response();
    }
    let mut components = serde_json::Map::new();
    for (name, c) in &a.components {
        components.insert(
            (*name).to_owned(),
            serde_json::to_value(c).unwrap_or_default(),
        );
    }
    let mut body = json!({
        "status": status_word(a.status),
        "state": a.state,
        "ready": a.ready,
        "reasons": a.reasons,
        "bot": ctx.info.bot,
        "env": ctx.info.env,
        "version": ctx.info.version,
        "pid": std::process::id(),
        "started_at": ctx.status.started_utc,
        "uptime_sec": ctx.status.uptime().as_secs(),
        "components": components,
        "watchdog": ctx.status.watchdog.view(),
        "trace": req.extensions().get::<TraceId>().map(|t| t.0.clone()),
    });
    crate::redact::redact_json(&mut body);
    (code, Json(body)).into_response()
}

/// Token or allowlist (see [`access`]).
pub(crate) fn authorized(ctx: &HealthContext, req: &Request) -> bool {
    ctx.access.authorize(peer(req), req.headers()).is_some()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({
            "error": "unauthorized",
            "hint": "send Authorization: Bearer <OPS_API_TOKEN>, or call from an address in HEALTH_ALLOWLIST",
        })),
    )
        .into_response()
}

/// The figures `/metrics` samples, shared with `ops health`.
pub(crate) fn runtime_figures(status: &RuntimeStatus) -> RuntimeFigures {
    let a = assess(status);
    let now = status.now();
    let g = status.gateway();
    RuntimeFigures {
        uptime_seconds: status.uptime().as_secs_f64(),
        ready: a.ready,
        status: status_word(a.status),
        gateway_connected: g.map(|g| g.ack_age(now).is_some()),
        heartbeat_ack_age_seconds: g.and_then(|g| g.ack_age(now)).map(|d| d.as_secs_f64()),
        gateway_latency_seconds: g.and_then(|g| g.latency).map(|d| d.as_secs_f64()),
        watchdog_restarts_in_window: status.watchdog.snapshot().restarts_in_window,
    }
}

async fn metrics(State(ctx): State<Arc<HealthContext>>, req: Request) -> Response {
    if !authorized(&ctx, &req) {
        return unauthorized();
    }
    let text = ctx.metrics.render(&runtime_figures(&ctx.status));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "not found", "path": req.uri().path(), "routes": ["/healthz", "/ready", "/health", "/metrics"]})),
    )
        .into_response()
}

/// A known path with the wrong method: JSON like every other answer here (axum adds
/// the `Allow` header naming the methods the path takes).
async fn method_not_allowed(req: Request) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"error": "method not allowed", "method": req.method().as_str(), "path": req.uri().path()})),
    )
        .into_response()
}
