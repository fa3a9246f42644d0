//! What onboarding watches on the gateway: Ticket Tool opening a thread (a ticket), its
//! greeting (the subject, then the panel), the subject's plain replies (answers to the
//! card's question, captured and deleted), and renames (display only).

use serde_json::json;
use serenity::all::{Context as SerenityContext, FullEvent, GuildChannel, Message};

use super::apply::{self, Deps, Onboarding};
use super::tables::{self, SessionStatus, Ticket, TicketStatus};
use super::tickets::{self, Said, ThreadSeen, Watch};
use super::validate::Input;
use super::wizard::{Action, Event};
use crate::discord::BotData;
use crate::discord::events::Listener;
use crate::message::alert::{Alert, Severity};

pub(crate) struct Watcher;

fn watch(data: &BotData) -> Watch {
    let cfg = data.config.get();
    Watch {
        welcome_channel: cfg.channels.welcome,
        promo_channel: cfg.channels.promo,
        ticket_tool: cfg.ticket_tool_bot_id,
        welcome: data.config.enabled("welcome_enabled"),
        promo: data.config.enabled("enable_promo_watcher"),
    }
}

fn seen(t: &GuildChannel) -> ThreadSeen {
    ThreadSeen {
        id: t.id.get(),
        parent: t.parent_id.map(|p| p.get()),
        name: t.name.clone(),
        owner: t.owner_id.map(|o| o.get()),
    }
}

/// Whether the panel and the wizard are on (`enable_welcome_hook`, `onboarding_wizard`).
pub(crate) fn wizard_on(data: &BotData) -> bool {
    data.config.enabled("enable_welcome_hook") && data.config.enabled("onboarding_wizard")
}

/// Records the ticket a thread opens, if it is one. The ticket, new or known.
async fn on_thread(data: &BotData, deps: &Deps, t: &ThreadSeen) -> Option<Ticket> {
    let new = match tickets::classify(t, &watch(data)) {
        Ok(n) => n,
        Err(why) => {
            tracing::debug!(thread_id = t.id, reason = %why, "thread is not a ticket");
            return None;
        }
    };
    match apply::open_ticket(&data.store, new.clone()).await {
        Ok(true) => {
            tracing::info!(thread_id = t.id, ticket = %new.number, flow = %new.flow, "ticket opened");
            deps.emit(
                "ticket_opened",
                json!({"thread_id": t.id.to_string(), "ticket": new.number, "flow": new.flow}),
            );
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(thread_id = t.id, error = %e, "could not record the ticket");
            return None;
        }
    }
    let id = t.id;
    data.store
        .read(move |c| tables::ticket(c, id))
        .await
        .ok()
        .flatten()
}

/// The thread a message was posted in, when it is a thread: from the cache, else asked
/// of Discord (a thread the cache has not seen yet, or a greeting that beat THREAD_CREATE).
async fn thread_of(sctx: &SerenityContext, m: &Message) -> Option<ThreadSeen> {
    let guild = m.guild_id?;
    if let Some(g) = sctx.cache.guild(guild) {
        if g.channels.contains_key(&m.channel_id) {
            return None;
        }
        if let Some(t) = g.threads.iter().find(|t| t.id == m.channel_id) {
            return Some(seen(t));
        }
    }
    match m.channel_id.to_channel(sctx).await {
        Ok(serenity::all::Channel::Guild(c)) if c.thread_metadata.is_some() => Some(seen(&c)),
        _ => None,
    }
}

fn said(m: &Message) -> Said {
    Said {
        author: m.author.id.get(),
        author_is_bot: m.author.bot,
        content: m.content.clone(),
        mentions: m.mentions.iter().map(|u| (u.id.get(), u.bot)).collect(),
    }
}

async fn on_message(sctx: &SerenityContext, data: &BotData, deps: &Deps, m: &Message) {
    let us = sctx.cache.current_user().id.get();
    if m.author.id.get() == us {
        return;
    }
    // Most messages are in plain channels: known from the cache, without a query.
    if let Some(g) = m.guild_id.and_then(|g| sctx.cache.guild(g))
        && g.channels.contains_key(&m.channel_id)
    {
        return;
    }
    let id = m.channel_id.get();
    let known = data
        .store
        .read(move |c| tables::ticket(c, id))
        .await
        .ok()
        .flatten();
    let ticket = match known {
        Some(t) => t,
        None => {
            let Some(t) = thread_of(sctx, m).await else {
                return;
            };
            match on_thread(data, deps, &t).await {
                Some(t) => t,
                None => return,
            }
        }
    };
    if ticket.status == TicketStatus::Closed {
        return;
    }
    let s = said(m);
    let cfg = data.config.get();
    if ticket.subject_id.is_none() {
        if tickets::is_greeting(&s, cfg.ticket_tool_bot_id, us) {
            greeting(sctx, data, deps, &ticket, m, &s).await;
        }
        return;
    }
    if Some(m.author.id.get()) == ticket.subject_id && !m.author.bot {
        reply(sctx, data, deps, &ticket, m).await;
    }
}

/// The subject's name on the server (nickname first), asked of Discord: without the
/// presences intent the gateway does not send members. Falls back to the mention's
/// global name, then username.
async fn display_name(sctx: &SerenityContext, m: &Message, user: u64) -> String {
    if let Some(g) = m.guild_id
        && let Ok(member) = g.member(sctx, serenity::all::UserId::new(user)).await
    {
        return member.display_name().to_owned();
    }
    m.mentions
        .iter()
        .find(|u| u.id.get() == user)
        .map(|u| u.global_name.clone().unwrap_or_else(|| u.name.clone()))
        .unwrap_or_default()
}

async fn greeting(
    sctx: &SerenityContext,
    data: &BotData,
    deps: &Deps,
    ticket: &Ticket,
    m: &Message,
    s: &Said,
) {
    let Some(subject) = tickets::subject_of(s) else {
        tracing::info!(thread_id = ticket.thread_id, ticket = %ticket.number, "the greeting mentions nobody; the ticket waits for onb bind");
        deps.emit(
            "ticket_waiting",
            json!({"thread_id": ticket.thread_id.to_string(), "ticket": ticket.number}),
        );
        data.alerts
            .send(Alert::new(
                Severity::Warning,
                format!("onboarding:unbound:{}", ticket.thread_id),
                "Ticket without an applicant",
                format!(
                    "Ticket Tool's greeting in <#{}> (ticket {}) mentions nobody, so the bot does not know whose ticket it is. In the thread, run `!onb bind @member`.",
                    ticket.thread_id, ticket.number
                ),
            ))
            .await;
        return;
    };
    let name = display_name(sctx, m, subject).await;
    match apply::bind(&data.store, ticket.thread_id, subject, name.clone(), "greeting".into(), true).await {
        Ok(true) => deps.emit(
            "subject_bound",
            json!({"thread_id": ticket.thread_id.to_string(), "user_id": subject.to_string(), "by": "greeting"}),
        ),
        Ok(false) => return,
        Err(e) => {
            tracing::error!(thread_id = ticket.thread_id, error = %e, "could not bind the ticket's subject");
            return;
        }
    }
    offer_panel(data, deps, ticket.thread_id).await;
}

/// Posts the panel when the wizard is on and the flow has questions.
pub(crate) async fn offer_panel(data: &BotData, deps: &Deps, thread: u64) {
    if !wizard_on(data) {
        return;
    }
    let Some(ticket) = data
        .store
        .read(move |c| tables::ticket(c, thread))
        .await
        .ok()
        .flatten()
    else {
        return;
    };
    let has_questions = match data.features.get::<Onboarding>() {
        Ok(o) => o
            .flows(data)
            .get(&ticket.flow)
            .is_some_and(|f| !f.steps.is_empty()),
        Err(_) => false,
    };
    if !has_questions {
        data.alerts
            .send(Alert::new(
                Severity::Warning,
                format!("onboarding:noflow:{}", ticket.flow),
                "No onboarding questions",
                format!(
                    "Ticket {} (<#{}>) is flow `{}`, which has no questions in the Questions tab, so no panel was posted. Add rows for that flow and run `!ops refresh onboarding_questions`.",
                    ticket.number, thread, ticket.flow
                ),
            ))
            .await;
        return;
    }
    apply::post_panel(deps, &ticket).await;
}

/// A plain reply from the subject: an answer to the card's question.
async fn reply(sctx: &SerenityContext, data: &BotData, deps: &Deps, ticket: &Ticket, m: &Message) {
    let text = m.content.trim();
    if text.is_empty() || text.starts_with('!') || !wizard_on(data) {
        return;
    }
    let thread = ticket.thread_id;
    let Ok(onb) = data.features.get::<Onboarding>() else {
        return;
    };
    let _turn = onb.one_at_a_time(thread).await;
    let Some(session) = data
        .store
        .read(move |c| tables::session(c, thread))
        .await
        .ok()
        .flatten()
    else {
        return;
    };
    if session.status != SessionStatus::Active {
        return;
    }
    let Some(qid) = session.step.clone() else {
        return;
    };
    let flows = onb.flows(data);
    let Some(flow) = flows.get(&ticket.flow).cloned() else {
        return;
    };
    let action = Action::Answer {
        qid,
        input: Input::Text(text.to_owned()),
    };
    let out = match apply::act(&data.store, flow.clone(), thread, action).await {
        Ok(Some(o)) => o,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(thread_id = thread, error = %e, "could not save a typed answer");
            return;
        }
    };
    let accepted = out.events.iter().any(|e| matches!(e, Event::Answer { .. }));
    if accepted {
        // Captured: the answer lives on the card now. Without Manage Messages the reply
        // simply stays.
        if let Err(e) = m.delete(sctx).await {
            tracing::info!(thread_id = thread, error = %e, "could not delete a captured reply (Manage Messages?)");
        }
    }
    apply::after_step(deps, &flows, &out, Some(ticket.clone())).await;
    let card = apply::card_for(&flow, &out, &ticket.subject_name);
    apply::edit_card(deps, &out.session, card).await;
}

#[serenity::async_trait]
impl Listener for Watcher {
    async fn on_event(&self, sctx: &SerenityContext, data: &BotData, event: &FullEvent) {
        let deps = Deps::of(data, &sctx.http);
        match event {
            FullEvent::ThreadCreate { thread } => {
                on_thread(data, &deps, &seen(thread)).await;
            }
            FullEvent::ThreadUpdate { new: t, .. } => {
                let (id, name) = (t.id.get(), t.name.clone());
                let now = data.store.now();
                let renamed = data
                    .store
                    .transaction(move |tx| {
                        let changed = tables::rename(tx, id, &name, now)?;
                        if changed {
                            crate::sheets::outbox::enqueue_in(
                                tx,
                                &crate::sheets::outbox::Target::TicketsTab,
                                now,
                            )?;
                        }
                        Ok(changed)
                    })
                    .await;
                if let Ok(true) = renamed {
                    tracing::info!(thread_id = id, "ticket thread renamed (display only)");
                }
            }
            FullEvent::Message { new_message } => on_message(sctx, data, &deps, new_message).await,
            _ => {}
        }
    }
}
