//! `ops onb check` (and `clanhall check`): every problem of the Questions tab, one line
//! per problem located by tab, row and qid, and a count per flow; plus the headers of
//! the two onboarding mirror tabs. Pure over what was read.

use super::flow::{self, Problem};
use crate::message::embed::{COLOR_OK, COLOR_WARN, Embed};
use crate::tabs::questions::{FLOWS, QuestionSet};

/// The problems compiling the flows finds (rules, validate specs, options, cycles); the
/// parser's row warnings are the bucket's own.
pub(crate) fn problems(set: &QuestionSet) -> Vec<String> {
    let (_, p) = flow::compile_all(set);
    p.iter().map(Problem::to_string).collect()
}

/// What the check found, for the reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Report {
    /// Per flow: questions, problems.
    pub flows: Vec<(String, usize, usize)>,
    pub lines: Vec<String>,
}

pub(crate) fn report(set: Option<&QuestionSet>, mirror_problems: Vec<String>) -> Report {
    let mut r = Report::default();
    match set {
        None => r
            .lines
            .push("The Questions tab is not loaded (see `!ops digest`); nothing to check.".into()),
        Some(set) => {
            r.lines
                .extend(set.warnings.iter().map(|w| format!("Questions {w}")));
            let (_, p) = flow::compile_all(set);
            for f in FLOWS {
                let n = set.flows.get(*f).map(Vec::len).unwrap_or(0);
                let bad = p.iter().filter(|x| x.flow == *f).count();
                r.flows.push(((*f).to_owned(), n, bad));
            }
            r.lines.extend(p.iter().map(Problem::to_string));
        }
    }
    r.lines.extend(mirror_problems);
    r
}

pub(crate) fn embed(r: &Report) -> Embed {
    let counts: Vec<String> = r
        .flows
        .iter()
        .map(|(f, n, bad)| match (n, bad) {
            (0, _) => format!("`{f}`: no questions"),
            (n, 0) => format!("`{f}`: {n} questions, ok"),
            (n, b) => format!(
                "`{f}`: {n} questions, {b} problem{}",
                if *b == 1 { "" } else { "s" }
            ),
        })
        .collect();
    let ok = r.lines.is_empty();
    let mut e = Embed::new(if ok {
        "Onboarding check: ok"
    } else {
        "Onboarding check: problems found"
    })
    .description(counts.join("\n"))
    .color(if ok { COLOR_OK } else { COLOR_WARN });
    if !ok {
        e = e.field(
            format!(
                "{} problem{}",
                r.lines.len(),
                if r.lines.len() == 1 { "" } else { "s" }
            ),
            r.lines
                .iter()
                .map(|l| format!("• {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            false,
        );
    }
    e
}
