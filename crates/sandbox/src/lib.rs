//! A local stand-in for Discord (REST v10 + Gateway) and Google (OAuth + Sheets v4)
//! that the real serenity/poise and google-sheets4 clients connect to over loopback. It
//! is how staff try clanhall before deploying it (`clanhall sandbox`) and the backbone of
//! clanhall's integration tests. It knows nothing of the bot: it speaks the protocols.
//!
//! - [`world`]: the fixed guild (roles, users, channels) the sample workbook references.
//! - `rest`, `gateway`, [`google`]: the protocol endpoints, on one port.
//! - [`Sandbox`]'s user methods (`say`, `slash`, `click`, `select`, `submit_modal`...):
//!   what simulated people do, dispatched to the bot over the gateway as Discord would.
//! - [`faults`], [`record`], [`activity`]: fault injection, the request/frame record, and
//!   the log of what the bot did, which tests and the console wait on.

pub mod activity;
pub mod clock;
pub mod faults;
pub mod gateway;
pub mod google;
mod payloads;
pub mod ratelimit;
pub mod record;
mod rest;
mod slash;
pub mod state;
pub mod tunnel;
mod users;
pub mod world;

pub use users::{Reply, ThreadChange};

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use base64::Engine as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use activity::ActivityLog;
use faults::{Faults, HttpFault};
use gateway::GatewayHub;
use google::GoogleState;
use record::{Channel, Record};
use state::World;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start the sandbox: {0}")]
    Start(String),
    #[error("unknown user {0:?}; users: {1}")]
    UnknownUser(String, String),
    #[error("unknown channel {0:?}; channels: {1}")]
    UnknownChannel(String, String),
    #[error("{0}")]
    Command(String),
    #[error("no message {0} in the sandbox")]
    UnknownMessage(u64),
    #[error("{0}")]
    Component(String),
    /// A workbook folder that cannot be served (missing, unreadable, not CSV).
    #[error("{0}")]
    Workbook(String),
}

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Heartbeat interval announced in HELLO. Discord uses about 41 s; the sandbox
    /// defaults to 5 s so latency shows up quickly, and tests use less.
    pub heartbeat_interval: Duration,
    /// A folder of CSVs served as the Google workbook [`google::DEFAULT_SHEET_ID`].
    pub workbook_dir: Option<PathBuf>,
    /// Port to listen on (0: any free one). Always loopback.
    pub port: u16,
    /// What the sandbox reads as "now" for snowflakes and timestamps (see [`clock`]).
    pub clock: clock::SharedClock,
    /// The privileged intents the application has enabled in the Developer Portal
    /// (IDENTIFY asking for another is closed with 4014; REST endpoints that need one
    /// answer 403). All three by default, as a small bot's owner would toggle them.
    pub approved_intents: u64,
    /// Discord's HTTP rate limits ([`ratelimit`]); on by default. The latency bench turns
    /// them off, since it measures the bot, not Discord's limits.
    pub rate_limits: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(5),
            workbook_dir: None,
            port: 0,
            clock: clock::SharedClock::default(),
            approved_intents: gateway::intents::PRIVILEGED,
            rate_limits: true,
        }
    }
}

/// State shared by every endpoint.
pub struct Inner {
    pub(crate) token: String,
    pub(crate) base_url: String,
    pub(crate) ws_base: String,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) approved_intents: u64,
    pub(crate) world: Mutex<World>,
    pub(crate) gateway: GatewayHub,
    pub(crate) faults: Faults,
    pub(crate) record: Record,
    pub(crate) activity: ActivityLog,
    pub(crate) google: GoogleState,
    pub(crate) rate_limits: ratelimit::RateLimits,
    /// The whole API, for the requests that arrive inside a `CONNECT` tunnel.
    pub(crate) app: std::sync::OnceLock<Router>,
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    interaction_times: Mutex<HashMap<u64, Instant>>,
}

impl Inner {
    pub(crate) fn mark_interaction(&self, id: u64, at: Instant) {
        self.interaction_times.lock().insert(id, at);
    }

    pub(crate) fn interaction_created(&self, id: u64) -> Option<Instant> {
        self.interaction_times.lock().get(&id).copied()
    }
}

/// A running sandbox. Dropping it does not stop it; call [`Sandbox::stop`].
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// A bot token in Discord's shape (base64 id . timestamp . hmac), random per sandbox.
fn make_token() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let rand = || uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}.{}.{}",
        b64.encode(world::BOT_ID.to_string()),
        &rand()[..6],
        &(rand() + &rand())[..38]
    )
}

impl Sandbox {
    pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(|e| {
                SandboxError::Start(format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        let token = make_token();
        let inner = Arc::new(Inner {
            token,
            base_url: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            heartbeat_interval: opts.heartbeat_interval,
            approved_intents: opts.approved_intents,
            world: Mutex::new(World::new(opts.clock.clone())),
            gateway: GatewayHub::default(),
            faults: Faults::default(),
            record: Record::default(),
            activity: ActivityLog::default(),
            google: GoogleState::default(),
            rate_limits: ratelimit::RateLimits::new(opts.rate_limits),
            app: std::sync::OnceLock::new(),
            tls: Some(tunnel::acceptor().map_err(SandboxError::Start)?),
            interaction_times: Mutex::new(HashMap::new()),
        });
        if let Some(dir) = &opts.workbook_dir {
            inner.google.load_folder(google::DEFAULT_SHEET_ID, dir)?;
        }
        let app = Router::new()
            .route("/gateway", get(gateway::upgrade))
            .merge(rest::router())
            .route("/token", post(google::token))
            .route("/v4/spreadsheets/{*rest}", any(google::sheets))
            .fallback(unhandled)
            .layer(middleware::from_fn_with_state(inner.clone(), edge))
            .with_state(inner.clone());
        let _ = inner.app.set(app.clone());
        let stop = CancellationToken::new();
        let token = stop.clone();
        // Small frames written back to back (a dispatch, then the next) would otherwise
        // wait for the peer's delayed ACK: a stall of up to 40 ms on a few replies in a
        // hundred.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        tracing::info!(addr = %addr, "sandbox listening");
        Ok(Sandbox {
            inner,
            addr,
            stop,
            task,
        })
    }

    /// Base URL for REST (`DISCORD_PROXY_URL`) and Google endpoints.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The HTTPS proxy that tunnels `discord.com` to this sandbox (see [`tunnel`]), and
    /// the CA its certificate is signed by: what a client on the production REST path
    /// (serenity's rate limiter on) needs to reach the sandbox.
    pub fn tunnel(&self) -> (&str, &'static str) {
        (&self.inner.base_url, tunnel::CA_PEM)
    }

    /// The bot token the sandbox accepts.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// The service-account key file for this sandbox's token endpoint.
    pub fn service_account_json(&self) -> String {
        google::service_account_json(&format!("{}/token", self.inner.base_url))
    }

    pub fn google(&self) -> &GoogleState {
        &self.inner.google
    }

    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    pub fn record(&self) -> &Record {
        &self.inner.record
    }

    pub fn activity(&self) -> &ActivityLog {
        &self.inner.activity
    }

    /// The HTTP rate limiter (how many requests it answered 429).
    pub fn rate_limits(&self) -> &ratelimit::RateLimits {
        &self.inner.rate_limits
    }

    /// Makes matching HTTP requests fail (`times`: `None` = until cleared).
    pub fn fail_http(
        &self,
        method: Option<&str>,
        path_contains: &str,
        fault: HttpFault,
        times: Option<u32>,
    ) {
        self.inner
            .faults
            .add_http(method, path_contains, fault, times);
    }

    /// Drops the gateway socket without a close frame (the session stays resumable).
    pub fn drop_gateway(&self) {
        self.inner.gateway.drop_all();
    }

    /// Sends op 7 RECONNECT.
    pub fn request_reconnect(&self) {
        self.inner.gateway.request_reconnect();
    }

    /// Whether a bot session is connected right now.
    pub fn bot_connected(&self) -> bool {
        self.inner.gateway.connected()
    }

    /// (IDENTIFYs, RESUMEs) received so far.
    pub fn gateway_counts(&self) -> (u64, u64) {
        self.inner.gateway.counts()
    }

    /// Registered slash commands for the sandbox guild.
    pub fn registered_commands(&self) -> Vec<Value> {
        self.inner
            .world
            .lock()
            .commands
            .get(&Some(world::GUILD_ID))
            .cloned()
            .unwrap_or_default()
    }

    /// Stops the server and every connection.
    pub async fn stop(self) {
        self.inner.gateway.drop_all();
        self.stop.cancel();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// A route the sandbox does not implement: a loud 501 naming it, never a Discord- or
/// Google-looking 404 a test could mistake for a real answer.
async fn unhandled(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let what = format!("{} {path}", req.method());
    tracing::warn!(route = %what, "sandbox: route not implemented");
    if path.starts_with("/api/") {
        rest::not_implemented(&what)
    } else {
        google::not_implemented(&what)
    }
}

fn fault_response(channel: Channel, fault: &HttpFault) -> Option<Response> {
    let rest = channel == Channel::Rest;
    match fault {
        HttpFault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            Some(if rest {
                rest::error(status, 0, &format!("{code}: {reason} (sandbox fault)"))
            } else {
                google::sheets_error(status, &format!("{reason} (sandbox fault)"))
            })
        }
        HttpFault::RateLimited { retry_after } => {
            let wait = Duration::from_secs_f64(retry_after.max(0.0));
            if rest {
                return Some(ratelimit::Verdict::too_many_requests(None, wait, false));
            }
            let mut resp = google::sheets_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Quota exceeded for quota metric 'Read requests' (sandbox fault)",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("{}", retry_after.ceil() as u64)) {
                resp.headers_mut().insert("retry-after", v);
            }
            Some(resp)
        }
        HttpFault::Delay(_)
        | HttpFault::Hang
        | HttpFault::ApplyThenStatus(_)
        | HttpFault::ApplyThenHang
        | HttpFault::ApplyThenDelay(_) => None,
    }
}

/// Every request passes here: faults are applied, Discord's bot token is checked, and
/// the request is recorded with its response status.
async fn edge(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::CONNECT {
        return tunnel::connect(inner, req).await;
    }
    let path = req.uri().path().to_owned();
    if path == "/gateway" {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    let channel = if path.starts_with("/api/") {
        Channel::Rest
    } else {
        Channel::Google
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut recorded: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&bytes).chars().take(4000).collect())
        })
    };
    if path == "/token" {
        recorded = Value::String("[form: grant_type, assertion]".into());
    }
    let respond = |resp: Response, inner: &Inner, body: Value| {
        inner.record.push(
            channel,
            &method,
            &path_q,
            Some(resp.status().as_u16()),
            body,
        );
        resp
    };
    let mut after: Option<HttpFault> = None;
    if let Some(fault) = inner.faults.take_http(&method, &path) {
        match &fault {
            HttpFault::ApplyThenStatus(_)
            | HttpFault::ApplyThenHang
            | HttpFault::ApplyThenDelay(_) => {
                after = Some(fault.clone());
            }
            HttpFault::Delay(d) => tokio::time::sleep(*d).await,
            HttpFault::Hang => {
                inner
                    .record
                    .push(channel, &method, &path_q, None, recorded.clone());
                std::future::pending::<()>().await;
            }
            _ => {}
        }
        if let Some(resp) = fault_response(channel, &fault) {
            return respond(resp, &inner, recorded);
        }
    }
    if channel == Channel::Rest && !path.contains("/interactions/") && !path.contains("/webhooks/")
    {
        let expected = format!("Bot {}", inner.token);
        let ok = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected);
        if !ok {
            return respond(
                rest::error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
                &inner,
                recorded,
            );
        }
    }
    let limits = if channel == Channel::Rest {
        inner.rate_limits.check(&method, &path, &recorded)
    } else {
        None
    };
    let headers = match limits {
        Some(ratelimit::Verdict::Limited {
            headers,
            retry_after,
            global,
        }) => {
            let resp = ratelimit::Verdict::too_many_requests(headers.as_ref(), retry_after, global);
            return respond(resp, &inner, recorded);
        }
        Some(ratelimit::Verdict::Allowed(h)) => Some(h),
        None => None,
    };
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let mut resp = next.run(req).await;
    match after {
        // The write is done; the client is told otherwise (the record keeps what it was told).
        Some(HttpFault::ApplyThenStatus(code)) => {
            if let Some(lost) = fault_response(channel, &HttpFault::Status(code)) {
                return respond(lost, &inner, recorded);
            }
        }
        Some(HttpFault::ApplyThenHang) => {
            inner
                .record
                .push(channel, &method, &path_q, None, recorded.clone());
            std::future::pending::<()>().await;
        }
        Some(HttpFault::ApplyThenDelay(d)) => tokio::time::sleep(d).await,
        _ => {}
    }
    if let Some(h) = headers {
        h.apply(resp.headers_mut());
    }
    respond(resp, &inner, recorded)
}
