//! Shared helpers: waiting for a fact, the HTTP client, the global log capture, the
//! real bot in-process (`bot`) and the real binary as a child process (`proc`).

pub(crate) mod bot;
pub(crate) mod gateway;
pub(crate) mod proc;

use std::sync::OnceLock;
use std::time::Duration;

use clanhall::testing::logging::{CaptureSink, capture_subscriber};
use serde_json::Value;

/// Waits until `check` holds, trying again every 10 ms, for at most `within`. Returns
/// whether it held: tests assert on the outcome, so a timeout names the fact that never
/// happened.
pub(crate) async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("http client")
}

/// Posts a raw message body to `channel` as the bot, bypassing serenity, so a test sees
/// exactly what the sandbox answers (status, headers, error body).
pub(crate) fn post_message(
    s: &clanhall_sandbox::Sandbox,
    channel: u64,
    body: &Value,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + use<> {
    http()
        .post(format!(
            "{}/api/v10/channels/{channel}/messages",
            s.base_url()
        ))
        .header("authorization", format!("Bot {}", s.token()))
        .json(body)
        .send()
}

/// Every log line this test binary produced. Installed once as the global subscriber:
/// per-test scoped subscribers race with tracing's callsite cache when tests run in
/// parallel. Tests pick their own lines by trace id (unique per request) or by a field
/// only they use.
pub(crate) fn logs() -> &'static CaptureSink {
    static SINK: OnceLock<CaptureSink> = OnceLock::new();
    SINK.get_or_init(|| {
        let (sub, sink) = capture_subscriber("debug", clanhall::testing::LogFormat::Json);
        tracing::subscriber::set_global_default(sub).expect("no other global subscriber in tests");
        sink
    })
}

pub(crate) fn log_lines() -> Vec<Value> {
    logs()
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
