//! Every reply the bot sends to a command goes through [`send`]: content and embeds are
//! redacted, long replies are split over several messages within Discord's limits, and
//! each message says explicitly whom it may ping: nobody, unless the feature names the
//! users it means to ping (a recruit in a welcome). A mention typed by a user and echoed
//! back never pings.

use poise::CreateReply;
use serenity::all::{CreateActionRow, CreateAllowedMentions, CreateMessage, EditMessage, UserId};

use super::Ctx;
use super::errors::CommandError;
use crate::message::embed::{Embed, paginate, split_text};
use crate::redact::redact;

/// Discord's limit on message content.
pub(crate) const CONTENT_MAX: usize = 2000;

#[derive(Debug, Clone, Default)]
pub(crate) struct Reply {
    pub content: String,
    pub embeds: Vec<Embed>,
    pub components: Vec<CreateActionRow>,
    /// Only the caller sees it (slash commands; prefix replies are always public).
    pub ephemeral: bool,
    /// The users this reply means to ping; no one else, and no role or @everyone.
    pub pings: Vec<u64>,
}

/// Whom a message may ping: exactly `users`, never roles, @everyone or the author of a
/// replied-to message.
pub(crate) fn allowed_mentions(users: &[u64]) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .users(users.iter().map(|u| UserId::new(*u)))
        .replied_user(false)
}

impl Reply {
    pub(crate) fn text(content: impl Into<String>) -> Self {
        Reply {
            content: content.into(),
            ..Default::default()
        }
    }

    pub(crate) fn embed(e: Embed) -> Self {
        Reply {
            embeds: vec![e],
            ..Default::default()
        }
    }

    pub(crate) fn embeds(embeds: Vec<Embed>) -> Self {
        Reply {
            embeds,
            ..Default::default()
        }
    }

    pub(crate) fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }

    /// The reply as one channel message (a feature posting on its own, not answering a
    /// command): content redacted, pings as declared.
    pub(crate) fn to_message(&self) -> CreateMessage {
        CreateMessage::new()
            .content(redact(&self.content).into_owned())
            .embeds(self.embeds.iter().map(|e| e.to_create()).collect())
            .components(self.components.clone())
            .allowed_mentions(allowed_mentions(&self.pings))
    }

    /// The reply as an edit of a message the bot posted: every part replaced.
    pub(crate) fn to_edit(&self) -> EditMessage {
        EditMessage::new()
            .content(redact(&self.content).into_owned())
            .embeds(self.embeds.iter().map(|e| e.to_create()).collect())
            .components(self.components.clone())
            .allowed_mentions(allowed_mentions(&self.pings))
    }

    /// The messages this reply becomes: content pieces first, embeds paginated; the
    /// components go on the last message.
    pub(crate) fn into_messages(self) -> Vec<CreateReply> {
        let content = redact(&self.content).into_owned();
        let mut msgs: Vec<(Option<String>, Vec<Embed>)> = if content.is_empty() {
            Vec::new()
        } else {
            split_text(&content, CONTENT_MAX)
                .into_iter()
                .map(|p| (Some(p), Vec::new()))
                .collect()
        };
        let mut pages = paginate(self.embeds).into_iter();
        if let Some(first) = pages.next() {
            // The first page of embeds rides with the last piece of content.
            match msgs.last_mut() {
                Some(last) => last.1 = first,
                None => msgs.push((None, first)),
            }
        }
        msgs.extend(pages.map(|p| (None, p)));
        if msgs.is_empty() {
            msgs.push((Some("(no content)".to_owned()), Vec::new()));
        }
        let n = msgs.len();
        let mut components = Some(self.components).filter(|c| !c.is_empty());
        msgs.into_iter()
            .enumerate()
            .map(|(i, (text, embeds))| {
                let mut r = CreateReply::default()
                    .ephemeral(self.ephemeral)
                    .allowed_mentions(allowed_mentions(&self.pings));
                if let Some(t) = text {
                    r = r.content(t);
                }
                for e in &embeds {
                    r = r.embed(e.to_create());
                }
                if i + 1 == n
                    && let Some(c) = components.take()
                {
                    r = r.components(c);
                }
                r
            })
            .collect()
    }
}

/// Sends a reply (one or more messages). A prefix command's reply is a channel message and
/// goes through the channel's [`Outbound`](super::outbound::Outbound) lane (in order, 429s
/// waited out); a slash command's is the interaction's response and follow-ups, retried
/// through 429s the same way.
pub(crate) async fn send(ctx: Ctx<'_>, reply: Reply) -> Result<(), CommandError> {
    for message in reply.into_messages() {
        match ctx {
            poise::Context::Prefix(p) => {
                let msg = message.to_prefix(p.msg.into());
                ctx.data().outbound.post(p.msg.channel_id, msg).await?;
            }
            poise::Context::Application(_) => {
                let what = format!("reply to /{}", ctx.command().qualified_name);
                super::outbound::retry_429(&what, || {
                    let message = message.clone();
                    async move { ctx.send(message).await.map(|_| ()) }
                })
                .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_replies_are_one_message_and_long_ones_split() {
        assert_eq!(Reply::text("Pong").into_messages().len(), 1);
        assert_eq!(Reply::text("x\n".repeat(1500)).into_messages().len(), 2);
        let mut e = Embed::new("big");
        for i in 0..30 {
            e = e.field(format!("f{i}"), "y".repeat(1000), false);
        }
        let n = Reply::embed(e).into_messages().len();
        assert!(
            n >= 5,
            "30,000 characters of fields need at least 5 messages, got {n}"
        );
    }
}
