//! Seat reservations through the real serenity/poise and google-sheets4 clients and the
//! sandbox (rate limits off): the `reserve` round trip (message sent → reply stored), and
//! one `mirror:flush` of the changes queued meanwhile across 100 clans, with the Sheets
//! requests it made.
//!
//! Run: `cargo bench --bench reservations [-- --n 1000 --clans 100]`; `--clans 50000`
//! shows what a hold costs when the cached Clans list is large.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use clanhall::testing::ShutdownReason;
use clanhall_sandbox::Sandbox;
use clanhall_sandbox::record::Channel;
use support::{arg, pct_ms};

fn workbook(dir: &std::path::Path, clans: usize) {
    support::bot::copy_sample(dir);
    let mut csv = String::from(
        "tag,name,level,rank,spots,inactives,lead,deputies,playstyle,cb,hydra,chimera,cvc,siege,requirements,notes,open_spots,reserved,reserved_by\n",
    );
    for i in 0..clans {
        csv.push_str(&format!(
            "B{i:05},Bench clan {i},50,{i},40,0,Lead,Dep,Casual,Hard,Normal,Normal,0,0,,,,,\n"
        ));
    }
    std::fs::write(dir.join("Clans.csv"), csv).unwrap();
}

async fn ask(sandbox: &Sandbox, user: &str, channel: &str, line: &str) -> (Duration, String) {
    let mark = sandbox.mark();
    let t0 = Instant::now();
    sandbox.say(user, channel, line).expect("say");
    let reply = sandbox
        .wait_bot_message(mark, Duration::from_secs(30), |r| r.channel == channel)
        .await
        .unwrap_or_else(|| panic!("no reply to {line}"));
    (t0.elapsed(), reply.text())
}

fn main() {
    let n = arg("--n", 1000);
    let clans = arg("--clans", 100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("clanhall-bench-res-{}", std::process::id()));
        let wb = dir.join("workbook");
        workbook(&wb, clans);
        let sandbox = support::bot::sandbox(&wb).await;
        let (app, shutdown) = support::bot::start(
            &sandbox,
            &dir,
            &wb,
            &[
                ("GOOGLE_SERVICE_ACCOUNT_JSON", sandbox.service_account_json()),
                ("RECRUITMENT_SHEET_ID", clanhall_sandbox::google::DEFAULT_SHEET_ID.into()),
                ("GOOGLE_SHEETS_API_URL", sandbox.base_url().into()),
            ],
        )
        .await;
        // Queue everything for one flush.
        let (_, paused) = ask(&sandbox, "admin", "general", "!ops jobs pause mirror:flush").await;
        assert!(paused.starts_with("⏸️"), "{paused}");
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let user = format!("bench{i}");
            sandbox.member_join(&user).unwrap();
            let thread = format!("W{i:04}-{user}");
            sandbox
                .open_thread("tickettool", "welcome", &thread, true, &[&user, "recruiter"])
                .unwrap();
            let line = format!("!reserve B{:05} @{user}", i % clans.min(100));
            let (took, text) = ask(&sandbox, "recruiter", &thread, &line).await;
            assert!(text.starts_with("✅ Reserved"), "{text}");
            times.push(took);
        }
        times.sort();
        let before = sandbox.record().entries().len();
        let t0 = Instant::now();
        let (_, ran) = ask(&sandbox, "admin", "general", "!ops jobs run mirror:flush").await;
        let flush = t0.elapsed();
        assert!(ran.starts_with("✅"), "{ran}");
        let sheets: Vec<String> = sandbox.record().entries()[before..]
            .iter()
            .filter(|e| e.channel == Channel::Google && e.path.contains("/values"))
            .map(|e| format!("{} {}", e.method, e.path.split('?').next().unwrap_or("")))
            .collect();
        println!("reserve round trip (message sent → reply stored), {n} holds, release build, loopback, real clients");
        println!(
            "reserve  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            pct_ms(&times, 0.50),
            pct_ms(&times, 0.99),
            times.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
        );
        println!(
            "mirror:flush of {n} changes across {} of {clans} clans: {:.1} ms (command round trip), {} Sheets requests: {sheets:?}",
            clans.min(100),
            flush.as_secs_f64() * 1000.0,
            sheets.len()
        );
        shutdown.trigger(ShutdownReason::Finished("bench done".into()));
        app.wait().await;
        sandbox.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
