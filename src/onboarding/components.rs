//! The buttons, menus and form of the panel and the card (`onb:…`), and the staff-only
//! "Retry summary" button (`onbs:retry:<thread>`). Each click is decided by the wizard
//! and saved before the card is updated in place, within Discord's 3 seconds; posting a
//! new card or a summary happens after the answer, off the interaction.

use std::sync::Arc;

use serde_json::json;
use serenity::all::Context as SerenityContext;

use super::apply::{self, Deps, Onboarding, Opened};
use super::card::{self, ANSWER_FIELD};
use super::tables::{self, SessionStatus};
use super::validate::Input;
use super::wizard::Action;
use crate::discord::BotData;
use crate::discord::components::{Answer, Click, ComponentHandler};
use crate::discord::errors::CommandError;
use crate::discord::reply::Reply;
use crate::discord::tiers::{Meta, Tier};
use crate::message::embed::{COLOR_INFO, Embed};

/// How long a card may be "being posted" before a click posts it again (the process
/// died between saving the session and posting its card).
const POSTING_GRACE_SECS: i64 = 30;

pub(crate) struct Wizard;

#[serenity::async_trait]
impl ComponentHandler for Wizard {
    fn prefix(&self) -> &'static str {
        card::PREFIX
    }

    fn meta(&self) -> Meta {
        Meta::member().toggle("onboarding_wizard")
    }

    async fn handle(
        &self,
        sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let action = click.args.first().cloned().unwrap_or_default();
        if action == "noop" {
            return Ok(Answer::Acknowledge);
        }
        let thread: u64 = click.args.get(1).and_then(|t| t.parse().ok()).unwrap_or(0);
        if thread != click.channel_id.get() {
            return Ok(Answer::Ephemeral(
                "This button belongs to another ticket.".into(),
            ));
        }
        let Some(ticket) = data.store.read(move |c| tables::ticket(c, thread)).await? else {
            return Ok(Answer::Ephemeral(
                "This thread is not a ticket the bot knows.".into(),
            ));
        };
        let Some(subject) = ticket.subject_id else {
            return Ok(Answer::Ephemeral(
                "This ticket has no applicant yet: staff bind one with `!onb bind @member`.".into(),
            ));
        };
        let staff = click.tier >= Tier::Staff;
        if click.user_id != subject && !(staff && action == "open") {
            let name = if ticket.subject_name.is_empty() {
                format!("<@{subject}>")
            } else {
                ticket.subject_name.clone()
            };
            return Ok(Answer::Ephemeral(if staff {
                format!(
                    "This is {name}'s questionnaire. Staff can follow it here, but only {name} answers."
                )
            } else {
                format!("This is {name}'s questionnaire; only they can answer it.")
            }));
        }
        let onb = data.features.get::<Onboarding>()?;
        let _turn = onb.one_at_a_time(thread).await;
        let flows = onb.flows(data);
        let Some(flow) = flows.get(&ticket.flow).cloned() else {
            return Ok(Answer::Ephemeral(format!(
                "There are no `{}` questions in the Questions tab right now; staff can look with `!ops onb check`.",
                ticket.flow
            )));
        };
        let deps = Deps::of(data, &sctx.http);
        let qid = click.args.get(2).cloned().unwrap_or_default();
        let arg = click.args.get(3).cloned().unwrap_or_default();
        let subject_name = ticket.subject_name.clone();
        let act = |a: Action| apply::act(&data.store, flow.clone(), thread, a);
        let step = match action.as_str() {
            "open" => return open(data, &deps, flow, &ticket, subject, click.user_id != subject, click.guild_id).await,
            "ans" => {
                let Some(s) = data.store.read(move |c| tables::session(c, thread)).await? else {
                    return Ok(Answer::Ephemeral("Press **Open questions** first.".into()));
                };
                if s.status == SessionStatus::Active
                    && s.step.as_deref() == Some(qid.as_str())
                    && let Some(i) = flow.index(&qid)
                {
                    return Ok(Answer::Modal(card::form(&flow, &s, i)));
                }
                act(Action::Show).await
            }
            "yes" | "no" => act(Action::Answer { qid, input: Input::Bool(action == "yes") }).await,
            "pick" => act(Action::Pick { qid, page: arg.parse().unwrap_or(0), values: click.values.clone() }).await,
            "opt" => act(Action::OptionPage { qid, page: arg.parse().unwrap_or(0) }).await,
            "back" => act(Action::Back { qid }).await,
            "next" => act(Action::Next { qid }).await,
            "stop" => act(Action::Pause { qid }).await,
            "form" => {
                let text = click
                    .fields
                    .iter()
                    .find(|(k, _)| k == ANSWER_FIELD)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                act(Action::Answer { qid, input: Input::Text(text) }).await
            }
            _ => return Ok(Answer::Ephemeral("This button is from an older version of the questionnaire; press **Open questions** again.".into())),
        };
        let Some(out) = step? else {
            return Ok(Answer::Ephemeral(
                "Press **Open questions** on the panel first.".into(),
            ));
        };
        apply::after_step(&deps, &flows, &out, Some(ticket.clone())).await;
        Ok(Answer::Update(apply::card_for(&flow, &out, &subject_name)))
    }
}

/// "Open questions": starts the session (once), picks a paused one up, or points at the
/// card there is.
async fn open(
    data: &BotData,
    deps: &Deps,
    flow: Arc<super::flow::Flow>,
    ticket: &tables::Ticket,
    subject: u64,
    by_staff: bool,
    guild: Option<serenity::all::GuildId>,
) -> Result<Answer, CommandError> {
    let opened = apply::open_session(&data.store, flow.clone(), ticket, subject).await?;
    let name = ticket.subject_name.clone();
    let thread = ticket.thread_id;
    let link = |m: u64| match guild {
        Some(g) => format!("https://discord.com/channels/{g}/{thread}/{m}"),
        None => "the card above".to_owned(),
    };
    match opened {
        Opened::Started(out) => {
            deps.emit("wizard_started", json!({"thread_id": thread.to_string(), "user_id": subject.to_string(), "flow": ticket.flow, "by_staff": by_staff}));
            let reply = apply::card_for(&flow, &out, &name);
            apply::post_card(deps, thread, reply).await;
            deps.sync_metrics().await;
            Ok(Answer::Ephemeral(if by_staff {
                format!("Opened {name}'s questions below; only {name} can answer them.")
            } else {
                "Your questions are below. ⬇️".into()
            }))
        }
        Opened::Resumed(out) => {
            apply::after_step(deps, &Arc::default(), &out, None).await;
            let reply = apply::card_for(&flow, &out, &name);
            apply::edit_card(deps, &out.session, reply).await;
            Ok(Answer::Ephemeral("Picking up where you stopped.".into()))
        }
        Opened::Running(s) => {
            let posting = s.card_message_id == Some(0)
                && age_secs(&data.store, &s.updated_at) < POSTING_GRACE_SECS;
            match s.card_message_id.filter(|m| *m != 0) {
                Some(m) => Ok(Answer::Ephemeral(format!(
                    "The questions are already open: {}.",
                    link(m)
                ))),
                None if posting => Ok(Answer::Ephemeral("The questions are opening…".into())),
                None => {
                    let out = apply::act(&data.store, flow.clone(), thread, Action::Show).await?;
                    if let Some(out) = out {
                        let reply = apply::card_for(&flow, &out, &name);
                        apply::post_card(deps, thread, reply).await;
                    }
                    Ok(Answer::Ephemeral(
                        "Here are the questions again, below.".into(),
                    ))
                }
            }
        }
        Opened::Completed(_) => Ok(Answer::Ephemeral(
            "These questions are done; the recruiters have the summary.".into(),
        )),
    }
}

fn age_secs(store: &crate::store::Store, stamp: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .map(|t| (store.now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(i64::MAX)
}

/// "Retry summary" on the fallback (staff).
pub(crate) struct SummaryRetry;

#[serenity::async_trait]
impl ComponentHandler for SummaryRetry {
    fn prefix(&self) -> &'static str {
        apply::SUMMARY_PREFIX
    }

    fn meta(&self) -> Meta {
        Meta::staff()
    }

    async fn handle(
        &self,
        sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let thread: u64 = click.args.get(1).and_then(|t| t.parse().ok()).unwrap_or(0);
        let (ticket, session) = data
            .store
            .read(move |c| Ok((tables::ticket(c, thread)?, tables::session(c, thread)?)))
            .await?;
        let (Some(ticket), Some(session)) = (ticket, session) else {
            return Ok(Answer::Ephemeral(
                "There is no questionnaire for this thread.".into(),
            ));
        };
        if session.status != SessionStatus::Completed {
            return Ok(Answer::Ephemeral(
                "The questions are not finished yet; the summary comes when they are.".into(),
            ));
        }
        let flows = data.features.get::<Onboarding>()?.flows(data);
        let deps = Deps::of(data, &sctx.http);
        let flow = flows.get(&session.flow).cloned();
        if !apply::post_summary(&deps, flow.as_deref(), &session, &ticket).await {
            // Refused again: post_summary posted a new fallback with its own button.
            return Ok(Answer::Ephemeral(
                "The summary was refused again; a new fallback with a Retry button is below."
                    .into(),
            ));
        }
        Ok(Answer::Update(Reply::embed(
            Embed::new("Summary rebuilt")
                .description(format!(
                    "{} asked for the summary again; it is below.",
                    click.user_name
                ))
                .color(COLOR_INFO),
        )))
    }
}
