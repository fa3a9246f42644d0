//! Onboarding: evaluating the rules of a 60-question flow (visibility to a fixed point,
//! then the jumps), and the answer round trip through the real serenity/poise client and
//! the sandbox (rate limits off): a click on the card → the card updated in place.
//!
//! Run: `cargo bench --bench onboarding [-- --n 500]`

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use clanhall::testing::ShutdownReason;
use clanhall_sandbox::Sandbox;
use support::{arg, pct_ms};

fn rules(iterations: usize) {
    let path = clanhall::testing::onboarding::synthetic_path(60);
    for _ in 0..100 {
        std::hint::black_box(path());
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t0 = Instant::now();
        std::hint::black_box(path());
        times.push(t0.elapsed());
    }
    times.sort();
    let us = |q: f64| pct_ms(&times, q) * 1000.0;
    println!(
        "rules of a 60-question flow (path with visibility fixed point and jumps): p50 {:.1} µs  p99 {:.1} µs",
        us(0.50),
        us(0.99)
    );
}

fn title(sandbox: &Sandbox, id: u64) -> String {
    sandbox
        .message(id)
        .map(|m| m["embeds"][0]["title"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default()
}

fn main() {
    let n = arg("--n", 500);
    rules(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("clanhall-bench-onb-{}", std::process::id()));
        let wb = dir.join("workbook");
        support::bot::copy_sample(&wb);
        let sandbox = support::bot::sandbox(&wb).await;
        let (app, shutdown) = support::bot::start(&sandbox, &dir, &wb, &[]).await;
        let name = "W0001-bench";
        let mark = sandbox.mark();
        let t = sandbox
            .open_thread("tickettool", "welcome", name, true, &["recruit"])
            .unwrap();
        sandbox
            .say("tickettool", name, "Welcome @recruit!")
            .unwrap();
        let panel = sandbox
            .wait_bot_message(mark, Duration::from_secs(10), |r| {
                r.text().contains("Open questions")
            })
            .await
            .unwrap();
        let mark = sandbox.mark();
        sandbox
            .click(
                "recruit",
                panel.message_id().unwrap(),
                &format!("onb:open:{t}"),
            )
            .unwrap();
        let card = sandbox
            .wait_bot_message(mark, Duration::from_secs(10), |r| {
                r.text().contains("Question 1/")
            })
            .await
            .unwrap()
            .message_id()
            .unwrap();
        // Answer the first question, then go Back and Next: each click saves the
        // session and updates the card.
        sandbox.say("recruit", name, "Bench").unwrap();
        let wait_title = |want: &'static str| {
            let sandbox = &sandbox;
            async move {
                let deadline = Instant::now() + Duration::from_secs(10);
                while !title(sandbox, card).starts_with(want) {
                    assert!(Instant::now() < deadline, "card never showed {want}");
                    tokio::task::yield_now().await;
                }
            }
        };
        wait_title("Question 2/").await;
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let (id, want) = if i % 2 == 0 {
                (format!("onb:back:{t}:power"), "Question 1/")
            } else {
                (format!("onb:next:{t}:ign"), "Question 2/")
            };
            let t0 = Instant::now();
            sandbox.click("recruit", card, &id).unwrap();
            wait_title(want).await;
            times.push(t0.elapsed());
        }
        times.sort();
        println!(
            "answer round trip (click → card updated in place), {n} clicks, loopback, real clients"
        );
        println!(
            "click  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            pct_ms(&times, 0.50),
            pct_ms(&times, 0.99),
            times
                .last()
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        );
        shutdown.trigger(ShutdownReason::Finished("bench done".into()));
        app.wait().await;
        sandbox.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
