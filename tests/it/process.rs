//! The real binary: signals, exit codes, settings errors, `check`, the panic line.

use std::time::Duration;

use serde_json::Value;

use crate::support::proc::{Proc, env_with};
use crate::support::{eventually, http};

async fn graceful_exit_on(sig: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Proc::spawn(&["sandbox", "--serve"], &env_with(dir.path(), &[]));
    let port = p.port().await;
    let resp = http()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    p.signal(sig);
    let code = p.exit_code(Duration::from_secs(15)).await;
    assert_eq!(
        code,
        0,
        "exit code after {name}; log:\n{}",
        p.seen.join("\n")
    );
    let lines = p.parsed();
    // Operators grep for both startup lines (seeds/002).
    assert!(lines.iter().any(|l| l["msg"] == "web server listening"));
    let watchdog = lines
        .iter()
        .find(|l| l["msg"] == "[watchdog] heartbeat monitor started")
        .expect("the watchdog logs its thresholds when it starts");
    assert_eq!(
        (
            watchdog["check_sec"].as_u64(),
            watchdog["stall_sec"].as_u64(),
            watchdog["disconnect_grace_sec"].as_u64()
        ),
        (Some(60), Some(180), Some(300))
    );
    let done = lines
        .iter()
        .find(|l| l["msg"] == "shutdown complete")
        .expect("shutdown complete line");
    assert_eq!(done["exit_code"], 0);
    assert_eq!(done["reason"], format!("received {name}"));
}

#[tokio::test]
async fn sigterm_leads_to_exit_0() {
    graceful_exit_on(libc::SIGTERM, "SIGTERM").await;
}

#[tokio::test]
async fn sigint_leads_to_exit_0() {
    graceful_exit_on(libc::SIGINT, "SIGINT").await;
}

#[tokio::test]
async fn invalid_settings_exit_2_naming_each_key_without_printing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "shortsecret";
    let mut p = Proc::spawn(
        &["sandbox"],
        &env_with(
            dir.path(),
            &[
                ("PORT", "abc"),
                ("OPS_API_TOKEN", secret),
                ("LOG_FORMAT", "xml"),
            ],
        ),
    );
    assert_eq!(p.exit_code(Duration::from_secs(10)).await, 2);
    let lines = p.parsed();
    let keys: Vec<&str> = lines
        .iter()
        .filter(|l| {
            l["msg"]
                .as_str()
                .unwrap_or("")
                .starts_with("invalid setting")
        })
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["PORT", "LOG_FORMAT", "OPS_API_TOKEN"]);
    let port = lines.iter().find(|l| l["key"] == "PORT").unwrap();
    assert_eq!(
        port["value"], "abc",
        "the value as typed, not its Debug form"
    );
    assert!(
        port["expected"]
            .as_str()
            .unwrap()
            .contains("between 0 and 65535")
    );
    assert!(
        !p.seen.join("\n").contains(secret),
        "secret printed:\n{}",
        p.seen.join("\n")
    );
    // The secret's line still says what is wrong with it, masked.
    let token = lines.iter().find(|l| l["key"] == "OPS_API_TOKEN").unwrap();
    assert!(
        token["value"].as_str().unwrap().starts_with("[redacted"),
        "{token}"
    );
    assert!(!token["expected"].as_str().unwrap().is_empty(), "{token}");
}

#[tokio::test]
async fn run_without_a_token_points_at_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Proc::spawn(&["run"], &env_with(dir.path(), &[]));
    assert_eq!(p.exit_code(Duration::from_secs(10)).await, 2);
    let lines = p.parsed();
    let l = lines
        .iter()
        .find(|l| l["key"] == "DISCORD_TOKEN")
        .expect("a line naming DISCORD_TOKEN");
    assert!(
        l["msg"].as_str().unwrap().contains("clanhall sandbox"),
        "{l}"
    );
}

#[tokio::test]
async fn a_port_in_use_fails_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut p = Proc::spawn(
        &["sandbox", "--serve"],
        &env_with(dir.path(), &[("PORT", &port)]),
    );
    assert_eq!(p.exit_code(Duration::from_secs(10)).await, 1);
    let lines = p.parsed();
    let l = lines
        .iter()
        .find(|l| l["msg"] == "startup failed")
        .expect("startup failed line");
    assert!(
        l["error"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{l}"
    );
}

fn check(args: &[&str], env: &[(String, String)]) -> (i32, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .arg("check")
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed non-JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), json)
}

#[tokio::test]
async fn check_exits_0_on_valid_settings_and_1_naming_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::support::bot::SAMPLE;
    let (code, json) = check(
        &["--for", "sandbox"],
        &env_with(dir.path(), &[("WORKBOOK_DIR", sample)]),
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["ok"], true);
    assert_eq!(json["settings"]["HOST"]["value"], "127.0.0.1");
    assert_eq!(json["workbook"]["ok"], true);
    assert_eq!(json["workbook"]["tabs"].as_array().unwrap().len(), 8);

    // Valid settings, but the workbook folder has no tabs: every tab is named.
    let (code, json) = check(&["--for", "sandbox"], &env_with(dir.path(), &[]));
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["problems"], serde_json::json!([]));
    let clans = &json["workbook"]["tabs"][2];
    assert_eq!(clans["tab"], "Clans");
    assert_eq!(clans["status"], "missing");

    let token = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhR2xk.pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP";
    let (code, json) = check(
        &[],
        &env_with(
            dir.path(),
            &[("DISCORD_TOKEN", token), ("WORKBOOK_DIR", sample)],
        ),
    );
    assert_eq!(code, 0, "{json}");
    assert!(!json.to_string().contains(token));
    assert_eq!(
        json["settings"]["DISCORD_TOKEN"]["value"],
        "[redacted: 72 chars]"
    );

    let (code, json) = check(
        &[],
        &env_with(
            dir.path(),
            &[
                ("PORT", "99999"),
                ("HEALTH_ALLOWLIST", "10.0.0.0/33"),
                ("WATCHDOG_STALL_SEC", "5"),
            ],
        ),
    );
    assert_eq!(code, 1);
    let keys: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["PORT", "HEALTH_ALLOWLIST", "WATCHDOG_STALL_SEC"]);
    assert_eq!(json["ok"], false);

    // Valid syntax, but `run` needs a token.
    let (code, json) = check(&["--for", "run"], &env_with(dir.path(), &[]));
    assert_eq!(code, 1);
    assert_eq!(json["problems"][0]["key"], "DISCORD_TOKEN");
}

/// Runs inside a child test process (see `a_panic_is_logged_as_one_json_line`).
#[test]
fn panic_child() {
    if std::env::var("CLANHALL_PANIC_CHILD").is_err() {
        return;
    }
    clanhall::testing::logging::install_panic_hook(clanhall::testing::LogFormat::Json);
    clanhall::testing::register_secret("child-secret-value-1234");
    panic!("boom with child-secret-value-1234 inside");
}

#[test]
fn a_panic_is_logged_as_one_json_line() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process::panic_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLANHALL_PANIC_CHILD", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        // libtest prints "test name ... " before the line on the same output line.
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok())
        })
        .filter(|v| v["logger"] == "panic")
        .collect();
    assert_eq!(lines.len(), 1, "stdout:\n{stdout}");
    let l = &lines[0];
    assert_eq!(l["level"], "error");
    assert_eq!(l["msg"], "panic: boom with [redacted] inside");
    assert!(l["location"].as_str().unwrap().contains("process.rs"));
    assert!(!stdout.contains("child-secret-value-1234"));
}

/// `clanhall run`, the production command, against a Discord-compatible server given by
/// `DISCORD_PROXY_URL` (here the sandbox, started by the test): it connects, registers its
/// commands, answers, keeps `/health` details behind the token (no loopback allowlist
/// outside the sandbox command), never logs the token, and exits 0 on SIGTERM.
#[tokio::test]
async fn run_through_a_discord_proxy_answers_and_keeps_details_private() {
    use clanhall_sandbox::world;
    let sandbox = crate::support::bot::sample_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let ops_token = "ops-token-for-the-run-test-0123456789";
    let guild = world::GUILD_ID.to_string();
    let mut p = Proc::spawn(
        &["run"],
        &env_with(
            dir.path(),
            &[
                ("WORKBOOK_DIR", crate::support::bot::SAMPLE),
                ("DISCORD_TOKEN", sandbox.token()),
                ("DISCORD_PROXY_URL", sandbox.base_url()),
                ("GUILD_IDS", &guild),
                ("OPS_API_TOKEN", ops_token),
            ],
        ),
    );
    let port = p.port().await;
    let base = format!("http://127.0.0.1:{port}");
    let ready = eventually(Duration::from_secs(20), || async {
        http()
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(ready, "never ready; log:\n{}", p.seen.join("\n"));
    assert!(!sandbox.registered_commands().is_empty());
    let mark = sandbox.mark();
    sandbox.say("member", "general", "!ping").unwrap();
    let pong = sandbox
        .wait_bot_message(mark, Duration::from_secs(15), |r| {
            r.content().contains("Pong")
        })
        .await;
    assert!(
        pong.is_some(),
        "{:?}",
        sandbox
            .bot_messages_since(mark)
            .iter()
            .map(|r| r.text())
            .collect::<Vec<_>>()
    );

    let health = |token: Option<&str>| {
        let mut req = http().get(format!("{base}/health"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let plain = health(None).await;
    assert_eq!(plain.as_object().map(|o| o.len()), Some(1), "{plain}");
    let detailed = health(Some(ops_token)).await;
    assert!(detailed["components"].is_object(), "{detailed}");
    assert_eq!(
        detailed["components"]["discord"]["stage"], "connected",
        "{detailed}"
    );

    p.signal(libc::SIGTERM);
    assert_eq!(p.exit_code(Duration::from_secs(15)).await, 0);
    let log = p.seen.join("\n");
    assert!(!log.contains(sandbox.token()), "the bot token was logged");
    assert!(!log.contains(ops_token), "the ops token was logged");
    // The log does tell the story: connected, the command ran, shut down cleanly.
    let lines = p.parsed();
    for msg in [
        "connected to Discord (new session)",
        "command finished",
        "shutdown complete",
    ] {
        assert!(
            lines.iter().any(|l| l["msg"] == msg),
            "no {msg:?} line:\n{log}"
        );
    }
    sandbox.stop().await;
}

/// The process is killed (SIGKILL: no shutdown, no flush) while reservation changes wait
/// for the sheet; the next process writes them at start.
#[tokio::test]
async fn a_killed_bot_flushes_the_queued_sheet_writes_when_it_starts_again() {
    use clanhall_sandbox::faults::HttpFault;
    use clanhall_sandbox::google::DEFAULT_SHEET_ID;
    use clanhall_sandbox::world;
    let sandbox = crate::support::bot::sample_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let guild = world::GUILD_ID.to_string();
    let key = sandbox.service_account_json();
    let env = env_with(
        dir.path(),
        &[
            ("DISCORD_TOKEN", sandbox.token()),
            ("DISCORD_PROXY_URL", sandbox.base_url()),
            ("GUILD_IDS", &guild),
            ("GOOGLE_SERVICE_ACCOUNT_JSON", &key),
            ("RECRUITMENT_SHEET_ID", DEFAULT_SHEET_ID),
            ("GOOGLE_SHEETS_API_URL", sandbox.base_url()),
        ],
    );
    let reservations =
        || sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()["Reservations"].len();
    let mut first = Proc::spawn(&["run"], &env);
    first.port().await;
    first
        .wait_for_msg("connected to Discord", Duration::from_secs(20))
        .await;
    sandbox.fail_http(
        Some("POST"),
        "values:batchUpdate",
        HttpFault::Status(500),
        None,
    );
    sandbox
        .open_thread(
            "tickettool",
            "welcome",
            "W0120-rue",
            true,
            &["recruit", "recruiter"],
        )
        .unwrap();
    let mark = sandbox.mark();
    sandbox
        .say("recruiter", "W0120-rue", "!reserve C1CA @recruit")
        .unwrap();
    let reply = sandbox
        .wait_bot_message(mark, Duration::from_secs(15), |r| r.channel == "W0120-rue")
        .await
        .expect("a reply");
    assert!(
        reply.content().starts_with("✅ Reserved"),
        "{}",
        reply.content()
    );
    let db = dir.path().join("data/clanhall.db");
    assert!(!crate::support::bot::query_db(&db, "SELECT * FROM mirror_outbox").is_empty());
    first.signal(libc::SIGKILL);
    let _ = first.child.wait().await;
    assert_eq!(
        reservations(),
        1,
        "nothing reached the sheet before the kill"
    );

    sandbox.faults().clear();
    let mut second = Proc::spawn(&["run"], &env);
    second.port().await;
    assert!(
        eventually(Duration::from_secs(20), || async { reservations() == 2 }).await,
        "the queued hold reached the Reservations tab; log:\n{}",
        second.seen.join("\n")
    );
    // Onboarding's WelcomeTickets target (the ticket thread) flushes in the same run,
    // right after the reservations'.
    assert!(
        eventually(Duration::from_secs(20), || async {
            crate::support::bot::query_db(&db, "SELECT * FROM mirror_outbox").is_empty()
        })
        .await,
        "the outbox empties"
    );
    second.signal(libc::SIGTERM);
    let _ = second.child.wait().await;
}
