//! The real serenity/poise client against the sandbox: commands, tiers, help, errors,
//! gateway resilience, command registration, the watchdog end to end.

use std::time::Duration;

use clanhall_sandbox::activity::Kind;
use clanhall_sandbox::faults::HttpFault;
use clanhall_sandbox::record::Channel;
use clanhall_sandbox::world;
use serde_json::Value;

use crate::support::bot::{BotOptions, TestBot};
use crate::support::{eventually, log_lines};

fn general() -> u64 {
    world::channel("general").unwrap().id
}

#[tokio::test]
async fn prefix_and_slash_ping() {
    let bot = TestBot::start().await;
    let replies = bot.ask("member", "general", "!ping").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].content().starts_with("🏓 Pong!"),
        "{}",
        replies[0].content()
    );
    assert_eq!(replies[0].channel, "general");

    let replies = bot.ask_slash("member", "general", "/ping").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].content().starts_with("🏓 Pong!"));
    // The slash reply went through the interaction callback, answered 204.
    let callbacks: Vec<_> = bot
        .sandbox
        .record()
        .filter(Channel::Rest)
        .into_iter()
        .filter(|e| e.path.contains("/callback"))
        .collect();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].status, Some(204));
    assert_eq!(bot.stop().await, 0);
}

#[tokio::test]
async fn mention_prefix_works() {
    let bot = TestBot::start().await;
    let replies = bot.ask("recruit", "general", "@clanhall ping").await;
    assert!(
        replies
            .first()
            .is_some_and(|r| r.content().contains("Pong")),
        "{replies:?}"
    );
    bot.stop().await;
}

fn help_text(replies: &[clanhall_sandbox::Reply]) -> String {
    replies
        .iter()
        .map(|r| r.text())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn help_differs_by_audience_prefix_and_slash() {
    let bot = TestBot::start().await;
    let mut seen = Vec::new();
    for user in ["admin", "staff", "recruiter", "member"] {
        let text = help_text(&bot.ask(user, "general", "!help").await);
        assert!(
            text.contains("!ping") && text.contains("!help"),
            "{user}: {text}"
        );
        assert!(
            text.contains(&format!("audience: {user}")),
            "{user}: {text}"
        );
        seen.push((user, text));
    }
    let of = |u: &str| seen.iter().find(|(x, _)| *x == u).unwrap().1.clone();
    assert!(of("admin").contains("!cfg <key>") && of("admin").contains("!ops health"));
    assert!(of("staff").contains("!ops health") && !of("staff").contains("!cfg"));
    assert!(!of("member").contains("!ops health") && !of("member").contains("!cfg"));
    assert!(!of("recruiter").contains("!ops health"));

    // Slash help: same audiences, only the caller sees it.
    let slash = bot.ask_slash("member", "general", "/help").await;
    assert!(slash[0].ephemeral);
    assert!(help_text(&slash).contains("audience: member"));
    let admin = help_text(&bot.ask_slash("admin", "general", "/help").await);
    assert!(admin.contains("!cfg <key>"));

    // One command in detail, with access for the caller.
    let detail = help_text(&bot.ask("member", "general", "!help ops health").await);
    assert!(
        detail.contains("help · ops health")
            && detail.contains("Needs the **staff** tier; you are **member**."),
        "{detail}"
    );
    let detail = help_text(&bot.ask_slash("staff", "general", "/help command:cfg").await);
    assert!(detail.contains("`/cfg <key>`"), "{detail}");
    // A group lists what the caller may run in it.
    let jobs = help_text(&bot.ask("staff", "general", "!help ops jobs").await);
    assert!(
        jobs.contains("`!ops jobs list`")
            && !jobs.contains("ops jobs run")
            && jobs.contains("3 more need a higher tier than staff"),
        "{jobs}"
    );
    let r = bot.ask("member", "general", "!help ops").await;
    assert!(
        r[0].content()
            .contains("`ops` commands need the **staff** tier; you are **member**."),
        "{:?}",
        r[0].text()
    );
    bot.stop().await;
}

#[tokio::test]
async fn member_is_told_the_tier_a_command_needs() {
    let bot = TestBot::start().await;
    let r = bot.ask("member", "general", "!ops health").await;
    assert_eq!(
        r[0].content(),
        "🔒 `!ops health` needs the **staff** tier; you are **member**. Ask an admin if you need access."
    );
    let r = bot.ask_slash("member", "general", "/ops health").await;
    assert!(r[0].ephemeral);
    assert!(
        r[0].content()
            .starts_with("🔒 `/ops health` needs the **staff** tier")
    );
    // Bare `!ops` is denied too, without listing staff subcommands.
    let r = bot.ask("member", "general", "!ops").await;
    assert!(
        r[0].content().contains("needs the **staff** tier") && !r[0].content().contains("health")
    );
    // Staff may run it, but not an admin command.
    let r = bot.ask("staff", "general", "!ops health").await;
    assert!(r[0].text().contains("clanhall · health"), "{}", r[0].text());
    let r = bot.ask("staff", "general", "!cfg PORT").await;
    assert!(
        r[0].content()
            .contains("needs the **admin** tier; you are **staff**")
    );
    let denied: Vec<Value> = log_lines()
        .into_iter()
        .filter(|l| l["msg"] == "command denied" && l["command"] == "ops health")
        .collect();
    assert!(!denied.is_empty());
    assert!(
        denied
            .iter()
            .all(|l| l["trace"].as_str().is_some_and(|t| t.len() == 16)),
        "every log line of a command carries its trace id"
    );
    bot.stop().await;
}

#[tokio::test]
async fn unknown_commands_are_ignored_silently() {
    let bot = TestBot::start().await;
    bot.assert_silent("member", "general", "!definitely-not-a-command")
        .await;
    bot.assert_silent("member", "general", "just chatting, no prefix")
        .await;
    bot.stop().await;
}

#[tokio::test]
async fn cfg_never_prints_a_secret() {
    let bot = TestBot::start().await;
    let token = bot.sandbox.token().to_owned();
    let r = bot.ask("admin", "general", "!cfg DISCORD_TOKEN").await;
    let text = r[0].text();
    assert!(
        text.contains("[redacted: ") && text.contains("sandbox"),
        "{text}"
    );
    assert!(!text.contains(&token));
    // Not even a fragment of the token's characters.
    for part in token.split('.') {
        assert!(!text.contains(part), "{part} leaked in {text}");
    }
    let r = bot
        .ask_slash("admin", "general", "/cfg LOG_CHANNEL_ID")
        .await;
    assert!(r[0].text().contains("1200000000000000302") && r[0].text().contains("Config tab, row"));
    let r = bot.ask("admin", "general", "!cfg NOPE").await;
    assert!(r[0].content().starts_with("There is no setting `NOPE`"));
    bot.stop().await;
}

#[tokio::test]
async fn a_500_on_a_reply_is_logged_and_the_next_command_works() {
    let bot = TestBot::start().await;
    let path = format!("/channels/{}/messages", general());
    bot.sandbox
        .fail_http(Some("POST"), &path, HttpFault::Status(500), Some(1));
    let replies = bot.ask("member", "general", "!ping").await;
    // The pong was refused; the error reply (second POST) went through with a reference.
    assert_eq!(replies.len(), 1, "{replies:?}");
    let c = replies[0].content();
    assert!(
        c.starts_with("⚠️ Something went wrong on my side and `!ping` did not finish"),
        "{c}"
    );
    let reference = c.split('`').nth(3).unwrap().to_owned();
    let failed: Vec<Value> = log_lines()
        .into_iter()
        .filter(|l| l["msg"] == "command failed" && l["trace"] == reference.as_str())
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "the failure is logged under the reference the user got"
    );
    assert_eq!(failed[0]["level"], "error");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("500"),
        "{}",
        failed[0]
    );
    let statuses: Vec<Option<u16>> = bot
        .sandbox
        .record()
        .filter(Channel::Rest)
        .iter()
        .filter(|e| e.path.ends_with(&path))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![Some(500), Some(200)]);
    // The bot is fine.
    let replies = bot.ask("member", "general", "!ping").await;
    assert!(replies[0].content().starts_with("🏓 Pong!"));
    bot.stop().await;
}

#[tokio::test]
async fn dropped_gateway_resumes_and_ready_goes_503_then_200() {
    let bot = TestBot::start().await;
    assert_eq!(bot.get("/ready").await.0, 200);
    bot.sandbox
        .faults()
        .refuse_gateway_for(Duration::from_millis(1500));
    bot.sandbox.drop_gateway();
    assert!(
        bot.ready_becomes(503, Duration::from_secs(5)).await,
        "/ready never turned 503 while the gateway was down"
    );
    let (_, body) = bot.get("/ready").await;
    assert_eq!(body["ready"], false);
    assert_ne!(body["gateway"]["stage"], "connected");
    assert!(
        bot.ready_becomes(200, Duration::from_secs(20)).await,
        "the bot did not come back"
    );
    let (identifies, resumes) = bot.sandbox.gateway_counts();
    assert!(
        identifies >= 1 && identifies + resumes >= 2,
        "identifies={identifies} resumes={resumes}"
    );
    let replies = bot.ask("member", "general", "!ping").await;
    assert!(replies[0].content().contains("Pong"));
    bot.stop().await;
}

#[tokio::test]
async fn a_quick_drop_is_resumed_and_missed_events_replayed() {
    let bot = TestBot::start().await;
    bot.sandbox.drop_gateway();
    // Said while the socket is down: replayed on RESUME.
    let mark = bot.sandbox.mark();
    bot.sandbox.say("member", "general", "!ping").unwrap();
    let reply = bot
        .sandbox
        .activity()
        .wait_for(mark, Duration::from_secs(15), |k| {
            matches!(k, Kind::Message { by_bot: true, .. })
        })
        .await;
    assert!(
        reply.is_some(),
        "the message sent during the outage was never answered"
    );
    assert!(bot.ready_becomes(200, Duration::from_secs(10)).await);
    assert_eq!(
        bot.sandbox.gateway_counts(),
        (1, 1),
        "one identify, one resume"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_resume_leads_to_a_new_identify() {
    let bot = TestBot::start().await;
    bot.sandbox.faults().refuse_resume(1);
    bot.sandbox.drop_gateway();
    assert!(bot.ready_becomes(503, Duration::from_secs(5)).await);
    assert!(bot.ready_becomes(200, Duration::from_secs(20)).await);
    let (identifies, resumes) = bot.sandbox.gateway_counts();
    assert_eq!((identifies, resumes), (2, 1));
    let replies = bot.ask("member", "general", "!ping").await;
    assert!(replies[0].content().contains("Pong"));
    bot.stop().await;
}

#[tokio::test]
async fn failing_command_registration_exits_non_zero_with_a_clear_log_line() {
    let opts = BotOptions {
        wait_ready: false,
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |s| {
        s.fail_http(Some("PUT"), "/commands", HttpFault::Status(500), None);
    })
    .await;
    let guild = world::GUILD_ID;
    let (code, _dir) = bot.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 1);
    let lines: Vec<Value> = log_lines()
        .into_iter()
        .filter(|l| {
            l["msg"] == "command registration failed; shutting down" && l["guild_id"] == guild
        })
        .collect();
    assert!(!lines.is_empty(), "no registration failure line");
    assert_eq!(lines[0]["level"], "error");
    assert!(lines[0]["error"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn watchdog_restarts_when_heartbeats_stop_being_acknowledged() {
    let opts = BotOptions {
        heartbeat: Duration::from_millis(200),
        env: vec![
            ("WATCHDOG_CHECK_SEC", "1".into()),
            ("WATCHDOG_STALL_SEC", "2".into()),
            ("WATCHDOG_DISCONNECT_GRACE_SEC", "3".into()),
        ],
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    bot.sandbox.faults().set_stop_acks(true);
    let ops_log = world::channel("ops-log").unwrap().id;
    // The startup cache summary also lands in #ops-log; only watchdog posts count here.
    let watchdog_posts = || -> Vec<Value> {
        bot.sandbox
            .channel_messages(&ops_log.to_string())
            .into_iter()
            .filter(|m| {
                m["embeds"][0]["title"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Watchdog")
            })
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(15), || async {
            !watchdog_posts().is_empty()
        })
        .await,
        "no watchdog alert in #ops-log"
    );
    let sandbox_alerts = watchdog_posts();
    let (code, dir) = bot.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 1, "a watchdog restart exits 1");
    let data_dir = dir.path().join("data");
    assert_eq!(sandbox_alerts.len(), 1, "one watchdog alert in #ops-log");
    let embed = &sandbox_alerts[0]["embeds"][0];
    assert_eq!(embed["title"], "❌ Watchdog restart");
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("no heartbeat ACK"),
        "{embed}"
    );
    let budget: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("watchdog_restarts.json")).unwrap())
            .unwrap();
    assert_eq!(budget["exits"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn help_diagnostics_posts_the_visibility_table_to_the_log_channel() {
    let opts = BotOptions {
        env: vec![("HELP_DIAGNOSTICS", "on".into())],
        ..Default::default()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    let r = bot.ask("member", "general", "!help").await;
    let posted: Vec<_> = r.iter().filter(|m| m.channel == "ops-log").collect();
    assert_eq!(posted.len(), 1, "{r:?}");
    let table = posted[0].text();
    assert!(table.contains("Help diagnostics • member"), "{table}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}: {table}"))
            .to_owned()
    };
    assert!(row("ping").ends_with("yes"), "{table}");
    assert!(row("ops health").ends_with("no"), "{table}");
    assert!(row("cfg").contains("admin"), "{table}");
    // The same audience asking again inside the window is not posted twice.
    let r = bot.ask("member", "general", "!help").await;
    assert!(r.iter().all(|m| m.channel != "ops-log"), "{r:?}");
    bot.stop().await;
}

#[tokio::test]
async fn missing_or_unreadable_arguments_are_named_with_the_usage() {
    let bot = TestBot::start().await;
    let r = bot.ask("admin", "general", "!cfg").await;
    assert_eq!(
        r[0].content(),
        "`!cfg` needs `<key>`.\nUsage: `!cfg <key>` (see `!help cfg`)"
    );
    let r = bot.ask("admin", "general", "!ops jobs pause").await;
    assert!(
        r[0].content()
            .starts_with("`!ops jobs pause` needs `<job>`."),
        "{}",
        r[0].content()
    );
    // The command still works afterwards.
    let r = bot.ask("admin", "general", "!cfg LOG_CHANNEL_ID").await;
    assert!(
        r[0].text().contains("1200000000000000302"),
        "{}",
        r[0].text()
    );
    bot.stop().await;
}
