//! What the recruit sees, built by pure functions: the panel ("Open questions"), the
//! one card the wizard edits in place, and the answer form. Every custom id is
//! `onb:<action>:<thread>:<qid>[:<arg>]`, so a click names the ticket, the question
//! and what to do, and works after a restart or deploy.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateInputText, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, InputTextStyle,
};

use super::flow::Flow;
use super::tables::{Session, SessionStatus};
use super::validate;
use super::wizard::{View, option_pages, page_options};
use crate::discord::components::custom_id;
use crate::discord::reply::Reply;
use crate::message::embed::{COLOR_INFO, COLOR_OK, COLOR_WARN, Embed};
use crate::tabs::questions::{Question, QuestionType};

pub(crate) const PREFIX: &str = "onb";
/// The form field that carries a typed answer.
pub(crate) const ANSWER_FIELD: &str = "answer";
/// Discord's limits for a form's title and a field's label.
const MODAL_TITLE_MAX: usize = 45;
const INPUT_LABEL_MAX: usize = 45;

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn id(parts: &[&str]) -> String {
    // Thread ids are 20 digits at most and qids at most `QID_MAX` (40) characters of
    // letters, digits and `_` (the Questions parser skips others), so every id stays
    // within Discord's 100 characters (the test below builds the longest);
    // `unwrap_or_default` only guards.
    custom_id(parts).unwrap_or_default()
}

/// The panel posted once per ticket.
pub(crate) fn panel(thread: u64, subject: &str) -> Reply {
    let t = thread.to_string();
    Reply {
        embeds: vec![
            Embed::new("Welcome! A few questions first")
                .description(format!(
                    "Hi {subject}! Press **Open questions** to tell the recruiters about yourself. It takes a few minutes; your answers are saved after each one, so you can stop and come back."
                ))
                .color(COLOR_INFO),
        ],
        components: vec![CreateActionRow::Buttons(vec![
            CreateButton::new(id(&[PREFIX, "open", &t]))
                .label("Open questions")
                .style(ButtonStyle::Primary),
        ])],
        ..Default::default()
    }
}

/// The card for `view`: the done or paused notice, or the current question with the
/// controls its type needs and the navigation row.
pub(crate) fn card(flow: &Flow, s: &Session, view: &View, subject: &str) -> Reply {
    if s.status == SessionStatus::Completed {
        return Reply::embed(
            Embed::new("✅ All done — thank you!")
                .description(format!(
                    "{subject}, your answers are with the recruiters; one of them will be with you here shortly."
                ))
                .color(COLOR_OK),
        );
    }
    if s.status == SessionStatus::Paused {
        return Reply::embed(
            Embed::new("⏸ Questions paused")
                .description("Your answers so far are kept. Press **Open questions** on the panel above to carry on where you stopped.")
                .color(COLOR_INFO),
        );
    }
    let Some(i) = view.step else {
        return Reply::embed(Embed::new("No questions").description(
            "There are no questions for this ticket right now; a recruiter will be with you shortly.",
        ));
    };
    let q = &flow.steps[i].q;
    let required = flow.visibility(&s.answers)[i].required;
    let t = s.thread_id.to_string();
    let mut rows = answer_rows(q, s, view, &t, required);
    rows.push(nav_row(&t, &q.qid, view.position <= 1));
    Reply {
        embeds: vec![question_embed(q, s, view, subject, required)],
        components: rows,
        ..Default::default()
    }
}

/// The question, its help, progress, the answer so far and the hint for a refused one.
fn question_embed(q: &Question, s: &Session, view: &View, subject: &str, required: bool) -> Embed {
    let mut description = String::new();
    if let Some(n) = &view.notice {
        description.push_str(&format!("ℹ️ {n}\n\n"));
    }
    description.push_str(&format!("**{}**", q.label));
    if !q.help.trim().is_empty() {
        description.push_str(&format!("\n*{}*", q.help.trim()));
    }
    let how = match q.kind {
        QuestionType::Short | QuestionType::Paragraph | QuestionType::Number => {
            "Press **Answer**, or just type your answer here in the thread."
        }
        QuestionType::Bool => "Press **Yes** or **No**.",
        QuestionType::SingleSelect => "Pick one in the menu.",
        QuestionType::MultiSelect(_) => "Pick in the menu, then press **Next**.",
    };
    let so_far = s
        .answers
        .get(&q.qid)
        .map(validate::display)
        .filter(|v| !v.is_empty());
    let embed = Embed::new(format!(
        "Question {}/{}{}",
        view.position,
        view.total,
        if required { "" } else { " (optional)" }
    ))
    .description(description)
    .field("Your answer", so_far.unwrap_or_else(|| "—".into()), false)
    .footer(format!("{subject}'s questionnaire • {how}"))
    .color(COLOR_INFO);
    match &view.hint {
        Some(h) => embed
            .field("⚠️ Please check", h.clone(), false)
            .color(COLOR_WARN),
        None => embed,
    }
}

/// The controls for the question's type: a menu (paged past 25 options), Yes/No, or
/// Answer (a form; typing in the thread works too).
fn answer_rows(
    q: &Question,
    s: &Session,
    view: &View,
    t: &str,
    required: bool,
) -> Vec<CreateActionRow> {
    let qid = q.qid.as_str();
    match &q.kind {
        QuestionType::SingleSelect | QuestionType::MultiSelect(_) => {
            select_rows(q, s, view.option_page, t, required)
        }
        QuestionType::Bool => vec![CreateActionRow::Buttons(vec![
            CreateButton::new(id(&[PREFIX, "yes", t, qid]))
                .label("Yes")
                .style(ButtonStyle::Success),
            CreateButton::new(id(&[PREFIX, "no", t, qid]))
                .label("No")
                .style(ButtonStyle::Danger),
        ])],
        _ => vec![CreateActionRow::Buttons(vec![
            CreateButton::new(id(&[PREFIX, "ans", t, qid]))
                .label("Answer")
                .style(ButtonStyle::Primary),
        ])],
    }
}

/// The menu of one page of options (what is chosen shown as chosen), and the option
/// pager when there are more than 25.
fn select_rows(
    q: &Question,
    s: &Session,
    option_page: usize,
    t: &str,
    required: bool,
) -> Vec<CreateActionRow> {
    let qid = q.qid.as_str();
    let pages = option_pages(q.options.len());
    let page = option_page.min(pages - 1);
    let chosen: Vec<String> = s
        .answers
        .get(qid)
        .map(|v| match v {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            serde_json::Value::String(x) => vec![x.clone()],
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let options: Vec<CreateSelectMenuOption> = page_options(&q.options, page)
        .iter()
        .map(|o| {
            CreateSelectMenuOption::new(cut(o, 100), cut(o, 100))
                .default_selection(chosen.contains(o))
        })
        .collect();
    let n = options.len() as u8;
    let max = match q.kind {
        QuestionType::MultiSelect(Some(m)) => (m as u8).min(n),
        QuestionType::MultiSelect(None) => n,
        _ => 1,
    };
    let page_s = page.to_string();
    let mut rows = Vec::new();
    if n > 0 {
        let mut menu = CreateSelectMenu::new(
            id(&[PREFIX, "pick", t, qid, &page_s]),
            CreateSelectMenuKind::String { options },
        )
        .placeholder(if pages > 1 {
            format!(
                "Options {}–{} of {}",
                page * 25 + 1,
                page * 25 + n as usize,
                q.options.len()
            )
        } else {
            "Choose…".into()
        })
        .max_values(max.max(1));
        if !required || matches!(q.kind, QuestionType::MultiSelect(_)) {
            menu = menu.min_values(0);
        }
        rows.push(CreateActionRow::SelectMenu(menu));
    }
    if pages > 1 {
        let prev = page.saturating_sub(1).to_string();
        let next = (page + 1).min(pages - 1).to_string();
        rows.push(CreateActionRow::Buttons(vec![
            CreateButton::new(id(&[PREFIX, "opt", t, qid, &prev]))
                .label("◀ Options")
                .style(ButtonStyle::Secondary)
                .disabled(page == 0),
            CreateButton::new(id(&[PREFIX, "noop", t]))
                .label(format!("{}/{pages}", page + 1))
                .style(ButtonStyle::Secondary)
                .disabled(true),
            CreateButton::new(id(&[PREFIX, "opt", t, qid, &next]))
                .label("Options ▶")
                .style(ButtonStyle::Secondary)
                .disabled(page + 1 >= pages),
        ]));
    }
    rows
}

/// Back, Next and Cancel (Cancel pauses: the answers stay).
fn nav_row(t: &str, qid: &str, first: bool) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(id(&[PREFIX, "back", t, qid]))
            .label("Back")
            .style(ButtonStyle::Secondary)
            .disabled(first),
        CreateButton::new(id(&[PREFIX, "next", t, qid]))
            .label("Next")
            .style(ButtonStyle::Secondary),
        CreateButton::new(id(&[PREFIX, "stop", t, qid]))
            .label("Cancel")
            .style(ButtonStyle::Danger),
    ])
}

/// The form for a typed answer, pre-filled with the answer so far.
pub(crate) fn form(flow: &Flow, s: &Session, i: usize) -> CreateModal {
    let q = &flow.steps[i].q;
    let t = s.thread_id.to_string();
    let required = flow.visibility(&s.answers)[i].required;
    let style = if q.kind == QuestionType::Paragraph {
        InputTextStyle::Paragraph
    } else {
        InputTextStyle::Short
    };
    let mut input = CreateInputText::new(style, cut("Your answer", INPUT_LABEL_MAX), ANSWER_FIELD)
        .required(required)
        .max_length(validate::input_max(q));
    if let Some(v) = s
        .answers
        .get(&q.qid)
        .map(validate::display)
        .filter(|v| !v.is_empty())
    {
        input = input.value(cut(&v, validate::input_max(q) as usize));
    }
    if !q.help.trim().is_empty() {
        input = input.placeholder(cut(q.help.trim(), 100));
    }
    CreateModal::new(
        id(&[PREFIX, "form", &t, &q.qid]),
        cut(&q.label, MODAL_TITLE_MAX),
    )
    .components(vec![CreateActionRow::InputText(input)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboarding::flow::tests::q;
    use crate::onboarding::tables::SessionStatus;
    use crate::onboarding::wizard::{self, Action};
    use crate::tabs::questions::QID_MAX;

    /// An active welcome session in `thread`, at `step`, with no answers.
    fn active(thread: u64, step: Option<&str>) -> Session {
        Session {
            thread_id: thread,
            user_id: 205,
            flow: "welcome".into(),
            status: SessionStatus::Active,
            step: step.map(str::to_owned),
            answers: Default::default(),
            schema_hash: String::new(),
            schema_notice: false,
            card_message_id: None,
            summary_message_id: None,
            started_at: String::new(),
            updated_at: String::new(),
            completed_at: None,
        }
    }

    #[test]
    fn the_longest_ids_fit_and_a_card_has_at_most_five_rows() {
        let long = "q".repeat(QID_MAX);
        for kind in [
            QuestionType::MultiSelect(Some(3)),
            QuestionType::SingleSelect,
            QuestionType::Bool,
            QuestionType::Paragraph,
        ] {
            let mut question = q(1, &long, kind, "", "");
            question.options = (0..60).map(|i| format!("option {i}")).collect();
            let (f, _) = Flow::compile(
                "welcome",
                &[question, q(2, "b", QuestionType::Short, "", "")],
            );
            let s = wizard::start(&f, active(u64::MAX, None));
            let out = wizard::step(
                &f,
                &s,
                Action::OptionPage {
                    qid: long.clone(),
                    page: 1,
                },
                "t",
            );
            let reply = card(&f, &out.session, &out.view, "Rue");
            assert!(reply.components.len() <= 5);
            let json = serde_json::to_value(&reply.components).unwrap();
            let ids: Vec<String> = json
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
                .map(|c| c["custom_id"].as_str().unwrap_or("").to_owned())
                .collect();
            assert!(
                ids.iter().all(|i| !i.is_empty() && i.len() <= 100),
                "{ids:?}"
            );
            let form = serde_json::to_value(super::form(&f, &out.session, 0)).unwrap();
            assert!(form["custom_id"].as_str().unwrap().len() <= 100, "{form}");
        }
    }

    #[test]
    fn the_card_snapshot_for_a_refused_pick() {
        let mut style = q(1, "style", QuestionType::SingleSelect, "", "");
        style.label = "Playstyle?".into();
        style.help = "What you enjoy most".into();
        style.options = vec!["Casual".into(), "Competitive".into()];
        let (f, _) = Flow::compile("welcome", &[style, q(2, "b", QuestionType::Short, "", "")]);
        let mut s = active(9, Some("style"));
        s.answers
            .insert("style".into(), serde_json::json!("Casual"));
        s.schema_hash = f.hash.clone();
        let view = View {
            step: Some(0),
            hint: Some("Pick one of the options in the menu.".into()),
            notice: Some("The questions changed.".into()),
            option_page: 0,
            position: 1,
            total: 2,
        };
        let reply = card(&f, &s, &view, "Rue");
        let embed = serde_json::to_string_pretty(&reply.embeds).unwrap();
        assert_eq!(
            embed,
            r#"[
  {
    "title": "Question 1/2",
    "description": "ℹ️ The questions changed.\n\n**Playstyle?**\n*What you enjoy most*",
    "fields": [
      {
        "name": "Your answer",
        "value": "Casual",
        "inline": false
      },
      {
        "name": "⚠️ Please check",
        "value": "Pick one of the options in the menu.",
        "inline": false
      }
    ],
    "footer": "Rue's questionnaire • Pick one in the menu.",
    "color": 15844367
  }
]"#
        );
        let rows = serde_json::to_value(&reply.components).unwrap();
        assert_eq!(
            rows,
            serde_json::json!([
                {"type": 1, "components": [{
                    "type": 3, "custom_id": "onb:pick:9:style:0", "placeholder": "Choose…",
                    "max_values": 1,
                    "options": [
                        {"label": "Casual", "value": "Casual", "default": true},
                        {"label": "Competitive", "value": "Competitive", "default": false}
                    ]
                }]},
                {"type": 1, "components": [
                    {"type": 2, "style": 2, "label": "Back", "custom_id": "onb:back:9:style", "disabled": true},
                    {"type": 2, "style": 2, "label": "Next", "custom_id": "onb:next:9:style", "disabled": false},
                    {"type": 2, "style": 4, "label": "Cancel", "custom_id": "onb:stop:9:style", "disabled": false}
                ]}
            ])
        );
    }
}
