//! Event sent → reply received, through the real serenity/poise client and the sandbox
//! over loopback: a MESSAGE_CREATE dispatched on the gateway until the bot's reply is
//! stored by the sandbox's REST endpoint.
//!
//! In the same run, the floor: a bare poise bot (one command that answers "ok", nothing
//! else) against the same sandbox, so each clanhall command is also shown as a multiple of
//! what serenity, poise and the sandbox cost by themselves. The sandbox's rate limits are
//! off here: 5 messages per 5 s per channel would measure Discord's limit, not the bot.
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

type FloorError = Box<dyn std::error::Error + Send + Sync>;

/// The floor's only command.
#[poise::command(prefix_command)]
async fn noop(ctx: poise::Context<'_, (), FloorError>) -> Result<(), FloorError> {
    ctx.say("ok").await?;
    Ok(())
}

/// Starts the bare poise bot against the sandbox; returns once it is ready.
async fn start_floor(sandbox: &Sandbox) -> Arc<serenity::all::ShardManager> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let ready_tx = std::sync::Mutex::new(Some(ready_tx));
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![noop()],
            prefix_options: poise::PrefixFrameworkOptions {
                prefix: Some("!".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .setup(move |_ctx, _ready, _framework| {
            if let Some(tx) = ready_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            Box::pin(async { Ok(()) })
        })
        .build();
    let http = clanhall::testing::discord_http(sandbox.token(), Some(sandbox.base_url()));
    let intents = serenity::all::GatewayIntents::GUILDS
        | serenity::all::GatewayIntents::GUILD_MESSAGES
        | serenity::all::GatewayIntents::MESSAGE_CONTENT;
    let mut client = serenity::all::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .expect("floor client");
    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        let _ = client.start().await;
    });
    tokio::time::timeout(Duration::from_secs(30), ready_rx)
        .await
        .expect("floor bot ready in time")
        .expect("floor bot ready");
    shards
}

fn row(label: &str, d: &[Duration], floor: Option<(f64, f64)>, note: &str) {
    let (p50, p99) = (pct_ms(d, 0.50), pct_ms(d, 0.99));
    let ratio = floor
        .map(|(f50, f99)| format!("{:>7.2}x {:>7.2}x", p50 / f50, p99 / f99))
        .unwrap_or_else(|| format!("{:>8} {:>8}", "1.00x", "1.00x"));
    println!(
        "{label:<8} {p50:>9.3} {p99:>9.3} {:>9.3} {:>9.3} {ratio}   {note}",
        pct_ms(d, 0.999),
        d.last().map(|x| x.as_secs_f64() * 1000.0).unwrap_or(0.0)
    );
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
        let sandbox = Sandbox::start(SandboxOptions {
            workbook_dir: Some(sample.into()),
            rate_limits: false,
            ..Default::default()
        })
        .await
        .expect("sandbox");
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
        let mut results = Vec::new();
        for (cmd, user) in [("!ping", "member"), ("!help", "member"), ("!help", "admin")] {
            results.push((cmd, user, measure(&sandbox, user, cmd, n).await));
        }
        let logged = lines.0.load(Ordering::Relaxed);
        shutdown.trigger(ShutdownReason::Finished("bench done".into()));
        app.wait().await;

        // The floor, against the same sandbox (one bot session at a time, as on Discord).
        let floor = start_floor(&sandbox).await;
        measure(&sandbox, "member", "!noop", 100).await;
        let bare = measure(&sandbox, "member", "!noop", n).await;
        floor.shutdown_all().await;
        let f = (pct_ms(&bare, 0.50), pct_ms(&bare, 0.99));

        println!("event sent → reply received, {n} each, release build, loopback, real serenity/poise client");
        println!(
            "{:<8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
            "command", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "p50/flr", "p99/flr"
        );
        row("!noop", &bare, None, "(floor: bare poise bot)");
        for (cmd, user, d) in &results {
            row(cmd, d, Some(f), &format!("({user})"));
        }
        println!("log lines formatted during the clanhall runs: {logged}");
        sandbox.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
