use super::*;
use crate::tabs::questions::{Question, QuestionType};
use serde_json::json;

pub(crate) fn q(order: u32, qid: &str, kind: QuestionType, vis: &str, nav: &str) -> Question {
    Question {
        row: order as usize + 1,
        flow: "welcome".into(),
        order,
        qid: qid.into(),
        label: format!("{qid}?"),
        kind,
        required: true,
        maxlen: None,
        validate: String::new(),
        help: String::new(),
        options: vec!["casual".into(), "competitive".into()],
        visibility_rules: vis.into(),
        nav_rules: nav.into(),
        section: String::new(),
    }
}

fn answers(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn qids(f: &Flow, p: &Path) -> Vec<String> {
    p.steps.iter().map(|i| f.steps[*i].q.qid.clone()).collect()
}

#[test]
fn skip_if_hides_a_question_and_show_if_needs_its_condition() {
    let (f, problems) = Flow::compile(
        "welcome",
        &[
            q(1, "clan_type", QuestionType::SingleSelect, "", ""),
            q(
                2,
                "war",
                QuestionType::Bool,
                r#"skip_if(clan_type == "casual")"#,
                "",
            ),
            q(3, "prev", QuestionType::Short, "show_if(war == true)", ""),
        ],
    );
    assert!(problems.is_empty(), "{problems:?}");
    let casual = answers(&[("clan_type", json!("Casual"))]);
    assert_eq!(
        qids(&f, &f.path(&casual)),
        ["clan_type"],
        "war skipped, so prev hidden"
    );
    let comp = answers(&[("clan_type", json!("competitive")), ("war", json!(true))]);
    assert_eq!(qids(&f, &f.path(&comp)), ["clan_type", "war", "prev"]);
}

#[test]
fn precedence_is_skip_then_require_then_optional_then_show() {
    let (f, _) = Flow::compile(
        "welcome",
        &[
            q(1, "a", QuestionType::Bool, "", ""),
            q(
                2,
                "b",
                QuestionType::Short,
                "optional_if(a == true)\nrequire_if(a == true)",
                "",
            ),
            q(
                3,
                "c",
                QuestionType::Short,
                "skip_if(a == true); require_if(a == true)",
                "",
            ),
            q(4, "d", QuestionType::Short, "optional_if(a)", ""),
        ],
    );
    let v = f.visibility(&answers(&[("a", json!(true))]));
    assert_eq!(
        v[1],
        Shown {
            shown: true,
            required: true
        }
    );
    assert_eq!(
        v[2],
        Shown {
            shown: false,
            required: false
        }
    );
    assert_eq!(
        v[3],
        Shown {
            shown: true,
            required: false
        }
    );
}

#[test]
fn a_hidden_questions_answer_does_not_count_for_the_others() {
    // b shows only when a is yes; c shows only when b is yes. With a = no, b is hidden,
    // so its stale "yes" must not keep c visible: a fixed point, not one pass.
    let (f, _) = Flow::compile(
        "welcome",
        &[
            q(1, "a", QuestionType::Bool, "", ""),
            q(2, "b", QuestionType::Bool, "show_if(a == true)", ""),
            q(3, "c", QuestionType::Short, "show_if(b == true)", ""),
        ],
    );
    let v = f.visibility(&answers(&[("a", json!(false)), ("b", json!(true))]));
    assert_eq!(
        v.iter().map(|s| s.shown).collect::<Vec<_>>(),
        [true, false, false]
    );
}

#[test]
fn goto_jumps_forward_and_a_cycle_is_reported_and_stopped() {
    let (f, problems) = Flow::compile(
        "welcome",
        &[
            q(
                1,
                "has_clan",
                QuestionType::Bool,
                "",
                "goto_if(has_clan == false, target=tz)",
            ),
            q(2, "prev", QuestionType::Short, "", ""),
            q(
                3,
                "tz",
                QuestionType::Short,
                "",
                "goto_if(tz == \"back\", target=has_clan)",
            ),
            q(4, "end", QuestionType::Short, "", ""),
        ],
    );
    let no = answers(&[("has_clan", json!(false))]);
    assert_eq!(qids(&f, &f.path(&no)), ["has_clan", "tz", "end"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].qid, "tz");
    assert!(
        problems[0]
            .message
            .contains("cycle: has_clan → prev → tz → has_clan"),
        "{}",
        problems[0]
    );
    let looping = answers(&[("has_clan", json!(false)), ("tz", json!("back"))]);
    let p = f.path(&looping);
    assert_eq!(
        qids(&f, &p),
        ["has_clan", "tz", "end"],
        "the jump back is not taken"
    );
    assert_eq!(p.cycle, Some(("tz".into(), "has_clan".into())));
}

#[test]
fn problems_name_the_row_qid_column_and_position() {
    let (_, problems) = Flow::compile(
        "welcome",
        &[
            q(1, "a", QuestionType::Short, "skip_if(a ==)", ""),
            q(
                2,
                "b",
                QuestionType::Short,
                "skip_if(nobody == 1)",
                "goto_if(b, target=nowhere)",
            ),
            q(3, "c", QuestionType::Short, "goto_if(c, target=a)", ""),
        ],
    );
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "Questions row 2 (welcome, a), column visibility_rules: at position 13: expected a value, a question id or `(` (the rule is ignored)",
            "Questions row 3 (welcome, b), column visibility_rules: unknown qid nobody (position 9) in flow welcome (the rule is ignored)",
            "Questions row 3 (welcome, b), column nav_rules: goto target nowhere is not a qid of flow welcome (the rule is ignored)",
            "Questions row 4 (welcome, c), column visibility_rules: at position 1: goto_if belongs in nav_rules",
        ]
    );
}

#[test]
fn the_hash_changes_with_the_questions_only() {
    let base = [q(1, "a", QuestionType::Short, "", "")];
    let (f1, _) = Flow::compile("welcome", &base);
    let (f2, _) = Flow::compile("welcome", &base);
    assert_eq!(f1.hash, f2.hash);
    let (f3, _) = Flow::compile("welcome", &[q(1, "a", QuestionType::Number, "", "")]);
    assert_ne!(f1.hash, f3.hash);
}
