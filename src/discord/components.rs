//! Buttons and selects: one router for every component interaction. A custom id is
//! stable and self-describing, `feature:action:args…` (at most 100 characters, Discord's
//! limit), so a click on a message posted before a restart or deploy is routed like any
//! other: nothing a user may click later lives in memory. The router finds the feature's
//! handler by the first segment, holds the click to the handler's declared tier and
//! toggle (as the dispatcher does for commands), and answers within Discord's 3 seconds:
//! the handler's update of the message, or an ephemeral line.

use std::sync::Arc;

use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateActionRow, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage,
};

use super::BotData;
use super::errors::CommandError;
use super::reply::Reply;
use super::tiers::{self, Meta, Tier};

/// Discord's limit for a custom id.
pub(crate) const CUSTOM_ID_MAX: usize = 100;

/// A click, as a handler sees it.
#[derive(Debug, Clone)]
pub(crate) struct Click {
    /// The segments after the feature's own: `res:list:c.C1CA:2` → `["list", "c.C1CA", "2"]`.
    pub args: Vec<String>,
    /// Set when the clicker is below the handler's tier and let in as a clan lead (the
    /// handler limits itself to their clans): their user id.
    pub as_lead: Option<u64>,
}

/// What the click does to the message.
pub(crate) enum Answer {
    /// Edits the clicked message in place (content, embeds, components).
    Update(Reply),
    /// Tells only the clicker.
    Ephemeral(String),
}

#[serenity::async_trait]
pub(crate) trait ComponentHandler: Send + Sync {
    /// The first segment of the custom ids it owns (`res`).
    fn prefix(&self) -> &'static str;
    /// Who may click, and the toggle that switches it on.
    fn meta(&self) -> Meta;
    async fn handle(&self, data: &BotData, click: Click) -> Result<Answer, CommandError>;
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

fn tier_of(data: &BotData, c: &ComponentInteraction) -> Tier {
    let cfg = data.config.get();
    match &c.member {
        Some(m) => {
            let roles: Vec<u64> = m.roles.iter().map(|r| r.get()).collect();
            let admin = m.permissions.is_some_and(|p| p.administrator());
            tiers::resolve(&roles, admin, &cfg.roles)
        }
        None => Tier::Member,
    }
}

/// Routes one component interaction and answers it.
pub(crate) async fn route(ctx: &SerenityContext, data: &BotData, c: &ComponentInteraction) {
    let id = c.data.custom_id.clone();
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
            let have = tier_of(data, c);
            let user = c.user.id.get();
            let lead = have < meta.tier
                && tiers::lead_admitted(&meta, user, c.channel_id.get(), &data.config.get());
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
                    as_lead: lead.then_some(user),
                };
                h.handle(data, click).await
            }
        }
    };
    let trace = crate::telemetry::current_trace_id().unwrap_or_default();
    let response = match answer {
        Ok(Answer::Update(reply)) => {
            let content = crate::redact::redact(&reply.content).into_owned();
            let m = CreateInteractionResponseMessage::new()
                .content(content)
                .components(reply.components)
                .allowed_mentions(super::reply::allowed_mentions(&reply.pings))
                .embeds(reply.embeds.iter().map(|e| e.to_create()).collect());
            CreateInteractionResponse::UpdateMessage(m)
        }
        Ok(Answer::Ephemeral(text)) => ephemeral(text),
        Err(e) => {
            if e.is_internal() {
                tracing::error!(custom_id = %id, error = %e, "component handler failed");
            } else {
                tracing::info!(custom_id = %id, outcome = "refused", reason = %e, "component refused");
            }
            ephemeral(e.public_message("this button", &trace))
        }
    };
    if let Err(e) = c.create_response(&ctx.http, response).await {
        tracing::warn!(custom_id = %id, error = %e, "could not answer a component interaction");
    }
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
