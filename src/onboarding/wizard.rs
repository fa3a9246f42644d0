//! The questionnaire as a pure state machine: a session, the flow and what the recruit
//! did → the new session and what the card shows. The apply step
//! (`onboarding::apply`) runs this inside the transaction that saves the result, so an
//! answer is committed before the card changes and two clicks never interleave.

use super::flow::{Flow, SELECT_OPTIONS_MAX};
use super::tables::{Session, SessionStatus};
use super::validate::{self, Input};
use crate::tabs::questions::QuestionType;

/// What the recruit (or staff, for `Show`/`Resume`) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Show the card as it stands (a re-post).
    Show,
    /// "Open questions" on a paused or fresh session: carry on where it stopped.
    Resume,
    /// A typed answer (a form, or a plain reply in the thread) or Yes/No.
    Answer {
        qid: String,
        input: Input,
    },
    /// Options picked in the select menu showing option page `page`.
    Pick {
        qid: String,
        page: usize,
        values: Vec<String>,
    },
    /// Show another page of a long option list.
    OptionPage {
        qid: String,
        page: usize,
    },
    Next {
        qid: String,
    },
    Back {
        qid: String,
    },
    /// Cancel: stop for now; the answers stay.
    Pause {
        qid: String,
    },
}

impl Action {
    fn qid(&self) -> Option<&str> {
        match self {
            Action::Show | Action::Resume => None,
            Action::Answer { qid, .. }
            | Action::Pick { qid, .. }
            | Action::OptionPage { qid, .. }
            | Action::Next { qid }
            | Action::Back { qid }
            | Action::Pause { qid } => Some(qid),
        }
    }
}

/// What the card shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct View {
    /// The question asked (an index into the flow's steps); `None` when done or paused.
    pub step: Option<usize>,
    /// Why the last answer was refused, or what to do.
    pub hint: Option<String>,
    /// Said once: the questions changed since the session started.
    pub notice: Option<String>,
    pub option_page: usize,
    /// 1-based place on the path, and the path's length.
    pub position: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Answer { qid: String },
    Completed,
    Paused,
    Resumed,
    SchemaChanged { dropped: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub session: Session,
    pub view: View,
    /// The session changed and must be saved.
    pub changed: bool,
    pub events: Vec<Event>,
}

pub(crate) const SCHEMA_NOTICE: &str = "The questions changed since you started. Your answers to the questions that are still here are kept.";
const STALE: &str = "This card had moved on; here is where you are now.";
const NEEDS_ANSWER: &str = "This question needs an answer.";

/// The first question of a new session.
pub(crate) fn start(flow: &Flow, mut s: Session) -> Session {
    let path = flow.path(&s.answers);
    s.step = path.steps.first().map(|i| flow.steps[*i].q.qid.clone());
    s.schema_hash = flow.hash.clone();
    if s.step.is_none() {
        s.status = SessionStatus::Completed;
    }
    s
}

/// Applies `action` to `s` at time `now` (a store timestamp).
pub(crate) fn step(flow: &Flow, s: &Session, action: Action, now: &str) -> Outcome {
    let mut next = s.clone();
    let mut events = Vec::new();
    let mut view = View::default();
    let mut changed = false;
    if next.schema_hash != flow.hash {
        let dropped: Vec<String> = next
            .answers
            .keys()
            .filter(|q| flow.index(q).is_none())
            .cloned()
            .collect();
        next.answers.retain(|q, _| flow.index(q).is_some());
        next.schema_hash = flow.hash.clone();
        next.schema_notice = true;
        events.push(Event::SchemaChanged { dropped });
        changed = true;
        // The card's question may be gone or off the new path.
        let path = flow.path(&next.answers);
        let on_path = next
            .step
            .as_deref()
            .and_then(|q| flow.index(q))
            .is_some_and(|i| path.steps.contains(&i));
        if next.status != SessionStatus::Completed && !on_path {
            next.step = first_open(flow, &next).map(|i| flow.steps[i].q.qid.clone());
        }
    }
    if next.schema_notice && next.status != SessionStatus::Completed {
        view.notice = Some(SCHEMA_NOTICE.into());
        next.schema_notice = false;
        changed = true;
    }
    let current = next.step.as_deref().and_then(|q| flow.index(q));
    let stale = action
        .qid()
        .is_some_and(|q| next.step.as_deref() != Some(q));
    match (&next.status, current) {
        (SessionStatus::Completed, _) => {
            if action.qid().is_some() {
                view.hint = Some("These questions are done; staff have the summary.".into());
            }
        }
        (SessionStatus::Paused, _) if action != Action::Resume => {
            view.hint = Some("Paused. Press **Open questions** on the panel to carry on.".into());
        }
        (_, None) => {
            // No question on the card (the flow emptied under it): finish.
            complete(flow, &mut next, &mut view, &mut events, now);
            changed = true;
        }
        _ if stale => view.hint = Some(STALE.into()),
        (_, Some(i)) => {
            let did = act(flow, &mut next, i, action, &mut view, &mut events, now);
            changed |= did;
        }
    }
    if next.status != SessionStatus::Completed && next.status != SessionStatus::Paused {
        view.step = next.step.as_deref().and_then(|q| flow.index(q));
    }
    if let Some(i) = view.step {
        let path = flow.path(&next.answers);
        view.total = path.steps.len().max(1);
        view.position = path
            .steps
            .iter()
            .position(|x| *x == i)
            .map(|p| p + 1)
            .unwrap_or_else(|| path.steps.iter().filter(|x| **x < i).count() + 1);
    }
    if changed {
        next.updated_at = now.to_owned();
    }
    Outcome {
        session: next,
        view,
        changed,
        events,
    }
}

/// The first question on the path still to answer (required or not), else the last.
fn first_open(flow: &Flow, s: &Session) -> Option<usize> {
    let path = flow.path(&s.answers);
    path.steps
        .iter()
        .copied()
        .find(|i| !s.answers.contains_key(&flow.steps[*i].q.qid))
        .or(path.steps.last().copied())
}

fn act(
    flow: &Flow,
    s: &mut Session,
    i: usize,
    action: Action,
    view: &mut View,
    events: &mut Vec<Event>,
    now: &str,
) -> bool {
    let step = &flow.steps[i];
    let required = flow.visibility(&s.answers)[i].required;
    let qid = step.q.qid.clone();
    match action {
        Action::Show => false,
        Action::Resume => {
            if s.status == SessionStatus::Paused {
                s.status = SessionStatus::Active;
                events.push(Event::Resumed);
                true
            } else {
                false
            }
        }
        Action::OptionPage { page, .. } => {
            view.option_page = page.min(option_pages(step.q.options.len()) - 1);
            false
        }
        Action::Pause { .. } => {
            s.status = SessionStatus::Paused;
            events.push(Event::Paused);
            true
        }
        Action::Back { .. } => {
            let path = flow.path(&s.answers);
            let before = path.steps.iter().copied().rfind(|x| *x < i);
            match before {
                Some(b) => {
                    s.step = Some(flow.steps[b].q.qid.clone());
                    true
                }
                None => {
                    view.hint = Some("This is the first question.".into());
                    false
                }
            }
        }
        Action::Next { .. } => {
            if required && !s.answers.contains_key(&qid) {
                view.hint = Some(NEEDS_ANSWER.into());
                return false;
            }
            advance(flow, s, i, view, events, now);
            true
        }
        Action::Answer { input, .. } => {
            match validate::accept(&step.q, &step.spec, required, input) {
                Err(hint) => {
                    view.hint = Some(hint);
                    false
                }
                Ok(v) => {
                    store_answer(s, &qid, v);
                    events.push(Event::Answer { qid: qid.clone() });
                    advance(flow, s, i, view, events, now);
                    true
                }
            }
        }
        Action::Pick { page, values, .. } => {
            let pages = option_pages(step.q.options.len());
            let page = page.min(pages - 1);
            view.option_page = page;
            let paged_multi = pages > 1 && matches!(step.q.kind, QuestionType::MultiSelect(_));
            let values = if paged_multi {
                // Choices on the other pages stay; this page's are replaced.
                let on_page = page_options(&step.q.options, page);
                let mut merged: Vec<String> = s
                    .answers
                    .get(&qid)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str())
                    .filter(|x| !on_page.iter().any(|o| o == x))
                    .map(str::to_owned)
                    .collect();
                merged.extend(values);
                merged
            } else {
                values
            };
            match validate::accept(&step.q, &step.spec, required, Input::Choices(values)) {
                Err(hint) => {
                    view.hint = Some(hint);
                    false
                }
                Ok(v) => {
                    store_answer(s, &qid, v);
                    events.push(Event::Answer { qid: qid.clone() });
                    if !paged_multi {
                        advance(flow, s, i, view, events, now);
                    }
                    true
                }
            }
        }
    }
}

fn store_answer(s: &mut Session, qid: &str, v: Option<serde_json::Value>) {
    match v {
        Some(v) => {
            s.answers.insert(qid.to_owned(), v);
        }
        None => {
            s.answers.remove(qid);
        }
    }
}

/// Moves past question `i`: the next question on the path, or completion once every
/// required question on the path is answered.
fn advance(
    flow: &Flow,
    s: &mut Session,
    i: usize,
    view: &mut View,
    events: &mut Vec<Event>,
    now: &str,
) {
    let path = flow.path(&s.answers);
    let next = match path.steps.iter().position(|x| *x == i) {
        Some(p) => path.steps.get(p + 1).copied(),
        None => path.steps.iter().copied().find(|x| *x > i),
    };
    match next {
        Some(n) => s.step = Some(flow.steps[n].q.qid.clone()),
        None => complete(flow, s, view, events, now),
    }
}

fn complete(flow: &Flow, s: &mut Session, view: &mut View, events: &mut Vec<Event>, now: &str) {
    let shown = flow.visibility(&s.answers);
    let path = flow.path(&s.answers);
    let missing = path
        .steps
        .iter()
        .copied()
        .find(|i| shown[*i].required && !s.answers.contains_key(&flow.steps[*i].q.qid));
    if let Some(m) = missing {
        s.step = Some(flow.steps[m].q.qid.clone());
        view.hint = Some(format!("One more: {}", NEEDS_ANSWER.to_lowercase()));
        return;
    }
    s.step = None;
    s.status = SessionStatus::Completed;
    s.completed_at = Some(now.to_owned());
    events.push(Event::Completed);
}

/// Pages of a select's options (at least one).
pub(crate) fn option_pages(options: usize) -> usize {
    options.div_ceil(SELECT_OPTIONS_MAX).max(1)
}

pub(crate) fn page_options(options: &[String], page: usize) -> &[String] {
    let start = (page * SELECT_OPTIONS_MAX).min(options.len());
    let end = (start + SELECT_OPTIONS_MAX).min(options.len());
    &options[start..end]
}

#[cfg(test)]
mod tests;
