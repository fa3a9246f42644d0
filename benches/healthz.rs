//! `/healthz` throughput and latency against a bare axum hello-world, measured in the
//! same run on loopback.
//!
//! Servers run on a one-thread runtime and the load generator on another, so on a
//! 2-core machine each gets a core. The generator keeps C keep-alive HTTP/1.1
//! connections busy for D seconds (after a warm-up) and records every request's latency.
//!
//! Run: `cargo bench --bench healthz [-- --connections 32 --seconds 5]`

// A benchmark that cannot set up aborts with the reason; unwrap is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use clanhall::testing::Metrics;
use clanhall::testing::WatchdogSettings;
use clanhall::testing::health::{self, AccessPolicy, BuildInfo, HealthContext};
use clanhall::testing::{RuntimeStatus, SystemClock};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use support::arg;
use tokio_util::sync::CancellationToken;

struct Result {
    name: &'static str,
    requests: usize,
    seconds: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    errors: usize,
}

fn production_router() -> Router {
    let status = Arc::new(RuntimeStatus::new(
        Arc::new(SystemClock),
        clanhall::testing::PHASES,
        WatchdogSettings {
            check: Duration::from_secs(60),
            stall: Duration::from_secs(180),
            disconnect_grace: Duration::from_secs(300),
            restart_budget: 5,
            restart_window: Duration::from_secs(3600),
        },
    ));
    for p in clanhall::testing::PHASES {
        status.phases.done(p);
    }
    let beat = status.clone();
    tokio::spawn(async move {
        loop {
            beat.liveness.beat(std::time::Instant::now());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let ctx = Arc::new(HealthContext {
        status,
        access: AccessPolicy::default(),
        metrics: Arc::new(Metrics::new("bench", "bench")),
        info: BuildInfo {
            version: "bench",
            env: "bench".into(),
            bot: "clanhall".into(),
        },
    });
    health::router(ctx, Router::new())
}

fn hello_router() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!" }))
}

async fn one_connection(
    addr: SocketAddr,
    path: &'static str,
    until: Instant,
    warm_until: Instant,
) -> (Vec<u32>, usize) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let mut lat = Vec::with_capacity(200_000);
    let mut errors = 0;
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let req = hyper::Request::get(path)
            .header("host", "127.0.0.1")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let start = Instant::now();
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if start >= warm_until {
                    if ok {
                        lat.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    } else {
                        errors += 1;
                    }
                }
            }
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (lat, errors)
}

fn load(
    name: &'static str,
    addr: SocketAddr,
    path: &'static str,
    connections: u64,
    seconds: u64,
) -> Result {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let warm = Duration::from_secs(1);
        let start = Instant::now();
        let warm_until = start + warm;
        let until = warm_until + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(one_connection(addr, path, until, warm_until)))
            .collect();
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (lat, e) = t.await.expect("load task");
            all.extend(lat);
            errors += e;
        }
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as f64
        };
        Result {
            name,
            requests: all.len(),
            seconds: seconds as f64,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            p999_us: pct(0.999),
            errors,
        }
    })
}

fn main() {
    let connections = arg("--connections", 32);
    let seconds = arg("--seconds", 5);
    // Production logging (JSON to stdout, default filter): probes log at debug, so
    // nothing is written, but the filter and span work is paid as in production.
    let _ = clanhall::testing::logging::init(
        &clanhall::testing::log_filter_directive("info"),
        clanhall::testing::LogFormat::Json,
    );

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let stop = CancellationToken::new();
    let (prod_addr, hello_addr) = server_rt.block_on(async {
        let l1 = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let l2 = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (a1, a2) = (
            l1.local_addr().expect("addr"),
            l2.local_addr().expect("addr"),
        );
        tokio::spawn(health::serve(
            l1,
            production_router(),
            Arc::new(Metrics::new("bench", "bench")),
            stop.clone(),
        ));
        let s2 = stop.clone();
        tokio::spawn(async move {
            axum::serve(l2, hello_router())
                .with_graceful_shutdown(async move { s2.cancelled().await })
                .await
        });
        (a1, a2)
    });

    println!(
        "load: {connections} keep-alive connections, {seconds}s per target after 1s warm-up, loopback, release build"
    );
    let results = [
        load(
            "axum hello-world GET /",
            hello_addr,
            "/",
            connections,
            seconds,
        ),
        load(
            "clanhall GET /healthz",
            prod_addr,
            "/healthz",
            connections,
            seconds,
        ),
    ];
    println!(
        "{:<26} {:>12} {:>10} {:>10} {:>10} {:>7}",
        "target", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "errors"
    );
    for r in &results {
        println!(
            "{:<26} {:>12.0} {:>10.0} {:>10.0} {:>10.0} {:>7}",
            r.name,
            r.requests as f64 / r.seconds,
            r.p50_us,
            r.p99_us,
            r.p999_us,
            r.errors
        );
    }
    let (h, p) = (&results[0], &results[1]);
    let ratio = (p.requests as f64) / (h.requests as f64);
    println!(
        "healthz/hello-world throughput ratio: {ratio:.2}; p99 ratio: {:.2}",
        p.p99_us / h.p99_us.max(1.0)
    );
    stop.cancel();
    server_rt.shutdown_timeout(Duration::from_secs(2));
}
