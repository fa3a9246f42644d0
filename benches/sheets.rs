//! Two figures for the workbook path:
//! 1. parse and validate a 5,000-row Clans tab (header resolution, numbers, flags,
//!    duplicate tags): pure CPU, no I/O;
//! 2. a full refresh of every bucket through the real google-sheets4 client against the
//!    sandbox's Sheets endpoint, with that 5,000-row tab: wall time, and how many Sheets
//!    HTTP requests each refresh made (counted by the sandbox, must be one per workbook).
//!
//! Run: `cargo bench --bench sheets [-- --n 200 --rows 5000]`

// A benchmark that cannot set up aborts with the reason; unwrap is how it says so.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clanhall::testing::App;
use clanhall::testing::Table;
use clanhall::testing::{BucketId, RefreshOutcome, RefreshTrigger};
use clanhall::testing::{Mode, Settings};
use clanhall::testing::{Shutdown, ShutdownReason};
use clanhall_sandbox::google::DEFAULT_SHEET_ID;
use clanhall_sandbox::record::Channel;
use clanhall_sandbox::{Sandbox, SandboxOptions};
use support::{arg, clans_tab, pct_ms};

fn parse_bench(rows: &[Vec<String>], n: usize) {
    let mut times = Vec::with_capacity(n);
    let mut count = 0;
    for _ in 0..n {
        // The rows arrive owned from the read; copying them is not part of parsing.
        let raw = rows.to_vec();
        let t0 = Instant::now();
        // Building the table (blank-row filtering, padding) is part of every read.
        let table = Table::from_rows("Clans", raw);
        let list = clanhall::testing::parse_clans(&table).expect("valid headers");
        times.push(t0.elapsed());
        count = std::hint::black_box(list).clans.len();
    }
    times.sort();
    println!(
        "parse + validate Clans, {} rows, {n} runs: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({count} clans)",
        rows.len() - 1,
        pct_ms(&times, 0.5),
        pct_ms(&times, 0.99),
        times
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    );
}

fn main() {
    let n = arg("--n", 200);
    let rows_n = arg("--rows", 5000);
    let rows = clans_tab(rows_n);
    parse_bench(&rows, n);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("clanhall-bench-sheets-{}", std::process::id()));
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample");
        let sandbox = Sandbox::start(SandboxOptions {
            workbook_dir: Some(sample.into()),
            ..Default::default()
        })
        .await
        .expect("sandbox");
        sandbox
            .google()
            .set_tab(DEFAULT_SHEET_ID, "Clans", Some(rows.clone()));
        let env: HashMap<&str, String> = HashMap::from([
            ("HOST", "127.0.0.1".into()),
            ("PORT", "0".into()),
            ("LOG_LEVEL", "warn".into()),
            ("DATA_DIR", dir.join("data").display().to_string()),
            ("TELEMETRY_LOG_PATH", dir.join("t.jsonl").display().to_string()),
            ("GOOGLE_SERVICE_ACCOUNT_JSON", sandbox.service_account_json()),
            ("RECRUITMENT_SHEET_ID", DEFAULT_SHEET_ID.into()),
            ("GOOGLE_SHEETS_API_URL", sandbox.base_url().into()),
        ]);
        let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("settings");
        let shutdown = Shutdown::new();
        let app = App::start(clanhall::testing::sandbox::bot_settings(&sandbox, settings), Mode::Sandbox, shutdown.clone())
            .await
            .expect("app");
        assert!(app.wait_ready(Duration::from_secs(30)).await, "bot not ready");
        let reads = || {
            sandbox
                .record()
                .filter(Channel::Google)
                .iter()
                .filter(|e| e.path.contains("values:batchGet"))
                .count()
        };
        let runs = (n / 4).max(10);
        let before = reads();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t0 = Instant::now();
            let reports = app
                .cache
                .refresh(&BucketId::ALL, RefreshTrigger::Manual, "bench", None)
                .await;
            times.push(t0.elapsed());
            assert!(reports.iter().all(|r| r.result == RefreshOutcome::Ok), "{reports:?}");
        }
        let requests = reads() - before;
        times.sort();
        println!(
            "full refresh (4 buckets, one workbook, {rows_n}-row Clans) via google-sheets4 → sandbox, {runs} runs: p50 {:.1} ms, p99 {:.1} ms",
            pct_ms(&times, 0.5),
            pct_ms(&times, 0.99)
        );
        println!(
            "Sheets HTTP requests: {requests} for {runs} full refreshes = {:.2} per refresh (workbooks: 1); OAuth token requests: {}",
            requests as f64 / runs as f64,
            sandbox.google().token_requests()
        );
        shutdown.trigger(ShutdownReason::Finished("bench done".into()));
        app.wait().await;
        sandbox.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
