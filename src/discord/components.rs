//! Buttons and selects: one router for every component interaction. A custom id is
//! stable and self-describing, `feature:action:args…` (at most 100 characters, Discord's
//! limit), so a click on a message posted before a restart or deploy is routed like any
//! other: nothing a user may click later lives in memory. The router finds the feature's
//! handler by the first segment, holds the click to the handler's declared tier and
//! toggle (as the dispatcher does for commands), and answers within Discord's 3 seconds:
//! the handler's update of the message, or an ephemeral line. A handler still working
//! after [`DEFER_AFTER`] (a 429 on the message it edits, a slow store) gets the click
//! deferred, and its answer is delivered by editing the original response or a follow-up.

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    ActionRowComponent, ChannelId, ComponentInteraction, Context as SerenityContext,
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateModal, EditInteractionResponse, GuildId, Http,
    ModalInteraction,
};

use super::BotData;
use super::errors::CommandError;
use super::reply::Reply;
use super::tiers::{self, Meta};

/// Discord's limit for a custom id.
pub(crate) const CUSTOM_ID_MAX: usize = 100;

/// A click (or a submitted form), as a handler sees it.
#[derive(Debug, Clone)]
pub(crate) struct Click {
    /// The segments after the feature's own: `res:list:c.C1CA:2` → `["list", "c.C1CA", "2"]`.
    pub args: Vec<String>,
    /// Set when the clicker is below the handler's tier and let in as a clan lead (the
    /// handler limits itself to their clans): their user id.
    pub as_lead: Option<u64>,
    pub user_id: u64,
    pub user_name: String,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    /// A form's fields by custom id (empty for buttons).
    pub fields: Vec<(String, String)>,
    /// The options picked in a select menu (empty for buttons and forms).
    pub values: Vec<String>,
    /// The clicker's tier, for handlers that let some people see and others act.
    pub tier: tiers::Tier,
}

/// What the click does.
pub(crate) enum Answer {
    /// Edits the clicked message in place (content, embeds, components).
    Update(Reply),
    /// A new message in the channel, for everyone.
    Message(Reply),
    /// Opens a form; its submission comes back with the form's custom id.
    Modal(CreateModal),
    /// Acknowledges without a visible answer (the handler posts or edits on its own).
    Acknowledge,
    /// Tells only the clicker.
    Ephemeral(String),
}

/// A component click or a form submission, with what routing needs.
pub(crate) struct Incoming {
    pub custom_id: String,
    pub roles: Vec<u64>,
    pub administrator: bool,
    pub user_id: u64,
    pub user_name: String,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    pub fields: Vec<(String, String)>,
    pub values: Vec<String>,
}

impl Incoming {
    fn of(
        custom_id: &str,
        member: Option<&serenity::all::Member>,
        user: &serenity::all::User,
        guild_id: Option<GuildId>,
        channel_id: ChannelId,
        fields: Vec<(String, String)>,
    ) -> Incoming {
        Incoming {
            custom_id: custom_id.to_owned(),
            roles: member
                .iter()
                .flat_map(|m| m.roles.iter().map(|r| r.get()))
                .collect(),
            administrator: member
                .and_then(|m| m.permissions)
                .is_some_and(|p| p.administrator()),
            user_id: user.id.get(),
            user_name: user.name.clone(),
            guild_id,
            channel_id,
            fields,
            values: Vec::new(),
        }
    }

    pub(crate) fn component(c: &ComponentInteraction) -> Incoming {
        let m = c.member.as_ref();
        let mut inc = Incoming::of(
            &c.data.custom_id,
            m,
            &c.user,
            c.guild_id,
            c.channel_id,
            Vec::new(),
        );
        if let serenity::all::ComponentInteractionDataKind::StringSelect { values } = &c.data.kind {
            inc.values = values.clone();
        }
        inc
    }

    pub(crate) fn modal(m: &ModalInteraction) -> Incoming {
        let fields = m
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .filter_map(|c| match c {
                ActionRowComponent::InputText(t) => {
                    Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .collect();
        let member = m.member.as_ref();
        Incoming::of(
            &m.data.custom_id,
            member,
            &m.user,
            m.guild_id,
            m.channel_id,
            fields,
        )
    }
}

#[serenity::async_trait]
pub(crate) trait ComponentHandler: Send + Sync {
    /// The first segment of the custom ids it owns (`res`).
    fn prefix(&self) -> &'static str;
    /// Who may click, and the toggle that switches it on.
    fn meta(&self) -> Meta;
    async fn handle(
        &self,
        sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError>;
}

/// Every feature's handler, registered when the app is wired.
#[derive(Default)]
pub(crate) struct Components {
    handlers: Vec<Arc<dyn ComponentHandler>>,
}

impl Components {
    pub(crate) fn with(mut self, h: Arc<dyn ComponentHandler>) -> Self {
        self.handlers.push(h);
        self
    }
}

/// A custom id from its segments; `None` when Discord would refuse it (too long, or a
/// segment holding the separator).
pub(crate) fn custom_id(parts: &[&str]) -> Option<String> {
    if parts.iter().any(|p| p.contains(':')) {
        return None;
    }
    let id = parts.join(":");
    (id.len() <= CUSTOM_ID_MAX).then_some(id)
}

/// A row of Prev / Next buttons for page `page` (0-based) of `pages`, whose custom ids are
/// `base` plus the page to show. `None` for a single page.
pub(crate) fn pager(base: &[&str], page: usize, pages: usize) -> Option<CreateActionRow> {
    if pages <= 1 {
        return None;
    }
    let button = |label: &str, to: usize, disabled: bool| {
        let to = to.to_string();
        let mut parts = base.to_vec();
        parts.push(&to);
        custom_id(&parts).map(|id| CreateButton::new(id).label(label).disabled(disabled))
    };
    let prev = button("◀ Prev", page.saturating_sub(1), page == 0)?;
    let next = button("Next ▶", (page + 1).min(pages - 1), page + 1 >= pages)?;
    let info = CreateButton::new(custom_id(&[base[0], "noop"])?)
        .label(format!("{}/{pages}", page + 1))
        .disabled(true);
    Some(CreateActionRow::Buttons(vec![prev, info, next]))
}

/// How long a handler may work before the click is deferred: Discord drops an
/// interaction not answered within 3 s of its creation, and the answer needs a round trip.
pub(crate) const DEFER_AFTER: Duration = Duration::from_secs(2);

/// The interaction a click or a form submission came in, to answer it.
#[derive(Clone, Copy)]
pub(crate) enum Answering<'a> {
    Component(&'a ComponentInteraction),
    Modal(&'a ModalInteraction),
}

impl Answering<'_> {
    fn custom_id(&self) -> &str {
        match self {
            Answering::Component(c) => &c.data.custom_id,
            Answering::Modal(m) => &m.data.custom_id,
        }
    }

    fn incoming(&self) -> Incoming {
        match self {
            Answering::Component(c) => Incoming::component(c),
            Answering::Modal(m) => Incoming::modal(m),
        }
    }

    async fn respond(&self, http: &Http, r: CreateInteractionResponse) -> serenity::Result<()> {
        match self {
            Answering::Component(c) => c.create_response(http, r).await,
            Answering::Modal(m) => m.create_response(http, r).await,
        }
    }

    async fn edit(&self, http: &Http, e: EditInteractionResponse) -> serenity::Result<()> {
        match self {
            Answering::Component(c) => c.edit_response(http, e).await.map(|_| ()),
            Answering::Modal(m) => m.edit_response(http, e).await.map(|_| ()),
        }
    }

    async fn follow(
        &self,
        http: &Http,
        f: CreateInteractionResponseFollowup,
    ) -> serenity::Result<()> {
        match self {
            Answering::Component(c) => c.create_followup(http, f).await.map(|_| ()),
            Answering::Modal(m) => m.create_followup(http, f).await.map(|_| ()),
        }
    }
}

/// Routes a click or a form and answers it: at once when the handler is done within
/// [`DEFER_AFTER`]; otherwise the click is deferred (the message stays as it is, a
/// spinner for the clicker) and the answer completes it when the handler is done.
pub(crate) async fn answer(sctx: &SerenityContext, data: &BotData, on: Answering<'_>) {
    let id = on.custom_id().to_owned();
    let work = route(sctx, data, on.incoming());
    tokio::pin!(work);
    let sent = match tokio::time::timeout(DEFER_AFTER, &mut work).await {
        Ok(answer) => on.respond(&sctx.http, answer.into_response()).await,
        Err(_) => {
            tracing::info!(custom_id = %id, "handler still working; the click is deferred");
            // The handler goes on meanwhile and finishes either way: what it stores
            // must not be cut off by a failed deferral.
            let (deferred, answer) = tokio::join!(
                on.respond(&sctx.http, CreateInteractionResponse::Acknowledge),
                &mut work
            );
            match deferred {
                Ok(()) => answer.complete(&on, &sctx.http).await,
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = sent {
        tracing::warn!(custom_id = %id, error = %e, "could not answer a click or a form");
    }
}

impl Answer {
    /// The answer as the interaction's first response.
    fn into_response(self) -> CreateInteractionResponse {
        let message = |reply: Reply| {
            let content = crate::redact::redact(&reply.content).into_owned();
            CreateInteractionResponseMessage::new()
                .content(content)
                .components(reply.components)
                .allowed_mentions(super::reply::allowed_mentions(&reply.pings))
                .embeds(reply.embeds.iter().map(|e| e.to_create()).collect())
        };
        match self {
            Answer::Update(reply) => CreateInteractionResponse::UpdateMessage(message(reply)),
            Answer::Message(reply) => CreateInteractionResponse::Message(message(reply)),
            Answer::Modal(m) => CreateInteractionResponse::Modal(m),
            Answer::Acknowledge => CreateInteractionResponse::Acknowledge,
            Answer::Ephemeral(text) => ephemeral(text),
        }
    }

    /// The answer after the click was deferred (a deferred update: `@original` is the
    /// clicked message).
    async fn complete(self, on: &Answering<'_>, http: &Http) -> serenity::Result<()> {
        let follow = |reply: Reply, ephemeral: bool| {
            CreateInteractionResponseFollowup::new()
                .content(crate::redact::redact(&reply.content).into_owned())
                .components(reply.components)
                .allowed_mentions(super::reply::allowed_mentions(&reply.pings))
                .embeds(reply.embeds.iter().map(|e| e.to_create()).collect())
                .ephemeral(ephemeral)
        };
        match self {
            Answer::Update(reply) => {
                let edit = EditInteractionResponse::new()
                    .content(crate::redact::redact(&reply.content).into_owned())
                    .components(reply.components)
                    .allowed_mentions(super::reply::allowed_mentions(&reply.pings))
                    .embeds(reply.embeds.iter().map(|e| e.to_create()).collect());
                on.edit(http, edit).await
            }
            Answer::Message(reply) => on.follow(http, follow(reply, false)).await,
            Answer::Acknowledge => Ok(()),
            // A form can only be the first answer to a click.
            Answer::Modal(_) => {
                on.follow(
                    http,
                    follow(
                        Reply::text("That took too long to open the form; click the button again."),
                        true,
                    ),
                )
                .await
            }
            Answer::Ephemeral(text) => on.follow(http, follow(Reply::text(text), true)).await,
        }
    }
}

/// Routes one component click or form submission to its handler; what to answer.
async fn route(sctx: &SerenityContext, data: &BotData, inc: Incoming) -> Answer {
    let id = inc.custom_id.clone();
    let mut parts = id.split(':').map(str::to_owned);
    let prefix = parts.next().unwrap_or_default();
    let handler = data
        .features
        .get::<Components>()
        .ok()
        .and_then(|cs| cs.handlers.iter().find(|h| h.prefix() == prefix).cloned());
    let answer = match handler {
        None => Ok(Answer::Ephemeral(
            "This button belongs to something this version of the bot no longer has. Run the command again for a fresh one.".into(),
        )),
        Some(h) => {
            let meta = h.meta();
            let cfg = data.config.get();
            let have = tiers::resolve(&inc.roles, inc.administrator, &cfg.roles);
            let lead = have < meta.tier
                && tiers::lead_admitted(&meta, inc.user_id, inc.channel_id.get(), &cfg);
            if meta.toggle.is_some_and(|t| !data.config.enabled(t)) {
                Err(CommandError::FeatureOff(meta.toggle.unwrap_or_default()))
            } else if have < meta.tier && !lead {
                Err(CommandError::Denied {
                    needed: meta.tier,
                    have,
                })
            } else {
                let click = Click {
                    args: parts.collect(),
                    as_lead: lead.then_some(inc.user_id),
                    user_id: inc.user_id,
                    user_name: inc.user_name,
                    guild_id: inc.guild_id,
                    channel_id: inc.channel_id,
                    fields: inc.fields,
                    values: inc.values,
                    tier: have,
                };
                h.handle(sctx, data, click).await
            }
        }
    };
    let trace = crate::telemetry::current_trace_id().unwrap_or_default();
    answer.unwrap_or_else(|e| {
        if e.is_internal() {
            tracing::error!(custom_id = %id, error = %e, "component handler failed");
        } else {
            tracing::info!(custom_id = %id, outcome = "refused", reason = %e, "component refused");
        }
        Answer::Ephemeral(e.public_message("this button", &trace))
    })
}

fn ephemeral(text: String) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(super::reply::allowed_mentions(&[])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_keep_to_discords_limit_and_their_separator() {
        assert_eq!(
            custom_id(&["res", "list", "all", "2"]).as_deref(),
            Some("res:list:all:2")
        );
        assert_eq!(custom_id(&["res", "a:b"]), None);
        assert_eq!(custom_id(&["res", &"x".repeat(100)]), None);
    }

    #[test]
    fn a_single_page_has_no_pager() {
        assert!(pager(&["res", "list", "all"], 0, 1).is_none());
        assert!(pager(&["res", "list", "all"], 0, 3).is_some());
    }
}
