//! Seat reservations (issue 12) through the sandbox and the real clients: the ledger,
//! the commands, and the sheet mirror (Google's sheet and a local workbook).

use std::time::Duration;

use clanhall_sandbox::faults::HttpFault;
use clanhall_sandbox::google::DEFAULT_SHEET_ID;

use crate::support::bot::{BotOptions, TestBot};

fn google() -> BotOptions {
    BotOptions {
        google: true,
        ..Default::default()
    }
}

/// Ticket Tool opens a private ticket thread in #welcome for `member`, with the
/// recruiter and staff in it (a private thread is closed to everyone else).
fn ticket(bot: &TestBot, name: &str, member: &str) -> u64 {
    bot.sandbox
        .open_thread(
            "tickettool",
            "welcome",
            name,
            true,
            &[member, "recruiter", "staff"],
        )
        .unwrap()
}

/// The bot's reply texts in `channel` to `user` saying `line` there.
async fn say(bot: &TestBot, user: &str, channel: &str, line: &str) -> String {
    bot.say_in(user, channel, line).await.join("\n")
}

/// The Google sheet's tab as rows.
fn tab(bot: &TestBot, name: &str) -> Vec<Vec<String>> {
    bot.sandbox.google().workbook(DEFAULT_SHEET_ID).unwrap()[name].clone()
}

/// The cells of the Clans row with `tag`, by header.
fn clan_cells(rows: &[Vec<String>], tag: &str) -> std::collections::HashMap<String, String> {
    let headers = &rows[0];
    let row = rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c == tag) || r.iter().any(|c| c == tag))
        .unwrap_or_else(|| panic!("no row {tag}: {rows:?}"));
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), row.get(i).cloned().unwrap_or_default()))
        .collect()
}

/// The bot on a manual clock set to `hour:minute` UTC of `day`.
async fn bot_at(
    day: chrono::NaiveDate,
    hour: u32,
    minute: u32,
) -> (std::sync::Arc<clanhall::testing::ManualClock>, TestBot) {
    let start = day.and_hms_opt(hour, minute, 0).unwrap().and_utc();
    let clock = std::sync::Arc::new(clanhall::testing::ManualClock::new(start));
    let opts = BotOptions {
        clock: Some(clock.clone()),
        ..Default::default()
    };
    (clock, TestBot::start_with(opts, |_| ()).await)
}

/// Runs `mirror:flush` by hand; when the minute's scheduled run holds it, again once
/// that run is recorded (this one then finds whatever is still queued).
async fn flush(bot: &TestBot) -> String {
    for _ in 0..3 {
        let answer = say(bot, "admin", "general", "!ops jobs run mirror:flush").await;
        if !answer.contains("already running") {
            return answer;
        }
        crate::support::eventually(Duration::from_secs(10), || async {
            bot.query("SELECT id FROM job_runs WHERE job = 'mirror:flush' AND result = 'running'")
                .is_empty()
        })
        .await;
    }
    panic!("mirror:flush stayed busy")
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[tokio::test]
async fn reserve_list_extend_and_release_reach_the_clans_and_reservations_tabs() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    ticket(&bot, "W0042-rue", "recruit");
    let until = today() + chrono::Duration::days(7);
    let r = say(&bot, "recruiter", "W0042-rue", "!reserve C1CA @recruit").await;
    assert_eq!(
        r,
        format!(
            "✅ Reserved 1 seat in C1CA for Rue (recruit) until {until}. Reserved: 1. Open now: 1."
        )
    );
    // The cache follows the ledger at once, and a refresh that reads the sheet's stale
    // cells (nothing flushed yet) does not undo it.
    let cached = |bot: &TestBot| {
        let list = bot.app.as_ref().unwrap().cache.clans().unwrap();
        let c = list.clans.iter().find(|c| c.tag == "C1CA").unwrap().clone();
        (c.reserved, c.open_spots, c.reserved_by.clone())
    };
    let want = (Some(1), Some(1), "1 -> Rue (recruit)".to_owned());
    assert_eq!(cached(&bot), want);
    say(&bot, "staff", "general", "!ops refresh clans").await;
    assert_eq!(cached(&bot), want, "after a refresh");
    let member = format!(
        "/guilds/{}/members/{}",
        clanhall_sandbox::world::GUILD_ID,
        clanhall_sandbox::world::user("recruit").unwrap().id
    );
    assert!(
        bot.sandbox
            .record()
            .entries()
            .iter()
            .any(|e| e.method == "GET" && e.path.ends_with(&member)),
        "the recruit's name was asked of Discord"
    );
    let again = say(&bot, "recruiter", "W0042-rue", "!reserve C1CB @recruit").await;
    assert!(
        again.contains("already holds a seat in C1CA")
            && again.contains("!reserve release @Rue (recruit) C1CA"),
        "{again}"
    );
    let list = say(&bot, "recruiter", "general", "!reservations c1ca").await;
    assert!(
        list.contains("**Active holds in C1CA** (1)") && list.contains("Rue (recruit)"),
        "{list}"
    );
    let later = today() + chrono::Duration::days(10);
    let ext = say(
        &bot,
        "recruiter",
        "general",
        &format!("!reserve extend @recruit C1CA {later}"),
    )
    .await;
    assert!(ext.contains(&format!("now held until {later}")), "{ext}");

    let f = flush(&bot).await;
    assert!(f.starts_with("✅"), "{f}");
    let clans = tab(&bot, "Clans");
    let c = clan_cells(&clans, "C1CA");
    assert_eq!(
        (c["reserved"].as_str(), c["open_spots"].as_str()),
        ("1", "1")
    );
    assert_eq!(c["reserved_by"], "1 -> Rue (recruit)");
    assert_eq!(c["spots"], "2", "the bot never writes spots");
    let res = tab(&bot, "Reservations");
    assert_eq!(res.len(), 2, "{res:?}");
    assert_eq!(res[1][3], "C1CA");
    assert_eq!(res[1][4], later.to_string());
    assert_eq!(res[1][6], "active");

    let rel = say(
        &bot,
        "recruiter",
        "general",
        "!reserve release @recruit C1CA",
    )
    .await;
    assert!(
        rel.starts_with("✅ Released Rue (recruit)'s seat in C1CA"),
        "{rel}"
    );
    let none = say(
        &bot,
        "recruiter",
        "general",
        "!reserve release @recruit C1CA",
    )
    .await;
    assert!(none.contains("holds no seat in C1CA"), "{none}");
    flush(&bot).await;
    let c = clan_cells(&tab(&bot, "Clans"), "C1CA");
    assert_eq!(
        (
            c["reserved"].as_str(),
            c["open_spots"].as_str(),
            c["reserved_by"].as_str()
        ),
        ("0", "2", "")
    );
    assert_eq!(tab(&bot, "Reservations")[1][6], "released");
    let audit = bot.table("audit_events");
    let actions: Vec<&str> = audit.iter().filter_map(|r| r["action"].as_str()).collect();
    for a in [
        "reservation.hold",
        "reservation.extend",
        "reservation.release",
    ] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            bot.telemetry_events("reservation").len() >= 3
        })
        .await
    );
    bot.stop().await;
}

#[tokio::test]
async fn members_are_refused_with_the_tier_and_refusals_say_what_to_do() {
    let bot = TestBot::start().await;
    ticket(&bot, "W0043-rue", "recruit");
    bot.sandbox
        .add_to_thread("tickettool", "W0043-rue", "member")
        .unwrap();
    let member = say(&bot, "member", "W0043-rue", "!reserve C1CA @recruit").await;
    assert!(member.contains("needs the **recruiter** tier"), "{member}");
    let staff_only = say(&bot, "recruiter", "general", "!ops digest").await;
    assert!(
        staff_only.contains("needs the **staff** tier"),
        "{staff_only}"
    );
    let outside = say(&bot, "recruiter", "general", "!reserve C1CA @recruit").await;
    assert!(
        outside.contains("works inside a ticket thread"),
        "{outside}"
    );
    let unknown = say(&bot, "recruiter", "W0043-rue", "!reserve C1XA @recruit").await;
    assert!(
        unknown.contains("There is no clan `C1XA`. Did you mean"),
        "{unknown}"
    );
    let bad = say(
        &bot,
        "recruiter",
        "W0043-rue",
        "!reserve C1CA @recruit 12/24",
    )
    .await;
    assert!(bad.contains("is not a date. Use YYYY-MM-DD"), "{bad}");
    let full = say(&bot, "recruiter", "W0043-rue", "!reserve C1CE @recruit").await;
    assert!(
        full.contains("C1CE has no open seat") && full.contains("give a reason"),
        "{full}"
    );
    let with_reason = say(
        &bot,
        "recruiter",
        "W0043-rue",
        "!reserve C1CE @recruit lead asked for them",
    )
    .await;
    assert!(
        with_reason.starts_with("✅ Reserved 1 seat in C1CE"),
        "{with_reason}"
    );
    assert_eq!(
        bot.query("SELECT notes FROM reservations")[0]["notes"],
        "lead asked for them"
    );
    bot.stop().await;
}

#[tokio::test]
async fn two_recruiters_racing_for_the_last_seat_one_gets_it_and_one_is_asked_for_a_reason() {
    let bot = TestBot::start().await;
    bot.sandbox.member_join("newbie").unwrap();
    ticket(&bot, "W0044-rue", "recruit");
    ticket(&bot, "W0045-newbie", "newbie");
    bot.sandbox
        .add_to_thread("tickettool", "W0044-rue", "recruiter")
        .unwrap();
    let mark = bot.sandbox.mark();
    // C1CB has one seat. Both asked before either is answered.
    let a = bot
        .sandbox
        .say("recruiter", "W0044-rue", "!reserve C1CB @recruit")
        .unwrap();
    let b = bot
        .sandbox
        .say("staff", "W0045-newbie", "!reserve C1CB @newbie")
        .unwrap();
    bot.handled_message(a, "first").await;
    bot.handled_message(b, "second").await;
    let texts: Vec<String> = bot
        .sandbox
        .bot_messages_since(mark)
        .iter()
        .map(|r| r.text())
        .collect();
    let won = texts
        .iter()
        .filter(|t| t.starts_with("✅ Reserved 1 seat in C1CB"))
        .count();
    let asked = texts
        .iter()
        .filter(|t| t.contains("C1CB has no open seat"))
        .count();
    assert_eq!((won, asked), (1, 1), "{texts:?}");

    // One recruit, two clans, at once: never two active holds.
    let c = bot
        .sandbox
        .say("recruiter", "W0044-rue", "!reserve C1CA @newbie")
        .unwrap();
    let d = bot
        .sandbox
        .say("staff", "W0045-newbie", "!reserve C1CD @newbie")
        .unwrap();
    bot.handled_message(c, "third").await;
    bot.handled_message(d, "fourth").await;
    let active = bot.query(
        "SELECT COUNT(*) AS n FROM reservations WHERE status = 'active' GROUP BY ticket_user_id",
    );
    assert!(active.iter().all(|r| r["n"] == 1), "{active:?}");
    bot.stop().await;
}

#[tokio::test]
async fn a_sheets_outage_loses_nothing_and_one_flush_writes_everything_after() {
    let clock = std::sync::Arc::new(clanhall::testing::ManualClock::new(chrono::Utc::now()));
    let opts = BotOptions {
        clock: Some(clock.clone()),
        ..google()
    };
    let bot = TestBot::start_with(opts, |_| ()).await;
    // The cache's own reads of the same spreadsheet come due when the clock moves 42
    // minutes; paused, so the requests counted below are the flush's alone.
    let scheduler = &bot.app.as_ref().unwrap().scheduler;
    for bucket in ["clans", "templates", "clan_tags", "onboarding_questions"] {
        scheduler
            .set_paused(&format!("refresh:{bucket}"), true, "test")
            .await
            .unwrap();
    }
    bot.sandbox
        .fail_http(None, "/values", HttpFault::Status(500), None);
    // Five holds in two clans while Google answers 500.
    let holds = [
        ("recruit", "C1CA"),
        ("member", "C1CD"),
        ("out1", "C1CD"),
        ("out2", "C1CA"),
        ("out3", "C1CD"),
    ];
    for (i, (who, tag)) in holds.iter().enumerate() {
        if who.starts_with("out") {
            bot.sandbox.member_join(who).unwrap();
        }
        let thread = format!("W00{}-{who}", 50 + i);
        ticket(&bot, &thread, who);
        let r = say(
            &bot,
            "recruiter",
            &thread,
            &format!("!reserve {tag} @{who} outage"),
        )
        .await;
        assert!(
            r.starts_with("✅"),
            "commands answer during the outage: {r}"
        );
    }
    // The every-minute job or this manual run tried, failed, and kept everything.
    flush(&bot).await;
    // (The ticket threads also queued the WelcomeTickets tab: onboarding's own target.)
    let pending = bot.query(
        "SELECT attempts, last_error FROM mirror_outbox WHERE kind IN ('reservations_tab', 'clan_availability')",
    );
    assert_eq!(
        pending.len(),
        3,
        "the tab and two clans, however many changes: {pending:?}"
    );
    assert!(
        pending.iter().all(|r| r["attempts"].as_i64() >= Some(1)
            && r["last_error"].as_str().is_some_and(|e| e.contains("500"))),
        "{pending:?}"
    );
    let digest = say(&bot, "staff", "general", "!ops digest").await;
    assert!(
        // The whole outbox: the three reservation targets and the WelcomeTickets tab.
        digest.contains("Sheet mirror outbox: 4 pending"),
        "{digest}"
    );
    let (_, health) = bot.get("/health").await;
    let mirror = &health["components"]["mirror"];
    assert_eq!(mirror["pending"], 4, "{health}");
    assert!(
        mirror["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{mirror}"
    );
    clock.advance(Duration::from_secs(11 * 60));
    let (_, health) = bot.get("/health").await;
    assert_eq!(
        health["components"]["mirror"]["status"], "degraded",
        "{health}"
    );
    assert_eq!(tab(&bot, "Reservations").len(), 1, "nothing written yet");

    bot.sandbox.faults().clear();
    // After the backoff, one flush writes everything with one read and one batch write.
    clock.advance(Duration::from_secs(31 * 60));
    let before = bot.sandbox.record().entries().len();
    let f = flush(&bot).await;
    assert!(f.starts_with("✅"), "{f}");
    let calls: Vec<String> = bot.sandbox.record().entries()[before..]
        .iter()
        .filter(|e| e.path.contains("/values"))
        .map(|e| format!("{} {}", e.method, e.path.split('?').next().unwrap_or("")))
        .collect();
    // One read and one batch write for the spreadsheet, though two mirrors (the
    // reservations' and onboarding's WelcomeTickets, queued by the ticket threads) use it.
    assert_eq!(calls.len(), 2, "one read, one batch write: {calls:?}");
    assert!(calls[1].ends_with("values:batchUpdate"), "{calls:?}");
    let res = tab(&bot, "Reservations");
    assert_eq!(res.len(), 6, "all five holds: {res:?}");
    let c = clan_cells(&tab(&bot, "Clans"), "C1CD");
    assert_eq!(c["reserved"], "3");
    assert!(
        bot.query("SELECT * FROM mirror_outbox").is_empty(),
        "the outbox is empty"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_row_and_a_column_inserted_between_flushes_do_not_shift_the_writes() {
    let bot = TestBot::start_with(google(), |_| ()).await;
    ticket(&bot, "W0060-rue", "recruit");
    say(&bot, "recruiter", "W0060-rue", "!reserve C1CD @recruit").await;
    flush(&bot).await;
    // Staff insert a row above C1CD and a column before `reserved`.
    let mut rows = tab(&bot, "Clans");
    let at = rows[0].iter().position(|h| h == "reserved").unwrap();
    for r in rows.iter_mut() {
        r.insert(at.min(r.len()), String::new());
    }
    rows[0][at] = "staff notes".into();
    let mut inserted = vec![String::new(); rows[0].len()];
    inserted[0] = "NEWC".into();
    rows.insert(1, inserted);
    bot.sandbox
        .google()
        .set_tab(DEFAULT_SHEET_ID, "Clans", Some(rows));
    bot.sandbox.member_join("newbie").unwrap();
    ticket(&bot, "W0061-newbie", "newbie");
    say(&bot, "recruiter", "W0061-newbie", "!reserve C1CD @newbie").await;
    flush(&bot).await;
    let after = tab(&bot, "Clans");
    let c = clan_cells(&after, "C1CD");
    assert_eq!(c["reserved"], "2", "{after:?}");
    assert_eq!(c["staff notes"], "", "the inserted column is untouched");
    assert_eq!(c["reserved_by"], "2 -> Rue (recruit), newbie");
    let new = clan_cells(&after, "NEWC");
    assert_eq!(new["reserved"], "", "the inserted row is untouched");
    bot.stop().await;
}

#[tokio::test]
async fn a_local_workbook_gets_the_same_writes() {
    let wb = crate::support::bot::sample_copy();
    let bot = TestBot::on_workbook(wb.path()).await;
    ticket(&bot, "W0070-rue", "recruit");
    say(&bot, "recruiter", "W0070-rue", "!reserve C1CA @recruit").await;
    flush(&bot).await;
    let clans = std::fs::read_to_string(wb.path().join("Clans.csv")).unwrap();
    let line = clans.lines().find(|l| l.starts_with("C1CA,")).unwrap();
    assert!(line.ends_with(",1,1,1 -> Rue (recruit)"), "{line}");
    let res = std::fs::read_to_string(wb.path().join("Reservations.csv")).unwrap();
    assert!(
        res.lines()
            .nth(1)
            .is_some_and(|l| l.contains(",C1CA,") && l.contains(",active,")),
        "{res}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn holds_ending_today_expire_at_18_utc_once() {
    let day = chrono::Utc::now().date_naive();
    let (clock, bot) = bot_at(day, 17, 59).await;
    ticket(&bot, "W0080-rue", "recruit");
    let r = say(
        &bot,
        "recruiter",
        "W0080-rue",
        &format!("!reserve C1CA @recruit {day}"),
    )
    .await;
    assert!(r.starts_with("✅"), "{r}");
    let posts = || {
        bot.sandbox
            .channel_messages("ops-log")
            .iter()
            .filter(|m| m["embeds"].to_string().contains("Reservations expired"))
            .count()
    };
    assert_eq!(
        bot.query("SELECT status FROM reservations")[0]["status"],
        "active"
    );
    clock.advance(Duration::from_secs(90));
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            bot.query("SELECT status FROM reservations")[0]["status"] == "expired"
        })
        .await,
        "the 18:00 run expired the hold"
    );
    assert!(crate::support::eventually(Duration::from_secs(10), || async { posts() == 1 }).await);
    // Run it by hand once the scheduled run is recorded (else: "already running").
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            !bot.query(
                "SELECT id FROM job_runs WHERE job = 'reservations:autorelease' AND result = 'ok'",
            )
            .is_empty()
        })
        .await
    );
    let again = say(
        &bot,
        "admin",
        "general",
        "!ops jobs run reservations:autorelease",
    )
    .await;
    assert!(again.contains("ran"), "{again}");
    assert_eq!(posts(), 1, "a second run the same day posts nothing");
    bot.stop().await;
}

#[tokio::test]
async fn a_bot_down_at_18_utc_catches_the_auto_release_up_once_at_start() {
    let day = chrono::Utc::now().date_naive();
    let (clock, mut bot) = bot_at(day, 17, 0).await;
    ticket(&bot, "W0090-rue", "recruit");
    let r = say(
        &bot,
        "recruiter",
        "W0090-rue",
        &format!("!reserve C1CA @recruit {day}"),
    )
    .await;
    assert!(r.starts_with("✅"), "{r}");
    // Down from 17:00 to 19:30.
    bot.restart_bot_with(|| clock.advance(Duration::from_secs(150 * 60)))
        .await;
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            bot.query("SELECT status FROM reservations")[0]["status"] == "expired"
        })
        .await,
        "the missed 18:00 run was caught up at start"
    );
    // The hold expires inside the run; the run is recorded ok when it ends.
    let ok_runs = || {
        bot.query(
            "SELECT trigger FROM job_runs WHERE job = 'reservations:autorelease' AND result = 'ok'",
        )
    };
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async { !ok_runs().is_empty() })
            .await,
        "the catch-up run finished"
    );
    let runs = ok_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["trigger"], "catch_up");
    let notice = bot
        .messages_starting("W0090-rue", "⌛ The seat held in C1CA")
        .len();
    assert_eq!(notice, 1, "the ticket is told once");
    bot.stop().await;
}

#[tokio::test]
async fn a_first_start_after_18_utc_with_nothing_to_end_records_no_run() {
    let day = chrono::Utc::now().date_naive();
    let (_clock, bot) = bot_at(day, 19, 0).await;
    // The catch-up was taken (the next run moved to tomorrow 18:00) and, with nothing
    // to end, skipped.
    let tomorrow = (day + chrono::Duration::days(1))
        .and_hms_opt(18, 0, 0)
        .unwrap()
        .and_utc();
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            bot.app
                .as_ref()
                .unwrap()
                .scheduler
                .views()
                .iter()
                .any(|j| j.id == "reservations:autorelease" && j.next_run == Some(tomorrow))
        })
        .await,
        "the catch-up was never considered"
    );
    assert!(
        bot.query("SELECT id FROM job_runs WHERE job = 'reservations:autorelease'")
            .is_empty(),
        "no empty run recorded"
    );
    assert!(
        bot.telemetry_events("job_run")
            .iter()
            .all(|e| e["job"] != "reservations:autorelease")
    );
    // Asked by hand it still runs.
    let ran = say(
        &bot,
        "admin",
        "general",
        "!ops jobs run reservations:autorelease",
    )
    .await;
    assert!(ran.contains("ran"), "{ran}");
    bot.stop().await;
}

#[tokio::test]
async fn the_noon_reminder_lists_only_holds_ending_today_once() {
    let day = chrono::Utc::now().date_naive();
    let (clock, bot) = bot_at(day, 11, 59).await;
    bot.sandbox.member_join("newbie").unwrap();
    ticket(&bot, "W0100-rue", "recruit");
    ticket(&bot, "W0101-newbie", "newbie");
    let later = day + chrono::Duration::days(3);
    say(
        &bot,
        "recruiter",
        "W0100-rue",
        &format!("!reserve C1CA @recruit {day}"),
    )
    .await;
    say(
        &bot,
        "recruiter",
        "W0101-newbie",
        &format!("!reserve C1CD @newbie {later}"),
    )
    .await;
    let reminders = || {
        bot.sandbox
            .channel_messages("recruiters")
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .filter(|c| c.contains("ending today"))
            .collect::<Vec<_>>()
    };
    clock.advance(Duration::from_secs(90));
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async { reminders().len() == 1 })
            .await,
        "the 12:00 reminder was posted"
    );
    let text = reminders().remove(0);
    assert!(text.contains("C1CA — Rue (recruit)"), "{text}");
    assert!(
        !text.contains("C1CD"),
        "a hold ending later is not listed: {text}"
    );
    assert!(
        text.contains(&format!(
            "`!reserve extend {} C1CA",
            clanhall_sandbox::world::user("recruit").unwrap().id
        )),
        "{text}"
    );
    // The post lands before the run is recorded; ask again only once it has finished.
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            !bot.query(
                "SELECT id FROM job_runs WHERE job = 'reservations:reminder' AND result = 'ok'",
            )
            .is_empty()
        })
        .await,
        "the scheduled reminder run finished"
    );
    let again = say(
        &bot,
        "admin",
        "general",
        "!ops jobs run reservations:reminder",
    )
    .await;
    assert!(again.contains("ran"), "{again}");
    assert_eq!(
        reminders().len(),
        1,
        "a second run the same day posts nothing"
    );
    bot.stop().await;
}

/// Runs `clanhall restore` with these settings; (exit code, stdout, stderr).
fn restore(env: &[(String, String)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .arg("restore")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn restore_rebuilds_an_empty_ledger_from_the_tab_and_refuses_a_full_one() {
    let bot = TestBot::start().await;
    bot.sandbox.member_join("newbie").unwrap();
    ticket(&bot, "W0110-rue", "recruit");
    ticket(&bot, "W0111-newbie", "newbie");
    say(&bot, "recruiter", "W0110-rue", "!reserve C1CA @recruit").await;
    say(
        &bot,
        "recruiter",
        "W0111-newbie",
        "!reserve C1CD @newbie full but ok",
    )
    .await;
    say(
        &bot,
        "recruiter",
        "general",
        "!reserve release @newbie C1CD",
    )
    .await;
    flush(&bot).await;
    let ledger = |rows: Vec<serde_json::Map<String, serde_json::Value>>| {
        rows.into_iter()
            .map(|mut r| {
                r.remove("id");
                r.remove("updated_at");
                r
            })
            .collect::<Vec<_>>()
    };
    let before = ledger(bot.table("reservations"));
    let (_, dir) = bot.stop_keep_dir().await;
    let workbook = dir.path().join("workbook").display().to_string();
    // A bad row staff typed into the tab is listed, not imported.
    let tab = dir.path().join("workbook/Reservations.csv");
    let mut csv = std::fs::read_to_string(&tab).unwrap();
    csv.push_str("1,2,3,C1CB,tomorrow,2026-12-01T00:00:00.000Z,active,,x\n");
    std::fs::write(&tab, csv).unwrap();

    let fresh = tempfile::tempdir().unwrap();
    let env = crate::support::proc::env_with(fresh.path(), &[("WORKBOOK_DIR", &workbook)]);
    let (code, out, err) = restore(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["imported"], 2, "{summary}");
    assert_eq!(summary["bad_rows"][0]["row"], 4, "{summary}");
    assert!(
        summary["bad_rows"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD")
    );
    let after = crate::support::bot::query_db(
        &fresh.path().join("data/clanhall.db"),
        "SELECT * FROM reservations ORDER BY id",
    );
    assert_eq!(ledger(after), before, "the ledger as it was");

    let (code, _, err) = restore(&env);
    assert_eq!(code, 1);
    assert!(err.contains("already holds 2 reservations"), "{err}");
}

#[tokio::test]
async fn a_long_list_pages_with_buttons_that_work_after_a_restart_and_only_for_recruiters() {
    let mut bot = TestBot::start().await;
    for i in 0..12 {
        let who = format!("pager{i}");
        bot.sandbox.member_join(&who).unwrap();
        let thread = format!("W02{i:02}-{who}");
        ticket(&bot, &thread, &who);
        let r = say(
            &bot,
            "recruiter",
            &thread,
            &format!("!reserve C1CD @{who} kept for the test"),
        )
        .await;
        assert!(r.starts_with("✅"), "{r}");
    }
    let mark = bot.sandbox.mark();
    let list = bot.ask("recruiter", "general", "!reservations C1CD").await;
    let msg = list
        .iter()
        .find(|r| r.channel == "general")
        .expect("the list");
    assert!(
        msg.content().contains("(10 of 12, page 1/2)"),
        "{}",
        msg.content()
    );
    let id = msg.message_id().unwrap();
    let next = "res:list:c.C1CD:1";
    let stored = bot.sandbox.message(id).unwrap();
    assert!(stored["components"].to_string().contains(next), "{stored}");

    // A member may not turn the pages.
    let denied = bot.sandbox.click("member", id, next).unwrap();
    bot.handled_interaction(denied, "member click").await;
    let refusal = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .find(|r| r.ephemeral)
        .expect("an ephemeral refusal");
    assert!(
        refusal.content().contains("needs the **recruiter** tier"),
        "{}",
        refusal.content()
    );

    // After a restart the same button still works: its state is in its custom id.
    bot.restart_bot().await;
    let click = bot.sandbox.click("recruiter", id, next).unwrap();
    bot.handled_interaction(click, "next page").await;
    let now = bot.sandbox.message(id).unwrap();
    let text = now["content"].as_str().unwrap();
    assert!(
        text.contains("(2 of 12, page 2/2)"),
        "edited in place: {text}"
    );
    assert!(text.contains("pager11"), "{text}");
    bot.stop().await;
}

#[tokio::test]
async fn a_clan_lead_sees_their_own_clans_holds_in_the_interact_channel_only() {
    let lead = clanhall_sandbox::world::user("member")
        .unwrap()
        .id
        .to_string();
    let wb = crate::support::bot::sample_copy();
    let config = wb.path().join("Config.csv");
    let text = std::fs::read_to_string(&config).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("CLAN_LEAD_IDS,") {
                format!("CLAN_LEAD_IDS,{lead},User ids of clan leads\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&config, text).unwrap();
    let clans = wb.path().join("Clans.csv");
    let text: String = std::fs::read_to_string(&clans)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},lead_ids\n"),
            _ if l.starts_with("C1CA,") => format!("{l},{lead}\n"),
            _ => format!("{l},\n"),
        })
        .collect();
    std::fs::write(&clans, text).unwrap();
    let bot = TestBot::on_workbook(wb.path()).await;
    ticket(&bot, "W0300-rue", "recruit");
    say(&bot, "recruiter", "W0300-rue", "!reserve C1CA @recruit").await;

    let own = say(&bot, "member", "interact", "!reservations C1CA").await;
    assert!(
        own.contains("**Active holds in C1CA** (1)") && own.contains("Rue (recruit)"),
        "{own}"
    );
    let other = say(&bot, "member", "interact", "!reservations C1CB").await;
    assert!(
        other.contains("does not list you as a lead of C1CB"),
        "{other}"
    );
    let no_tag = say(&bot, "member", "interact", "!reservations").await;
    assert!(no_tag.contains("Name your clan"), "{no_tag}");
    let elsewhere = say(&bot, "member", "general", "!reservations C1CA").await;
    assert!(
        elsewhere.contains("needs the **recruiter** tier"),
        "{elsewhere}"
    );
    let reserve = say(&bot, "member", "interact", "!reserve release @recruit C1CA").await;
    assert!(
        reserve.contains("needs the **recruiter** tier"),
        "leads only read: {reserve}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_full_clan_offers_a_reason_form_that_holds_the_seat() {
    let bot = TestBot::start().await;
    ticket(&bot, "W0400-rue", "recruit");
    bot.sandbox
        .add_to_thread("tickettool", "W0400-rue", "member")
        .unwrap();
    let replies = bot
        .ask("recruiter", "W0400-rue", "!reserve C1CE @recruit")
        .await;
    let asked = replies.iter().find(|r| r.channel == "W0400-rue").unwrap();
    assert!(
        asked.content().contains("C1CE has no open seat"),
        "{}",
        asked.content()
    );
    let msg = bot.sandbox.message(asked.message_id().unwrap()).unwrap();
    let button = msg["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(button.starts_with("res:why:C1CE:"), "{button}");

    let denied = bot
        .sandbox
        .click("member", asked.message_id().unwrap(), &button)
        .unwrap();
    bot.handled_interaction(denied, "member click").await;
    assert!(bot.sandbox.modal(denied).is_none(), "no form for a member");

    let click = bot
        .sandbox
        .click("recruiter", asked.message_id().unwrap(), &button)
        .unwrap();
    bot.handled_interaction(click, "reason button").await;
    let form = bot.sandbox.modal(click).expect("the reason form");
    assert!(form["title"].as_str().unwrap().contains("C1CE"), "{form}");
    let mark = bot.sandbox.mark();
    let submit = bot
        .sandbox
        .submit_modal("recruiter", click, &[("reason", "the lead asked for them")])
        .unwrap();
    bot.handled_interaction(submit, "reason form").await;
    let done = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .find(|r| r.channel == "W0400-rue")
        .expect("the answer in the ticket");
    assert!(
        done.content()
            .starts_with("✅ Reserved 1 seat in C1CE for Rue (recruit)"),
        "{}",
        done.content()
    );
    let rows = bot.query("SELECT clan_tag, notes, recruiter_id FROM reservations");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["notes"], "the lead asked for them");
    assert_eq!(
        rows[0]["recruiter_id"],
        clanhall_sandbox::world::user("recruiter")
            .unwrap()
            .id
            .to_string()
    );
    bot.stop().await;
}
