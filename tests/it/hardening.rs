//! The spine fails closed, loses nothing and tells the operator the truth: one test per
//! defect found by trying the bot as a new and as a hostile user (issue 10).

use std::time::Duration;

use serde_json::Value;

use crate::support::bot::{BotOptions, TestBot, sample_copy};
use crate::support::eventually;

fn on(workbook: &tempfile::TempDir) -> BotOptions {
    BotOptions {
        workbook: workbook.path().display().to_string(),
        ..Default::default()
    }
}

/// The bot's answer in #general.
async fn say(bot: &TestBot, user: &str, line: &str) -> String {
    let texts = bot.say_in(user, "general", line).await;
    assert!(!texts.is_empty(), "no reply in #general to {line}");
    texts.join("\n")
}

// --- 1. A Config tab that cannot be read or validated counts as unreadable ----------

#[tokio::test]
async fn a_missing_or_misnamed_config_tab_changes_nothing_at_reload() {
    let wb = sample_copy();
    let bot = TestBot::start_with(on(&wb), |_| ()).await;
    let config = wb.path().join("Config.csv");
    let good = std::fs::read_to_string(&config).unwrap();

    std::fs::remove_file(&config).unwrap();
    let text = say(&bot, "staff", "!ops reload").await;
    assert!(
        text.contains("Reload failed") && text.contains("stays in use"),
        "{text}"
    );
    assert!(text.contains("Config"), "the reply names the tab: {text}");
    let text = say(&bot, "staff", "!ops health").await;
    assert!(
        text.contains("clanhall · health"),
        "staff are still staff: {text}"
    );

    std::fs::write(&config, good.replacen("Key,Value", "Key,Vaule", 1)).unwrap();
    let text = say(&bot, "staff", "!ops reload").await;
    assert!(
        text.contains("Reload failed") && text.contains("value"),
        "the missing header is named: {text}"
    );
    let cfg = bot.app.as_ref().unwrap().config.get();
    assert!(!cfg.roles.staff.is_empty(), "roles kept");
    assert!(cfg.channels.log.is_some(), "log channel kept");
    bot.stop().await;
}

#[tokio::test]
async fn a_missing_config_tab_at_startup_uses_the_last_good_copy() {
    let wb = sample_copy();
    let first = TestBot::start_with(on(&wb), |_| ()).await;
    let (_, dir) = first.stop_keep_dir().await;
    std::fs::remove_file(wb.path().join("Config.csv")).unwrap();
    let mut opts = on(&wb);
    opts.env = vec![("DATA_DIR", dir.path().join("data").display().to_string())];
    let bot = TestBot::start_with(opts, |_| ()).await;
    let text = say(&bot, "staff", "!ops health").await;
    assert!(
        text.contains("clanhall · health"),
        "staff keep their tier: {text}"
    );
    let (_, h) = bot.get("/health").await;
    let source = h["components"]["config"]["source"].as_str().unwrap_or("");
    assert!(source.starts_with("last good copy of local:"), "{h}");
    assert_eq!(h["components"]["config"]["status"], "degraded");
    bot.stop().await;
}

// --- 11. Invalid refresh cadences are problems naming the key and the value in use ---

#[tokio::test]
async fn invalid_cadences_are_reported_by_check_ops_config_and_health() {
    let wb = sample_copy();
    let config = wb.path().join("Config.csv");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("REFRESH_CLANS,3h,", "REFRESH_CLANS,soon,")
            .replace("REFRESH_TEMPLATES,1d,", "REFRESH_TEMPLATES,99999999d,"),
    )
    .unwrap();
    let bot = TestBot::start_with(on(&wb), |_| ()).await;
    let (_, h) = bot.get("/health").await;
    let issues = h["components"]["config"]["issues"].to_string();
    assert!(
        issues.contains("REFRESH_CLANS=\\\"soon\\\"") && issues.contains("using 3h"),
        "{issues}"
    );
    assert!(issues.contains("REFRESH_TEMPLATES"), "{issues}");
    assert_eq!(h["components"]["config"]["status"], "degraded");
    let text = say(&bot, "admin", "!ops config").await;
    assert!(
        text.contains("REFRESH_CLANS") && text.contains("using 3h"),
        "{text}"
    );
    // The jobs run on the defaults meanwhile.
    let jobs = bot.app.as_ref().unwrap().scheduler.views();
    let clans = jobs.iter().find(|j| j.id == "refresh:clans").unwrap();
    assert_eq!(clans.schedule, "every 3h 0m");
    bot.stop().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .args(["check", "--for", "sandbox"])
        .env_clear()
        .env("WORKBOOK_DIR", wb.path())
        .env("DATA_DIR", wb.path().join("data"))
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let config_tab = summary["workbook"]["tabs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tab"] == "Config")
        .unwrap()
        .clone();
    let problems = config_tab["problems"].to_string();
    assert!(
        problems.contains("REFRESH_CLANS") && problems.contains("soon"),
        "{config_tab}"
    );
    assert_eq!(out.status.code(), Some(1), "a problem fails the check");
}

// --- 3. An empty database is refused; `clanhall check` checks DATA_DIR ---------------

fn check_sandbox(data: &std::path::Path) -> (Option<i32>, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .args(["check", "--for", "sandbox"])
        .env_clear()
        .env("WORKBOOK_DIR", crate::support::bot::SAMPLE)
        .env("DATA_DIR", data)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_empty_database_file_is_refused_at_start_and_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("clanhall.db"), b"").unwrap();
    std::fs::write(
        data.join("bot_access_lists.json"),
        b"{\"version\":1,\"allow\":[",
    )
    .unwrap();
    std::fs::write(data.join("watchdog_restarts.json"), b"").unwrap();
    let (code, summary) = check_sandbox(&data);
    assert_eq!(code, Some(1), "{summary}");
    let problems = summary["problems"].to_string();
    for file in [
        "clanhall.db",
        "bot_access_lists.json",
        "watchdog_restarts.json",
    ] {
        assert!(problems.contains(file), "{file} not named: {problems}");
    }
    // The database's own reason, not the generic "start with an empty state" advice.
    assert!(
        problems.contains("the file is empty (0 bytes)"),
        "{problems}"
    );
    // check changed nothing: the files are still there, as they were.
    assert_eq!(
        std::fs::metadata(data.join("clanhall.db")).unwrap().len(),
        0
    );
    assert!(data.join("bot_access_lists.json").exists());

    let mut p = crate::support::proc::Proc::spawn(
        &["sandbox", "--serve"],
        &crate::support::proc::base_env(dir.path()),
    );
    assert_eq!(
        p.exit_code(Duration::from_secs(20)).await,
        1,
        "refused to start"
    );
    let failed = p
        .parsed()
        .into_iter()
        .find(|l| l["msg"] == "startup phase failed")
        .expect("a startup failure line");
    assert_eq!(failed["phase"], "store");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("the file is empty (0 bytes)"),
        "{failed}"
    );
    assert_eq!(
        std::fs::metadata(data.join("clanhall.db")).unwrap().len(),
        0,
        "never recreated"
    );
}

// --- 4. One process per DATA_DIR --------------------------------------------------------

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_refuses_naming_the_holder() {
    let bot = TestBot::start().await;
    let data = bot.dir.path().join("data");
    let other = tempfile::tempdir().unwrap();
    let mut env = crate::support::proc::base_env(other.path());
    env.retain(|(k, _)| k != "DATA_DIR");
    env.push(("DATA_DIR".into(), data.display().to_string()));
    let mut p = crate::support::proc::Proc::spawn(&["sandbox", "--serve"], &env);
    assert_eq!(p.exit_code(Duration::from_secs(20)).await, 1);
    let failed = p
        .parsed()
        .into_iter()
        .find(|l| l["msg"] == "startup phase failed")
        .unwrap_or_else(|| panic!("no startup failure line:\n{}", p.seen.join("\n")));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("pid {}", std::process::id())),
        "the holder is named: {error}"
    );
    // The running bot is untouched and still answers.
    assert_eq!(bot.say_in("member", "general", "!ping").await.len(), 1);
    let (_, dir) = bot.stop_keep_dir().await;
    // Released on exit: the directory can be used again.
    let opts = BotOptions {
        env: vec![("DATA_DIR", dir.path().join("data").display().to_string())],
        ..Default::default()
    };
    let again = TestBot::start_with(opts, |_| ()).await;
    assert_eq!(again.say_in("member", "general", "!ping").await.len(), 1);
    again.stop().await;
}

// --- 2. A corrupt bot-access-list file fails closed -----------------------------------

#[tokio::test]
async fn a_corrupt_access_list_file_closes_the_gate_but_not_the_platform_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join("bot_access_lists.json");
    std::fs::write(&file, b"{\"version\":1,\"allow\":[12").unwrap();
    let opts = BotOptions {
        env: vec![("DATA_DIR", data.display().to_string())],
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    // Features stay silent everywhere: the bot cannot know where it may act.
    bot.assert_silent("member", "general", "!ping").await;
    // The platform commands work, so an admin can repair it.
    let text = say(&bot, "staff", "!ops health").await;
    assert!(text.contains("clanhall · health"), "{text}");
    let (_, h) = bot.get("/health").await;
    assert_eq!(h["status"], "degraded", "{h}");
    let access = &h["components"]["access"];
    assert_eq!(access["status"], "degraded", "{h}");
    assert!(
        access["summary"].as_str().unwrap().contains("unreadable"),
        "{access}"
    );
    let ops = clanhall_sandbox::world::channel("ops-log").unwrap().id;
    let alerted = eventually(Duration::from_secs(10), || async {
        bot.sandbox
            .channel_messages(&ops.to_string())
            .iter()
            .any(|m| {
                m["embeds"][0]["title"]
                    .as_str()
                    .unwrap_or("")
                    .contains("access lists")
            })
    })
    .await;
    assert!(alerted, "the log channel hears about it");
    // The file is kept for the admin (in place, and a copy aside).
    assert!(file.exists());
    let copies = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(copies, 1);
    // An admin change writes a good file, and the gate opens.
    let text = say(&bot, "admin", "!perm bot remove #welcome").await;
    assert!(
        text.contains("unreadable"),
        "the reply says what happened: {text}"
    );
    assert_eq!(bot.say_in("member", "general", "!ping").await.len(), 1);
    let (_, h) = bot.get("/health").await;
    assert_eq!(h["components"]["access"]["status"], "ok", "{h}");
    bot.stop().await;
}

// --- 8. Ids that do not exist are refused; "Nothing changed." records nothing --------

#[tokio::test]
async fn access_list_ids_must_exist_in_the_guild_and_no_op_changes_are_not_audited() {
    let bot = TestBot::start().await;
    for line in ["!perm bot allow 0", "!perm bot deny 1200000000000000999"] {
        let text = say(&bot, "admin", line).await;
        assert!(
            text.contains("no channel or category") && text.contains("in this server"),
            "{line}: {text}"
        );
    }
    // Nothing was written: the bot still answers everywhere.
    assert_eq!(bot.say_in("member", "general", "!ping").await.len(), 1);
    let text = say(&bot, "admin", "!perm bot remove #welcome").await;
    assert!(text.contains("Nothing changed."), "{text}");
    let audit = bot
        .app
        .as_ref()
        .unwrap()
        .store
        .recent_audit(10)
        .await
        .unwrap();
    assert!(
        audit.iter().all(|a| !a.action.starts_with("perm.")),
        "{audit:?}"
    );
    let text = say(&bot, "admin", "!perm bot deny #welcome").await;
    assert!(text.contains("Changed:"), "{text}");
    let audit = bot
        .app
        .as_ref()
        .unwrap()
        .store
        .recent_audit(10)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "perm.deny");
    bot.stop().await;
}

// --- 5. No reply pings anyone it does not mean to ------------------------------------

#[tokio::test]
async fn echoed_user_text_cannot_ping_and_every_reply_allows_no_mentions() {
    let bot = TestBot::start().await;
    let mark = bot.sandbox.record().entries().last().map_or(0, |e| e.seq);
    let hostile = "!help x`<@1200000000000000201> @everyone";
    let r = bot.ask("member", "general", hostile).await;
    let text = r[0].content().to_owned();
    assert!(text.contains("There is no command"), "{text}");
    // The mention stays inside the code span: one span, opened and closed.
    let span = text.split('`').nth(1).unwrap_or("");
    assert!(span.contains("<@1200000000000000201>"), "{text}");
    assert!(
        !text.contains("x`<@"),
        "the backtick was neutralised: {text}"
    );
    for line in [
        "!ping",
        "!ops health",
        "!ops refresh nope`<@1200000000000000201>",
    ] {
        bot.ask("staff", "general", line).await;
    }
    let posts: Vec<Value> = bot
        .sandbox
        .record()
        .entries()
        .into_iter()
        .filter(|e| e.seq > mark && e.method == "POST" && e.path.ends_with("/messages"))
        .map(|e| e.body)
        .collect();
    assert!(posts.len() >= 4, "{posts:?}");
    for body in &posts {
        let am = &body["allowed_mentions"];
        assert_eq!(
            am["parse"],
            serde_json::json!([]),
            "no parsed mentions: {body}"
        );
        assert_ne!(am["replied_user"], true, "{body}");
        assert!(
            am["users"].as_array().is_none_or(|u| u.is_empty()),
            "no user pings: {body}"
        );
    }
    bot.stop().await;
}

// --- 6. No user text in logs or telemetry; redaction before any case change ----------

#[tokio::test]
async fn what_users_type_stays_out_of_logs_and_telemetry_and_secrets_stay_masked() {
    let bot = TestBot::start().await;
    let token = bot.sandbox.token().to_owned();
    // A mixed-case secret typed into help: echoed masked, not lowercased past the mask.
    let r = bot
        .ask("member", "general", &format!("!help {token}"))
        .await;
    let text = r[0].content();
    assert!(text.contains("[redacted"), "{text}");
    assert!(
        !text.to_lowercase().contains(&token.to_lowercase()),
        "{text}"
    );
    // Refusals record the command and the outcome, not what was typed.
    let typed = "zebra-PLUM-4417";
    let r = bot
        .ask("staff", "general", &format!("!ops refresh {typed}"))
        .await;
    assert!(r[0].content().contains("no bucket"), "{:?}", r[0].content());
    let lines: Vec<Value> = crate::support::log_lines()
        .into_iter()
        .filter(|l| l["command"] == "ops refresh")
        .collect();
    assert!(
        lines.iter().any(|l| l["outcome"] == "user_error"),
        "the refusal is logged: {lines:?}"
    );
    let all_logs = crate::support::logs().lines().join("\n");
    assert!(!all_logs.contains(typed), "typed text in the logs");
    assert!(!all_logs.contains(&token), "the token in the logs");
    let telemetry = || bot.telemetry();
    assert!(
        eventually(Duration::from_secs(5), || async {
            telemetry()
                .iter()
                .any(|e| e["event"] == "command" && e["command"] == "ops refresh")
        })
        .await
    );
    let events = serde_json::to_string(&telemetry()).unwrap();
    assert!(!events.contains(typed), "typed text in telemetry: {events}");
    let refused = telemetry()
        .into_iter()
        .find(|e| e["event"] == "command" && e["command"] == "ops refresh")
        .unwrap();
    assert_eq!(refused["outcome"], "user_error", "{refused}");
    bot.stop().await;
}

// --- 7. `--reboot`: the denial names the flag; flags are exact ------------------------

#[tokio::test]
async fn reboot_is_a_whole_word_flag_whose_tier_the_denial_names() {
    let bot = TestBot::start().await;
    let text = say(&bot, "staff", "!ops reload --reboot").await;
    assert!(
        text.contains("`!ops reload --reboot` needs the **admin** tier; you are **staff**"),
        "{text}"
    );
    let text = say(&bot, "admin", "!ops reload reboot").await;
    assert!(text.contains("Unknown flag `reboot`"), "{text}");
    let slash = bot
        .ask_slash("staff", "general", "/ops reload flags:--reboot")
        .await;
    assert!(
        slash[0]
            .content()
            .contains("`/ops reload --reboot` needs the **admin** tier"),
        "{:?}",
        slash[0].content()
    );
    assert_eq!(bot.stop().await, 0, "nothing rebooted");
}

// --- 9. The trace id exists whatever the log level ------------------------------------

#[tokio::test]
async fn at_log_level_warn_the_error_reference_and_telemetry_traces_are_not_empty() {
    use clanhall_sandbox::faults::HttpFault;
    use clanhall_sandbox::{Sandbox, SandboxOptions, world};
    let sandbox = Sandbox::start(SandboxOptions {
        workbook_dir: Some(crate::support::bot::SAMPLE.into()),
        heartbeat_interval: Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = crate::support::proc::base_env(dir.path());
    env.retain(|(k, _)| k != "LOG_LEVEL");
    let guild = world::GUILD_ID.to_string();
    for (k, v) in [
        ("LOG_LEVEL", "warn"),
        ("DISCORD_TOKEN", sandbox.token()),
        ("DISCORD_PROXY_URL", sandbox.base_url()),
        ("GUILD_IDS", &guild),
    ] {
        env.push((k.into(), v.into()));
    }
    let mut p = crate::support::proc::Proc::spawn(&["run"], &env);
    assert!(
        eventually(Duration::from_secs(30), || async {
            !sandbox.registered_commands().is_empty() && sandbox.bot_connected()
        })
        .await,
        "the bot never connected"
    );
    let general = world::channel("general").unwrap().id;
    sandbox.fail_http(
        Some("POST"),
        &format!("/channels/{general}/messages"),
        HttpFault::Status(500),
        Some(1),
    );
    let mark = sandbox.mark();
    sandbox.say("member", "general", "!ping").unwrap();
    let reply = sandbox
        .wait_bot_message(mark, Duration::from_secs(15), |r| {
            r.content().contains("give staff this reference")
        })
        .await
        .expect("the error reply");
    let reference = reply.content().split('`').nth(3).unwrap_or("").to_owned();
    assert_eq!(reference.len(), 16, "{}", reply.content());
    assert!(reference.bytes().all(|b| b.is_ascii_hexdigit()));
    p.signal(libc::SIGTERM);
    assert_eq!(p.exit_code(Duration::from_secs(15)).await, 0);
    let telemetry = std::fs::read_to_string(dir.path().join("logs/telemetry.jsonl")).unwrap();
    let commands: Vec<Value> = telemetry
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "command")
        .collect();
    assert!(!commands.is_empty());
    assert!(
        commands.iter().any(|e| e["trace"] == reference.as_str()),
        "the failed command's event carries the reference: {commands:?}"
    );
    for e in &commands {
        assert_eq!(e["trace"].as_str().map(str::len), Some(16), "{e}");
    }
    sandbox.stop().await;
}

// --- 12. The log channel hides only true repeats ---------------------------------------

#[tokio::test]
async fn a_second_persons_identical_action_is_posted_and_a_true_repeat_is_not() {
    let bot = TestBot::start().await;
    let ops = clanhall_sandbox::world::channel("ops-log").unwrap().id;
    let reloads = || {
        bot.sandbox
            .channel_messages(&ops.to_string())
            .into_iter()
            .filter(|m| m["embeds"][0]["title"] == "Config reloaded")
            .count()
    };
    say(&bot, "staff", "!ops reload").await;
    say(&bot, "admin", "!ops reload").await;
    assert_eq!(reloads(), 2, "two people, two posts");
    say(&bot, "admin", "!ops reload").await;
    assert_eq!(
        reloads(),
        2,
        "the same person, the same result: posted once"
    );
    bot.stop().await;
}

// --- 13. After a restart the jobs and the watchdog say what they know --------------------

#[tokio::test]
async fn after_a_restart_jobs_show_their_last_runs_and_the_watchdog_its_budget() {
    let first = TestBot::start().await;
    let r = first
        .ask("admin", "general", "!ops jobs run retention:sweep")
        .await;
    assert!(r[0].content().starts_with("✅"), "{}", r[0].content());
    let (_, dir) = first.stop_keep_dir().await;
    let data = dir.path().join("data");
    let now = chrono::Utc::now();
    let exits = [
        now - chrono::Duration::minutes(20),
        now - chrono::Duration::minutes(5),
    ];
    std::fs::write(
        data.join("watchdog_restarts.json"),
        serde_json::json!({"version": 1, "exits": exits}).to_string(),
    )
    .unwrap();
    let opts = BotOptions {
        env: vec![
            ("DATA_DIR", data.display().to_string()),
            ("OPS_API_TOKEN", "ops-api-token-0123456789".into()),
        ],
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    let text = say(&bot, "staff", "!ops jobs").await;
    let sweep_line = text
        .split("`retention:sweep`: ")
        .nth(1)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    assert!(
        sweep_line.contains("last ok"),
        "the run before the restart shows: {text}"
    );
    assert!(!text.contains("since start"), "{text}");
    let jobs: Value = crate::support::http()
        .get(format!("{}/ops/jobs", bot.http))
        .bearer_auth("ops-api-token-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sweep = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "retention:sweep")
        .unwrap();
    assert_eq!(sweep["last_result"], "ok", "{sweep}");
    assert!(sweep["last_run"].is_string(), "{sweep}");
    let text = say(&bot, "staff", "!ops health").await;
    assert!(
        text.contains("restarts 2/5"),
        "read at start, not after the first check: {text}"
    );
    bot.stop().await;
}

// --- 10. A file that is not UTF-8 is an unreadable tab, not a stopped bot ---------------

/// Latin-1 bytes (what Excel's plain "CSV" saves): not UTF-8.
fn latin1_clans(wb: &tempfile::TempDir) {
    let path = wb.path().join("Clans.csv");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"ZZZ,Caf\xe9 des Clans,1,1,3,0,lead,,casual,Easy,Easy,Easy,no,no,,\n");
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test]
async fn a_non_utf8_csv_fails_only_the_buckets_that_read_it() {
    let wb = sample_copy();
    let bot = TestBot::start_with(on(&wb), |_| ()).await;
    latin1_clans(&wb);
    let text = say(&bot, "staff", "!ops refresh all").await;
    let row = |bucket: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{bucket} ")))
            .unwrap_or_else(|| panic!("no {bucket} row: {text}"))
            .to_owned()
    };
    assert!(row("clans").contains("fail"), "{text}");
    assert!(row("clan_tags").contains("fail"), "{text}");
    assert!(row("templates").contains(" ok "), "{text}");
    assert!(row("onboarding_questions").contains(" ok "), "{text}");
    assert!(text.contains("save the file as UTF-8"), "{text}");
    assert!(
        !text.contains("templates: "),
        "templates names no Clans.csv error: {text}"
    );
    let app = bot.app.as_ref().unwrap();
    assert_eq!(
        app.cache.clans().unwrap().clans.len(),
        30,
        "last good data kept"
    );
    bot.stop().await;
}

#[test]
fn the_sandbox_starts_degraded_on_a_non_utf8_csv() {
    let wb = sample_copy();
    latin1_clans(&wb);
    let (code, stdout, stderr) =
        crate::support::proc::sandbox_script(wb.path(), "staff: !ops digest\n");
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("UTF-8"),
        "the digest says why clans failed: {stdout}"
    );
}

// --- 14. A rejected token is reported, and nothing leaves for another host --------------

#[tokio::test]
async fn a_token_rejected_through_the_proxy_is_reported_and_nothing_else_is_tried() {
    use clanhall_sandbox::{record::Channel, world};
    let sandbox = crate::support::bot::sample_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let ops_token = "ops-token-for-the-rejected-token-test";
    let guild = world::GUILD_ID.to_string();
    // The sandbox's token with its last part changed: well-formed, and wrong.
    let real = sandbox.token();
    let wrong = format!("{}xxxxxx", &real[..real.len() - 6]);
    let env = crate::support::proc::env_with(
        dir.path(),
        &[
            ("DISCORD_TOKEN", &wrong),
            ("DISCORD_PROXY_URL", sandbox.base_url()),
            ("GUILD_IDS", &guild),
            ("OPS_API_TOKEN", ops_token),
        ],
    );
    let mut p = crate::support::proc::Proc::spawn(&["run"], &env);
    let port = p.port().await;
    let health = || async {
        crate::support::http()
            .get(format!("http://127.0.0.1:{port}/health"))
            .bearer_auth(ops_token)
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()
    };
    let rejected = eventually(Duration::from_secs(20), || async {
        health().await.is_some_and(|h| {
            h["components"]["discord"]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("rejected the bot token"))
        })
    })
    .await;
    assert!(rejected, "{:?}\n{}", health().await, p.seen.join("\n"));
    let h = health().await.unwrap();
    assert_eq!(h["status"], "down", "{h}");
    let line = p
        .wait_for_msg("Discord rejected the bot token", Duration::from_secs(5))
        .await;
    assert_eq!(line["level"], "error");
    // The process stays up to say so; the gateway was never tried, here or elsewhere.
    let alive = crate::support::http()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    assert_eq!(sandbox.gateway_counts(), (0, 0));
    let gateway_calls: Vec<Option<u16>> = sandbox
        .record()
        .filter(Channel::Rest)
        .into_iter()
        .filter(|e| e.path.ends_with("/gateway"))
        .map(|e| e.status)
        .collect();
    assert_eq!(gateway_calls, [Some(401)], "one try; a 401 is not retried");
    p.signal(libc::SIGTERM);
    assert_eq!(p.exit_code(Duration::from_secs(15)).await, 0);
    let log = p.seen.join("\n");
    assert!(
        !log.contains("gateway.discord.gg"),
        "no fallback host:\n{log}"
    );
    assert!(!log.contains(&wrong), "the token is never logged");
    sandbox.stop().await;
}

// --- 15. A reboot in the sandbox says so and stops the script ---------------------------

#[test]
fn a_reboot_in_a_sandbox_script_stops_it_and_says_the_sandbox_does_not_restart() {
    let (code, stdout, stderr) = crate::support::proc::sandbox_script(
        std::path::Path::new(crate::support::bot::SAMPLE),
        "admin: !ops reload --reboot\nmember: !ping\n",
    );
    assert_eq!(code, 75, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("graceful restart"), "{stdout}");
    assert!(
        stdout.contains("does not restart itself"),
        "the transcript says what happened: {stdout}"
    );
    assert!(
        !stdout.contains("> member: !ping"),
        "the script stopped: {stdout}"
    );
}

// --- 16. Small ones ----------------------------------------------------------------------

/// One request on its own connection, as written; the answer's status, content type and
/// body.
async fn raw_request(addr: &str, request_line: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{request_line}\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut answer))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test]
async fn every_http_error_is_json_even_for_a_target_that_is_not_a_url() {
    let ops_token = "ops-token-for-the-json-errors-test";
    let bot = TestBot::start_with(
        BotOptions {
            env: vec![("OPS_API_TOKEN", ops_token.into())],
            ..Default::default()
        },
        |_| (),
    )
    .await;
    let addr = bot.http.trim_start_matches("http://").to_owned();
    for line in [
        "GET /<script>alert(1)</script> HTTP/1.1",
        "GET /health?q=a<b HTTP/1.1",
        "POST /ops/jobs/<x>/run HTTP/1.1",
    ] {
        let (status, content_type, body) = raw_request(&addr, line).await;
        assert_eq!(status, 400, "{line}: {body}");
        assert_eq!(content_type, "application/json", "{line}: {body}");
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{line}: {e}: {body}"));
        assert!(
            v["detail"].as_str().unwrap().contains("percent-encode"),
            "{line}: {body}"
        );
        assert!(
            !body.contains("<script>"),
            "the target is not echoed: {body}"
        );
    }
    // A target that is a URL whose path is not UTF-8 once decoded: the path extractor's
    // refusal is JSON too, and says which part.
    let resp = crate::support::http()
        .post(format!("{}/ops/jobs/%FF/run", bot.http))
        .bearer_auth(ops_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("job id"), "{v}");
    // The server still serves: a refusal closed only its own connection.
    let (code, _) = bot.get("/healthz").await;
    assert_eq!(code, 200);
    bot.stop().await;
}

#[test]
fn a_script_may_speak_as_ticket_tool_but_not_as_the_bot_itself() {
    let (code, out, err) = crate::support::proc::sandbox_script(
        std::path::Path::new(crate::support::bot::SAMPLE),
        "tickettool@welcome: Welcome! A staff member will be with you shortly.\n\
         tickettool: /ping\n\
         clanhall: !ping\n\
         member: !ping\n",
    );
    assert_eq!(
        code, 1,
        "two lines cannot run\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        !out.contains("! line 1"),
        "Ticket Tool's message was posted: {out}"
    );
    assert!(
        out.contains("! line 2:") && out.contains("is a bot"),
        "{out}"
    );
    assert!(
        out.contains("! line 3: clanhall is the bot itself"),
        "{out}"
    );
    assert!(out.contains("Pong"), "the other lines still ran: {out}");
}

#[tokio::test]
async fn counts_read_as_english_and_unknown_subcommands_are_named() {
    let bot = TestBot::start().await;
    for line in [
        "!ops jobs",
        "!ops refresh all",
        "!ops digest",
        "!ops health",
        "!ops reload",
    ] {
        let text = say(&bot, "admin", line).await;
        assert!(!text.contains("(s)"), "{line}: {text}");
    }
    let jobs = say(&bot, "admin", "!ops jobs").await;
    assert!(
        regex_lite_count(&jobs, "jobs."),
        "the jobs list counts its jobs: {jobs}"
    );
    let text = say(&bot, "admin", "!ops frob").await;
    assert!(
        text.contains("`!ops` has no subcommand `frob`; its subcommands are `health`"),
        "{text}"
    );
    let text = say(&bot, "admin", "!ops jobs frob now").await;
    assert!(
        text.contains(
            "`!ops jobs` has no subcommand `frob`; its subcommands are `list`, `run`, `pause`, `resume`"
        ),
        "{text}"
    );
    assert!(
        !text.contains("more arguments") && !text.contains("Usage:"),
        "{text}"
    );
    // A command without subcommands still says what it always said.
    let text = say(&bot, "admin", "!cfg a b").await;
    assert!(text.contains("got more arguments than it takes"), "{text}");
    bot.stop().await;
}

/// Whether `text` has "<n> <noun>" for some number n > 1 (a plural count).
fn regex_lite_count(text: &str, noun: &str) -> bool {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0].parse::<u32>().is_ok_and(|n| n > 1) && w[1].starts_with(noun))
}
