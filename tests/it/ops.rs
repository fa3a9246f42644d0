//! Jobs, the ops HTTP API, metrics and telemetry, through the real bot and sandbox.

use std::time::Duration;

use serde_json::Value;

use crate::support::bot::{BotOptions, TestBot};
use crate::support::proc::{Proc, base_env};
use crate::support::{eventually, http};

const TOKEN: &str = "ops-api-token-0123456789";

fn with_token() -> BotOptions {
    BotOptions {
        env: vec![("OPS_API_TOKEN", TOKEN.into())],
        ..Default::default()
    }
}

async fn api(bot: &TestBot, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = http().request(method.parse().unwrap(), format!("{}{path}", bot.http));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn ops_api_needs_the_token_even_from_an_allowlisted_address() {
    let bot = TestBot::start_with(with_token(), |_| ()).await;
    // Loopback is allowlisted in the sandbox (it sees /health details) but not here.
    assert!(bot.get("/health").await.1.get("components").is_some());
    for (method, path) in [
        ("GET", "/ops/jobs"),
        ("POST", "/ops/jobs/retention:sweep/run"),
        ("POST", "/ops/jobs/retention:sweep/pause"),
        ("GET", "/ops/queue"),
    ] {
        let (code, body) = api(&bot, method, path, None).await;
        assert_eq!(code, 401, "{method} {path}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(
            api(&bot, method, path, Some("wrong-token-wrong-token"))
                .await
                .0,
            401
        );
    }
    // Nothing ran or paused.
    let (_, jobs) = api(&bot, "GET", "/ops/jobs", Some(TOKEN)).await;
    assert_eq!(jobs["recent_runs"], serde_json::json!([]));
    assert_eq!(jobs["jobs"][0]["paused"], false);
    bot.stop().await;
}

#[tokio::test]
async fn ops_api_run_shows_in_jobs_and_job_runs_and_pause_resume_persist() {
    let bot = TestBot::start_with(with_token(), |_| ()).await;
    let (code, run) = api(&bot, "POST", "/ops/jobs/retention:sweep/run", Some(TOKEN)).await;
    assert_eq!(code, 202, "{run}");
    let run_id = run["run_id"].as_i64().unwrap();
    assert_eq!(run["trace"].as_str().unwrap().len(), 16);
    // Wait for it to finish, then look in both places.
    let sweep = || async {
        let (_, jobs) = api(&bot, "GET", "/ops/jobs", Some(TOKEN)).await;
        let job = jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == "retention:sweep")
            .cloned()
            .unwrap();
        (jobs, job)
    };
    assert!(
        eventually(Duration::from_secs(10), || async {
            sweep().await.1["last_result"] == "ok"
        })
        .await,
        "the sweep never finished"
    );
    let (jobs, job) = sweep().await;
    assert_eq!(jobs["recent_runs"][0]["id"], run_id);
    assert_eq!(job["last_result"], "ok", "{job}");
    assert_eq!(job["schedule"], "daily 03:30 UTC");
    let row = bot
        .app
        .as_ref()
        .unwrap()
        .store
        .run(run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.result.as_str(),
            row.trigger.as_str(),
            row.actor.as_str()
        ),
        ("ok", "manual", "ops-api")
    );
    assert_eq!(row.trace, run["trace"].as_str().unwrap());

    let (code, body) = api(&bot, "POST", "/ops/jobs/retention:sweep/pause", Some(TOKEN)).await;
    assert_eq!((code, &body["paused"]), (200, &Value::Bool(true)));
    let states = bot.app.as_ref().unwrap().store.job_states().await.unwrap();
    assert!(states["retention:sweep"].paused);
    assert_eq!(
        states["retention:sweep"].paused_by.as_deref(),
        Some("ops-api")
    );
    assert_eq!(
        api(
            &bot,
            "POST",
            "/ops/jobs/retention:sweep/resume",
            Some(TOKEN)
        )
        .await
        .1["paused"],
        false
    );
    let (code, body) = api(&bot, "POST", "/ops/jobs/nope/run", Some(TOKEN)).await;
    assert_eq!(code, 404);
    assert!(body["error"].as_str().unwrap().contains("retention:sweep"));
    let (code, body) = api(&bot, "GET", "/ops/queue", Some(TOKEN)).await;
    assert_eq!(
        (code, &body["status"]),
        (200, &Value::from("not configured"))
    );
    let audit = bot
        .app
        .as_ref()
        .unwrap()
        .store
        .recent_audit(10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["job.resume", "job.pause", "job.run"]);
    bot.stop().await;
}

#[tokio::test]
async fn ops_jobs_over_discord_by_tier() {
    let bot = TestBot::start().await;
    let list = bot.ask("staff", "general", "!ops jobs").await;
    let text = list[0].text();
    assert!(
        text.contains("Scheduled jobs")
            && text.contains("`retention:sweep`")
            && text.contains("daily 03:30 UTC"),
        "{text}"
    );
    let slash = bot.ask_slash("staff", "general", "/ops jobs list").await;
    assert!(slash[0].text().contains("`retention:sweep`"));
    let denied = bot.ask("member", "general", "!ops jobs").await;
    assert!(denied[0].content().contains("needs the **staff** tier"));
    let denied = bot
        .ask("staff", "general", "!ops jobs run retention:sweep")
        .await;
    assert!(
        denied[0].content().contains("needs the **admin** tier"),
        "{}",
        denied[0].content()
    );
    let ran = bot
        .ask("admin", "general", "!ops jobs run retention:sweep")
        .await;
    assert!(
        ran[0].content().starts_with("✅ `retention:sweep` ran"),
        "{}",
        ran[0].content()
    );
    let ran = bot
        .ask_slash("admin", "general", "/ops jobs run job:retention:sweep")
        .await;
    assert!(
        ran.iter()
            .any(|r| r.content().starts_with("✅ `retention:sweep` ran")),
        "{ran:?}"
    );
    let paused = bot
        .ask("admin", "general", "!ops jobs pause retention:sweep")
        .await;
    assert!(paused[0].content().starts_with("⏸️"));
    let list = bot.ask("staff", "general", "!ops jobs").await;
    assert!(list[0].text().contains("⏸️ paused"));
    let unknown = bot.ask("admin", "general", "!ops jobs run nope").await;
    assert!(
        unknown[0].content().contains("there is no job \"nope\""),
        "{}",
        unknown[0].content()
    );
    let runs = bot
        .app
        .as_ref()
        .unwrap()
        .store
        .recent_runs(Some("retention:sweep"), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.actor.starts_with("ada_admin")));
    bot.stop().await;
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_commands_and_jobs() {
    let bot = TestBot::start_with(with_token(), |_| ()).await;
    bot.ask("member", "general", "!ping").await;
    bot.ask("member", "general", "!ops health").await;
    api(&bot, "POST", "/ops/jobs/retention:sweep/run", Some(TOKEN)).await;
    let app = bot.app.as_ref().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.scheduler
                .views()
                .iter()
                .any(|j| j.id == "retention:sweep" && j.last_run.is_some())
        })
        .await,
        "the sweep never finished"
    );
    let resp = http()
        .get(format!("{}/metrics", bot.http))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(
        value(
            "clanhall_commands_total",
            &[("command", "ping"), ("outcome", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "clanhall_commands_total",
            &[("command", "ops health"), ("outcome", "denied")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "clanhall_job_runs_total",
            &[("job", "retention:sweep"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(value("clanhall_ready", &[]), Some(1.0));
    assert_eq!(value("clanhall_gateway_connected", &[]), Some(1.0));
    assert!(value("clanhall_process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert_eq!(
        value("clanhall_telemetry_dropped_events_total", &[]),
        Some(0.0)
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "clanhall_command_duration_seconds_count"),
        "histograms are exported"
    );
    for s in &scrape.samples {
        assert!(s.metric.starts_with("clanhall_"), "{}", s.metric);
    }
    bot.stop().await;
}

#[tokio::test]
async fn every_telemetry_line_is_json_with_ts_event_trace() {
    let bot = TestBot::start().await;
    bot.ask("member", "general", "!ping").await;
    bot.ask("member", "general", "!ops health").await;
    bot.ask("admin", "general", "!ops jobs run retention:sweep")
        .await;
    let path = bot.dir.path().join("logs/telemetry.jsonl");
    let dir = bot.dir.path().to_path_buf();
    // Stopping flushes the writer; keep the temp dir alive to read it.
    let TestBot {
        sandbox,
        app,
        shutdown,
        dir: tmp,
        ..
    } = bot;
    shutdown.trigger(clanhall::testing::ShutdownReason::Finished("test".into()));
    app.unwrap().wait().await;
    sandbox.stop().await;
    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert!(
            e["ts"]
                .as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
            "{e}"
        );
        assert!(e["event"].is_string() && e["trace"].is_string(), "{e}");
    }
    let commands: Vec<&Value> = events.iter().filter(|e| e["event"] == "command").collect();
    let outcomes: Vec<(&str, &str)> = commands
        .iter()
        .map(|e| {
            (
                e["command"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        outcomes.contains(&("ping", "ok"))
            && outcomes.contains(&("ops health", "denied"))
            && outcomes.contains(&("ops jobs run", "ok")),
        "{outcomes:?}"
    );
    assert!(
        commands
            .iter()
            .all(|e| e["trace"].as_str().unwrap().len() == 16)
    );
    assert!(!text.contains("!ping"), "message content is never recorded");
    let runs: Vec<&Value> = events.iter().filter(|e| e["event"] == "job_run").collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["job"], "retention:sweep");
    assert_eq!(runs[0]["result"], "ok");
    assert!(events.iter().any(|e| e["event"] == "retention"));
    drop(tmp);
    let _ = dir;
}

#[tokio::test]
async fn report_retention_and_export_from_the_cli() {
    let bot = TestBot::start().await;
    let data = bot.dir.path().join("data");
    let telemetry = bot.dir.path().join("logs/telemetry.jsonl");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
            .args(args)
            .env_clear()
            .env("DATA_DIR", &data)
            .env("TELEMETRY_LOG_PATH", &telemetry)
            .output()
            .unwrap()
    };
    let before = cli(&["report", "retention"]);
    assert_eq!(before.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&before.stderr).contains("no retention report"));
    bot.ask("admin", "general", "!ops jobs run retention:sweep")
        .await;
    let after = cli(&["report", "retention"]);
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let report: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(report["windows_days"]["job_runs_days"], 30);
    assert!(report["remaining"]["job_runs"].as_i64().unwrap() >= 1);
    let TestBot {
        sandbox,
        app,
        shutdown,
        dir: tmp,
        ..
    } = bot;
    shutdown.trigger(clanhall::testing::ShutdownReason::Finished("test".into()));
    app.unwrap().wait().await;
    sandbox.stop().await;
    let out = tmp.path().join("export");
    let exported = cli(&[
        "export",
        "--since",
        "2000-01-01",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let summary: Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(summary["files"]["job_run.ndjson"], 1);
    assert!(summary["files"]["command.ndjson"].as_u64().unwrap() >= 1);
    let job_runs = std::fs::read_to_string(out.join("job_run.ndjson")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(job_runs.trim()).unwrap()["job"],
        "retention:sweep"
    );
    let bad = cli(&[
        "export",
        "--since",
        "last week",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// SIGKILL in the middle of a burst of store writes; the restarted process finds an
/// intact database holding every row it had acknowledged.
#[tokio::test]
async fn a_sigkill_during_store_writes_loses_no_committed_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    env.push(("OPS_API_TOKEN".into(), TOKEN.into()));
    env.push(("LOG_LEVEL".into(), "info".into()));
    let mut p = Proc::spawn(&["sandbox", "--serve"], &env);
    let port = p.port().await;
    let base = format!("http://127.0.0.1:{port}");
    let client = http();
    // A burst of runs (each writes rows); SIGKILL lands once 20 are acknowledged, while
    // the burst goes on, so the kill cuts writes in flight.
    let mut acknowledged = Vec::new();
    let mut killed = false;
    loop {
        let resp = client
            .post(format!("{base}/ops/jobs/retention:sweep/run"))
            .bearer_auth(TOKEN)
            .send()
            .await;
        match resp {
            Ok(r) if r.status() == 202 => {
                acknowledged.push(r.json::<Value>().await.unwrap()["run_id"].as_i64().unwrap())
            }
            Ok(_) => tokio::task::yield_now().await, // 409: the previous run is still going
            Err(_) => break,
        }
        if acknowledged.len() >= 20 && !killed {
            p.signal(libc::SIGKILL);
            killed = true;
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(10), p.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(
        acknowledged.len() >= 5,
        "the burst wrote only {} rows",
        acknowledged.len()
    );
    eprintln!(
        "crash test: {} acknowledged runs before SIGKILL",
        acknowledged.len()
    );

    // Restart on the same DATA_DIR: the integrity check passes.
    let mut p2 = Proc::spawn(&["sandbox", "--serve"], &env);
    let opened = p2
        .wait_for_msg(
            "state store opened; integrity check ok",
            Duration::from_secs(20),
        )
        .await;
    p2.port().await;
    p2.signal(libc::SIGTERM);
    assert_eq!(p2.exit_code(Duration::from_secs(15)).await, 0);
    let conn = rusqlite::Connection::open(dir.path().join("data/clanhall.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut missing = Vec::new();
    for id in &acknowledged {
        let found: i64 = conn
            .query_row("SELECT COUNT(*) FROM job_runs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        if found != 1 {
            missing.push(*id);
        }
    }
    assert!(
        missing.is_empty(),
        "acknowledged runs missing after the crash: {missing:?}"
    );
    let running: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM job_runs WHERE result = 'running'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        running, 0,
        "runs cut off by the crash are marked, not left running"
    );
    let interrupted = opened["interrupted_runs"].as_u64().unwrap();
    let marked: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM job_runs WHERE result = 'interrupted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marked as u64, interrupted);
}

#[tokio::test]
async fn bot_access_lists_silence_denied_channels_and_survive_a_restart() {
    let bot = TestBot::start().await;
    let welcome = clanhall_sandbox::world::channel("welcome").unwrap().id;
    let r = bot
        .say_in("admin", "general", "!perm bot deny #welcome")
        .await;
    assert!(r[0].contains(&format!("Changed: <#{welcome}>")), "{r:?}");
    // Denied channel: silent for features; a thread under it inherits the denial.
    bot.assert_silent("member", "welcome", "!ping").await;
    let thread = bot
        .sandbox
        .open_thread("tickettool", "welcome", "W0001-ana", false, &["member"])
        .unwrap();
    let handled = &bot.app.as_ref().unwrap().handled;
    assert!(
        handled
            .channel_event("thread_create", thread, Duration::from_secs(10))
            .await,
        "the bot never saw the thread"
    );
    bot.assert_silent("member", "W0001-ana", "!ping").await;
    assert_eq!(bot.say_in("member", "general", "!ping").await.len(), 1);
    // Platform commands still work there, so an admin can always undo it.
    let r = bot
        .say_in("admin", "welcome", "!perm bot list --json")
        .await;
    let json: Value = serde_json::from_str(
        r[0].trim_start_matches("```json")
            .trim_end_matches("```")
            .trim(),
    )
    .unwrap();
    assert_eq!(json["deny"][0], welcome);
    let file = bot.dir.path().join("data/bot_access_lists.json");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(on_disk["deny"][0], welcome);
    // An allow list restricts the bot to the listed channels.
    bot.say_in("admin", "general", "!perm bot allow #recruiters")
        .await;
    bot.assert_silent("member", "general", "!ping").await;
    assert_eq!(bot.say_in("member", "recruiters", "!ping").await.len(), 1);
    let r = bot
        .say_in("admin", "general", "!perm bot allow #nope")
        .await;
    assert!(r[0].contains("cannot find a channel"), "{r:?}");
    let (_, dir) = bot.stop_keep_dir().await;
    // After a restart on the same DATA_DIR the lists are still in force.
    let opts = BotOptions {
        env: vec![("DATA_DIR", dir.path().join("data").display().to_string())],
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    bot.assert_silent("member", "general", "!ping").await;
    assert_eq!(bot.say_in("member", "recruiters", "!ping").await.len(), 1);
    bot.stop().await;
}
