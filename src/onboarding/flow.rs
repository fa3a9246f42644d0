//! A flow compiled from the Questions tab: each question with its rules parsed and its
//! `validate` spec read, plus the problems found on the way (what `ops onb check`
//! lists). Pure: which questions show, which are required and the path a recruit walks
//! are functions of the flow and the answers so far.

use std::collections::BTreeMap;

use super::rules::{self, Directive, DirectiveKind, Value};
use super::validate::Spec;
use crate::tabs::questions::{Question, QuestionType};

/// Discord's limit on options in one select menu; longer lists are paged.
pub(crate) const SELECT_OPTIONS_MAX: usize = 25;
/// Passes of the visibility rules before giving up on a fixed point.
const VISIBILITY_PASSES: usize = 16;

/// One problem in the Questions tab, located as staff find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub flow: String,
    pub row: usize,
    pub qid: String,
    pub column: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Questions row {} ({}, {}), column {}: {}",
            self.row, self.flow, self.qid, self.column, self.message
        )
    }
}

/// One question, ready to ask.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub q: Question,
    pub visibility: Vec<Directive>,
    pub nav: Vec<Directive>,
    pub spec: Spec,
}

#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub name: String,
    pub steps: Vec<Step>,
    /// A stable hash of the questions as asked (qid, type, options, rules), so a session
    /// notices when the tab changed under it.
    pub hash: String,
}

/// Whether a question shows, and whether it must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub shown: bool,
    pub required: bool,
}

/// The questions a recruit walks, in order, given the answers so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    /// Indexes into `Flow::steps`.
    pub steps: Vec<usize>,
    /// A jump that would revisit a question (a cycle in `nav_rules`): from, to.
    pub cycle: Option<(String, String)>,
}

/// FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Flow {
    /// Compiles one flow's questions. Rules that do not parse or read an unknown qid
    /// are dropped (and reported), so a typo in one rule never stops the questionnaire.
    pub(crate) fn compile(name: &str, questions: &[Question]) -> (Flow, Vec<Problem>) {
        let mut problems = Vec::new();
        let qids: Vec<&str> = questions.iter().map(|q| q.qid.as_str()).collect();
        let mut steps = Vec::new();
        let mut canonical = String::new();
        for q in questions {
            let mut problem = |column: &'static str, message: String| {
                problems.push(Problem {
                    flow: name.to_owned(),
                    row: q.row,
                    qid: q.qid.clone(),
                    column,
                    message,
                })
            };
            let mut directives = |column: &'static str, cell: &str, nav: bool| -> Vec<Directive> {
                let parsed = match rules::parse(cell) {
                    Ok(d) => d,
                    Err(e) => {
                        problem(column, format!("{e} (the rule is ignored)"));
                        return Vec::new();
                    }
                };
                let mut kept = Vec::new();
                for d in parsed {
                    let is_goto = matches!(d.kind, DirectiveKind::Goto(_));
                    if is_goto != nav {
                        problem(
                            column,
                            format!(
                                "at position {}: {} belongs in {}",
                                d.pos,
                                if is_goto {
                                    "goto_if"
                                } else {
                                    "a visibility rule"
                                },
                                if is_goto {
                                    "nav_rules"
                                } else {
                                    "visibility_rules"
                                }
                            ),
                        );
                        continue;
                    }
                    let mut ids = Vec::new();
                    d.expr.idents(&mut ids);
                    let unknown: Vec<String> = ids
                        .iter()
                        .filter(|(id, _)| !qids.contains(&id.as_str()))
                        .map(|(id, pos)| format!("{id} (position {pos})"))
                        .collect();
                    if !unknown.is_empty() {
                        problem(
                            column,
                            format!(
                                "unknown qid {} in flow {name} (the rule is ignored)",
                                unknown.join(", ")
                            ),
                        );
                        continue;
                    }
                    if let DirectiveKind::Goto(target) = &d.kind
                        && !qids.contains(&target.as_str())
                    {
                        problem(
                            column,
                            format!(
                                "goto target {target} is not a qid of flow {name} (the rule is ignored)"
                            ),
                        );
                        continue;
                    }
                    kept.push(d);
                }
                kept
            };
            let visibility = directives("visibility_rules", &q.visibility_rules, false);
            let nav = directives("nav_rules", &q.nav_rules, true);
            let spec = match Spec::parse(&q.validate, &q.kind) {
                Ok(s) => s,
                Err(e) => {
                    problem("validate", format!("{e} (not checked)"));
                    Spec::default()
                }
            };
            if q.kind.is_select() && q.options.is_empty() {
                problem(
                    "options",
                    "a select question needs options (separated by ;)".into(),
                );
            }
            if let QuestionType::MultiSelect(Some(n)) = q.kind
                && q.options.len() < n as usize
                && !q.options.is_empty()
            {
                problem(
                    "type",
                    format!(
                        "multi-select-{n} allows more choices than the {} options",
                        q.options.len()
                    ),
                );
            }
            if let Some(o) = q.options.iter().find(|o| o.chars().count() > 100) {
                problem(
                    "options",
                    format!(
                        "option {:?}… is over Discord's 100 characters",
                        o.chars().take(20).collect::<String>()
                    ),
                );
            }
            if q.label.chars().count() > 45
                && matches!(
                    q.kind,
                    QuestionType::Short | QuestionType::Paragraph | QuestionType::Number
                )
            {
                // The card shows the whole label; the answer form's field label is cut.
                problem("label", "over 45 characters: the answer form shows it shortened (the card shows it whole)".into());
            }
            canonical.push_str(&format!(
                "{}|{:?}|{}|{}|{}|{}|{}\n",
                q.qid,
                q.kind,
                q.required,
                q.options.join(";"),
                q.visibility_rules,
                q.nav_rules,
                q.validate
            ));
            steps.push(Step {
                q: q.clone(),
                visibility,
                nav,
                spec,
            });
        }
        let flow = Flow {
            name: name.to_owned(),
            steps,
            hash: fnv(&canonical),
        };
        problems.extend(flow.cycles());
        (flow, problems)
    }

    pub(crate) fn index(&self, qid: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.q.qid == qid)
    }

    /// Which questions show and which are required, evaluated to a fixed point: a
    /// hidden question's answer counts as unanswered for the rules of the others.
    /// Precedence per question: skip > require > optional > show.
    pub(crate) fn visibility(&self, answers: &BTreeMap<String, serde_json::Value>) -> Vec<Shown> {
        let mut shown: Vec<Shown> = self
            .steps
            .iter()
            .map(|s| Shown {
                shown: true,
                required: s.q.required,
            })
            .collect();
        for _ in 0..VISIBILITY_PASSES {
            let visible: Vec<bool> = shown.iter().map(|s| s.shown).collect();
            let lookup = |qid: &str| -> Value {
                match self.index(qid) {
                    Some(i) if visible[i] => answers.get(qid).map(to_value).unwrap_or(Value::Null),
                    _ => Value::Null,
                }
            };
            let next: Vec<Shown> = self
                .steps
                .iter()
                .map(|s| decide_shown(s, &lookup))
                .collect();
            if next == shown {
                break;
            }
            shown = next;
        }
        shown
    }

    /// The path through the flow for `answers`: visible questions in order, following
    /// the first `goto_if` that holds after each answered question. A jump that would
    /// go back to a question already on the path is not taken (the path goes on in
    /// order), so a cycle in the rules can never trap a recruit; a path is never longer
    /// than the flow.
    pub(crate) fn path(&self, answers: &BTreeMap<String, serde_json::Value>) -> Path {
        let shown = self.visibility(answers);
        let lookup = |qid: &str| -> Value {
            match self.index(qid) {
                Some(i) if shown[i].shown => answers.get(qid).map(to_value).unwrap_or(Value::Null),
                _ => Value::Null,
            }
        };
        let mut steps = Vec::new();
        let mut cycle = None;
        let mut i = 0;
        while i < self.steps.len() && steps.len() < self.steps.len() {
            if !shown[i].shown {
                i += 1;
                continue;
            }
            steps.push(i);
            let step = &self.steps[i];
            let mut next = i + 1;
            if answers.contains_key(&step.q.qid) {
                for d in &step.nav {
                    let DirectiveKind::Goto(target) = &d.kind else {
                        continue;
                    };
                    if !rules::truthy(&rules::eval(&d.expr, &lookup)) {
                        continue;
                    }
                    match self.index(target) {
                        Some(t) if t > i => next = t,
                        Some(t) if cycle.is_none() => {
                            cycle = Some((step.q.qid.clone(), self.steps[t].q.qid.clone()));
                        }
                        Some(_) => {}
                        None => {}
                    }
                    break;
                }
            }
            i = next;
        }
        Path { steps, cycle }
    }

    /// Jumps that point back to an earlier question (or to themselves): a cycle the
    /// wizard stops at run time, reported by `ops onb check`.
    fn cycles(&self) -> Vec<crate::onboarding::flow::Problem> {
        let mut out = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            for d in &s.nav {
                if let DirectiveKind::Goto(t) = &d.kind
                    && let Some(j) = self.index(t)
                    && j <= i
                {
                    let loop_through: Vec<&str> =
                        self.steps[j..=i].iter().map(|s| s.q.qid.as_str()).collect();
                    out.push(Problem {
                        flow: self.name.clone(),
                        row: s.q.row,
                        qid: s.q.qid.clone(),
                        column: "nav_rules",
                        message: format!("cycle: {} → {t}", loop_through.join(" → ")),
                    });
                }
            }
        }
        out
    }
}

fn decide_shown(s: &Step, lookup: &dyn Fn(&str) -> Value) -> Shown {
    let holds = |kind: &DirectiveKind| -> Option<bool> {
        let mut any = None;
        for d in s.visibility.iter().filter(|d| &d.kind == kind) {
            let v = rules::truthy(&rules::eval(&d.expr, lookup));
            any = Some(any.unwrap_or(false) || v);
        }
        any
    };
    if holds(&DirectiveKind::Skip) == Some(true) {
        return Shown {
            shown: false,
            required: false,
        };
    }
    if holds(&DirectiveKind::Require) == Some(true) {
        return Shown {
            shown: true,
            required: true,
        };
    }
    if holds(&DirectiveKind::Optional) == Some(true) {
        return Shown {
            shown: true,
            required: false,
        };
    }
    match holds(&DirectiveKind::Show) {
        Some(false) => Shown {
            shown: false,
            required: false,
        },
        _ => Shown {
            shown: true,
            required: s.q.required,
        },
    }
}

/// A stored answer as the rules see it.
pub(crate) fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map(Value::Num).unwrap_or(Value::Null),
        serde_json::Value::String(s) if s.is_empty() => Value::Null,
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
        ),
        serde_json::Value::Object(_) => Value::Null,
    }
}

/// Compiles every flow of the tab; the problems of all of them.
pub(crate) fn compile_all(
    set: &crate::tabs::questions::QuestionSet,
) -> (BTreeMap<String, Flow>, Vec<Problem>) {
    let mut flows = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, qs) in &set.flows {
        let (f, p) = Flow::compile(name, qs);
        flows.insert(name.clone(), f);
        problems.extend(p);
    }
    (flows, problems)
}

#[cfg(test)]
pub(crate) mod tests;

/// A synthetic flow of `n` questions where every third one has a visibility rule and
/// every fifth a jump, with answers to all of them, for the rules benchmark: the
/// returned closure computes the path (visibility to a fixed point, then the jumps).
pub(crate) fn synthetic_path(n: usize) -> Box<dyn Fn() -> usize + Send + Sync> {
    use crate::tabs::questions::QuestionType;
    let questions: Vec<Question> = (0..n)
        .map(|i| Question {
            row: i + 2,
            flow: "welcome".into(),
            order: i as u32,
            qid: format!("q{i}"),
            label: format!("Question {i}?"),
            kind: if i % 2 == 0 {
                QuestionType::Number
            } else {
                QuestionType::SingleSelect
            },
            required: i % 4 == 0,
            maxlen: None,
            validate: String::new(),
            help: String::new(),
            options: vec!["a".into(), "b".into(), "c".into()],
            visibility_rules: match i {
                0 | 1 => String::new(),
                i if i % 3 == 0 => format!(
                    "skip_if(q{} == \"c\" and q{} > 5)\nrequire_if(q{} in [\"a\", \"b\"])",
                    i - 1 - (i % 2),
                    i - 2 + (i % 2),
                    i - 1 - (i % 2)
                ),
                _ => String::new(),
            },
            nav_rules: if i % 5 == 0 && i + 2 < n {
                format!("goto_if(q{i} > 1000, target=q{})", i + 2)
            } else {
                String::new()
            },
            section: String::new(),
        })
        .collect();
    let (flow, _) = Flow::compile("welcome", &questions);
    let answers: BTreeMap<String, serde_json::Value> = (0..n)
        .map(|i| {
            let v = if i % 2 == 0 {
                serde_json::json!(i * 7)
            } else {
                serde_json::json!(["a", "b", "c"][i % 3])
            };
            (format!("q{i}"), v)
        })
        .collect();
    Box::new(move || flow.path(&answers).steps.len())
}
