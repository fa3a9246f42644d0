//! The apply steps: each change is one transaction (the row, its audit row and the
//! mirror outbox entries), then the Discord side effects — the panel, the card, the
//! summary — which never hold the transaction open. Every decision is made by the pure
//! modules (`tickets`, `wizard`, `summary`); this file only carries it out.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateButton, CreateMessage,
    EditMessage, Http, MessageId, RoleId, UserId,
};

use super::card;
use super::flow::{self, Flow};
use super::summary;
use super::tables::{self, NewTicket, Session, SessionStatus, Ticket};
use super::wizard::{self, Action, Event, Outcome};
use crate::discord::BotData;
use crate::discord::outbound::{Outbound, retry_429};
use crate::discord::reply::{Reply, allowed_mentions};
use crate::message::alert::{Alert, AlertSink, Severity};
use crate::sheets::outbox::{self, Target};
use crate::store::{Audit, Store, StoreError, ts};
use crate::tabs::questions::QuestionSet;
use crate::telemetry::events::Telemetry;
use crate::telemetry::metrics::Metrics;

pub(crate) const SUMMARY_PREFIX: &str = "onbs";

/// The onboarding feature's own state: the flows compiled from the questions bucket,
/// recompiled when the bucket refreshes, and a lock per ticket being worked on.
#[derive(Default)]
pub(crate) struct Onboarding {
    flows: Mutex<Option<(Arc<QuestionSet>, Flows)>>,
    tickets: Mutex<std::collections::HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

/// Every flow, compiled, by name.
pub(crate) type Flows = Arc<BTreeMap<String, Arc<Flow>>>;

impl Onboarding {
    /// The compiled flows of the questions bucket as it is now (none before it loads).
    pub(crate) fn flows(&self, data: &BotData) -> Flows {
        let Some(set) = data.cache.questions() else {
            return Arc::default();
        };
        let mut cached = self.flows.lock();
        if let Some((seen, flows)) = cached.as_ref()
            && Arc::ptr_eq(seen, &set)
        {
            return flows.clone();
        }
        let (compiled, _) = flow::compile_all(&set);
        let flows: Flows = Arc::new(
            compiled
                .into_iter()
                .map(|(k, v)| (k, Arc::new(v)))
                .collect(),
        );
        *cached = Some((set, flows.clone()));
        flows
    }

    /// One change of a ticket's questionnaire at a time, card included: a reply typed
    /// while the card is still being posted waits until the card and its id are saved,
    /// so the reply's card edit lands on it (run side by side, the answer was kept but
    /// the card stayed on the old question).
    pub(crate) async fn one_at_a_time(&self, thread: u64) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut tickets = self.tickets.lock();
            // Locks nobody holds or waits for are dropped as we go.
            tickets.retain(|_, l| Arc::strong_count(l) > 1);
            tickets.entry(thread).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// What the side effects need, cloned out of `BotData` so they can outlive the event.
#[derive(Clone)]
pub(crate) struct Deps {
    pub store: Store,
    pub http: Arc<Http>,
    pub outbound: Arc<Outbound>,
    pub telemetry: Arc<Telemetry>,
    pub metrics: Arc<Metrics>,
    pub alerts: Arc<dyn AlertSink>,
    pub recruiter_roles: Vec<u64>,
}

impl Deps {
    pub(crate) fn of(data: &BotData, http: &Arc<Http>) -> Deps {
        Deps {
            store: data.store.clone(),
            http: http.clone(),
            outbound: data.outbound.clone(),
            telemetry: data.telemetry.clone(),
            metrics: data.metrics.clone(),
            alerts: data.alerts.clone(),
            recruiter_roles: data.config.get().roles.recruiter.clone(),
        }
    }

    pub(crate) fn emit(&self, what: &str, fields: serde_json::Value) {
        let mut fields = fields;
        fields["action"] = json!(what);
        self.telemetry.emit(
            "onboarding",
            &crate::telemetry::current_trace_id().unwrap_or_default(),
            fields,
        );
    }

    /// Refreshes the sessions-by-state gauge from the table.
    pub(crate) async fn sync_metrics(&self) {
        sync_session_metrics(&self.store, &self.metrics).await;
    }
}

/// Sets the sessions-by-state gauge from the table (at start, and after each change).
pub(crate) async fn sync_session_metrics(store: &Store, metrics: &Metrics) {
    match store.read(tables::session_counts).await {
        Ok(counts) => {
            for s in SessionStatus::ALL {
                let n = counts.get(s.as_str()).copied().unwrap_or(0);
                metrics.set_onboarding_sessions(s.as_str(), n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count the onboarding sessions"),
    }
}

fn queue_tickets(
    tx: &rusqlite::Transaction<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    outbox::enqueue_in(tx, &Target::TicketsTab, now)
}

fn queue_sessions(
    tx: &rusqlite::Transaction<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    outbox::enqueue_in(tx, &Target::SessionsTab, now)
}

/// Records a new ticket (idempotent: Discord may deliver the thread twice). Whether it
/// was new.
pub(crate) async fn open_ticket(store: &Store, t: NewTicket) -> Result<bool, StoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            let new = tables::insert_ticket(tx, &t, now)?;
            if new {
                Store::audit_in(
                    tx,
                    now,
                    &Audit {
                        actor: "ticket-tool",
                        action: "onboarding.ticket_opened",
                        target: Some(&t.number),
                        detail: Some(json!({"thread": t.thread_id.to_string(), "flow": t.flow})),
                    },
                )?;
                queue_tickets(tx, now)?;
            }
            Ok(new)
        })
        .await
}

/// Binds the ticket's subject; `only_unset` for the greeting (a bind is never
/// overridden). Whether it changed.
pub(crate) async fn bind(
    store: &Store,
    thread: u64,
    user: u64,
    name: String,
    actor: String,
    only_unset: bool,
) -> Result<bool, StoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            let changed = tables::set_subject(tx, thread, user, &name, only_unset, now)?;
            if changed {
                Store::audit_in(
                    tx,
                    now,
                    &Audit {
                        actor: &actor,
                        action: "onboarding.subject_bound",
                        target: Some(&thread.to_string()),
                        detail: Some(json!({"user": user.to_string()})),
                    },
                )?;
                queue_tickets(tx, now)?;
            }
            Ok(changed)
        })
        .await
}

/// Posts the panel once per ticket: the claim in the table makes a second caller (a
/// replayed greeting, a bind racing the greeting) a no-op; a failed post gives the
/// claim back so the next trigger tries again.
pub(crate) async fn post_panel(deps: &Deps, ticket: &Ticket) {
    let thread = ticket.thread_id;
    let claimed = deps
        .store
        .transaction(move |tx| tables::claim_panel(tx, thread))
        .await;
    if !matches!(claimed, Ok(true)) {
        return;
    }
    let reply = card::panel(thread, &ticket.subject_name);
    let posted = deps
        .outbound
        .post(ChannelId::new(thread), reply.to_message())
        .await;
    let now = deps.store.now();
    let id = match &posted {
        Ok(m) => Some(m.id.get()),
        Err(e) => {
            tracing::warn!(thread_id = thread, error = %e, "could not post the onboarding panel; the next trigger tries again");
            None
        }
    };
    let saved = deps
        .store
        .transaction(move |tx| {
            tables::set_panel(tx, thread, id, now)?;
            queue_tickets(tx, now)
        })
        .await;
    if let Err(e) = saved {
        tracing::error!(thread_id = thread, error = %e, "could not record the onboarding panel");
    }
}

/// What starting (or picking up) a session came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Opened {
    /// A new session: its first card has to be posted.
    Started(Outcome),
    /// A paused session picked up again: its card shows the question again.
    Resumed(Outcome),
    /// Already running (a second click, a double click, racing staff): nothing new.
    Running(Session),
    Completed(Session),
}

/// Starts the ticket's session, or finds the one there is, in one transaction (the
/// primary key decides a race).
pub(crate) async fn open_session(
    store: &Store,
    flow: Arc<Flow>,
    ticket: &Ticket,
    subject: u64,
) -> Result<Opened, StoreError> {
    let now = store.now();
    let stamp = ts(now);
    let (thread, flow_name) = (ticket.thread_id, ticket.flow.clone());
    store
        .transaction(move |tx| {
            if let Some(s) = tables::session(tx, thread)? {
                return match s.status {
                    SessionStatus::Completed => Ok(Opened::Completed(s)),
                    SessionStatus::Active => Ok(Opened::Running(s)),
                    SessionStatus::Paused => {
                        let out = wizard::step(&flow, &s, Action::Resume, &stamp);
                        tables::save_session(tx, &out.session)?;
                        queue_sessions(tx, now)?;
                        Ok(Opened::Resumed(out))
                    }
                };
            }
            let fresh = wizard::start(
                &flow,
                Session {
                    thread_id: thread,
                    user_id: subject,
                    flow: flow_name,
                    status: SessionStatus::Active,
                    step: None,
                    answers: BTreeMap::new(),
                    schema_hash: String::new(),
                    schema_notice: false,
                    // 0: being posted (a second click waits for it instead of posting another).
                    card_message_id: Some(0),
                    summary_message_id: None,
                    started_at: stamp.clone(),
                    updated_at: stamp.clone(),
                    completed_at: None,
                },
            );
            if !tables::insert_session(tx, &fresh)? {
                // Lost a race inside SQLite's own lock: cannot happen with one writer,
                // but the answer is the same as a second click.
                let s = tables::session(tx, thread)?;
                return Ok(Opened::Running(s.unwrap_or(fresh)));
            }
            queue_sessions(tx, now)?;
            let out = wizard::step(&flow, &fresh, Action::Show, &stamp);
            Ok(Opened::Started(out))
        })
        .await
}

/// Runs one wizard action on the thread's session and saves the result before
/// anything is shown. `None` when the thread has no session.
pub(crate) async fn act(
    store: &Store,
    flow: Arc<Flow>,
    thread: u64,
    action: Action,
) -> Result<Option<Outcome>, StoreError> {
    let now = store.now();
    let stamp = ts(now);
    store
        .transaction(move |tx| {
            let Some(s) = tables::session(tx, thread)? else {
                return Ok(None);
            };
            let out = wizard::step(&flow, &s, action, &stamp);
            if out.changed {
                tables::save_session(tx, &out.session)?;
                queue_sessions(tx, now)?;
            }
            Ok(Some(out))
        })
        .await
}

/// Records where the card now is (`None`: it could not be posted; the next click posts it).
pub(crate) async fn set_card(
    store: &Store,
    thread: u64,
    message: Option<u64>,
) -> Result<(), StoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            if let Some(mut s) = tables::session(tx, thread)? {
                s.card_message_id = message;
                tables::save_session(tx, &s)?;
                queue_sessions(tx, now)?;
            }
            Ok(())
        })
        .await
}

/// Telemetry for what a wizard step did, and the summary once it completed. Awaited
/// in the handler (a slow click is deferred by the router), so nothing is left running
/// outside the shutdown's reach.
pub(crate) async fn after_step(deps: &Deps, flows: &Flows, out: &Outcome, ticket: Option<Ticket>) {
    let s = &out.session;
    for e in &out.events {
        match e {
            Event::Answer { qid } => deps.emit("answer", json!({"thread_id": s.thread_id.to_string(), "qid": qid, "answered": s.answers.len()})),
            Event::Completed => deps.emit("completed", json!({"thread_id": s.thread_id.to_string(), "answered": s.answers.len()})),
            Event::Paused => deps.emit("paused", json!({"thread_id": s.thread_id.to_string()})),
            Event::Resumed => deps.emit("resumed", json!({"thread_id": s.thread_id.to_string(), "step": s.step})),
            Event::SchemaChanged { dropped } => deps.emit("schema_changed", json!({"thread_id": s.thread_id.to_string(), "dropped": dropped})),
        }
    }
    if !out.events.is_empty() {
        deps.sync_metrics().await;
    }
    if out.events.contains(&Event::Completed)
        && let Some(ticket) = ticket
    {
        let flow = flows.get(&s.flow).cloned();
        post_summary(deps, flow.as_deref(), s, &ticket).await;
    }
}

/// Posts the summary with a ping of the recruiter roles; when it cannot be built or
/// Discord refuses it, a fallback with a staff-only "Retry summary" button that
/// rebuilds it from the stored answers. Whether the summary itself was posted.
pub(crate) async fn post_summary(
    deps: &Deps,
    flow: Option<&Flow>,
    s: &Session,
    ticket: &Ticket,
) -> bool {
    let thread = ChannelId::new(s.thread_id);
    let why = match summary::build(flow, s, ticket, &ticket.subject_name) {
        Ok(embeds) => {
            let roles: Vec<String> = deps
                .recruiter_roles
                .iter()
                .map(|r| format!("<@&{r}>"))
                .collect();
            let content = if roles.is_empty() {
                format!("{} finished the questions.", ticket.subject_name)
            } else {
                format!(
                    "{} — {} finished the questions.",
                    roles.join(" "),
                    ticket.subject_name
                )
            };
            let msg = CreateMessage::new()
                .content(content)
                .embeds(embeds.iter().map(|e| e.to_create()).collect())
                .allowed_mentions(
                    CreateAllowedMentions::new()
                        .roles(deps.recruiter_roles.iter().map(|r| RoleId::new(*r)))
                        .users(Vec::<UserId>::new()),
                );
            match deps.outbound.post(thread, msg).await {
                Ok(m) => {
                    let id = m.id.get();
                    let t = s.thread_id;
                    let now = deps.store.now();
                    let saved = deps
                        .store
                        .transaction(move |tx| {
                            if let Some(mut s) = tables::session(tx, t)? {
                                s.summary_message_id = Some(id);
                                tables::save_session(tx, &s)?;
                                queue_sessions(tx, now)?;
                            }
                            Ok(())
                        })
                        .await;
                    if let Err(e) = saved {
                        tracing::error!(thread_id = t, error = %e, "could not record the summary message");
                    }
                    deps.emit(
                        "summary_posted",
                        json!({"thread_id": s.thread_id.to_string()}),
                    );
                    return true;
                }
                Err(e) => format!("Discord refused it: {e}"),
            }
        }
        Err(e) => e.to_string(),
    };
    tracing::warn!(thread_id = s.thread_id, reason = %why, "onboarding summary not posted; posting the fallback");
    deps.emit(
        "summary_failed",
        json!({"thread_id": s.thread_id.to_string(), "reason": why}),
    );
    let retry =
        crate::discord::components::custom_id(&[SUMMARY_PREFIX, "retry", &s.thread_id.to_string()])
            .unwrap_or_default();
    let fallback = CreateMessage::new()
        .embed(summary::fallback(ticket, &why).to_create())
        .components(vec![CreateActionRow::Buttons(vec![
            CreateButton::new(retry)
                .label("Retry summary")
                .style(ButtonStyle::Primary),
        ])])
        .allowed_mentions(allowed_mentions(&[]));
    if let Err(e) = deps.outbound.post(thread, fallback).await {
        tracing::error!(thread_id = s.thread_id, error = %e, "could not post the summary fallback either");
        deps.alerts
            .send(Alert::new(
                Severity::Warning,
                format!("onboarding:summary:{}", s.thread_id),
                "Onboarding summary not posted",
                format!("The summary of ticket {} (<#{}>) could not be posted: {why}. Run `!onb resume` there to see the answers.", ticket.number, s.thread_id),
            ))
            .await;
    }
    false
}

/// Edits the card message (a plain reply moved it on), retrying 429s; a card that is
/// gone, or was never posted (`Some(0)`: the process died while posting it), is posted
/// again.
pub(crate) async fn edit_card(deps: &Deps, s: &Session, reply: Reply) {
    let thread = ChannelId::new(s.thread_id);
    if let Some(card) = s.card_message_id.filter(|m| *m != 0) {
        let edit = EditMessage::new()
            .embeds(reply.embeds.iter().map(|e| e.to_create()).collect())
            .components(reply.components.clone())
            .allowed_mentions(allowed_mentions(&[]));
        let http = deps.http.clone();
        let result = retry_429("PATCH card", || {
            let (http, edit) = (http.clone(), edit.clone());
            async move { thread.edit_message(&http, MessageId::new(card), edit).await }
        })
        .await;
        match result {
            Ok(_) => return,
            Err(e) => {
                tracing::info!(thread_id = s.thread_id, error = %e, "could not edit the card; posting it again")
            }
        }
    }
    post_card(deps, s.thread_id, reply).await;
}

/// Posts a card and records it as the session's card.
pub(crate) async fn post_card(deps: &Deps, thread: u64, reply: Reply) -> Option<u64> {
    match deps
        .outbound
        .post(ChannelId::new(thread), reply.to_message())
        .await
    {
        Ok(m) => {
            if let Err(e) = set_card(&deps.store, thread, Some(m.id.get())).await {
                tracing::error!(thread_id = thread, error = %e, "could not record the card message");
            }
            Some(m.id.get())
        }
        Err(e) => {
            tracing::warn!(thread_id = thread, error = %e, "could not post the questionnaire card");
            if let Err(e) = set_card(&deps.store, thread, None).await {
                tracing::error!(thread_id = thread, error = %e, "could not record the missing card");
            }
            None
        }
    }
}

/// The card for a step's outcome.
pub(crate) fn card_for(flow: &Flow, out: &Outcome, subject: &str) -> Reply {
    card::card(flow, &out.session, &out.view, subject)
}
