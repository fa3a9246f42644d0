//! Recruitment figures:
//! 1. `match` over a 5,000-clan list with every filter set (pure CPU);
//! 2. a `clanmatch` page flip through the sandbox: the click sent, the results message
//!    edited in place (round trip as the clicker sees it);
//! 3. the bot's resident memory with a 1,000-row and a 50,000-row Clans tab: the bot
//!    runs as its own process (`clanhall run`) reading the tab through google-sheets4
//!    from the sandbox in this process, so the sandbox's copy of the sheet is not
//!    counted.
//!
//! Run: `cargo bench --bench recruitment [-- --n 2000 --clicks 300 --rows 1000,50000]`

// A benchmark that cannot set up aborts with the reason; unwrap is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use clanhall_sandbox::google::DEFAULT_SHEET_ID;
use clanhall_sandbox::{Sandbox, SandboxOptions, world};
use support::{arg, clans_tab, pct_ms};

/// Resident and peak memory of `pid`, in kB, from `/proc`.
fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The bench child's ops token (detailed endpoints need one).
const OPS_TOKEN: &str = "bench-ops-token-recruitment";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `cache_items` gauge of the clans bucket, from the child's `/metrics`.
async fn clans_loaded(port: u16) -> Option<u64> {
    let body = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .bearer_auth(OPS_TOKEN)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    body.lines()
        .find(|l| l.starts_with("clanhall_cache_items{") && l.contains("bucket=\"clans\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Starts `clanhall run` on a sandbox serving a `rows`-row Clans tab; its memory once the
/// clans bucket holds every row and the process has settled.
async fn memory(rows: Option<usize>) -> (u64, u64) {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample");
    let sandbox = Sandbox::start(SandboxOptions {
        workbook_dir: Some(sample.into()),
        ..Default::default()
    })
    .await
    .unwrap();
    if let Some(rows) = rows {
        sandbox
            .google()
            .set_tab(DEFAULT_SHEET_ID, "Clans", Some(clans_tab(rows)));
    }
    let dir = std::env::temp_dir().join(format!(
        "clanhall-bench-recruitment-{}-{rows:?}",
        std::process::id()
    ));
    let port = free_port();
    let guild = world::GUILD_ID.to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs([
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", port.to_string()),
            ("LOG_LEVEL", "warn".to_owned()),
            ("DATA_DIR", dir.join("data").display().to_string()),
            ("WORKBOOK_DIR", sample.to_owned()),
            (
                "TELEMETRY_LOG_PATH",
                dir.join("t.jsonl").display().to_string(),
            ),
            ("DISCORD_TOKEN", sandbox.token().to_owned()),
            ("DISCORD_PROXY_URL", sandbox.base_url().to_owned()),
            ("GUILD_IDS", guild),
            (
                "GOOGLE_SERVICE_ACCOUNT_JSON",
                sandbox.service_account_json(),
            ),
            ("RECRUITMENT_SHEET_ID", DEFAULT_SHEET_ID.to_owned()),
            ("GOOGLE_SHEETS_API_URL", sandbox.base_url().to_owned()),
            ("OPS_API_TOKEN", OPS_TOKEN.to_owned()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let held = clans_loaded(port).await;
        if let Ok(Some(status)) = child.try_wait() {
            panic!("clanhall run exited: {status}");
        }
        if held.is_some_and(|n| rows.is_none_or(|r| n == r as u64)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the clans bucket never held {rows:?} rows"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let start-up work that follows the first read (mirror, overlay) finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let figures = rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

/// A match with every filter set over a `rows`-clan tab, `n` times.
fn match_bench(rows: usize, n: usize) {
    let table = clanhall::testing::Table::from_rows("Clans", clans_tab(rows));
    let list = clanhall::testing::parse_clans(&table).unwrap();
    let run = clanhall::testing::recruitment::match_all_filters(&list);
    let mut times = Vec::with_capacity(n);
    let mut found = 0;
    for _ in 0..n {
        let t0 = Instant::now();
        found = std::hint::black_box(run());
        times.push(t0.elapsed());
    }
    times.sort();
    println!(
        "match over {rows} clans, every filter set, {n} runs: p50 {:.1} µs, p99 {:.1} µs ({found} matched)",
        pct_ms(&times, 0.5) * 1000.0,
        pct_ms(&times, 0.99) * 1000.0
    );
}

/// The `footer` of the first embed of message `id`.
fn footer(sandbox: &Sandbox, id: u64) -> String {
    sandbox
        .message(id)
        .map(|m| {
            m["embeds"][0]["footer"]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default()
}

/// `clanmatch` in the sandbox: Next / Prev on the results, each click until the results
/// message shows the other page.
async fn flip_bench(clicks: usize) {
    let dir = std::env::temp_dir().join(format!("clanhall-bench-cm-{}", std::process::id()));
    let wb = dir.join("workbook");
    support::bot::copy_sample(&wb);
    let sandbox = support::bot::sandbox(&wb).await;
    let (app, shutdown) = support::bot::start(&sandbox, &dir, &wb, &[]).await;
    let mark = sandbox.mark();
    sandbox
        .say("recruiter", "recruiters", "!clanmatch")
        .unwrap();
    let results = sandbox
        .wait_bot_message(mark, Duration::from_secs(10), |r| {
            r.embeds()
                .first()
                .and_then(|e| e["footer"]["text"].as_str())
                .is_some_and(|f| f.contains("page 1/"))
        })
        .await
        .unwrap();
    let id = results.message_id().unwrap();
    let message = results.message.clone().unwrap();
    let next = message["components"][0]["components"][2]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let prev = next
        .rsplit_once(':')
        .map(|(b, _)| format!("{b}:0"))
        .unwrap();
    let mut times = Vec::with_capacity(clicks);
    for i in 0..clicks {
        let (cid, want) = if i % 2 == 0 {
            (&next, "page 2/")
        } else {
            (&prev, "page 1/")
        };
        let t0 = Instant::now();
        sandbox.click("recruiter", id, cid).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !footer(&sandbox, id).contains(want) {
            assert!(Instant::now() < deadline, "results never showed {want}");
            tokio::task::yield_now().await;
        }
        times.push(t0.elapsed());
    }
    times.sort();
    println!(
        "clanmatch page flip (click → results edited in place), {clicks} clicks, loopback, real clients: p50 {:.3} ms, p99 {:.3} ms",
        pct_ms(&times, 0.5),
        pct_ms(&times, 0.99)
    );
    shutdown.trigger(clanhall::testing::ShutdownReason::Finished(
        "bench done".into(),
    ));
    app.wait().await;
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    match_bench(5000, arg("--n", 2000));
    let rows: Vec<usize> = arg("--rows", "1000,50000".to_owned())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        flip_bench(arg("--clicks", 300)).await;
        let (base, _) = memory(None).await;
        println!("resident memory, sample Clans tab (30 rows): {:.1} MB", base as f64 / 1024.0);
        for n in rows {
            let (rss, peak) = memory(Some(n)).await;
            println!(
                "resident memory, {n}-row Clans tab: {:.1} MB (peak {:.1} MB); {:.0} bytes per clan row over the sample",
                rss as f64 / 1024.0,
                peak as f64 / 1024.0,
                (rss.saturating_sub(base)) as f64 * 1024.0 / n as f64
            );
        }
    });
}
