//! The health server through real HTTP on loopback: status codes per state, who sees
//! details, trace ids, access logs.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone as _;
use clanhall::testing::Metrics;
use clanhall::testing::health::{self, AccessPolicy, BuildInfo, HealthContext};
use clanhall::testing::{
    Clock as _, ComponentCheck, ComponentHealth, GatewayStage, GatewayTracker, Level, ManualClock,
    RuntimeStatus,
};
use clanhall::testing::{Secret, WatchdogSettings, parse_ip_or_cidr};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::http;

const TOKEN: &str = "ops-token-0123456789abcdef";

struct Server {
    base: String,
    status: Arc<RuntimeStatus>,
    clock: Arc<ManualClock>,
    gateway: Arc<GatewayTracker>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(allowlist: &[&str], hops: usize) -> Server {
        let clock = Arc::new(ManualClock::new(
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
                .unwrap(),
        ));
        let thresholds = WatchdogSettings {
            check: Duration::from_secs(60),
            stall: Duration::from_secs(180),
            disconnect_grace: Duration::from_secs(300),
            restart_budget: 5,
            restart_window: Duration::from_secs(3600),
        };
        let status = Arc::new(RuntimeStatus::new(
            clock.clone(),
            &["settings", "http", "discord"],
            thresholds,
        ));
        status.liveness.beat(clock.now());
        status.phases.done("settings");
        let gateway = Arc::new(GatewayTracker::new(clock.now()));
        status.set_gateway(gateway.clone());
        let ctx = Arc::new(HealthContext {
            status: status.clone(),
            access: AccessPolicy {
                token: Some(Secret::new(TOKEN)),
                allowlist: allowlist
                    .iter()
                    .map(|s| parse_ip_or_cidr(s).unwrap())
                    .collect(),
                trusted_hops: hops,
            },
            metrics: Arc::new(Metrics::new("test", "test")),
            info: BuildInfo {
                version: "test",
                env: "test".into(),
                bot: "clanhall".into(),
            },
        });
        let listener = health::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let metrics = ctx.metrics.clone();
        let task = tokio::spawn(health::serve(
            listener,
            health::router(ctx, axum::Router::new()),
            metrics,
            stop.clone(),
        ));
        Server {
            base,
            status,
            clock,
            gateway,
            stop,
            task,
        }
    }

    /// Every phase done, gateway connected with a fresh ACK.
    fn make_ready(&self) {
        self.status.phases.done("http");
        self.status.phases.done("discord");
        self.gateway
            .set_stage(GatewayStage::Connected, self.clock.now());
        self.gateway
            .heartbeat_ack(self.clock.now(), Some(Duration::from_millis(40)));
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
        self.status.liveness.beat(self.clock.now());
    }

    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = http().get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let code = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (code, body, headers)
    }

    async fn codes(&self) -> (u16, u16, u16) {
        (
            self.get("/healthz", &[]).await.0,
            self.get("/ready", &[]).await.0,
            self.get("/health", &[]).await.0,
        )
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

struct Fixed(Level, &'static str);
impl ComponentCheck for Fixed {
    fn name(&self) -> &'static str {
        "sheets"
    }
    fn check(&self) -> ComponentHealth {
        ComponentHealth::new(self.0, self.1).with("circuit", "open")
    }
}

#[tokio::test]
async fn status_codes_in_each_state() {
    let s = Server::start(&[], 0).await;

    // starting: a phase pending.
    assert_eq!(s.codes().await, (200, 503, 503));
    let (_, ready, _) = s.get("/ready", &[]).await;
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["pending"], "http");
    assert_eq!(ready["phases"][0]["state"], "done");
    assert_eq!(
        s.get("/health", &[]).await.1,
        serde_json::json!({"status": "down"})
    );

    // ready.
    s.make_ready();
    assert_eq!(s.codes().await, (200, 200, 200));
    assert_eq!(
        s.get("/health", &[]).await.1,
        serde_json::json!({"status": "ok"})
    );
    assert_eq!(
        s.get("/ready", &[]).await.1["gateway"]["stage"],
        "connected"
    );

    // degraded: a component needs attention; still ready.
    s.status.add_component(Arc::new(Fixed(
        Level::Degraded,
        "circuit open after 5 failures",
    )));
    assert_eq!(s.codes().await, (200, 200, 200));
    assert_eq!(
        s.get("/health", &[]).await.1,
        serde_json::json!({"status": "degraded"})
    );

    // degraded and not ready: reconnecting within the grace period.
    s.gateway.set_stage(GatewayStage::Resuming, s.clock.now());
    s.advance(30);
    assert_eq!(s.codes().await, (200, 503, 200));

    // down: disconnected past the grace period. Liveness is still fine.
    s.advance(300);
    assert_eq!(s.codes().await, (200, 503, 503));
    assert_eq!(
        s.get("/health", &[]).await.1,
        serde_json::json!({"status": "down"})
    );

    // recovered.
    s.gateway.set_stage(GatewayStage::Connected, s.clock.now());
    s.gateway.heartbeat_ack(s.clock.now(), None);
    assert_eq!(s.get("/ready", &[]).await.0, 200);

    // down: connected but no ACK past the stall threshold.
    s.advance(181);
    assert_eq!(s.codes().await, (200, 503, 503));

    // the runtime loop itself stopped ticking: liveness fails.
    s.clock.advance(Duration::from_secs(20));
    let (code, body, _) = s.get("/healthz", &[]).await;
    assert_eq!(code, 503);
    assert_eq!(body["status"], "down");
    s.stop().await;
}

#[tokio::test]
async fn details_need_a_token_or_an_allowlisted_address() {
    let s = Server::start(&[], 0).await;
    s.make_ready();
    let plain = s.get("/health", &[]).await.1;
    assert_eq!(plain, serde_json::json!({"status": "ok"}));
    let wrong = s
        .get(
            "/health",
            &[("authorization", "Bearer not-the-token-at-all")],
        )
        .await
        .1;
    assert_eq!(wrong, serde_json::json!({"status": "ok"}));
    let (code, details, _) = s
        .get("/health", &[("authorization", &format!("Bearer {TOKEN}"))])
        .await;
    assert_eq!(code, 200);
    assert_eq!(details["status"], "ok");
    assert_eq!(details["components"]["discord"]["stage"], "connected");
    assert_eq!(details["components"]["discord"]["latency_ms"], 40);
    assert_eq!(details["watchdog"]["stall_sec"], 180);
    assert_eq!(details["watchdog"]["restart_budget"]["limit"], 5);
    assert!(details["trace"].as_str().unwrap().len() == 16);
    assert!(!details.to_string().contains(TOKEN));
    // /metrics follows the same rule.
    assert_eq!(s.get("/metrics", &[]).await.0, 401);
    let (code, text, _) = s
        .get("/metrics", &[("authorization", &format!("Bearer {TOKEN}"))])
        .await;
    assert_eq!(code, 200);
    assert!(text.as_str().unwrap().contains("clanhall_ready 1"));
    s.stop().await;

    let s = Server::start(&["127.0.0.0/8"], 0).await;
    s.make_ready();
    let details = s.get("/health", &[]).await.1;
    assert_eq!(details["components"]["runtime"]["status"], "ok");
    assert_eq!(s.get("/metrics", &[]).await.0, 200);
    s.stop().await;

    let s = Server::start(&["::1"], 0).await;
    s.make_ready();
    assert_eq!(
        s.get("/health", &[]).await.1,
        serde_json::json!({"status": "ok"}),
        "loopback v4 is not ::1"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_spoofed_forwarded_header_does_not_unlock_details() {
    // Behind one trusted proxy, allowlisting an internal range.
    let s = Server::start(&["10.0.0.0/8"], 1).await;
    s.make_ready();
    // The client claims an internal address, but the proxy's entry (rightmost) is public.
    let spoofed = s
        .get("/health", &[("x-forwarded-for", "10.0.0.1, 203.0.113.50")])
        .await
        .1;
    assert_eq!(spoofed, serde_json::json!({"status": "ok"}));
    // The proxy reports an allowlisted client.
    let genuine = s
        .get("/health", &[("x-forwarded-for", "198.51.100.1, 10.9.8.7")])
        .await
        .1;
    assert!(genuine.get("components").is_some(), "{genuine}");
    s.stop().await;

    // Without trusted hops the header is ignored even when it names an allowlisted address.
    let s = Server::start(&["10.0.0.0/8"], 0).await;
    s.make_ready();
    let ignored = s.get("/health", &[("x-forwarded-for", "10.0.0.1")]).await.1;
    assert_eq!(ignored, serde_json::json!({"status": "ok"}));
    s.stop().await;
}

#[tokio::test]
async fn every_response_has_a_unique_trace_id() {
    let s = Server::start(&[], 0).await;
    let mut seen = std::collections::HashSet::new();
    for path in ["/healthz", "/ready", "/health", "/metrics", "/nope"]
        .iter()
        .cycle()
        .take(50)
    {
        let (_, _, headers) = s.get(path, &[]).await;
        let id = headers
            .get("x-trace-id")
            .unwrap_or_else(|| panic!("no trace id on {path}"))
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 16);
        assert!(seen.insert(id), "trace id reused");
    }
    let (code, body, _) = s.get("/nope", &[]).await;
    assert_eq!(code, 404);
    assert_eq!(body["error"], "not found");
    // A known path with the wrong method: JSON, the Allow header, and a trace id.
    let resp = http()
        .post(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "GET,HEAD");
    assert!(resp.headers().contains_key("x-trace-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "method not allowed");
    assert_eq!(body["method"], "POST");
    s.stop().await;
}

#[tokio::test]
async fn one_access_line_per_request_probes_at_debug() {
    crate::support::logs();
    let s = Server::start(&[], 0).await;
    let (_, _, h1) = s.get("/healthz", &[]).await;
    let (_, _, h2) = s.get("/ops/unknown", &[]).await;
    s.stop().await;
    let traces = [
        h1["x-trace-id"].to_str().unwrap(),
        h2["x-trace-id"].to_str().unwrap(),
    ];
    let access: Vec<Value> = crate::support::log_lines()
        .into_iter()
        .filter(|v| {
            v["msg"] == "http request" && traces.contains(&v["trace"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(access.len(), 2, "{access:?}");
    let probe = &access[0];
    assert_eq!(probe["level"], "debug");
    assert_eq!(probe["method"], "GET");
    assert_eq!(probe["path"], "/healthz");
    assert_eq!(probe["status"], 200);
    assert!(probe["ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(probe["trace"], traces[0]);
    let other = &access[1];
    assert_eq!(other["level"], "info");
    assert_eq!(other["path"], "/ops/unknown");
    assert_eq!(other["status"], 404);
}
