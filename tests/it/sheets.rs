//! The workbook through the real google-sheets4 + yup-oauth2 client against the
//! sandbox's Google side: one token, one batchGet per workbook, retries, the circuit
//! breaker, header validation, fail-closed toggles, reload, and the ops commands' tiers.

use std::sync::Arc;
use std::time::Duration;

use clanhall::testing::ManualClock;

use clanhall_sandbox::faults::HttpFault;
use clanhall_sandbox::google::DEFAULT_SHEET_ID;
use clanhall_sandbox::record::{Channel, Entry};
use clanhall_sandbox::world;
use serde_json::Value;

use crate::support::bot::{BotOptions, SAMPLE, TestBot};
use crate::support::{eventually, log_lines};

const ONBOARDING_ID: &str = "sandbox-onboarding-11111111111111111111111";

/// The sample Config tab with `overrides` applied (added when absent).
fn config_rows(overrides: &[(&str, &str)]) -> Vec<Vec<String>> {
    let mut rows =
        clanhall::testing::read_csv(&std::path::Path::new(SAMPLE).join("Config.csv")).unwrap();
    for (k, v) in overrides {
        match rows.iter_mut().find(|r| r[0] == *k) {
            Some(r) => r[1] = (*v).to_owned(),
            None => rows.push(vec![(*k).to_owned(), (*v).to_owned(), String::new()]),
        }
    }
    rows
}

fn sample_tab(tab: &str) -> Vec<Vec<String>> {
    clanhall::testing::read_csv(&std::path::Path::new(SAMPLE).join(format!("{tab}.csv"))).unwrap()
}

fn google() -> BotOptions {
    BotOptions {
        google: true,
        ..Default::default()
    }
}

fn batch_gets(bot: &TestBot) -> Vec<Entry> {
    bot.sandbox
        .record()
        .filter(Channel::Google)
        .into_iter()
        .filter(|e| e.path.contains("values:batchGet"))
        .collect()
}

/// The bot's answer in #general (log-channel posts are left out).
async fn say(bot: &TestBot, user: &str, line: &str) -> String {
    let texts = bot.say_in(user, "general", line).await;
    assert!(!texts.is_empty(), "no reply in #general to {line}");
    texts.join("\n")
}

/// A bucket as `/health` reports it.
async fn bucket(bot: &TestBot, name: &str) -> Value {
    let (_, h) = bot.get("/health").await;
    h["components"]["caches"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bucket"] == name)
        .cloned()
        .unwrap()
}

/// Messages in #ops-log whose first embed's title contains `title`.
fn ops_log(bot: &TestBot, title: &str) -> Vec<Value> {
    let ops = world::channel("ops-log").unwrap().id;
    bot.sandbox
        .channel_messages(&ops.to_string())
        .into_iter()
        .filter(|m| {
            m["embeds"][0]["title"]
                .as_str()
                .is_some_and(|t| t.contains(title))
        })
        .collect()
}

/// The bot on Google with a second spreadsheet for the onboarding tabs.
async fn two_workbooks() -> TestBot {
    let mut opts = google();
    opts.env = vec![("ONBOARDING_SHEET_ID", ONBOARDING_ID.into())];
    TestBot::start_with(opts, |s| {
        s.google()
            .load_folder(ONBOARDING_ID, std::path::Path::new(SAMPLE))
            .unwrap();
    })
    .await
}

#[tokio::test]
async fn one_token_and_one_batch_get_per_workbook_per_refresh() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    assert_eq!(bot.sandbox.google().token_requests(), 1);
    // Startup: one read for Config + FeatureToggles, one for every bucket.
    let startup = batch_gets(&bot);
    assert_eq!(
        startup.len(),
        2,
        "{:?}",
        startup.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    assert!(startup.iter().all(|e| e.status == Some(200)));
    let clans = bucket(&bot, "clans").await;
    assert_eq!(clans["item_count"], 30);
    assert_eq!(clans["last_trigger"], "startup");
    assert!(clans["next_refresh_at"].is_string(), "{clans}");

    let text = say(&bot, "staff", "!ops refresh all").await;
    assert!(text.contains("Refresh • all"), "{text}");
    assert_eq!(text.matches(" ok ").count(), 4, "{text}");
    assert_eq!(batch_gets(&bot).len(), 3, "a full refresh is one request");
    let text = say(&bot, "staff", "!ops refresh clans templates").await;
    assert!(text.contains("Refresh • clans, templates"), "{text}");
    assert_eq!(batch_gets(&bot).len(), 4);
    let text = say(&bot, "staff", "!ops refresh bogus").await;
    assert!(
        text.contains("There is no bucket `bogus`") && text.contains("`onboarding_questions`"),
        "{text}"
    );
    let clans = bucket(&bot, "clans").await;
    assert_eq!(clans["last_trigger"], "manual");
    assert!(
        clans["last_actor"].as_str().unwrap().contains("staff"),
        "{clans}"
    );
    let digest = say(&bot, "staff", "!ops digest").await;
    assert!(
        digest.contains("google:…") && digest.contains("circuit closed"),
        "{digest}"
    );
    assert_eq!(
        bot.sandbox.google().token_requests(),
        1,
        "the token is reused"
    );
    bot.stop().await;
}

#[tokio::test]
async fn two_workbooks_share_one_token_and_cost_one_request_each() {
    let bot = two_workbooks().await;
    let before = batch_gets(&bot).len();
    let text = say(&bot, "staff", "!ops refresh all").await;
    assert!(!text.contains("fail"), "{text}");
    let reads: Vec<Entry> = batch_gets(&bot).split_off(before);
    assert_eq!(reads.len(), 2, "one batchGet per workbook");
    assert_eq!(
        reads
            .iter()
            .filter(|e| e.path.contains(ONBOARDING_ID))
            .count(),
        1
    );
    assert_eq!(
        reads
            .iter()
            .filter(|e| e.path.contains(DEFAULT_SHEET_ID))
            .count(),
        1
    );
    assert_eq!(bot.sandbox.google().token_requests(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn rate_limited_twice_then_ok_is_retry_ok_with_two_retries() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    let before = batch_gets(&bot).len();
    bot.sandbox.fail_http(
        Some("GET"),
        "values:batchGet",
        HttpFault::RateLimited { retry_after: 1.0 },
        Some(2),
    );
    bot.sandbox
        .say("staff", "general", "!ops refresh clans")
        .unwrap();
    let done = eventually(Duration::from_secs(10), || async {
        let b = bucket(&bot, "clans").await;
        b["last_trigger"] == "manual" && b["refreshing"] == false
    })
    .await;
    assert!(done, "the refresh finished");
    let clans = bucket(&bot, "clans").await;
    assert_eq!(clans["last_result"], "retry_ok", "{clans}");
    assert_eq!(clans["retries"], 2);
    assert_eq!(clans["item_count"], 30);
    let reads: Vec<Entry> = batch_gets(&bot).split_off(before);
    let statuses: Vec<Option<u16>> = reads.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);
    // Retry-After: 1 was honoured: the bot decided to wait exactly 1 s before each retry
    // (backoff alone would wait 250–500 ms). The retry lines carry the refresh's trace.
    let retried = || {
        bot.telemetry()
            .into_iter()
            .find(|e| e["event"] == "cache_refresh" && e["bucket"] == "clans" && e["retries"] == 2)
    };
    assert!(
        eventually(Duration::from_secs(5), || async { retried().is_some() }).await,
        "no cache_refresh event with two retries"
    );
    let trace = retried().unwrap()["trace"].as_str().unwrap().to_owned();
    let waits: Vec<u64> = log_lines()
        .iter()
        .filter(|l| l["trace"] == trace.as_str() && l["msg"] == "Sheets request failed; retrying")
        .filter_map(|l| l["wait_ms"].as_u64())
        .collect();
    assert_eq!(waits, [1000, 1000], "each retry waited for Retry-After");
    bot.stop().await;
}

/// Moves the bot's clock a minute on and waits until the clans refresh job has run for
/// it (its consecutive-failure count or its result changes).
async fn next_scheduled_refresh(bot: &TestBot, clock: &ManualClock) {
    let app = bot.app.as_ref().unwrap();
    let job = || {
        app.scheduler
            .views()
            .into_iter()
            .find(|j| j.id == "refresh:clans")
            .unwrap()
    };
    let before = job().last_run;
    clock.advance(Duration::from_secs(60));
    assert!(
        eventually(Duration::from_secs(10), || async {
            let j = job();
            j.last_run != before && !j.running
        })
        .await,
        "the scheduled refresh did not run"
    );
}

#[tokio::test]
async fn persistent_500_opens_the_circuit_serves_stale_data_and_recovers() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut opts = google();
    opts.clock = Some(clock.clone());
    let bot = TestBot::start_with(opts, |s| {
        s.google().set_tab(
            DEFAULT_SHEET_ID,
            "Config",
            Some(config_rows(&[
                ("REFRESH_CLANS", "1m"),
                ("SHEETS_RETRIES", "0"),
                ("SHEETS_CIRCUIT_THRESHOLD", "2"),
                ("SHEETS_CIRCUIT_COOLDOWN_SEC", "3600"),
            ])),
        );
    })
    .await;
    bot.sandbox
        .fail_http(Some("GET"), "values:batchGet", HttpFault::Status(500), None);
    // Two failed scheduled reads open the circuit.
    next_scheduled_refresh(&bot, &clock).await;
    next_scheduled_refresh(&bot, &clock).await;
    let (code, h) = bot.get("/health").await;
    assert_eq!(code, 200, "degraded is still serving");
    assert_eq!(h["status"], "degraded");
    let summary = h["components"]["sheets"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("circuit open") && summary.contains("500"),
        "the circuit opened, and the last error shows: {summary}"
    );
    // Stale data is still served to readers.
    let clans = bucket(&bot, "clans").await;
    assert_eq!(clans["last_result"], "fail");
    assert_eq!(clans["item_count"], 30, "{clans}");
    let app = bot.app.as_ref().unwrap();
    assert_eq!(app.cache.clans().unwrap().clans.len(), 30);
    let digest = say(&bot, "staff", "!ops digest").await;
    assert!(
        digest.contains("circuit open") && digest.contains("500"),
        "{digest}"
    );
    // While open (its cooldown is an hour), the scheduler's runs do not reach Google.
    let n = batch_gets(&bot).len();
    next_scheduled_refresh(&bot, &clock).await;
    next_scheduled_refresh(&bot, &clock).await;
    assert_eq!(
        batch_gets(&bot).len(),
        n,
        "no request while the circuit is open"
    );
    let runs = app
        .store
        .recent_runs(Some("refresh:clans"), 2)
        .await
        .unwrap();
    assert!(
        runs.iter()
            .all(|r| r.error.as_deref().unwrap_or("").contains("circuit open")),
        "{runs:?}"
    );

    // Sheets is back; past the cooldown the next run probes, succeeds, and closes it.
    bot.sandbox.faults().clear();
    clock.advance(Duration::from_secs(3600));
    next_scheduled_refresh(&bot, &clock).await;
    assert_eq!(batch_gets(&bot).len(), n + 1, "one probe");
    let (_, h) = bot.get("/health").await;
    assert_eq!(h["components"]["sheets"]["status"], "ok", "{h}");
    assert_eq!(h["components"]["caches"]["status"], "ok", "{h}");
    assert_eq!(bucket(&bot, "clans").await["last_result"], "ok");
    // Staff heard about it once (deduplicated), and heard it recovered.
    let failed = ops_log(&bot, "Scheduled refresh of clans failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let detail = failed[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(detail.contains("30 items"), "{detail}");
    assert!(
        eventually(Duration::from_secs(3), || async {
            ops_log(&bot, "Refresh of clans recovered").len() == 1
        })
        .await
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_renamed_clans_header_fails_the_refresh_keeps_old_data_and_alerts_once() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    let mut clans = sample_tab("Clans");
    let col = clans[0].iter().position(|h| h == "spots").unwrap();
    clans[0][col] = "seats".into();
    bot.sandbox
        .google()
        .set_tab(DEFAULT_SHEET_ID, "Clans", Some(clans));
    for _ in 0..2 {
        let text = say(&bot, "staff", "!ops refresh clans").await;
        assert!(text.contains("fail"), "{text}");
        assert!(
            text.contains("\"Clans\"") && text.contains("spots"),
            "the error names the tab and the header: {text}"
        );
    }
    let b = bucket(&bot, "clans").await;
    assert_eq!(b["last_result"], "fail");
    assert_eq!(b["item_count"], 30, "the last good data stays");
    assert_eq!(
        bot.app.as_ref().unwrap().cache.clans().unwrap().clans.len(),
        30
    );
    let alerts = ops_log(&bot, "Refresh of clans failed");
    assert_eq!(alerts.len(), 1, "one alert for two failures: {alerts:?}");
    let detail = alerts[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(
        detail.contains("30 items") && detail.contains("spots"),
        "{detail}"
    );
    let (_, h) = bot.get("/health").await;
    assert_eq!(h["components"]["caches"]["status"], "degraded");
    bot.stop().await;
}

#[tokio::test]
async fn a_missing_toggles_tab_turns_everything_off_with_one_alert() {
    let bot = TestBot::start_with(google(), |s| {
        s.google().set_tab(DEFAULT_SHEET_ID, "FeatureToggles", None);
    })
    .await;
    let app = bot.app.as_ref().unwrap();
    let cfg = app.config.get();
    assert!(cfg.toggles.failure.is_some());
    for t in clanhall::testing::KNOWN_TOGGLES {
        assert!(!app.config.enabled(t), "{t} must be off");
    }
    let text = say(&bot, "staff", "!ops reload").await;
    assert!(text.contains("failed closed"), "{text}");
    let alerts = ops_log(&bot, "Feature toggles failed closed");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let text = say(&bot, "admin", "!ops config").await;
    assert!(text.contains("all off"), "{text}");
    let (_, h) = bot.get("/health").await;
    assert_eq!(h["components"]["config"]["status"], "degraded");
    bot.stop().await;
}

#[tokio::test]
async fn a_toggle_edited_in_the_sheet_takes_effect_on_reload() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    let app = bot.app.as_ref().unwrap();
    assert!(!app.config.enabled("live_queue"));
    let text = say(&bot, "admin", "!cfg live_queue").await;
    assert!(text.contains("`off`"), "{text}");
    let mut toggles = sample_tab("FeatureToggles");
    let row = toggles.iter_mut().find(|r| r[0] == "live_queue").unwrap();
    row[1] = "TRUE".into();
    bot.sandbox
        .google()
        .set_tab(DEFAULT_SHEET_ID, "FeatureToggles", Some(toggles));
    let text = say(&bot, "staff", "!ops reload").await;
    assert!(text.contains("turned on: live_queue"), "{text}");
    assert!(app.config.enabled("live_queue"));
    let text = say(&bot, "admin", "!cfg live_queue").await;
    assert!(text.contains("`on`"), "{text}");
    let reloads = ops_log(&bot, "Config reloaded");
    assert_eq!(reloads.len(), 1);
    assert_eq!(bot.sandbox.google().token_requests(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn ops_commands_are_denied_to_members_and_reboot_to_staff() {
    let bot = TestBot::start().await;
    for line in [
        "!ops health",
        "!ops digest",
        "!ops refresh all",
        "!ops reload",
        "!ops config",
        "!ops jobs",
        "!cfg PORT",
        "!perm bot list",
    ] {
        let text = say(&bot, "member", line).await;
        assert!(
            text.contains("needs the **staff** tier") || text.contains("needs the **admin** tier"),
            "{line}: {text}"
        );
        assert!(text.contains("you are **member**"), "{line}: {text}");
    }
    let text = say(&bot, "staff", "!ops reload --reboot").await;
    assert!(
        text.contains("needs the **admin** tier; you are **staff**"),
        "{text}"
    );
    assert!(
        ops_log(&bot, "Config reloaded").is_empty(),
        "nothing reloaded"
    );
    let text = say(&bot, "staff", "!ops reload --now").await;
    assert!(text.contains("Unknown flag `--now`"), "{text}");
    assert_eq!(bot.stop().await, 0, "the bot kept running");
}

#[tokio::test]
async fn an_admin_reboot_reloads_then_exits_with_the_restart_code() {
    let bot = TestBot::start().await;
    let text = say(&bot, "admin", "!ops reload --reboot").await;
    assert!(
        text.contains("Config reloaded") && text.contains("graceful restart"),
        "{text}"
    );
    let (code, _dir) = bot.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 75);
}

#[tokio::test]
async fn secrets_never_print_in_cfg_ops_config_or_health() {
    let api_token = "ops-api-token-abcdefghijklmnop";
    let mut opts = google();
    opts.env = vec![("OPS_API_TOKEN", api_token.into())];
    let bot = TestBot::start_with(opts, |_| ()).await;
    let token = bot.sandbox.token().to_owned();
    let sa: Value = serde_json::from_str(&bot.sandbox.service_account_json()).unwrap();
    let key = sa["private_key"].as_str().unwrap();
    // Long runs of the key's base64 body: none may appear anywhere.
    let key_parts: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(5)
        .collect();
    // What each answer does say, besides never a secret.
    for (line, says) in [
        ("!cfg DISCORD_TOKEN", "[redacted"),
        ("!cfg GOOGLE_SERVICE_ACCOUNT_JSON", "[redacted"),
        ("!cfg OPS_API_TOKEN", "[redacted"),
        ("!ops config", "source: google:"),
        ("!ops health", "clanhall · health"),
        ("!ops digest", "clanhall · digest"),
    ] {
        let text = say(&bot, "admin", line).await;
        assert!(text.contains(says), "{line} should say {says:?}: {text}");
        for part in token.split('.') {
            assert!(!text.contains(part), "{line} leaked a token part: {text}");
        }
        assert!(!text.contains(api_token), "{line}: {text}");
        assert!(!text.contains("PRIVATE KEY"), "{line}: {text}");
        for p in &key_parts {
            assert!(!text.contains(p), "{line} leaked the private key");
        }
    }
    let text = say(&bot, "admin", "!cfg GOOGLE_SERVICE_ACCOUNT_JSON").await;
    assert!(text.contains("[redacted"), "{text}");
    bot.stop().await;
}

#[tokio::test]
async fn refresh_all_answers_within_two_seconds_while_a_workbook_hangs() {
    let bot = two_workbooks().await;
    bot.sandbox.fail_http(
        Some("GET"),
        &format!("{ONBOARDING_ID}/values:batchGet"),
        HttpFault::Hang,
        None,
    );
    // The hung read never answers, yet the reply comes: it does not wait for it.
    let text = say(&bot, "staff", "!ops refresh all").await;
    let hung = bot
        .sandbox
        .record()
        .filter(Channel::Google)
        .into_iter()
        .rfind(|e| e.path.contains(ONBOARDING_ID) && e.path.contains("values:batchGet"))
        .expect("the onboarding workbook was asked");
    assert_eq!(hung.status, None, "the hung read is still unanswered");
    let line = |bucket: &str| {
        text.lines()
            .find(|l| l.starts_with(bucket))
            .unwrap_or_else(|| panic!("no {bucket} row in {text}"))
            .to_owned()
    };
    assert!(line("onboarding_questions").contains("fail"), "{text}");
    assert!(line("clans ").contains("ok"), "{text}");
    assert!(
        text.contains("no answer from the onboarding workbook"),
        "{text}"
    );
    // Readers are not blocked either: the old questions are still there.
    assert_eq!(
        bot.app.as_ref().unwrap().cache.questions().unwrap().count(),
        22
    );
    bot.stop().await;
}

#[tokio::test]
async fn mirror_writes_reach_the_sheet_through_update_and_append_with_retries() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    let source = bot.app.as_ref().unwrap().sources.recruitment.clone();
    // One 503 first: updates retry like reads.
    bot.sandbox
        .fail_http(Some("PUT"), "/values/", HttpFault::Status(503), Some(1));
    let row = |cells: &[&str]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    source
        .append_rows(
            "Reservations",
            vec![
                row(&[
                    "900",
                    "205",
                    "203",
                    "C1CA",
                    "2026-11-30",
                    "2026-11-23",
                    "active",
                    "",
                    "recruit",
                ]),
                row(&[
                    "901",
                    "204",
                    "203",
                    "C1CB",
                    "2026-11-30",
                    "2026-11-23",
                    "active",
                    "",
                    "member",
                ]),
            ],
        )
        .await
        .unwrap();
    // Row 3 (the second reservation), column G (status).
    source
        .write_range("Reservations", 3, 7, vec![row(&["released"])])
        .await
        .unwrap();
    let tab = bot.sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()["Reservations"].clone();
    assert_eq!(tab[0][0], "thread_id", "the header row is untouched");
    assert_eq!(tab[1][0], "900");
    assert_eq!(tab[1][6], "active");
    assert_eq!(tab[2][0], "901");
    assert_eq!(tab[2][6], "released");
    let writes: Vec<Option<u16>> = bot
        .sandbox
        .record()
        .filter(Channel::Google)
        .iter()
        .filter(|e| e.method != "GET" && e.path.contains("/values"))
        .map(|e| e.status)
        .collect();
    assert_eq!(writes, [Some(200), Some(503), Some(200)]);
    // A write to a tab that does not exist is an error naming it, not a panic.
    let err = source
        .append_rows("NoSuchTab", vec![row(&["x"])])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuchTab"), "{err}");
    bot.stop().await;
}

/// The rows in the Reservations tab whose first cell is `id`.
fn rows_with(bot: &TestBot, id: &str) -> usize {
    bot.sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()["Reservations"]
        .iter()
        .filter(|r| r.first().is_some_and(|c| c == id))
        .count()
}

/// A write that Google applies but whose answer is lost (a 500 after the fact, or no
/// answer at all): an update is retried (the same cells again are harmless), an append
/// is not, so the rows are in the tab once and the caller gets the error.
#[tokio::test]
async fn a_write_applied_but_unanswered_is_not_duplicated() {
    let wb = crate::support::bot::sample_copy();
    let config = wb.path().join("Config.csv");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("SHEETS_TIMEOUT_SEC,1,short so a lost answer is seen quickly\n");
    std::fs::write(&config, text).unwrap();
    let opts = BotOptions {
        workbook: wb.path().display().to_string(),
        ..google()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    let source = bot.app.as_ref().unwrap().sources.recruitment.clone();
    let row = |id: &str| {
        vec![vec![
            id.to_owned(),
            "205".into(),
            "203".into(),
            "C1CA".into(),
        ]]
    };

    bot.sandbox.fail_http(
        Some("POST"),
        ":append",
        HttpFault::ApplyThenStatus(500),
        Some(1),
    );
    let err = source
        .append_rows("Reservations", row("910"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "server", "{err}");
    assert_eq!(rows_with(&bot, "910"), 1, "applied once, not retried");

    bot.sandbox
        .fail_http(Some("POST"), ":append", HttpFault::ApplyThenHang, Some(1));
    let err = source
        .append_rows("Reservations", row("911"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert_eq!(rows_with(&bot, "911"), 1);

    // A 429 is refused before anything is done: an append is retried after it.
    bot.sandbox.fail_http(
        Some("POST"),
        ":append",
        HttpFault::RateLimited { retry_after: 0.0 },
        Some(1),
    );
    source
        .append_rows("Reservations", row("912"))
        .await
        .unwrap();
    assert_eq!(rows_with(&bot, "912"), 1);

    bot.sandbox.fail_http(
        Some("PUT"),
        "/values/",
        HttpFault::ApplyThenStatus(500),
        Some(1),
    );
    let at = bot.sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()["Reservations"]
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "910"))
        .unwrap();
    source
        .write_range("Reservations", at + 1, 7, vec![vec!["released".into()]])
        .await
        .unwrap();
    let tab = bot.sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()["Reservations"].clone();
    assert_eq!(tab[at][6], "released");
    let puts: Vec<Option<u16>> = bot
        .sandbox
        .record()
        .filter(Channel::Google)
        .iter()
        .filter(|e| e.method == "PUT")
        .map(|e| e.status)
        .collect();
    assert_eq!(puts, [Some(500), Some(200)], "the update was retried");
    bot.stop().await;
}

/// A restart during a Google outage: boot still completes (the preload never blocks it),
/// commands answer, every toggle is off, staff roles and the log channel come from the
/// Config tab kept by the previous run, and staff get one startup summary naming each
/// failed bucket.
#[tokio::test]
async fn a_restart_during_an_outage_boots_on_the_last_good_config_and_posts_one_summary() {
    let first = TestBot::start_with(google(), |_| ()).await;
    let kept = first.dir.path().join("data/config_last_good.json");
    assert!(kept.exists(), "a good Config tab is kept");
    let (_, dir) = first.stop_keep_dir().await;

    let mut opts = google();
    opts.env = vec![("DATA_DIR", dir.path().join("data").display().to_string())];
    let bot = TestBot::start_with(opts, |s| {
        s.fail_http(Some("GET"), "values:batchGet", HttpFault::Status(500), None);
    })
    .await;
    let (code, _) = bot.get("/ready").await;
    assert_eq!(code, 200, "ready despite the workbook being down");
    assert!(say(&bot, "member", "!ping").await.contains("Pong"));
    let (code, h) = bot.get("/health").await;
    assert_eq!(code, 200);
    assert_eq!(h["status"], "degraded", "{h}");
    let config = &h["components"]["config"];
    assert!(
        config["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("last good copy of google:")),
        "{config}"
    );
    let clans = bucket(&bot, "clans").await;
    assert_eq!(clans["last_result"], "fail", "{clans}");
    assert_eq!(clans["last_trigger"], "startup");
    assert!(clans["item_count"].is_null(), "never loaded: {clans}");
    let app = bot.app.as_ref().unwrap();
    assert!(
        app.cache.clans().is_none(),
        "no data rather than made-up data"
    );
    let cfg = app.config.get();
    assert!(cfg.toggles.failure.is_some(), "toggles fail closed");
    assert!(!cfg.toggles.enabled("welcome_enabled"));
    // Staff keep their tier: the roles came from the kept Config tab.
    let text = say(&bot, "staff", "!ops health").await;
    assert!(!text.contains("needs the"), "{text}");
    let text = say(&bot, "admin", "!ops config").await;
    assert!(text.contains("last good copy"), "{text}");

    let ok = eventually(Duration::from_secs(5), || async {
        !ops_log(&bot, "Startup refresh").is_empty()
    })
    .await;
    assert!(ok, "the startup summary was posted to the kept log channel");
    let summary = ops_log(&bot, "Startup refresh");
    assert_eq!(summary.len(), 1, "{summary:?}");
    let text = summary[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(text.contains("4 of 4 buckets failed"), "{text}");
    for b in ["clans", "templates", "clan_tags", "onboarding_questions"] {
        assert!(text.contains(b), "{b} missing from {text}");
    }
    assert_eq!(ops_log(&bot, "Feature toggles failed closed").len(), 1);
    bot.stop().await;
    drop(dir);
}

/// A slow slash command is deferred within Discord's 3 s (the sandbox answers "Unknown
/// interaction" after that, as Discord does), then answered when the work is done.
#[tokio::test]
async fn a_slow_slash_reload_is_deferred_and_answered_after_three_seconds() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    let mark_seq = bot.sandbox.record().entries().last().map_or(0, |e| e.seq);
    bot.sandbox.fail_http(
        Some("GET"),
        "values:batchGet",
        HttpFault::Delay(Duration::from_millis(3500)),
        Some(1),
    );
    let mark = bot.sandbox.mark();
    let id = bot
        .sandbox
        .slash("staff", "general", "/ops reload")
        .unwrap();
    bot.handled_interaction(id, "/ops reload").await;
    let answer = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .find(|r| r.channel == "general" && r.text().contains("Config reloaded"))
        .expect("the deferred reload was answered");
    assert!(answer.text().contains("Config reloaded"));
    // The defer was acknowledged before the slow workbook answered: the work really
    // outlasted Discord's 3 s window, and the interaction was not lost.
    let entries = bot.sandbox.record().entries();
    let defer = entries
        .iter()
        .find(|e| e.path.contains("/callback"))
        .expect("a callback");
    let slow_read = entries
        .iter()
        .find(|e| e.path.contains("values:batchGet") && e.seq > mark_seq)
        .expect("the reload read the workbook");
    assert!(
        defer.seq < slow_read.seq,
        "deferred before the workbook answered"
    );
    // The acknowledgement was the defer (callback type 5), accepted in time.
    let callbacks: Vec<Entry> = bot
        .sandbox
        .record()
        .filter(Channel::Rest)
        .into_iter()
        .filter(|e| e.path.contains("/callback"))
        .collect();
    assert_eq!(callbacks.len(), 1, "{callbacks:?}");
    assert_eq!(callbacks[0].status, Some(204));
    assert_eq!(callbacks[0].body["type"], 5);
    bot.stop().await;
}
