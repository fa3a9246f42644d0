//! Reading the world as a test or the console sees it: messages as they stand now (with
//! reactions, replies and threads), channels, members, and what the bot did since a mark.

use std::time::Duration;

use serde_json::Value;

use super::{Reply, find_channel, find_user};
use crate::Sandbox;
use crate::activity::Kind;
use crate::payloads;
use crate::state::{ChannelState, ThreadMemberState};

impl Sandbox {
    /// A message as it stands now (reactions, the message it replies to, its thread).
    pub fn message(&self, id: u64) -> Option<Value> {
        let w = self.world();
        w.messages.get(&id).map(|m| payloads::message_view(&w, m))
    }

    /// Messages in a channel (by name or id), oldest first, ephemeral ones included.
    pub fn channel_messages(&self, channel: &str) -> Vec<Value> {
        let w = self.world();
        match find_channel(&w, channel) {
            Some(c) => w
                .channel_messages(c)
                .into_iter()
                .map(|m| payloads::message_view(&w, m))
                .collect(),
            None => Vec::new(),
        }
    }

    /// A channel or thread by name (with or without `#`) or id.
    pub fn channel_id(&self, name: &str) -> Option<u64> {
        find_channel(&self.world(), name)
    }

    /// A channel's name by id (threads included).
    pub fn channel_name(&self, id: u64) -> String {
        self.world()
            .channels
            .get(&id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// Member roles right now.
    pub fn member_roles(&self, user: &str) -> Vec<u64> {
        let w = self.world();
        find_user(&w, user)
            .and_then(|id| w.members.get(&id))
            .map(|m| m.roles.clone())
            .unwrap_or_default()
    }

    /// A thread or channel by id.
    pub fn channel(&self, id: u64) -> Option<ChannelState> {
        self.world().channels.get(&id).cloned()
    }

    /// Who is in a thread (by name or id), since when.
    pub fn thread_members(&self, thread: &str) -> Vec<ThreadMemberState> {
        let w = self.world();
        find_channel(&w, thread)
            .and_then(|id| w.channels.get(&id))
            .map(|c| c.thread_members.clone())
            .unwrap_or_default()
    }

    /// What the bot did after `mark`, as it stands now (no waiting: callers first wait for
    /// the fact that the bot is done, such as the bot's own "handled" signal, a reply
    /// matching a predicate, or an activity).
    pub fn replies_since(&self, mark: u64) -> Vec<Reply> {
        let acts = self.inner.activity.bot_since(mark);
        let w = self.world();
        acts.into_iter()
            .map(|a| {
                let (channel_id, message_id) = match &a.kind {
                    Kind::Message {
                        channel_id,
                        message_id,
                        ..
                    } => (Some(*channel_id), Some(*message_id)),
                    Kind::MessageDeleted { channel_id, .. } | Kind::Reaction { channel_id, .. } => {
                        (Some(*channel_id), None)
                    }
                    Kind::InteractionCallback { interaction_id, .. }
                    | Kind::Modal { interaction_id } => {
                        let it = w.interactions.get(interaction_id);
                        (it.map(|i| i.channel_id), it.and_then(|i| i.original))
                    }
                    Kind::Channel { channel_id, .. } => (Some(*channel_id), None),
                    _ => (None, None),
                };
                let stored = message_id.and_then(|m| w.messages.get(&m));
                Reply {
                    channel: channel_id
                        .and_then(|c| w.channels.get(&c))
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    message: stored.map(|m| m.json.clone()),
                    ephemeral: stored.is_some_and(|m| m.ephemeral),
                    kind: a.kind,
                }
            })
            .collect()
    }

    /// Messages the bot posted or edited after `mark`, with their current content (one
    /// entry per message, in order of first appearance). No waiting, as for
    /// [`Sandbox::replies_since`].
    pub fn bot_messages_since(&self, mark: u64) -> Vec<Reply> {
        let mut out: Vec<Reply> = Vec::new();
        for r in self.replies_since(mark) {
            if let (Kind::Message { by_bot: true, .. }, Some(id)) = (&r.kind, r.message_id()) {
                if let Some(slot) = out.iter_mut().find(|o| o.message_id() == Some(id)) {
                    *slot = r;
                } else {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Waits, at most `within`, for a message the bot posted or edited after `mark` that
    /// satisfies `pred`; returns it as it stands then.
    pub async fn wait_bot_message(
        &self,
        mark: u64,
        within: Duration,
        pred: impl Fn(&Reply) -> bool,
    ) -> Option<Reply> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = mark;
        loop {
            if let Some(r) = self.bot_messages_since(mark).into_iter().find(&pred) {
                return Some(r);
            }
            let rest = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = self
                .inner
                .activity
                .wait_for(seen, rest, Kind::by_bot)
                .await?;
            seen = next.seq;
        }
    }
}
