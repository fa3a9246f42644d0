//! Answers, checked against their question: the type, `required`, `maxlen`, the
//! `validate` spec (`regex:…`, `int`, `min=`, `max=`) and the options. A refusal is a
//! hint that tells the recruit exactly what is expected, in their terms ("a whole
//! number between 0 and 99,999,999"), never a parser's message.

use serde_json::{Value as Json, json};

use crate::tabs::questions::{Question, QuestionType};

/// Longest answers when the tab gives no `maxlen` (Discord's form fields take 4,000).
pub(crate) const SHORT_MAX: usize = 200;
pub(crate) const PARAGRAPH_MAX: usize = 1000;
const INPUT_MAX: usize = 4000;

/// What a question's `validate` cell asks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spec {
    pub regex: Option<regex::Regex>,
    pub int: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Spec {
    pub(crate) fn parse(cell: &str, kind: &QuestionType) -> Result<Spec, String> {
        let cell = cell.trim();
        if cell.is_empty() {
            return Ok(Spec::default());
        }
        if let Some(pattern) = cell.strip_prefix("regex:") {
            let re = regex::RegexBuilder::new(pattern.trim())
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    let first = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
                    format!("regex:{} does not compile ({first})", pattern.trim())
                })?;
            return Ok(Spec {
                regex: Some(re),
                ..Spec::default()
            });
        }
        let mut spec = Spec::default();
        for item in cell
            .split([';', ',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let lower = item.to_ascii_lowercase();
            let bound =
                |v: &str| parse_number(v).ok_or_else(|| format!("{item:?}: {v:?} is not a number"));
            if lower == "int" || lower == "int:" || lower == "integer" {
                spec.int = true;
            } else if let Some(v) = lower.strip_prefix("min=") {
                spec.min = Some(bound(v)?);
            } else if let Some(v) = lower.strip_prefix("max=") {
                spec.max = Some(bound(v)?);
            } else {
                return Err(format!(
                    "{item:?} is not a validate item; use regex:<pattern>, or int, min=<n>, max=<n>"
                ));
            }
        }
        if *kind != QuestionType::Number {
            return Err("int, min= and max= apply to number questions only".into());
        }
        if let (Some(a), Some(b)) = (spec.min, spec.max)
            && a > b
        {
            return Err(format!("min={} is above max={}", grouped(a), grouped(b)));
        }
        Ok(spec)
    }
}

/// How an answer arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// Typed: a form field or a plain reply in the thread.
    Text(String),
    Bool(bool),
    /// Picked in a select menu.
    Choices(Vec<String>),
}

/// A number as people type it: `12500000`, `12,500,000`, `12 500 000`, `12.5M`, `950k`.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' ' | '\u{a0}'))
        .collect();
    let (digits, factor) = match t.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&t[..t.len() - 1], 1e3),
        Some('m') => (&t[..t.len() - 1], 1e6),
        Some('b') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let n: f64 = digits.parse().ok()?;
    let v = n * factor;
    v.is_finite().then_some(v)
}

/// `99999999` → `99,999,999`.
pub(crate) fn grouped(n: f64) -> String {
    let neg = n < 0.0;
    let whole = n.abs().trunc() as u64;
    let frac = n.abs() - n.abs().trunc();
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if frac > 0.0 {
        let f = format!("{frac:.3}");
        out.push_str(f.trim_start_matches('0').trim_end_matches('0'));
    }
    if neg { format!("-{out}") } else { out }
}

fn number_expected(spec: &Spec) -> String {
    let kind = if spec.int {
        "a whole number"
    } else {
        "a number"
    };
    match (spec.min, spec.max) {
        (Some(a), Some(b)) => format!("{kind} between {} and {}", grouped(a), grouped(b)),
        (Some(a), None) => format!("{kind} of at least {}", grouped(a)),
        (None, Some(b)) => format!("{kind} of at most {}", grouped(b)),
        (None, None) => kind.to_owned(),
    }
}

fn max_len(q: &Question) -> usize {
    let default = match q.kind {
        QuestionType::Paragraph => PARAGRAPH_MAX,
        _ => SHORT_MAX,
    };
    q.maxlen
        .map(|m| m as usize)
        .unwrap_or(default)
        .clamp(1, INPUT_MAX)
}

/// The form field's length limit for a question.
pub(crate) fn input_max(q: &Question) -> u16 {
    max_len(q) as u16
}

fn option_list(q: &Question) -> String {
    let shown: Vec<&str> = q.options.iter().take(10).map(String::as_str).collect();
    let more = q.options.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (and {more} more in the menu)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn find_option<'a>(q: &'a Question, typed: &str) -> Option<&'a String> {
    q.options
        .iter()
        .find(|o| o.trim().eq_ignore_ascii_case(typed.trim()))
}

/// Checks an answer to `q`. `Ok(None)`: the answer was cleared (allowed when the
/// question is optional); `Err`: the hint to show.
pub(crate) fn accept(
    q: &Question,
    spec: &Spec,
    required: bool,
    input: Input,
) -> Result<Option<Json>, String> {
    let empty_refusal = || {
        if required {
            Err("This question needs an answer.".to_owned())
        } else {
            Ok(None)
        }
    };
    match (&q.kind, input) {
        (QuestionType::Short | QuestionType::Paragraph, Input::Text(t)) => {
            let t = t.trim();
            if t.is_empty() {
                return empty_refusal();
            }
            let n = t.chars().count();
            let max = max_len(q);
            if n > max {
                return Err(format!("At most {max} characters, please (yours has {n})."));
            }
            if q.kind == QuestionType::Short && t.contains('\n') {
                return Err("One line, please.".into());
            }
            if let Some(re) = &spec.regex
                && !re.is_match(t)
            {
                return Err(if q.help.trim().is_empty() {
                    format!(
                        "That does not match the expected format (`{}`).",
                        re.as_str()
                    )
                } else {
                    format!(
                        "That does not look right. Expected: {}.",
                        q.help.trim().trim_end_matches('.')
                    )
                });
            }
            Ok(Some(json!(t)))
        }
        (QuestionType::Number, Input::Text(t)) => {
            if t.trim().is_empty() {
                return empty_refusal();
            }
            let expected = number_expected(spec);
            let example = if spec.int {
                "1250000 or 1.25M"
            } else {
                "12.5 or 1.25M"
            };
            let Some(n) = parse_number(&t) else {
                return Err(format!("Expected {expected} — for example {example}."));
            };
            if (spec.int && n.fract() != 0.0)
                || spec.min.is_some_and(|m| n < m)
                || spec.max.is_some_and(|m| n > m)
            {
                return Err(format!("Expected {expected}; {} is not.", grouped(n)));
            }
            Ok(Some(if n.fract() == 0.0 && n.abs() < 9e15 {
                json!(n as i64)
            } else {
                json!(n)
            }))
        }
        (QuestionType::Bool, Input::Bool(b)) => Ok(Some(json!(b))),
        (QuestionType::Bool, Input::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" => empty_refusal(),
            "yes" | "y" | "true" | "1" => Ok(Some(json!(true))),
            "no" | "n" | "false" | "0" => Ok(Some(json!(false))),
            _ => Err("Answer yes or no (or use the buttons).".into()),
        },
        (QuestionType::SingleSelect, Input::Text(t)) => {
            if t.trim().is_empty() {
                return empty_refusal();
            }
            match find_option(q, &t) {
                Some(o) => Ok(Some(json!(o))),
                None => Err(format!("Pick one of: {}.", option_list(q))),
            }
        }
        (QuestionType::SingleSelect, Input::Choices(c)) => match c.as_slice() {
            [] => empty_refusal(),
            [one] => match find_option(q, one) {
                Some(o) => Ok(Some(json!(o))),
                None => Err(format!("Pick one of: {}.", option_list(q))),
            },
            _ => Err("Pick just one.".into()),
        },
        (QuestionType::MultiSelect(max), input) => {
            let picked: Vec<String> = match input {
                Input::Choices(c) => c,
                Input::Text(t) => t
                    .split([',', ';', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Input::Bool(_) => return Err("Pick from the menu.".into()),
            };
            if picked.is_empty() {
                return empty_refusal();
            }
            let mut out: Vec<String> = Vec::new();
            for p in &picked {
                match find_option(q, p) {
                    Some(o) if !out.contains(o) => out.push(o.clone()),
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "{} is not an option. Pick from: {}.",
                            crate::util::text::code(p),
                            option_list(q)
                        ));
                    }
                }
            }
            if let Some(n) = max
                && out.len() > *n as usize
            {
                return Err(format!("Pick at most {n} (you picked {}).", out.len()));
            }
            // In the tab's order, whatever order they were picked in.
            out.sort_by_key(|o| q.options.iter().position(|x| x == o));
            Ok(Some(json!(out)))
        }
        (_, Input::Bool(_)) => Err("Answer with the buttons or a reply.".into()),
        (_, Input::Choices(c)) => accept(q, spec, required, Input::Text(c.join(", "))),
    }
}

/// An answer as the card and the summary show it.
pub(crate) fn display(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(true) => "Yes".into(),
        Json::Bool(false) => "No".into(),
        Json::Number(n) => n.as_f64().map(grouped).unwrap_or_else(|| n.to_string()),
        Json::String(s) => s.clone(),
        Json::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Json::Object(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuestionType, options: &[&str]) -> Question {
        Question {
            row: 2,
            flow: "welcome".into(),
            order: 1,
            qid: "x".into(),
            label: "X?".into(),
            kind,
            required: true,
            maxlen: None,
            validate: String::new(),
            help: String::new(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            visibility_rules: String::new(),
            nav_rules: String::new(),
            section: String::new(),
        }
    }

    fn text(s: &str) -> Input {
        Input::Text(s.into())
    }

    #[test]
    fn numbers_are_read_as_people_type_them_and_refused_precisely() {
        let n = q(QuestionType::Number, &[]);
        let spec = Spec::parse("int;min=0;max=99999999", &n.kind).unwrap();
        assert_eq!(
            accept(&n, &spec, true, text("12,500,000")),
            Ok(Some(json!(12_500_000)))
        );
        assert_eq!(
            accept(&n, &spec, true, text("1.25M")),
            Ok(Some(json!(1_250_000)))
        );
        assert_eq!(
            accept(&n, &spec, true, text("950k")),
            Ok(Some(json!(950_000)))
        );
        assert_eq!(
            accept(&n, &spec, true, text("lots")),
            Err(
                "Expected a whole number between 0 and 99,999,999 — for example 1250000 or 1.25M."
                    .into()
            )
        );
        assert_eq!(
            accept(&n, &spec, true, text("120000000")),
            Err("Expected a whole number between 0 and 99,999,999; 120,000,000 is not.".into())
        );
        assert!(
            accept(&n, &spec, true, text("12.5"))
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(
            accept(&n, &spec, true, text(" ")),
            Err("This question needs an answer.".into())
        );
        assert_eq!(accept(&n, &spec, false, text("")), Ok(None));
    }

    #[test]
    fn text_keeps_to_maxlen_one_line_and_the_regex() {
        let mut s = q(QuestionType::Short, &[]);
        s.maxlen = Some(5);
        let spec = Spec::default();
        assert_eq!(
            accept(&s, &spec, true, text(" Rue ")),
            Ok(Some(json!("Rue")))
        );
        assert_eq!(
            accept(&s, &spec, true, text("Rue the brave")),
            Err("At most 5 characters, please (yours has 13).".into())
        );
        s.maxlen = None;
        assert_eq!(
            accept(&s, &spec, true, text("a\nb")),
            Err("One line, please.".into())
        );
        s.help = "e.g. UTC+1 or Europe/Vienna".into();
        let tz = Spec::parse(r"regex:^(UTC|GMT)?[+-]?\d{0,2}$|^[A-Za-z_/]+$", &s.kind).unwrap();
        assert_eq!(
            accept(&s, &tz, true, text("UTC+1")),
            Ok(Some(json!("UTC+1")))
        );
        assert_eq!(
            accept(&s, &tz, true, text("half past")),
            Err("That does not look right. Expected: e.g. UTC+1 or Europe/Vienna.".into())
        );
    }

    #[test]
    fn selects_take_options_by_menu_or_by_name_and_count_choices() {
        let one = q(QuestionType::SingleSelect, &["Casual", "Competitive"]);
        let spec = Spec::default();
        assert_eq!(
            accept(&one, &spec, true, text("casual")),
            Ok(Some(json!("Casual")))
        );
        assert_eq!(
            accept(&one, &spec, true, text("hardcore")),
            Err("Pick one of: Casual, Competitive.".into())
        );
        let many = q(
            QuestionType::MultiSelect(Some(2)),
            &["CvC", "Siege", "Hydra"],
        );
        assert_eq!(
            accept(
                &many,
                &spec,
                true,
                Input::Choices(vec!["Hydra".into(), "CvC".into()])
            ),
            Ok(Some(json!(["CvC", "Hydra"])))
        );
        assert_eq!(
            accept(&many, &spec, true, text("cvc, siege, hydra")),
            Err("Pick at most 2 (you picked 3).".into())
        );
        let b = q(QuestionType::Bool, &[]);
        assert_eq!(accept(&b, &spec, true, text("Y")), Ok(Some(json!(true))));
        assert_eq!(
            accept(&b, &spec, true, Input::Bool(false)),
            Ok(Some(json!(false)))
        );
    }

    #[test]
    fn validate_specs_that_cannot_work_are_reported() {
        assert!(
            Spec::parse("regex:(", &QuestionType::Short)
                .unwrap_err()
                .contains("does not compile")
        );
        assert!(
            Spec::parse("min=ten", &QuestionType::Number)
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Spec::parse("int", &QuestionType::Short)
                .unwrap_err()
                .contains("number questions")
        );
        assert!(
            Spec::parse("min=5;max=1", &QuestionType::Number)
                .unwrap_err()
                .contains("above")
        );
        assert!(
            Spec::parse("between 1 2", &QuestionType::Number)
                .unwrap_err()
                .contains("not a validate item")
        );
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(99_999_999.0), "99,999,999");
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(-1234.5), "-1,234.5");
        assert_eq!(display(&json!(12500)), "12,500");
    }
}
