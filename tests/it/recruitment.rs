//! Recruitment through the sandbox: `clanmatch` and `clansearch` panels (filters,
//! pages, owners, restarts), `clan <tag>` profiles, `welcome`, and the daily recruiter
//! report.

use std::time::Duration;

use clanhall_sandbox::Reply;
use serde_json::Value;

use crate::support::bot::{BotOptions, TestBot, sample_copy};

fn msg(bot: &TestBot, id: u64) -> Value {
    bot.sandbox.message(id).expect("the message exists")
}

fn embed(m: &Value, i: usize) -> (String, String, String) {
    let e = &m["embeds"][i];
    let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
    (
        s("title"),
        s("description"),
        e["footer"]["text"].as_str().unwrap_or("").to_owned(),
    )
}

/// Every custom id on a message, row by row.
fn ids(m: &Value) -> Vec<String> {
    m["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

fn id_ending(m: &Value, tail: &str) -> String {
    ids(m)
        .into_iter()
        .find(|i| i.ends_with(tail))
        .unwrap_or_else(|| panic!("no component ending {tail}: {:?}", ids(m)))
}

/// Tags in a `clanmatch` result page, in order.
fn listed(description: &str) -> Vec<String> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `user` opens a panel (`!clanmatch` / `!clansearch`) in `channel`: (panel, results).
async fn open(bot: &TestBot, user: &str, channel: &str, line: &str) -> (u64, u64) {
    let replies: Vec<Reply> = bot.ask(user, channel, line).await;
    let ids: Vec<u64> = replies
        .iter()
        .filter(|r| r.channel == channel)
        .filter_map(Reply::message_id)
        .collect();
    assert_eq!(ids.len(), 2, "a panel and its results: {replies:?}");
    (ids[0], ids[1])
}

#[tokio::test]
async fn clanmatch_filters_pages_refuses_others_and_survives_a_restart() {
    let mut bot = TestBot::start().await;
    let (panel, results) = open(&bot, "recruiter", "recruiters", "!clanmatch").await;
    let p = msg(&bot, panel);
    assert_eq!(
        p["components"].as_array().unwrap().len(),
        5,
        "five rows at most"
    );
    let (title, description, footer) = embed(&msg(&bot, results), 0);
    assert_eq!(
        title, "24 clans matching",
        "the sample has 24 clans with open seats"
    );
    assert_eq!(
        listed(&description)[..3],
        ["C2CD", "C1CZ", "C1CW"],
        "most seats first"
    );
    assert!(footer.ends_with("page 1/3"), "{footer}");

    let next = id_ending(&msg(&bot, results), ":page:1");
    bot.click("recruiter", results, &next).await;
    let (_, page2, footer) = embed(&msg(&bot, results), 0);
    assert!(footer.ends_with("page 2/3"), "{footer}");
    assert_eq!(listed(&page2).len(), 10);
    assert!(page2.starts_with("**11. "), "{page2}");

    let cb = id_ending(&p, ":f:cb");
    bot.pick("recruiter", panel, &cb, &["UNM"]).await;
    let (title, description, footer) = embed(&msg(&bot, results), 0);
    assert_eq!(title, "4 clans matching");
    assert_eq!(listed(&description), ["C1CD", "C1CA", "C1CB", "C1CH"]);
    assert!(
        footer.contains("CB ≥ UNM") && footer.ends_with("page 1/1"),
        "{footer}"
    );
    assert!(ids(&msg(&bot, results)).is_empty(), "one page: no pager");

    // Someone else's click changes nothing and is told so, only them.
    let mark = bot.sandbox.mark();
    let hydra = id_ending(&p, ":f:hydra");
    bot.pick("staff", panel, &hydra, &["NM"]).await;
    let refusal = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .find(|r| r.ephemeral)
        .expect("an ephemeral refusal");
    assert_eq!(
        refusal.content(),
        "Not your panel — type `!clanmatch` for your own."
    );
    assert_eq!(embed(&msg(&bot, results), 0).0, "4 clans matching");

    // After a restart the same panel's selects and buttons still work.
    bot.restart_bot().await;
    bot.pick("recruiter", panel, &hydra, &["NM"]).await;
    let (title, description, _) = embed(&msg(&bot, results), 0);
    assert_eq!(
        (title.as_str(), listed(&description)),
        ("1 clan matching", vec!["C1CA".to_owned()])
    );
    let roster = id_ending(&msg(&bot, panel), ":roster");
    bot.click("recruiter", panel, &roster).await;
    let (title, description, _) = embed(&msg(&bot, results), 0);
    assert_eq!(
        title, "1 clan matching",
        "roster full: C1CE (UNM, Hydra NM)"
    );
    assert_eq!(listed(&description), ["C1CE"]);

    // A second clanmatch here points to the live panel instead of a new one.
    let replies = bot.say_in("recruiter", "recruiters", "!clanmatch").await;
    assert!(
        replies
            .iter()
            .any(|r| r.starts_with("Your clanmatch panel") && r.contains(&format!("/{panel}"))),
        "a link to the panel: {replies:?}"
    );
    let panels = bot.messages_starting("recruiters", "**clanmatch**").len();
    assert_eq!(panels, 1, "no second panel");
    bot.stop().await;
}

#[tokio::test]
async fn a_filter_whose_results_edit_is_slow_is_deferred_in_time_and_completed() {
    use clanhall_sandbox::faults::HttpFault;
    let bot = TestBot::start().await;
    let (panel, results) = open(&bot, "recruiter", "recruiters", "!clanmatch").await;
    // Discord takes 3.5 s to edit the results: longer than an interaction may wait.
    let channel = clanhall_sandbox::world::channel("recruiters").unwrap().id;
    bot.sandbox.fail_http(
        Some("PATCH"),
        &format!("/channels/{channel}/messages/{results}"),
        HttpFault::Delay(Duration::from_millis(3500)),
        Some(1),
    );
    let mark = bot.sandbox.record().entries().last().map_or(0, |e| e.seq);
    let cb = id_ending(&msg(&bot, panel), ":f:cb");
    bot.pick("recruiter", panel, &cb, &["UNM"]).await;
    let entries: Vec<_> = bot
        .sandbox
        .record()
        .entries()
        .into_iter()
        .filter(|e| e.seq > mark)
        .collect();
    let callbacks: Vec<_> = entries
        .iter()
        .filter(|e| e.path.contains("/callback"))
        .collect();
    assert_eq!(callbacks.len(), 1, "{callbacks:?}");
    assert_eq!(callbacks[0].body["type"], 6, "a deferred update");
    assert_eq!(callbacks[0].status, Some(204), "accepted within 3 s");
    let completed = entries
        .iter()
        .find(|e| e.method == "PATCH" && e.path.contains("/messages/@original"))
        .expect("the panel's update delivered by editing the original response");
    assert_eq!(completed.status, Some(200));
    assert_eq!(embed(&msg(&bot, results), 0).0, "4 clans matching");
    // The panel itself, edited through the deferred response, shows UNM picked.
    let panel_now = msg(&bot, panel);
    let picked: Vec<&str> = panel_now["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter(|c| c["custom_id"].as_str() == Some(cb.as_str()))
        .flat_map(|c| c["options"].as_array().into_iter().flatten())
        .filter(|o| o["default"] == true)
        .filter_map(|o| o["value"].as_str())
        .collect();
    assert_eq!(picked, ["UNM"], "{panel_now}");
    bot.stop().await;
}

#[tokio::test]
async fn a_member_is_refused_clanmatch_with_the_tier() {
    let bot = TestBot::start().await;
    let replies = bot.say_in("member", "general", "!clanmatch").await;
    assert!(
        replies.iter().any(|r| r.contains("recruiter")),
        "the refusal names the tier: {replies:?}"
    );
    assert!(
        bot.query("SELECT id FROM recruitment_panels").is_empty(),
        "no panel was made"
    );
    bot.stop().await;
}

#[tokio::test]
async fn clansearch_flips_a_card_and_says_when_nothing_matches() {
    let bot = TestBot::start().await;
    let (panel, results) = open(&bot, "member", "general", "!clansearch").await;
    let r = msg(&bot, results);
    assert_eq!(
        r["embeds"].as_array().unwrap().len(),
        5,
        "five cards a page"
    );
    assert_eq!(embed(&r, 0).0, "Driftwood Hall | C2CD");
    assert!(r["content"].as_str().unwrap().contains("page 1/5"));
    let flip = id_ending(&r, ":flip:C2CD");
    bot.click("member", results, &flip).await;
    let (title, description, _) = embed(&msg(&bot, results), 0);
    assert_eq!(title, "Driftwood Hall | C2CD — entry criteria");
    assert_eq!(description, "Any keys");
    assert_eq!(
        embed(&msg(&bot, results), 1).0,
        "Zenith Rising | C1CZ",
        "only that card flipped"
    );
    bot.click("member", results, &flip).await;
    assert_eq!(embed(&msg(&bot, results), 0).0, "Driftwood Hall | C2CD");

    // Text that no clan has: the zero-results message, with what to loosen.
    let text = id_ending(&msg(&bot, panel), ":text");
    let i = bot.sandbox.click("member", panel, &text).unwrap();
    bot.handled_interaction(i, &text).await;
    assert!(bot.sandbox.modal(i).is_some(), "the text form opened");
    let s = bot
        .sandbox
        .submit_modal("member", i, &[("q", "zzzz")])
        .unwrap();
    bot.handled_interaction(s, "textm").await;
    let content = msg(&bot, results)["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(content.starts_with("No matching clans found."), "{content}");
    assert!(
        content.contains("Loosen") && content.contains("the text"),
        "{content}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn clan_profile_flips_to_criteria_and_back_and_unknown_tags_get_suggestions() {
    let mut bot = TestBot::start().await;
    let replies = bot.ask("member", "general", "!clan c1ca").await;
    let id = replies[0].message_id().unwrap();
    let m = msg(&bot, id);
    assert_eq!(embed(&m, 0).0, "Ashen Vanguard | C1CA");
    let text = replies[0].text();
    for part in [
        "Brannoc",
        "Kestrel",
        "Competitive",
        "UNM",
        "2 open · 0 reserved · 1 inactive",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    bot.restart_bot().await;
    bot.click("member", id, "clan:C1CA:criteria").await;
    let (title, description, _) = embed(&msg(&bot, id), 0);
    assert_eq!(title, "Ashen Vanguard | C1CA — entry criteria");
    assert_eq!(description, "UNM 2 keys, Hydra NM 200M+");
    bot.click("member", id, "clan:C1CA:profile").await;
    assert_eq!(embed(&msg(&bot, id), 0).0, "Ashen Vanguard | C1CA");

    let unknown = bot.say_in("member", "general", "!clan C1XA").await;
    assert!(
        unknown[0].starts_with("There is no clan `C1XA`. Closest tags: `C1CA`"),
        "{unknown:?}"
    );
    bot.stop().await;
}

/// The sample workbook with `edit` applied to its WelcomeTemplates rows.
fn with_templates(extra: &str) -> tempfile::TempDir {
    let wb = sample_copy();
    let path = wb.path().join("WelcomeTemplates.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(extra);
    std::fs::write(&path, text).unwrap();
    wb
}

#[tokio::test]
async fn welcome_fills_tokens_falls_back_to_default_refuses_inactive_and_reports_unknown() {
    let wb = with_templates(
        "C1CB,Hi {USERNAME},\"{MENTION} {USERNAME} {CLAN} {CLANTAG} {GUILD} {NOW} {INVITER} {CLANLEAD} {DEPUTIES} {RECRUITER}\",,,,Y,Y\n",
    );
    let bot = TestBot::on_workbook(wb.path()).await;
    let recruit = clanhall_sandbox::world::user("recruit").unwrap().id;

    // C1CA: a blank title, footer and ping_user come from DEFAULT.
    let replies = bot.ask("staff", "general", "!welcome C1CA @recruit").await;
    let posted = replies
        .iter()
        .find(|r| r.channel == "general" && !r.embeds().is_empty())
        .expect("the welcome");
    let m = posted.message.clone().unwrap();
    let (title, body, footer) = embed(&m, 0);
    assert_eq!(title, "Welcome to Ashen Vanguard!");
    assert!(
        body.starts_with(&format!("<@{recruit}>, welcome to the Vanguard!")),
        "{body}"
    );
    assert!(footer.starts_with("Placed by "), "{footer}");
    assert_eq!(
        m["content"],
        format!("<@{recruit}>"),
        "ping_user Y (from DEFAULT)"
    );
    let pings: Vec<String> = serde_json::from_value(m["mentions"].clone())
        .map(|v: Vec<Value>| {
            v.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(pings, [recruit.to_string()], "only the recruit is pinged");

    // Every token, and an unknown one left visible and reported to staff.
    let replies = bot.ask("staff", "general", "!welcome C1CB @recruit").await;
    let posted = replies
        .iter()
        .find(|r| r.channel == "general" && !r.embeds().is_empty())
        .unwrap();
    let (title, body, _) = embed(posted.message.as_ref().unwrap(), 0);
    assert_eq!(title, "Hi Rue (recruit)");
    assert!(
        body.starts_with(&format!("<@{recruit}> Rue (recruit) Blades of Dawn C1CB ")),
        "{body}"
    );
    assert!(body.contains(" Seraphine Odo, Lin {RECRUITER}"), "{body}");
    assert!(
        !body.contains("{NOW}") && !body.contains("{GUILD}") && !body.contains("{INVITER}"),
        "{body}"
    );
    let note = replies
        .iter()
        .map(Reply::content)
        .find(|c| c.contains("does not know"))
        .expect("staff are told about the unknown token");
    assert!(note.contains("`{RECRUITER}`"), "{note}");

    // An inactive row: refused with the fix.
    let inactive = bot
        .say_in("staff", "general", "!welcome C1CR @recruit")
        .await;
    assert!(
        inactive
            .iter()
            .any(|r| r.contains("WelcomeTemplates row C1CR is inactive; set active to Y")),
        "{inactive:?}"
    );
    // A member may not post welcomes.
    let denied = bot
        .say_in("member", "general", "!welcome C1CA @recruit")
        .await;
    assert!(denied.iter().any(|r| r.contains("staff")), "{denied:?}");
    // The log channel has a line per welcome.
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            bot.sandbox
                .channel_messages("ops-log")
                .iter()
                .any(|m| m.to_string().contains("welcomed Rue (recruit) to C1CB"))
        })
        .await,
        "a log line"
    );
    bot.stop().await;
}

#[tokio::test]
async fn welcome_without_a_row_or_default_names_the_tab_to_fix() {
    let wb = sample_copy();
    std::fs::write(
        wb.path().join("WelcomeTemplates.csv"),
        "tag,title,body,footer,target_channel_id,crest_url,ping_user,active\nC1CE,Hi,{MENTION},,,,Y,Y\n",
    )
    .unwrap();
    let bot = TestBot::on_workbook(wb.path()).await;
    let r = bot
        .say_in("staff", "general", "!welcome C1CA @recruit")
        .await;
    assert!(
        r.iter().any(
            |t| t.contains("No WelcomeTemplates row for C1CA and no DEFAULT row")
                && t.contains("WelcomeTemplates tab")
        ),
        "{r:?}"
    );
    bot.stop().await;
}

/// The sample workbook with the recruiter report switched on.
fn reports_on() -> tempfile::TempDir {
    let wb = sample_copy();
    let path = wb.path().join("FeatureToggles.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("recruitment_reports,false", "recruitment_reports,true");
    std::fs::write(&path, text).unwrap();
    wb
}

fn reports(bot: &TestBot) -> Vec<Value> {
    bot.messages_starting("recruiters", "# Update ")
}

async fn at(
    wb: &tempfile::TempDir,
    day: chrono::NaiveDate,
    h: u32,
    m: u32,
) -> (std::sync::Arc<clanhall::testing::ManualClock>, TestBot) {
    let clock = std::sync::Arc::new(clanhall::testing::ManualClock::new(
        day.and_hms_opt(h, m, 0).unwrap().and_utc(),
    ));
    let opts = BotOptions {
        workbook: wb.path().display().to_string(),
        clock: Some(clock.clone()),
        ..Default::default()
    };
    (clock, TestBot::start_with(opts, |_| ()).await)
}

#[tokio::test]
async fn the_report_posts_at_its_time_once_and_its_buttons_work_after_a_restart() {
    let wb = reports_on();
    let day = chrono::Utc::now().date_naive();
    let (clock, mut bot) = at(&wb, day, 9, 29).await;
    assert!(reports(&bot).is_empty(), "not before 09:30");
    clock.advance(Duration::from_secs(90));
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            reports(&bot).len() == 1
        })
        .await,
        "posted at 09:30"
    );
    let r = reports(&bot).remove(0);
    let content = r["content"].as_str().unwrap();
    assert_eq!(
        content,
        format!("# Update {day}\n<@&{}>", 1200000000000000103u64),
        "the headline pings the recruiter role"
    );
    let (title, _, _) = embed(&r, 0);
    assert_eq!(title, "Summary Open Spots");
    let overview = r["embeds"][0]["fields"][0]["value"].as_str().unwrap();
    assert!(
        overview.starts_with("🔹 **Overall:** open 98 | inactives 56 | reserved 0"),
        "{overview}"
    );
    let per = r["embeds"][0]["fields"][1]["value"].as_str().unwrap();
    assert!(
        per.contains("**Elite:**") && per.contains("**Unbracketed:**"),
        "{per}"
    );
    let id: u64 = r["id"].as_str().unwrap().parse().unwrap();
    let brackets = id_ending(&r, ":brackets");
    let summary = id_ending(&r, ":summary");

    bot.restart_bot().await;
    bot.click("recruiter", id, &brackets).await;
    assert_eq!(embed(&msg(&bot, id), 0).0, "Bracket Details");
    bot.click("recruiter", id, &summary).await;
    assert_eq!(embed(&msg(&bot, id), 0).0, "Summary Open Spots");
    let again = bot
        .say_in("admin", "general", "!ops jobs run report:recruiters")
        .await;
    assert!(again.iter().any(|t| t.contains("ran")), "{again:?}");
    assert_eq!(reports(&bot).len(), 1, "never twice a day");
    bot.stop().await;
}

#[tokio::test]
async fn a_report_missed_while_down_is_posted_once_at_start() {
    let wb = reports_on();
    let day = chrono::Utc::now().date_naive();
    let (_clock, mut bot) = at(&wb, day, 11, 0).await;
    assert!(
        crate::support::eventually(Duration::from_secs(10), || async {
            reports(&bot).len() == 1
        })
        .await,
        "caught up at start"
    );
    bot.restart_bot().await;
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            !bot.query("SELECT id FROM job_runs WHERE job = 'report:recruiters' AND result = 'ok'")
                .is_empty()
        })
        .await
    );
    assert_eq!(
        reports(&bot).len(),
        1,
        "a restart the same day posts nothing"
    );
    bot.stop().await;
}

#[tokio::test]
async fn report_recruiters_posts_now_for_admins_only() {
    let wb = reports_on();
    // Before the day's time, so the scheduled report does not catch up meanwhile.
    let (_clock, bot) = at(&wb, chrono::Utc::now().date_naive(), 8, 0).await;
    let denied = bot.say_in("staff", "general", "!report recruiters").await;
    assert!(denied.iter().any(|t| t.contains("admin")), "{denied:?}");
    let before = reports(&bot).len();
    let ok = bot.say_in("admin", "general", "!report recruiters").await;
    assert!(
        ok.iter().any(|t| t.contains("Recruiter update posted")),
        "{ok:?}"
    );
    assert_eq!(reports(&bot).len(), before + 1);
    bot.stop().await;
}

#[tokio::test]
async fn slash_forms_answer_and_welcome_refresh_is_for_admins() {
    let bot = TestBot::start().await;
    let replies = bot.ask_slash("member", "general", "/clan tag:C1CB").await;
    assert!(
        replies.iter().any(|r| r
            .embeds()
            .first()
            .is_some_and(|e| e["title"] == "Blades of Dawn | C1CB")),
        "{replies:?}"
    );
    let replies = bot.ask_slash("recruiter", "recruiters", "/clanmatch").await;
    assert!(
        replies
            .iter()
            .any(|r| r.ephemeral && r.content() == "Your panel is below."),
        "{replies:?}"
    );
    assert!(
        replies.iter().any(|r| r
            .embeds()
            .first()
            .is_some_and(|e| e["title"] == "24 clans matching")),
        "{replies:?}"
    );
    let denied = bot.say_in("staff", "general", "!welcome-refresh").await;
    assert!(denied.iter().any(|t| t.contains("admin")), "{denied:?}");
    let ok = bot.say_in("admin", "general", "!welcome-refresh").await;
    assert!(
        ok.iter()
            .any(|t| t
                .starts_with("✅ WelcomeTemplates re-read: 4 clan templates (plus DEFAULT: yes).")),
        "{ok:?}"
    );
    bot.stop().await;
}
