use super::*;
use crate::onboarding::flow::tests::q;
use crate::onboarding::tables::SessionStatus;
use crate::tabs::questions::QuestionType;
use serde_json::json;
use std::collections::BTreeMap;

fn flow() -> Flow {
    let mut power = q(2, "power", QuestionType::Number, "", "");
    power.validate = "int;min=0;max=99999999".into();
    let mut modes = q(4, "modes", QuestionType::MultiSelect(Some(2)), "", "");
    modes.options = (1..=30).map(|i| format!("m{i}")).collect();
    modes.required = false;
    Flow::compile(
        "welcome",
        &[
            q(1, "ign", QuestionType::Short, "", ""),
            power,
            q(3, "style", QuestionType::SingleSelect, "", ""),
            modes,
            q(5, "ok", QuestionType::Bool, "", ""),
        ],
    )
    .0
}

fn session(f: &Flow) -> Session {
    start(
        f,
        Session {
            thread_id: 9,
            user_id: 205,
            flow: "welcome".into(),
            status: SessionStatus::Active,
            step: None,
            answers: BTreeMap::new(),
            schema_hash: String::new(),
            schema_notice: false,
            card_message_id: Some(1),
            summary_message_id: None,
            started_at: "t0".into(),
            updated_at: "t0".into(),
            completed_at: None,
        },
    )
}

fn text(qid: &str, t: &str) -> Action {
    Action::Answer {
        qid: qid.into(),
        input: Input::Text(t.into()),
    }
}

#[test]
fn a_run_through_every_type_completes_with_every_answer() {
    let f = flow();
    let mut s = session(&f);
    assert_eq!(s.step.as_deref(), Some("ign"));
    let out = step(&f, &s, text("ign", "Rue"), "t1");
    assert_eq!((out.view.position, out.view.total), (2, 5));
    s = out.session;
    let out = step(&f, &s, text("power", "twelve"), "t2");
    assert!(!out.changed);
    assert_eq!(
        out.view.hint.as_deref(),
        Some("Expected a whole number between 0 and 99,999,999 — for example 1250000 or 1.25M.")
    );
    assert_eq!(out.session.step.as_deref(), Some("power"), "the card stays");
    s = step(&f, &s, text("power", "1.25M"), "t3").session;
    s = step(
        &f,
        &s,
        Action::Pick {
            qid: "style".into(),
            page: 0,
            values: vec!["casual".into()],
        },
        "t4",
    )
    .session;
    assert_eq!(s.step.as_deref(), Some("modes"));
    // 30 options: two pages; picks on both pages add up, and a paged multi-select waits
    // for Next.
    let out = step(
        &f,
        &s,
        Action::OptionPage {
            qid: "modes".into(),
            page: 1,
        },
        "t5",
    );
    assert_eq!(out.view.option_page, 1);
    s = step(
        &f,
        &s,
        Action::Pick {
            qid: "modes".into(),
            page: 0,
            values: vec!["m2".into()],
        },
        "t6",
    )
    .session;
    s = step(
        &f,
        &s,
        Action::Pick {
            qid: "modes".into(),
            page: 1,
            values: vec!["m27".into()],
        },
        "t7",
    )
    .session;
    assert_eq!(s.answers["modes"], json!(["m2", "m27"]));
    let out = step(
        &f,
        &s,
        Action::Pick {
            qid: "modes".into(),
            page: 1,
            values: vec!["m26".into(), "m27".into()],
        },
        "t8",
    );
    assert_eq!(
        out.view.hint.as_deref(),
        Some("Pick at most 2 (you picked 3).")
    );
    s = step(
        &f,
        &s,
        Action::Next {
            qid: "modes".into(),
        },
        "t9",
    )
    .session;
    let out = step(
        &f,
        &s,
        Action::Answer {
            qid: "ok".into(),
            input: Input::Bool(true),
        },
        "t10",
    );
    assert!(out.events.contains(&Event::Completed));
    assert_eq!(out.session.status, SessionStatus::Completed);
    assert_eq!(out.session.completed_at.as_deref(), Some("t10"));
    assert_eq!(out.session.answers.len(), 5);
}

#[test]
fn next_refuses_an_unanswered_required_question_and_back_goes_back() {
    let f = flow();
    let s = session(&f);
    let out = step(&f, &s, Action::Next { qid: "ign".into() }, "t1");
    assert_eq!(
        out.view.hint.as_deref(),
        Some("This question needs an answer.")
    );
    let out = step(&f, &s, Action::Back { qid: "ign".into() }, "t1");
    assert_eq!(
        out.view.hint.as_deref(),
        Some("This is the first question.")
    );
    let s = step(&f, &s, text("ign", "Rue"), "t2").session;
    let back = step(
        &f,
        &s,
        Action::Back {
            qid: "power".into(),
        },
        "t3",
    );
    assert_eq!(back.session.step.as_deref(), Some("ign"));
    assert_eq!(
        back.session.answers["ign"],
        json!("Rue"),
        "going back keeps the answer"
    );
}

#[test]
fn a_click_on_an_old_card_changes_nothing_and_shows_where_it_is() {
    let f = flow();
    let s = step(&f, &session(&f), text("ign", "Rue"), "t1").session;
    let out = step(&f, &s, text("ign", "Someone else"), "t2");
    assert!(!out.changed);
    assert_eq!(out.session.answers["ign"], json!("Rue"));
    assert_eq!(out.view.step, f.index("power"));
}

#[test]
fn cancel_pauses_and_resume_picks_up_at_the_same_question() {
    let f = flow();
    let s = step(&f, &session(&f), text("ign", "Rue"), "t1").session;
    let paused = step(
        &f,
        &s,
        Action::Pause {
            qid: "power".into(),
        },
        "t2",
    );
    assert_eq!(paused.session.status, SessionStatus::Paused);
    assert_eq!(paused.view.step, None);
    let resumed = step(&f, &paused.session, Action::Resume, "t3");
    assert_eq!(resumed.session.status, SessionStatus::Active);
    assert_eq!(resumed.view.step, f.index("power"));
    assert!(resumed.events.contains(&Event::Resumed));
}

#[test]
fn changed_questions_keep_surviving_answers_and_say_so_once() {
    let f = flow();
    let mut s = session(&f);
    s = step(&f, &s, text("ign", "Rue"), "t1").session;
    s = step(&f, &s, text("power", "5000"), "t2").session;
    // The tab changes: `power` is gone, a new question comes first.
    let (g, _) = Flow::compile(
        "welcome",
        &[
            q(0, "tz", QuestionType::Short, "", ""),
            q(1, "ign", QuestionType::Short, "", ""),
            q(3, "style", QuestionType::SingleSelect, "", ""),
        ],
    );
    let out = step(&g, &s, Action::Show, "t3");
    assert!(out.changed);
    assert_eq!(out.session.answers.keys().collect::<Vec<_>>(), ["ign"]);
    assert_eq!(
        out.events,
        [Event::SchemaChanged {
            dropped: vec!["power".into()]
        }]
    );
    assert_eq!(out.view.notice.as_deref(), Some(SCHEMA_NOTICE));
    assert_eq!(
        out.session.step.as_deref(),
        Some("style"),
        "still on the path: carry on there"
    );
    let again = step(&g, &out.session, Action::Show, "t4");
    assert_eq!(again.view.notice, None, "told once");
    // The new required question before it is asked before the end.
    let last = step(
        &g,
        &again.session,
        Action::Pick {
            qid: "style".into(),
            page: 0,
            values: vec!["casual".into()],
        },
        "t5",
    );
    assert_eq!(last.session.step.as_deref(), Some("tz"));
    assert_eq!(
        last.view.hint.as_deref(),
        Some("One more: this question needs an answer.")
    );
    assert_eq!(last.session.status, SessionStatus::Active);
}
