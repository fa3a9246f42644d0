use super::*;
use crate::onboarding::flow::tests::q;
use crate::onboarding::tables::{SessionStatus, TicketStatus};
use crate::tabs::questions::QuestionType;
use serde_json::json;

#[test]
fn numbers_are_compact_from_a_thousand() {
    assert_eq!(compact(999.0), "999");
    assert_eq!(compact(12_500.0), "12.5K");
    assert_eq!(compact(950_000.0), "950K");
    assert_eq!(compact(1_234_567.0), "1.2M");
    assert_eq!(compact(3_000_000_000.0), "3B");
}

#[test]
fn the_summary_embed_snapshot() {
    let mut notes = q(7, "notes", QuestionType::Paragraph, "", "");
    notes.label = "Anything else?".into();
    let mut ign = q(1, "ign", QuestionType::Short, "", "");
    ign.label = "In-game name?".into();
    let mut power = q(2, "power", QuestionType::Number, "", "");
    power.label = "Power?".into();
    let mut siege = q(3, "siege", QuestionType::Bool, "", "");
    siege.label = "Siege?".into();
    let mut cvc = q(4, "cvc_points", QuestionType::Number, "", "");
    cvc.label = "CvC points?".into();
    let mut style = q(5, "style", QuestionType::SingleSelect, "", "");
    style.label = "Playstyle?".into();
    let skipped = q(
        6,
        "prev_clan",
        QuestionType::Short,
        "skip_if(siege == false)",
        "",
    );
    let (f, _) = Flow::compile("welcome", &[ign, power, siege, cvc, style, skipped, notes]);
    let s = Session {
        thread_id: 9,
        user_id: 205,
        flow: "welcome".into(),
        status: SessionStatus::Completed,
        step: None,
        answers: [
            ("ign", json!("Rue")),
            ("power", json!(12_500_000)),
            ("siege", json!(false)),
            ("cvc_points", json!(0)),
            ("style", json!("casual")),
            ("prev_clan", json!("Old clan (skipped)")),
            ("notes", json!("none")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        schema_hash: f.hash.clone(),
        schema_notice: false,
        card_message_id: None,
        summary_message_id: None,
        started_at: "2026-12-01T10:00:00.000Z".into(),
        updated_at: "2026-12-01T10:05:00.000Z".into(),
        completed_at: Some("2026-12-01T10:05:00.000Z".into()),
    };
    let t = Ticket {
        thread_id: 9,
        number: "W0042".into(),
        flow: "welcome".into(),
        subject_id: Some(205),
        subject_name: "Rue".into(),
        thread_name: "W0042-rue-the-brave".into(),
        status: TicketStatus::Open,
        panel_message_id: None,
        clantag: String::new(),
        created_at: String::new(),
        updated_at: String::new(),
        closed_at: None,
    };
    let e = build(Some(&f), &s, &t, "Rue").unwrap();
    let snapshot = serde_json::to_string_pretty(&e).unwrap();
    assert_eq!(
        snapshot,
        r#"[
  {
    "title": "New applicant: Rue",
    "description": "Ticket **W0042** • flow `welcome` • <@205>",
    "fields": [
      {
        "name": "Identity & intent",
        "value": "**In-game name?** Rue\n**Playstyle?** casual",
        "inline": false
      },
      {
        "name": "Progress & bossing",
        "value": "**Power?** 12.5M",
        "inline": false
      }
    ],
    "footer": "Completed 2026-12-01T10:05:00.000Z",
    "color": 3066993
  }
]"#
    );
    assert_eq!(
        build(None, &s, &t, "Rue"),
        Err(SummaryError::FlowMissing("welcome".into()))
    );
}
