//! Onboarding through the sandbox: Ticket Tool opens a ticket, the greeting names the
//! applicant, the panel and the card run the Questions tab, answers survive a restart,
//! and the summary reaches the recruiters.

use std::time::Duration;

use clanhall_sandbox::ThreadChange;
use serde_json::Value;

use crate::support::bot::TestBot;
use crate::support::eventually;

const WITHIN: Duration = Duration::from_secs(10);

fn uid(key: &str) -> u64 {
    clanhall_sandbox::world::user(key).unwrap().id
}

/// Ticket Tool opens `name` in #welcome with the recruit and staff in it and greets
/// them, naming the recruit first only in the text (staff also mentioned). Returns the
/// thread and the panel message once the bot has posted it.
async fn open_ticket(bot: &TestBot, name: &str) -> (u64, u64) {
    let mark = bot.sandbox.mark();
    let thread = bot
        .sandbox
        .open_thread("tickettool", "welcome", name, true, &["recruit", "staff"])
        .unwrap();
    bot.sandbox
        .say(
            "tickettool",
            name,
            "Welcome @recruit! @staff will be with you soon. Be awake by reacting with ✅",
        )
        .unwrap();
    let panel = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Open questions"))
        .await
        .expect("the panel");
    (thread, panel.message_id().unwrap())
}

fn session(bot: &TestBot, thread: u64) -> serde_json::Map<String, Value> {
    bot.query(&format!(
        "SELECT * FROM onboarding_sessions WHERE thread_id = '{thread}'"
    ))
    .pop()
    .unwrap_or_default()
}

fn answers(bot: &TestBot, thread: u64) -> Value {
    serde_json::from_str(
        session(bot, thread)["answers_json"]
            .as_str()
            .unwrap_or("{}"),
    )
    .unwrap()
}

/// The card message once it is posted.
async fn card_id(bot: &TestBot, thread: u64) -> u64 {
    let mut id = 0;
    assert!(
        eventually(WITHIN, || {
            id = session(bot, thread)
                .get("card_message_id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            std::future::ready(id != 0)
        })
        .await,
        "the card was never posted"
    );
    id
}

/// The card's embed as it stands.
fn card(bot: &TestBot, id: u64) -> (String, String) {
    let m = bot.sandbox.message(id).expect("the card exists");
    let e = &m["embeds"][0];
    let mut text = e["description"].as_str().unwrap_or("").to_owned();
    for f in e["fields"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n{}: {}",
            f["name"].as_str().unwrap_or(""),
            f["value"].as_str().unwrap_or("")
        ));
    }
    (e["title"].as_str().unwrap_or("").to_owned(), text)
}

/// The recruit types `text` in the thread; returns the reply's id once handled.
async fn type_answer(bot: &TestBot, thread: &str, text: &str) -> u64 {
    let id = bot.sandbox.say("recruit", thread, text).unwrap();
    bot.handled_message(id, text).await;
    id
}

/// Answers through the form behind the card's Answer button.
async fn form_answer(bot: &TestBot, card: u64, t: u64, qid: &str, text: &str) {
    let i = bot
        .click("recruit", card, &format!("onb:ans:{t}:{qid}"))
        .await;
    let form = bot.sandbox.modal(i).expect("the answer form");
    assert!(form["title"].as_str().unwrap().chars().count() <= 45);
    let s = bot
        .sandbox
        .submit_modal("recruit", i, &[("answer", text)])
        .unwrap();
    bot.handled_interaction(s, "form").await;
}

#[tokio::test]
async fn a_ticket_runs_every_question_type_and_ends_with_the_summary() {
    let bot = TestBot::start().await;
    let name = "W0042-rue-the-brave";
    let (t, panel) = open_ticket(&bot, name).await;
    let ticket = bot
        .query(&format!("SELECT * FROM tickets WHERE thread_id = '{t}'"))
        .pop()
        .unwrap();
    assert_eq!(ticket["ticket_number"], "W0042");
    assert_eq!(ticket["flow"], "welcome");
    assert_eq!(
        ticket["subject_id"],
        uid("recruit").to_string(),
        "the recruit, not Ticket Tool or staff"
    );

    let open = bot.click("recruit", panel, &format!("onb:open:{t}")).await;
    let _ = open;
    let c = card_id(&bot, t).await;
    // cvc_points shows only once CvC is picked: ten questions for now.
    assert_eq!(card(&bot, c).0, "Question 1/10");

    // A plain reply answers a short question, and is captured (deleted).
    let reply = type_answer(&bot, name, "Rue").await;
    assert!(
        bot.sandbox.message(reply).is_none(),
        "the captured reply is deleted"
    );
    assert!(
        card(&bot, c).0.starts_with("Question 2/"),
        "{:?}",
        card(&bot, c)
    );

    // A wrong number gets the precise hint; the card stays on the question.
    form_answer(&bot, c, t, "power", "lots").await;
    let (title, text) = card(&bot, c);
    assert!(title.starts_with("Question 2/"), "{title}");
    assert!(
        text.contains("Expected a whole number between 0 and 99,999,999"),
        "{text}"
    );
    form_answer(&bot, c, t, "power", "12.5M").await;

    bot.pick(
        "recruit",
        c,
        &format!("onb:pick:{t}:clan_type:0"),
        &["Competitive"],
    )
    .await;
    // A select question answered by typing an option.
    type_answer(&bot, name, "unm").await;
    bot.pick(
        "recruit",
        c,
        &format!("onb:pick:{t}:war_modes:0"),
        &["CvC", "Siege"],
    )
    .await;
    // Shown only because CvC was picked.
    assert!(
        card(&bot, c).1.contains("CvC points"),
        "{:?}",
        card(&bot, c)
    );
    type_answer(&bot, name, "1,500").await;
    bot.click("recruit", c, &format!("onb:yes:{t}:has_clan"))
        .await;
    form_answer(&bot, c, t, "prev_clan", "Old Friends").await;
    type_answer(&bot, name, "UTC+1").await;
    // Optional: Next skips it.
    bot.click("recruit", c, &format!("onb:next:{t}:notes"))
        .await;
    let mark = bot.sandbox.mark();
    bot.click("recruit", c, &format!("onb:yes:{t}:rules_ok"))
        .await;
    assert!(card(&bot, c).0.contains("All done"), "{:?}", card(&bot, c));

    let summary = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("New applicant"))
        .await
        .expect("the summary");
    let text = summary.text();
    assert!(
        summary.content().contains("<@&1200000000000000103>"),
        "recruiters pinged: {}",
        summary.content()
    );
    // The post allowed exactly that role to be pinged, and nobody else.
    let post = bot
        .sandbox
        .record()
        .entries()
        .into_iter()
        .rfind(|e| {
            e.method == "POST"
                && e.body["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("finished the questions"))
        })
        .expect("the summary request");
    assert_eq!(
        post.body["allowed_mentions"]["roles"],
        serde_json::json!(["1200000000000000103"]),
        "{}",
        post.body
    );
    assert_eq!(
        post.body["allowed_mentions"]["parse"],
        serde_json::json!([]),
        "{}",
        post.body
    );
    for want in [
        "Rue",
        "12.5M",
        "Competitive",
        "UNM",
        "CvC, Siege",
        "1.5K",
        "Old Friends",
        "UTC+1",
        "W0042",
    ] {
        assert!(
            text.contains(want),
            "{want} missing from the summary:\n{text}"
        );
    }
    let a = answers(&bot, t);
    assert_eq!(a["power"], 12_500_000);
    assert_eq!(a["war_modes"], serde_json::json!(["CvC", "Siege"]));
    assert_eq!(session(&bot, t)["status"], "completed");
    let events: Vec<String> = bot
        .telemetry_events("onboarding")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    for e in ["ticket_opened", "wizard_started", "answer", "completed"] {
        assert!(events.iter().any(|x| x == e), "no {e} event in {events:?}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_restart_mid_questionnaire_keeps_every_answer_and_the_old_card_works() {
    let mut bot = TestBot::start().await;
    let name = "W0043-rue";
    let (t, panel) = open_ticket(&bot, name).await;
    bot.click("recruit", panel, &format!("onb:open:{t}")).await;
    let c = card_id(&bot, t).await;
    type_answer(&bot, name, "Rue").await;
    form_answer(&bot, c, t, "power", "950k").await;
    bot.pick(
        "recruit",
        c,
        &format!("onb:pick:{t}:clan_type:0"),
        &["Competitive"],
    )
    .await;
    bot.pick("recruit", c, &format!("onb:pick:{t}:cb_level:0"), &["NM"])
        .await;
    bot.pick("recruit", c, &format!("onb:pick:{t}:war_modes:0"), &["CvC"])
        .await;
    assert_eq!(answers(&bot, t).as_object().unwrap().len(), 5);

    bot.restart_bot().await;

    // The card posted before the restart still works, at question 6.
    assert!(
        card(&bot, c).0.starts_with("Question 6/"),
        "{:?}",
        card(&bot, c)
    );
    form_answer(&bot, c, t, "cvc_points", "2000").await;
    assert!(
        card(&bot, c).0.starts_with("Question 7/"),
        "{:?}",
        card(&bot, c)
    );
    let a = answers(&bot, t);
    assert_eq!(a["ign"], "Rue");
    assert_eq!(a["power"], 950_000);
    assert_eq!(a["cb_level"], "NM");
    assert_eq!(a["cvc_points"], 2000);

    // Staff re-post the card at the saved step.
    let replies = bot.ask("staff", "general", "!onb resume @recruit").await;
    let text: String = replies.iter().map(|r| r.text()).collect();
    assert!(text.contains("at question 7/"), "{text}");
    let again = card_id(&bot, t).await;
    assert_ne!(again, c, "a new card");
    assert!(card(&bot, again).0.starts_with("Question 7/"));
    bot.stop().await;
}

#[tokio::test]
async fn a_questions_tab_changed_mid_session_keeps_the_answers_still_asked_and_says_so_once() {
    let wb = crate::support::bot::sample_copy();
    let bot = TestBot::on_workbook(wb.path()).await;
    let name = "W0047-rue";
    let (t, panel) = open_ticket(&bot, name).await;
    bot.click("recruit", panel, &format!("onb:open:{t}")).await;
    let c = card_id(&bot, t).await;
    type_answer(&bot, name, "Rue").await;
    form_answer(&bot, c, t, "power", "950k").await;
    assert!(card(&bot, c).1.contains("What kind of clan"));

    // Staff drop the power question and reread the tab while Rue is at question 3.
    let path = wb.path().join("Questions.csv");
    let tab = std::fs::read_to_string(&path).unwrap();
    let without: String = tab
        .lines()
        .filter(|l| !l.starts_with("welcome,2,power,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without.lines().count() + 1, tab.lines().count());
    std::fs::write(&path, without).unwrap();
    let refreshed: String = bot
        .ask("staff", "general", "!ops refresh onboarding_questions")
        .await
        .iter()
        .map(|r| r.text())
        .collect();
    assert!(refreshed.contains("onboarding_questions"), "{refreshed}");

    // The next answer lands, the answer to the dropped question is gone, and the card
    // says why once.
    bot.pick(
        "recruit",
        c,
        &format!("onb:pick:{t}:clan_type:0"),
        &["Competitive"],
    )
    .await;
    let (title, text) = card(&bot, c);
    assert!(
        text.contains("The questions changed since you started"),
        "{title} {text}"
    );
    assert!(
        title.starts_with("Question 3/"),
        "one question fewer: {title}"
    );
    let a = answers(&bot, t);
    assert_eq!(a["ign"], "Rue");
    assert_eq!(a["clan_type"], "Competitive");
    assert!(a.get("power").is_none(), "{a}");
    let schema_changed = || -> Vec<Value> {
        bot.telemetry_events("onboarding")
            .into_iter()
            .filter(|e| e["action"] == "schema_changed")
            .collect()
    };
    // Telemetry is written behind the card: wait for the line, then count.
    assert!(eventually(WITHIN, || std::future::ready(!schema_changed().is_empty())).await);
    let changed = schema_changed();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["dropped"], serde_json::json!(["power"]));

    bot.pick("recruit", c, &format!("onb:pick:{t}:cb_level:0"), &["NM"])
        .await;
    let (title, text) = card(&bot, c);
    assert!(
        !text.contains("The questions changed"),
        "told once: {title} {text}"
    );
    assert_eq!(answers(&bot, t)["cb_level"], "NM");
    bot.stop().await;
}

#[tokio::test]
async fn only_the_recruit_answers_a_double_click_opens_one_session_and_renames_change_nothing() {
    let bot = TestBot::start().await;
    let name = "W0044-rue-the-brave";
    let (t, panel) = open_ticket(&bot, name).await;
    let open = format!("onb:open:{t}");
    let a = bot.sandbox.click("recruit", panel, &open).unwrap();
    let b = bot.sandbox.click("recruit", panel, &open).unwrap();
    bot.handled_interaction(a, "first click").await;
    bot.handled_interaction(b, "second click").await;
    let c = card_id(&bot, t).await;
    assert_eq!(
        bot.query(&format!(
            "SELECT * FROM onboarding_sessions WHERE thread_id = '{t}'"
        ))
        .len(),
        1
    );
    let cards = || {
        bot.sandbox
            .channel_messages(name)
            .iter()
            .filter(|m| {
                m["embeds"][0]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Question"))
            })
            .count()
    };
    assert_eq!(cards(), 1, "one card");

    let mark = bot.sandbox.mark();
    bot.sandbox.add_to_thread("staff", name, "member").unwrap();
    bot.click("member", c, &format!("onb:next:{t}:ign")).await;
    bot.click("staff", c, &format!("onb:next:{t}:ign")).await;
    let refusals: Vec<String> = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .filter(|r| r.ephemeral)
        .map(|r| r.content().to_owned())
        .collect();
    assert!(
        refusals
            .iter()
            .any(|r| r.contains("questionnaire; only they can answer")),
        "{refusals:?}"
    );
    assert!(
        refusals
            .iter()
            .any(|r| r.contains("Staff can follow it here")),
        "{refusals:?}"
    );
    assert!(
        card(&bot, c).0.starts_with("Question 1/"),
        "nobody else moved it"
    );

    bot.sandbox
        .change_thread(
            "staff",
            name,
            ThreadChange::rename("W0044-renamed-by-staff-Ω"),
        )
        .unwrap();
    assert!(
        eventually(WITHIN, || std::future::ready(
            bot.query(&format!(
                "SELECT thread_name FROM tickets WHERE thread_id = '{t}'"
            ))[0]["thread_name"]
                == "W0044-renamed-by-staff-Ω"
        ))
        .await
    );
    let ticket = bot
        .query(&format!("SELECT * FROM tickets WHERE thread_id = '{t}'"))
        .pop()
        .unwrap();
    assert_eq!(ticket["ticket_number"], "W0044");
    assert_eq!(ticket["subject_id"], uid("recruit").to_string());
    type_answer(&bot, "W0044-renamed-by-staff-Ω", "Rue").await;
    assert!(card(&bot, c).0.starts_with("Question 2/"));
    bot.stop().await;
}

#[tokio::test]
async fn a_greeting_that_names_nobody_waits_for_staff_to_bind_it() {
    let bot = TestBot::start().await;
    let name = "W0045-someone";
    let mark = bot.sandbox.mark();
    let t = bot
        .sandbox
        .open_thread("tickettool", "welcome", name, true, &["recruit", "staff"])
        .unwrap();
    bot.sandbox
        .say("tickettool", name, "A new ticket was opened.")
        .unwrap();
    let alert = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("onb bind"))
        .await
        .expect("staff are told in the log channel");
    assert_eq!(alert.channel, "ops-log");
    let ticket = bot
        .query(&format!("SELECT * FROM tickets WHERE thread_id = '{t}'"))
        .pop()
        .unwrap();
    assert_eq!(ticket["status"], "awaiting_subject");
    // Members cannot bind; staff can, in the thread.
    let denied: String = bot
        .ask("recruit", name, "!onb bind @recruit")
        .await
        .iter()
        .map(|r| r.text())
        .collect();
    assert!(denied.contains("staff"), "{denied}");
    let mark = bot.sandbox.mark();
    let ok: String = bot
        .ask("staff", name, "!onb bind @recruit")
        .await
        .iter()
        .map(|r| r.text())
        .collect();
    assert!(ok.contains("W0045"), "{ok}");
    bot.sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Open questions"))
        .await
        .expect("the panel after the bind");
    let ticket = bot
        .query(&format!("SELECT * FROM tickets WHERE thread_id = '{t}'"))
        .pop()
        .unwrap();
    assert_eq!(ticket["subject_id"], uid("recruit").to_string());
    assert_eq!(ticket["status"], "open");
    bot.stop().await;
}

/// The sample workbook with `questions` as its Questions tab.
fn workbook_with(questions: &str) -> tempfile::TempDir {
    let dir = crate::support::bot::sample_copy();
    std::fs::write(dir.path().join("Questions.csv"), questions).unwrap();
    dir
}

/// A workbook whose welcome flow has a skip rule, a jump and a cycle.
fn rules_workbook() -> tempfile::TempDir {
    workbook_with(
        "flow,order,qid,label,type,required,maxlen,validate,help,options,visibility_rules,nav_rules\n\
         welcome,1,clan_type,Clan type?,single-select,yes,,,,Casual;Competitive,,\n\
         welcome,2,war,Do you war?,bool,yes,,,,,\"skip_if(clan_type == \"\"casual\"\")\",\n\
         welcome,3,ign,Name?,short,yes,,,,,,\"goto_if(ign == \"\"skip\"\", target=tz)\"\n\
         welcome,4,power,Power?,number,yes,,,,,,\n\
         welcome,5,tz,Time zone?,short,yes,,,,,,\"goto_if(tz == \"\"again\"\", target=clan_type)\"\n\
         welcome,6,done,Done?,bool,yes,,,,,,\n",
    )
}

#[tokio::test]
async fn rules_skip_and_jump_and_a_cycle_is_reported_and_stopped() {
    let wb = rules_workbook();
    let bot = TestBot::on_workbook(wb.path()).await;
    let check: String = bot
        .ask("staff", "general", "!ops onb check")
        .await
        .iter()
        .map(|r| r.text())
        .collect();
    assert!(
        check.contains("cycle: clan_type → war → ign → power → tz → clan_type"),
        "{check}"
    );
    assert!(
        check.contains("row 6 (welcome, tz), column nav_rules"),
        "{check}"
    );
    let name = "W0046-rue";
    let (t, panel) = open_ticket(&bot, name).await;
    bot.click("recruit", panel, &format!("onb:open:{t}")).await;
    let c = card_id(&bot, t).await;
    bot.pick(
        "recruit",
        c,
        &format!("onb:pick:{t}:clan_type:0"),
        &["Casual"],
    )
    .await;
    let (title, text) = card(&bot, c);
    assert!(
        text.contains("Name?"),
        "casual skips the war question: {title} {text}"
    );
    type_answer(&bot, name, "skip").await;
    assert!(
        card(&bot, c).1.contains("Time zone?"),
        "goto_if jumped over power: {:?}",
        card(&bot, c)
    );
    // The jump back to the start is not taken: the questionnaire goes on.
    type_answer(&bot, name, "again").await;
    assert!(
        card(&bot, c).1.contains("Done?"),
        "the cycle was stopped: {:?}",
        card(&bot, c)
    );
    bot.click("recruit", c, &format!("onb:yes:{t}:done")).await;
    assert_eq!(session(&bot, t)["status"], "completed");
    assert!(answers(&bot, t).get("war").is_none());
    bot.stop().await;
}

/// The card is in the thread before Discord has told the bot its id (a slow answer),
/// and the recruit types the first answer at once: the answer waits for the card, and
/// the card moves on.
#[tokio::test]
async fn a_reply_typed_while_the_card_is_still_being_posted_lands_on_the_card() {
    use clanhall_sandbox::faults::HttpFault;
    let bot = TestBot::start().await;
    let name = "W0052-rue";
    let (t, panel) = open_ticket(&bot, name).await;
    bot.sandbox.fail_http(
        Some("POST"),
        &format!("/channels/{t}/messages"),
        HttpFault::ApplyThenDelay(Duration::from_millis(1000)),
        Some(1),
    );
    let mark = bot.sandbox.mark();
    let open = bot
        .sandbox
        .click("recruit", panel, &format!("onb:open:{t}"))
        .unwrap();
    let c = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Question 1/"))
        .await
        .expect("the card")
        .message_id()
        .unwrap();
    type_answer(&bot, name, "Rue").await;
    bot.handled_interaction(open, "open questions").await;
    until_title(&bot.sandbox, c, "Question 2/").await;
    assert_eq!(answers(&bot, t)["ign"], "Rue");
    assert_eq!(
        session(&bot, t)["card_message_id"],
        c.to_string(),
        "one card, the one posted"
    );
    bot.stop().await;
}

/// Waits until the card's title starts with `want`.
async fn until_title(sandbox: &clanhall_sandbox::Sandbox, card: u64, want: &str) {
    let title = || {
        sandbox
            .message(card)
            .and_then(|m| m["embeds"][0]["title"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    assert!(
        eventually(WITHIN, || std::future::ready(title().starts_with(want))).await,
        "the card never showed {want:?}; it shows {:?}",
        title()
    );
}

/// Clicks the card's Answer button for `qid` and submits `text` in its form.
async fn form_in(sandbox: &clanhall_sandbox::Sandbox, card: u64, t: u64, qid: &str, text: &str) {
    let i = sandbox
        .click("recruit", card, &format!("onb:ans:{t}:{qid}"))
        .unwrap();
    assert!(
        eventually(WITHIN, || std::future::ready(sandbox.modal(i).is_some())).await,
        "no form for {qid}"
    );
    sandbox
        .submit_modal("recruit", i, &[("answer", text)])
        .unwrap();
}

/// The bot as its own process, killed with SIGKILL after answer 5: the next process
/// finds answers 1–5, and the card posted by the killed one goes on at question 6.
#[tokio::test]
async fn a_sigkilled_bot_process_resumes_the_questionnaire_at_the_saved_step() {
    use crate::support::proc::{Proc, env_with};
    use clanhall_sandbox::google::DEFAULT_SHEET_ID;
    let sandbox = crate::support::bot::sample_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let guild = clanhall_sandbox::world::GUILD_ID.to_string();
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
    let mut first = Proc::spawn(&["run"], &env);
    first.port().await;
    first
        .wait_for_msg("connected to Discord", Duration::from_secs(20))
        .await;
    let name = "W0050-rue";
    let mark = sandbox.mark();
    let t = sandbox
        .open_thread("tickettool", "welcome", name, true, &["recruit", "staff"])
        .unwrap();
    sandbox
        .say(
            "tickettool",
            name,
            "Welcome @recruit! Be awake by reacting with ✅",
        )
        .unwrap();
    let panel = sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Open questions"))
        .await
        .expect("the panel")
        .message_id()
        .unwrap();
    let mark = sandbox.mark();
    sandbox
        .click("recruit", panel, &format!("onb:open:{t}"))
        .unwrap();
    let c = sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Question 1/"))
        .await
        .expect("the card")
        .message_id()
        .unwrap();
    sandbox.say("recruit", name, "Rue").unwrap();
    until_title(&sandbox, c, "Question 2/").await;
    form_in(&sandbox, c, t, "power", "950k").await;
    until_title(&sandbox, c, "Question 3/").await;
    for (qid, pick, next) in [
        ("clan_type", "Competitive", "Question 4/"),
        ("cb_level", "NM", "Question 5/"),
        ("war_modes", "CvC", "Question 6/"),
    ] {
        sandbox
            .select("recruit", c, &format!("onb:pick:{t}:{qid}:0"), &[pick])
            .unwrap();
        until_title(&sandbox, c, next).await;
    }
    first.signal(libc::SIGKILL);
    let status = first.child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");

    let db = dir.path().join("data/clanhall.db");
    let row = crate::support::bot::query_db(
        &db,
        &format!("SELECT step_qid, answers_json FROM onboarding_sessions WHERE thread_id = '{t}'"),
    )
    .pop()
    .expect("the session survived");
    assert_eq!(row["step_qid"], "cvc_points");
    let a: Value = serde_json::from_str(row["answers_json"].as_str().unwrap()).unwrap();
    assert_eq!(
        a,
        serde_json::json!({"ign": "Rue", "power": 950000, "clan_type": "Competitive", "cb_level": "NM", "war_modes": ["CvC"]})
    );

    let mut second = Proc::spawn(&["run"], &env);
    second.port().await;
    second
        .wait_for_msg("connected to Discord", Duration::from_secs(20))
        .await;
    // The old card's buttons work with the new process, at question 6.
    form_in(&sandbox, c, t, "cvc_points", "2000").await;
    until_title(&sandbox, c, "Question 7/").await;
    second.signal(libc::SIGTERM);
    let _ = second.child.wait().await;
    let row = crate::support::bot::query_db(
        &db,
        &format!("SELECT answers_json FROM onboarding_sessions WHERE thread_id = '{t}'"),
    )
    .pop()
    .unwrap();
    let a: Value = serde_json::from_str(row["answers_json"].as_str().unwrap()).unwrap();
    assert_eq!(a["cvc_points"], 2000);
    assert_eq!(a["ign"], "Rue", "answers 1–5 intact");
    sandbox.stop().await;
}

/// Discord refuses the summary: a fallback with "Retry summary" is posted instead, only
/// staff may press it, and it posts the summary rebuilt from the stored answers.
#[tokio::test]
async fn a_refused_summary_posts_a_fallback_whose_retry_rebuilds_it() {
    use clanhall_sandbox::faults::HttpFault;
    let wb = workbook_with(
        "flow,order,qid,label,type,required\n\
         welcome,1,ign,In-game name?,short,yes\n\
         welcome,2,ready,Ready?,bool,yes\n",
    );
    let bot = TestBot::on_workbook(wb.path()).await;
    let name = "W0051-rue";
    let (t, panel) = open_ticket(&bot, name).await;
    bot.click("recruit", panel, &format!("onb:open:{t}")).await;
    let c = card_id(&bot, t).await;
    type_answer(&bot, name, "Rue").await;
    // The next message posted in the thread (the summary) is refused once.
    let refuse_next_post = || {
        bot.sandbox.fail_http(
            Some("POST"),
            &format!("/channels/{t}/messages"),
            HttpFault::Status(400),
            Some(1),
        )
    };
    refuse_next_post();
    let mark = bot.sandbox.mark();
    bot.click("recruit", c, &format!("onb:yes:{t}:ready")).await;
    let fallback = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("Summary unavailable"))
        .await
        .expect("the fallback");
    let retry = format!("onbs:retry:{t}");
    assert!(
        fallback.message.as_ref().unwrap()["components"]
            .to_string()
            .contains(&retry)
    );
    assert!(
        eventually(WITHIN, || std::future::ready(
            bot.telemetry_events("onboarding")
                .iter()
                .any(|e| e["action"] == "summary_failed")
        ))
        .await
    );
    let fid = fallback.message_id().unwrap();
    // The recruit may not press it.
    let mark = bot.sandbox.mark();
    bot.click("recruit", fid, &retry).await;
    let refusal = bot
        .sandbox
        .bot_messages_since(mark)
        .into_iter()
        .find(|r| r.ephemeral)
        .expect("a refusal");
    assert!(refusal.content().contains("staff"), "{}", refusal.content());
    assert!(
        bot.sandbox
            .bot_messages_since(mark)
            .iter()
            .all(|r| !r.text().contains("New applicant")),
        "nothing posted for the recruit's click"
    );
    // Refused again: staff are told, and a new fallback stands in the thread.
    refuse_next_post();
    let mark = bot.sandbox.mark();
    bot.click("staff", fid, &retry).await;
    let again = bot.sandbox.bot_messages_since(mark);
    assert!(
        again
            .iter()
            .any(|r| r.ephemeral && r.content().contains("refused again")),
        "{again:?}"
    );
    assert!(
        again
            .iter()
            .any(|r| !r.ephemeral && r.text().contains("Summary unavailable"))
    );
    let mark = bot.sandbox.mark();
    bot.click("staff", fid, &retry).await;
    let summary = bot
        .sandbox
        .wait_bot_message(mark, WITHIN, |r| r.text().contains("New applicant"))
        .await
        .expect("the rebuilt summary");
    assert!(summary.text().contains("Rue"), "{}", summary.text());
    // The click was answered after the summary was posted and recorded.
    let stored = session(&bot, t);
    assert_eq!(
        stored["summary_message_id"],
        summary.message_id().unwrap().to_string()
    );
    let (title, _) = card(&bot, fid);
    assert_eq!(title, "Summary rebuilt");
    bot.stop().await;
}

/// In a ticket whose applicant is known, `reserve TAG` holds the seat for them.
#[tokio::test]
async fn reserve_without_a_recruit_holds_for_the_tickets_applicant() {
    let bot = TestBot::start().await;
    let name = "W0052-rue";
    let (t, _) = open_ticket(&bot, name).await;
    bot.sandbox
        .add_to_thread("staff", name, "recruiter")
        .unwrap();
    let reply: String = bot
        .ask("recruiter", name, "!reserve C1CA")
        .await
        .iter()
        .filter(|r| r.channel == name)
        .map(|r| r.text())
        .collect();
    assert!(reply.starts_with("✅ Reserved"), "{reply}");
    let held =
        bot.query("SELECT ticket_user_id, thread_id FROM reservations WHERE status = 'active'");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["ticket_user_id"], uid("recruit").to_string());
    assert_eq!(held[0]["thread_id"], t.to_string());
    bot.stop().await;
}
