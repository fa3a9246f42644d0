//! The summary recruiters get when the questions are done, built by a pure function
//! from the flow and the stored answers (snapshot-tested): four sections, the answers
//! on the recruit's path only (skipped questions are not there), numbers from 1,000 on
//! shortened (`12.5K`, `1.2M`), and empty, `0`, `no` and `none` answers hidden.

use super::flow::Flow;
use super::tables::{Session, Ticket};
use super::validate;
use crate::message::embed::{COLOR_OK, Embed};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SummaryError {
    #[error("the Questions tab has no flow {0} any more")]
    FlowMissing(String),
    #[error("the session holds no answers")]
    NoAnswers,
}

/// The sections, in the order shown.
const SECTIONS: [(&str, &str); 4] = [
    ("identity", "Identity & intent"),
    ("progress", "Progress & bossing"),
    ("war", "War modes"),
    ("notes", "Notes"),
];

/// The section a question's answer goes to: its `section` cell, or a guess from the qid.
fn section_of(qid: &str, cell: &str) -> &'static str {
    if let Some((key, _)) = SECTIONS.iter().find(|(k, _)| *k == cell) {
        return key;
    }
    let q = qid.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    if has(&["cvc", "siege", "war", "clash"]) {
        "war"
    } else if has(&[
        "power", "cb", "boss", "hydra", "chimera", "level", "bracket", "progress", "doom", "arena",
    ]) {
        "progress"
    } else if has(&["note", "origin", "other", "comment", "anything", "extra"]) {
        "notes"
    } else {
        "identity"
    }
}

/// `12500` → `12.5K`, `1234567` → `1.2M`; below 1,000 as is.
pub(crate) fn compact(n: f64) -> String {
    let (v, unit) = match n.abs() {
        a if a >= 1e9 => (n / 1e9, "B"),
        a if a >= 1e6 => (n / 1e6, "M"),
        a if a >= 1e3 => (n / 1e3, "K"),
        _ => return validate::grouped(n),
    };
    let s = format!("{v:.1}");
    format!("{}{unit}", s.trim_end_matches(".0"))
}

fn shown_value(v: &serde_json::Value) -> Option<String> {
    let text = match v {
        serde_json::Value::Number(n) => compact(n.as_f64()?),
        other => validate::display(other),
    };
    let t = text.trim();
    let hidden = t.is_empty()
        || ["0", "no", "none"]
            .iter()
            .any(|h| t.eq_ignore_ascii_case(h));
    (!hidden).then(|| t.to_owned())
}

/// The summary embeds (more than one only if the answers overflow one embed).
pub(crate) fn build(
    flow: Option<&Flow>,
    s: &Session,
    ticket: &Ticket,
    subject: &str,
) -> Result<Vec<Embed>, SummaryError> {
    let flow = flow.ok_or_else(|| SummaryError::FlowMissing(s.flow.clone()))?;
    if s.answers.is_empty() {
        return Err(SummaryError::NoAnswers);
    }
    let path = flow.path(&s.answers);
    let mut embed = Embed::new(format!("New applicant: {subject}"))
        .description(format!(
            "Ticket **{}** • flow `{}` • <@{}>",
            ticket.number, flow.name, s.user_id
        ))
        .color(COLOR_OK);
    let mut any = false;
    for (key, title) in SECTIONS {
        let lines: Vec<String> = path
            .steps
            .iter()
            .map(|i| &flow.steps[*i].q)
            .filter(|q| section_of(&q.qid, &q.section) == key)
            .filter_map(|q| {
                let v = shown_value(s.answers.get(&q.qid)?)?;
                Some(format!("**{}** {}", q.label.trim(), v))
            })
            .collect();
        if !lines.is_empty() {
            any = true;
            embed = embed.field(title, lines.join("\n"), false);
        }
    }
    if !any {
        embed = embed.field("Answers", "Every answer was empty or no.", false);
    }
    let embed = embed.footer(format!(
        "Completed {}",
        s.completed_at.as_deref().unwrap_or(&s.updated_at)
    ));
    Ok(embed.fit())
}

/// What is posted when the summary cannot be built or Discord refused it.
pub(crate) fn fallback(ticket: &Ticket, why: &str) -> Embed {
    Embed::new("Summary unavailable")
        .description(format!(
            "The summary of ticket **{}** could not be posted ({why}). The answers are saved; staff can press **Retry summary** to rebuild it from them.",
            ticket.number
        ))
        .color(crate::message::embed::COLOR_WARN)
}

#[cfg(test)]
mod tests;
