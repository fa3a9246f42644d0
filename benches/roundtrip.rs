//! Event sent → reply received, through the real serenity/poise client and the sandbox
//! over loopback: a MESSAGE_CREATE dispatched on the gateway until the bot's reply is
//! stored by the sandbox's REST endpoint.
//!
//! Run: `cargo bench --bench roundtrip [-- --n 2000]`

// A benchmark that cannot set up aborts with the reason; unwrap is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clanhall::testing::App;
use clanhall::testing::logging::{LineSink, init_with};
use clanhall::testing::{LogFormat, Mode, Settings, log_filter_directive};
use clanhall::testing::{Shutdown, ShutdownReason};
use clanhall_sandbox::activity::Kind;
use clanhall_sandbox::{Sandbox, SandboxOptions};
use support::{arg, pct_ms};

/// Counts lines instead of printing them: the formatting cost stays in the measurement,
/// terminal I/O does not.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicU64>);

impl LineSink for Counting {
    fn write_line(&self, line: &str) {
        std::hint::black_box(line);
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

async fn measure(sandbox: &Sandbox, user: &str, content: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mark = sandbox.mark();
        let t0 = Instant::now();
        sandbox.say(user, "general", content).expect("say");
        let got = sandbox
            .activity()
            .wait_for(mark, Duration::from_secs(10), |k| {
                matches!(k, Kind::Message { by_bot: true, .. })
            })
            .await;
        assert!(got.is_some(), "no reply to {content}");
        out.push(t0.elapsed());
    }
    out.sort();
    out
}

fn main() {
    let n = arg("--n", 2000);
    let lines = Counting::default();
    init_with(
        &log_filter_directive("info"),
        LogFormat::Json,
        lines.clone(),
    )
    .expect("logger");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("clanhall-bench-{}", std::process::id()));
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample");
        let sandbox = Sandbox::start(SandboxOptions { workbook_dir: Some(sample.into()), ..Default::default() }).await.expect("sandbox");
        let env: HashMap<&str, String> = HashMap::from([
            ("HOST", "127.0.0.1".into()),
            ("PORT", "0".into()),
            ("DATA_DIR", dir.join("data").display().to_string()),
            ("WORKBOOK_DIR", sample.into()),
            ("TELEMETRY_LOG_PATH", dir.join("t.jsonl").display().to_string()),
        ]);
        let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("settings");
        let shutdown = Shutdown::new();
        let app = App::start(clanhall::testing::sandbox::bot_settings(&sandbox, settings), Mode::Sandbox, shutdown.clone()).await.expect("app");
        assert!(app.wait_ready(Duration::from_secs(30)).await, "bot not ready");
        // Warm-up: caches, connection pools, first-use allocations.
        measure(&sandbox, "member", "!ping", 100).await;
        measure(&sandbox, "member", "!help", 100).await;
        println!("event sent → reply received, {n} each, release build, loopback, real serenity/poise client");
        println!("{:<8} {:>9} {:>9} {:>9} {:>9}", "command", "p50 ms", "p99 ms", "p99.9 ms", "max ms");
        for (cmd, user) in [("!ping", "member"), ("!help", "member"), ("!help", "admin")] {
            let d = measure(&sandbox, user, cmd, n).await;
            println!(
                "{:<8} {:>9.3} {:>9.3} {:>9.3} {:>9.3}   ({user})",
                cmd,
                pct_ms(&d, 0.50),
                pct_ms(&d, 0.99),
                pct_ms(&d, 0.999),
                d.last().map(|x| x.as_secs_f64() * 1000.0).unwrap_or(0.0)
            );
        }
        println!("log lines formatted during the run: {}", lines.0.load(Ordering::Relaxed));
        shutdown.trigger(ShutdownReason::Finished("bench done".into()));
        app.wait().await;
        sandbox.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
