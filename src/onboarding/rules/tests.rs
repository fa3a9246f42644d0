use super::*;
use proptest::prelude::*;

fn answers<'a>(pairs: &'a [(&'a str, Value)]) -> impl Fn(&str) -> Value + 'a {
    move |q: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    }
}

fn holds(src: &str, pairs: &[(&str, Value)]) -> bool {
    let e = expression(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    truthy(&eval(&e, &answers(pairs)))
}

#[test]
fn comparisons_read_as_staff_write_them() {
    let casual = [("clan_type", Value::Str("Casual".into()))];
    assert!(holds(r#"clan_type == "casual""#, &casual));
    assert!(!holds(r#"clan_type != "casual""#, &casual));
    assert!(holds(r#"clan_type in ["Stress-free", "casual"]"#, &casual));
    assert!(holds(r#"clan_type not in ["Competitive"]"#, &casual));
    let power = [("power", Value::Num(1_500_000.0))];
    assert!(holds("power >= 1000000 and power < 2_000_000", &power));
    assert!(holds("int(power) == 1500000", &power));
    let has = [("has_clan", Value::Bool(false))];
    assert!(holds("has_clan == false", &has));
    assert!(holds(r#"has_clan == "no""#, &has));
    assert!(holds("not has_clan", &has));
    assert!(holds("!has_clan || missing > 3", &has));
}

#[test]
fn unanswered_questions_are_null_and_never_match_a_value() {
    assert!(!holds("power > 10", &[]));
    assert!(!holds(r#"style == "Casual""#, &[]));
    assert!(holds("style == null", &[]));
    assert!(holds(r#"style != "Casual""#, &[]));
    assert!(!holds(r#"style in ["Casual"]"#, &[]));
    assert!(holds("len(modes) == 0", &[]));
}

#[test]
fn multi_select_answers_work_with_in() {
    let modes = [("modes", Value::List(vec!["CvC".into(), "Siege".into()]))];
    assert!(holds(r#""siege" in modes"#, &modes));
    assert!(holds(r#"modes in ["Hydra", "cvc"]"#, &modes));
    assert!(!holds(r#"modes in ["Hydra"]"#, &modes));
    assert!(holds("len(modes) == 2", &modes));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let a = [("a", Value::Bool(true)), ("b", Value::Bool(false))];
    assert!(holds("a or b and b", &a));
    assert!(!holds("(a or b) and b", &a));
    assert!(holds("not b and a", &a));
}

#[test]
fn cells_hold_several_directives_and_goto_targets() {
    let d = parse("skip_if(x == 1)\nrequire_if(y)  ; show_if(z in [1, 2])").unwrap();
    let kinds: Vec<_> = d.iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            DirectiveKind::Skip,
            DirectiveKind::Require,
            DirectiveKind::Show
        ]
    );
    let g = parse("goto_if(has_clan == false, target=timezone)").unwrap();
    assert_eq!(g[0].kind, DirectiveKind::Goto("timezone".into()));
    assert!(parse("").unwrap().is_empty());
}

#[test]
fn parse_errors_say_where_and_what() {
    let e = parse("skip_if(x == )").unwrap_err();
    assert_eq!(e.pos, 14);
    assert!(e.message.contains("expected a value"), "{e}");
    let e = parse("hide_if(x)").unwrap_err();
    assert_eq!(e.pos, 1);
    assert!(e.message.contains("not a directive"), "{e}");
    let e = parse(r#"skip_if(x == "open)"#).unwrap_err();
    assert!(e.message.contains("closing quote"), "{e}");
    let e = parse("goto_if(x, somewhere)").unwrap_err();
    assert!(e.message.contains("target=<qid>"), "{e}");
    let e = parse("skip_if(x ? 1)").unwrap_err();
    assert_eq!(e.pos, 11);
    let deep = format!("skip_if({}x{})", "(".repeat(200), ")".repeat(200));
    assert!(parse(&deep).unwrap_err().message.contains("too deeply"));
}

#[test]
fn idents_are_listed_with_their_positions() {
    let d = parse("skip_if(a == 1 or b in [c])").unwrap();
    let mut ids = Vec::new();
    d[0].expr.idents(&mut ids);
    assert_eq!(
        ids,
        [
            ("a".to_owned(), 9),
            ("b".to_owned(), 19),
            ("c".to_owned(), 25)
        ]
    );
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e9f64..1e9).prop_map(Value::Num),
        "[a-zA-Z ]{0,8}".prop_map(Value::Str),
        proptest::collection::vec("[a-z]{1,5}", 0..4).prop_map(Value::List),
    ]
}

/// Random expressions built from the grammar, so most parse.
fn arb_expr_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-d]".prop_map(|s| s),
        (-100i32..100).prop_map(|n| n.to_string()),
        "[a-z]{0,4}".prop_map(|s| format!("\"{s}\"")),
        Just("true".to_owned()),
        Just("null".to_owned()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.clone().prop_map(|a| format!("(not {a})")),
            (inner.clone(), inner.clone(), 0..6usize).prop_map(|(a, b, op)| {
                let ops = ["==", "!=", "<", "<=", ">", ">="];
                format!("({a} {} {b})", ops[op])
            }),
            (
                inner.clone(),
                proptest::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(a, l)| format!("({a} in [{}])", l.join(", "))),
            inner.clone().prop_map(|a| format!("int({a})")),
        ]
    })
}

proptest! {
    #[test]
    fn random_text_never_panics_the_parser(src in "\\PC{0,80}") {
        let _ = parse(&src);
    }

    #[test]
    fn random_token_soup_never_panics(src in "[a-z_()\\[\\],=!<> \"0-9.;-]{0,60}") {
        let _ = parse(&src);
    }

    #[test]
    fn generated_expressions_parse_and_evaluate_to_a_value(
        src in arb_expr_text(),
        a in arb_value(), b in arb_value(), c in arb_value(), d in arb_value(),
    ) {
        let e = expression(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        let vals = [("a", a), ("b", b), ("c", c), ("d", d)];
        let v = eval(&e, &answers(&vals));
        let _ = truthy(&v);
        // Negation is consistent: `not e` is the opposite of e's truth.
        let n = expression(&format!("not ({src})")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(truthy(&eval(&n, &answers(&vals))), !truthy(&v));
    }
}
