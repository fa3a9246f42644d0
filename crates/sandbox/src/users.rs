//! What simulated people do in the sandbox: talk, run slash commands, click buttons,
//! pick select options, submit modals, join the guild, react, open threads. Each action
//! is dispatched to the bot over the gateway exactly as Discord would, and returns a
//! mark in the activity log so the caller can wait for the bot's reaction.

use std::time::Duration;

use serde_json::{Value, json};

use super::activity::Kind;
use super::payloads::{self, InteractionBase, sf};
use super::rest::register_interaction;
use super::slash::{self, Resolver};
use super::state::{
    ChannelState, InteractionState, MemberState, PRIVATE_THREAD, PUBLIC_THREAD, StoredMessage,
    UserState, World,
};
use super::world::{self, BOT_ID, GUILD_ID};
use super::{Sandbox, SandboxError};

/// Something the bot did, with the message as it stands now (if it concerns one).
#[derive(Debug, Clone)]
pub struct Reply {
    pub kind: Kind,
    pub channel: String,
    pub message: Option<Value>,
    pub ephemeral: bool,
}

impl Reply {
    /// The message's content, or "" when none.
    pub fn content(&self) -> &str {
        self.message
            .as_ref()
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
    }

    /// Content plus every embed's title, description, field names/values and footer: what
    /// a person reads.
    pub fn text(&self) -> String {
        let Some(m) = &self.message else {
            return String::new();
        };
        let mut parts = vec![self.content().to_owned()];
        for e in m["embeds"].as_array().into_iter().flatten() {
            for k in ["title", "description"] {
                if let Some(s) = e[k].as_str() {
                    parts.push(s.to_owned());
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                parts.push(format!(
                    "{}: {}",
                    f["name"].as_str().unwrap_or(""),
                    f["value"].as_str().unwrap_or("")
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                parts.push(s.to_owned());
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }

    pub fn embeds(&self) -> Vec<Value> {
        self.message
            .as_ref()
            .and_then(|m| m["embeds"].as_array().cloned())
            .unwrap_or_default()
    }

    pub fn message_id(&self) -> Option<u64> {
        self.message
            .as_ref()
            .and_then(|m| m["id"].as_str())
            .and_then(|s| s.parse().ok())
    }
}

fn user_list() -> String {
    world::speakers()
        .map(|u| u.key)
        .collect::<Vec<_>>()
        .join(", ")
}

fn channel_list(w: &World) -> String {
    w.channels
        .values()
        .filter(|c| !c.is_thread())
        .map(|c| format!("#{}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds a user by key, username, `@name`, `<@id>` or id.
fn find_user(w: &World, s: &str) -> Option<u64> {
    let t = s
        .trim()
        .trim_start_matches("<@")
        .trim_start_matches('!')
        .trim_end_matches('>')
        .trim_start_matches('@');
    if let Some(u) = world::user(t) {
        return Some(u.id);
    }
    w.users
        .values()
        .find(|u| {
            u.username.eq_ignore_ascii_case(t)
                || u.display.eq_ignore_ascii_case(t)
                || u.id.to_string() == t
        })
        .map(|u| u.id)
}

fn find_channel(w: &World, s: &str) -> Option<u64> {
    let t = s
        .trim()
        .trim_start_matches("<#")
        .trim_end_matches('>')
        .trim_start_matches('#');
    w.channels
        .values()
        .find(|c| c.name.eq_ignore_ascii_case(t) || c.id.to_string() == t)
        .map(|c| c.id)
}

struct WorldResolver<'a>(&'a World);

impl Resolver for WorldResolver<'_> {
    fn user(&self, s: &str) -> Option<u64> {
        find_user(self.0, s).filter(|id| self.0.members.contains_key(id))
    }
    fn channel(&self, s: &str) -> Option<u64> {
        find_channel(self.0, s)
    }
    fn role(&self, s: &str) -> Option<u64> {
        let t = s
            .trim()
            .trim_start_matches("<@&")
            .trim_end_matches('>')
            .trim_start_matches('@')
            .trim_start_matches('&');
        world::ROLES
            .iter()
            .find(|r| {
                r.key.eq_ignore_ascii_case(t)
                    || r.name.eq_ignore_ascii_case(t)
                    || r.id.to_string() == t
            })
            .map(|r| r.id)
    }
}

/// Rewrites `@name` words into `<@id>` mentions, as the Discord client does.
fn mentionize(w: &World, content: &str) -> String {
    content
        .split(' ')
        .map(|word| {
            if let Some(name) = word.strip_prefix('@') {
                let trimmed = name.trim_end_matches([',', '.', '!', '?', ':']);
                if let Some(id) = find_user(w, trimmed) {
                    return word.replacen(&format!("@{trimmed}"), &format!("<@{id}>"), 1);
                }
            }
            word.to_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Sandbox {
    fn world(&self) -> parking_lot::MutexGuard<'_, World> {
        self.inner.world.lock()
    }

    fn resolve(
        &self,
        user: &str,
        channel: &str,
    ) -> Result<(MemberState, UserState, ChannelState), SandboxError> {
        let w = self.world();
        let uid = find_user(&w, user)
            .ok_or_else(|| SandboxError::UnknownUser(user.to_owned(), user_list()))?;
        let (m, u) = w
            .member_pair(uid)
            .ok_or_else(|| SandboxError::UnknownUser(user.to_owned(), user_list()))?;
        let cid = find_channel(&w, channel)
            .ok_or_else(|| SandboxError::UnknownChannel(channel.to_owned(), channel_list(&w)))?;
        Ok((m, u, w.channels[&cid].clone()))
    }

    /// The activity mark to wait from.
    pub fn mark(&self) -> u64 {
        self.inner.activity.mark()
    }

    /// `user` posts `content` in `channel`. `@name` words become mentions; `@clanhall`
    /// mentions the bot. Returns the new message's id.
    pub fn say(&self, user: &str, channel: &str, content: &str) -> Result<u64, SandboxError> {
        let (_, u, c) = self.resolve(user, channel)?;
        let content = mentionize(&self.world(), content);
        let body = json!({"content": content});
        let v = super::rest::store_message(&self.inner, c.id, u.id, &body, 0, None);
        Ok(v["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// Registers and dispatches an interaction by `u` in `c`; `payload` builds the
    /// INTERACTION_CREATE body from the common part. The 3-second clock starts now.
    /// Bots cannot click, pick or run slash commands, so Discord never sends an
    /// interaction from one; neither does the sandbox.
    fn interact(
        &self,
        (m, u, c): (MemberState, UserState, ChannelState),
        kind: u8,
        source_message: Option<u64>,
        payload: impl FnOnce(&InteractionBase<'_>) -> Value,
    ) -> Result<u64, SandboxError> {
        if u.bot {
            return Err(SandboxError::Command(format!(
                "{} is a bot, and bots cannot use slash commands, buttons, selects or modals; \
                 only its messages reach the bot",
                u.username
            )));
        }
        let (id, perms) = {
            let mut w = self.world();
            (w.next_id(), w.permissions_of(u.id))
        };
        let token = format!("aW50ZXJhY3Rpb24{}", uuid::Uuid::new_v4().simple());
        let base = InteractionBase {
            id,
            token: &token,
            channel: &c,
            member: &m,
            user: &u,
            member_permissions: perms,
        };
        let payload = payload(&base);
        let it = InteractionState {
            id,
            token: token.clone(),
            kind,
            user_id: u.id,
            channel_id: c.id,
            source_message,
            callback: None,
            original: None,
            ephemeral: false,
        };
        register_interaction(&self.inner, it);
        self.inner
            .gateway
            .dispatch(&self.inner, "INTERACTION_CREATE", payload);
        Ok(id)
    }

    /// `user` runs a slash command typed as in Discord's UI (`/ops refresh clans`,
    /// `/help command:ping`). Returns the interaction id.
    pub fn slash(&self, user: &str, channel: &str, line: &str) -> Result<u64, SandboxError> {
        let (m, u, c) = self.resolve(user, channel)?;
        let (mut data, mentioned) = {
            let w = self.world();
            let commands = w.commands.get(&Some(GUILD_ID)).cloned().unwrap_or_default();
            if commands.is_empty() {
                return Err(SandboxError::Command(
                    "the bot has not registered any slash commands yet".into(),
                ));
            }
            slash::build(&commands, line, &WorldResolver(&w)).map_err(SandboxError::Command)?
        };
        if !(mentioned.users.is_empty()
            && mentioned.channels.is_empty()
            && mentioned.roles.is_empty())
        {
            let w = self.world();
            let mut resolved = json!({});
            for uid in &mentioned.users {
                if let Some((mm, uu)) = w.member_pair(*uid) {
                    resolved["users"][uid.to_string()] = payloads::user(&uu);
                    let mut mv = payloads::member(&mm, &uu, false);
                    mv["permissions"] = json!(w.permissions_of(*uid).to_string());
                    resolved["members"][uid.to_string()] = mv;
                }
            }
            for cid in &mentioned.channels {
                if let Some(ch) = w.channels.get(cid) {
                    let mut cv = json!({"id": sf(ch.id), "name": ch.name, "type": ch.kind, "permissions": world::MEMBER_PERMISSIONS.to_string()});
                    if let Some(p) = ch.parent_id {
                        cv["parent_id"] = sf(p);
                    }
                    resolved["channels"][cid.to_string()] = cv;
                }
            }
            for rid in &mentioned.roles {
                if let Some(r) = world::ROLES.iter().find(|r| r.id == *rid) {
                    resolved["roles"][rid.to_string()] = payloads::role(r);
                }
            }
            data["resolved"] = resolved;
        }
        self.interact((m, u, c), 2, None, |base| {
            payloads::command_interaction(base, data)
        })
    }

    /// The component `custom_id` on a message: (component type, disabled, option values).
    fn component(
        &self,
        message_id: u64,
        custom_id: &str,
    ) -> Result<(StoredMessage, u8, Vec<String>), SandboxError> {
        let w = self.world();
        let msg = w
            .messages
            .get(&message_id)
            .cloned()
            .ok_or(SandboxError::UnknownMessage(message_id))?;
        for row in msg.json["components"].as_array().into_iter().flatten() {
            for comp in row["components"].as_array().into_iter().flatten() {
                if comp["custom_id"] == custom_id {
                    if comp["disabled"].as_bool().unwrap_or(false) {
                        return Err(SandboxError::Component(format!(
                            "{custom_id:?} is disabled"
                        )));
                    }
                    let kind = comp["type"].as_u64().unwrap_or(2) as u8;
                    let values = comp["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o["value"].as_str().map(str::to_owned))
                        .collect();
                    return Ok((msg, kind, values));
                }
            }
        }
        Err(SandboxError::Component(format!(
            "message {message_id} has no component {custom_id:?}"
        )))
    }

    fn component_interaction(
        &self,
        user: &str,
        message_id: u64,
        custom_id: &str,
        values: &[String],
    ) -> Result<u64, SandboxError> {
        let (msg, kind, allowed) = self.component(message_id, custom_id)?;
        if kind == 3
            && let Some(v) = values.iter().find(|v| !allowed.contains(v))
        {
            return Err(SandboxError::Component(format!(
                "{v:?} is not an option of {custom_id:?}; options: {}",
                allowed.join(", ")
            )));
        }
        let channel_id = msg.channel_id.to_string();
        let (m, u, c) = self.resolve(user, &channel_id)?;
        let message = msg.json.clone();
        self.interact((m, u, c), 3, Some(msg.id), |base| {
            payloads::component_interaction(base, custom_id, kind, values, message)
        })
    }

    /// `user` clicks the button `custom_id` on a message.
    pub fn click(&self, user: &str, message_id: u64, custom_id: &str) -> Result<u64, SandboxError> {
        self.component_interaction(user, message_id, custom_id, &[])
    }

    /// `user` picks `values` in the select menu `custom_id` on a message.
    pub fn select(
        &self,
        user: &str,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, SandboxError> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.component_interaction(user, message_id, custom_id, &values)
    }

    /// The modal the bot opened in answer to `interaction_id`.
    pub fn modal(&self, interaction_id: u64) -> Option<Value> {
        self.world().modals.get(&interaction_id).cloned()
    }

    /// `user` submits the modal opened for `interaction_id` with `(field custom_id, value)`
    /// pairs; fields not given are submitted empty.
    pub fn submit_modal(
        &self,
        user: &str,
        interaction_id: u64,
        values: &[(&str, &str)],
    ) -> Result<u64, SandboxError> {
        let (modal, channel_id) = {
            let w = self.world();
            let modal = w.modals.get(&interaction_id).cloned().ok_or_else(|| {
                SandboxError::Component(format!(
                    "no modal is open for interaction {interaction_id}"
                ))
            })?;
            let channel = w
                .interactions
                .get(&interaction_id)
                .map(|i| i.channel_id)
                .unwrap_or(0);
            (modal, channel)
        };
        let mut fields = Vec::new();
        for row in modal["components"].as_array().into_iter().flatten() {
            for input in row["components"].as_array().into_iter().flatten() {
                let cid = input["custom_id"].as_str().unwrap_or("").to_owned();
                let v = values
                    .iter()
                    .find(|(k, _)| *k == cid)
                    .map(|(_, v)| (*v).to_owned())
                    .unwrap_or_default();
                if input["required"].as_bool().unwrap_or(true) && v.is_empty() {
                    return Err(SandboxError::Component(format!(
                        "the modal field {cid:?} is required"
                    )));
                }
                fields.push((cid, v));
            }
        }
        if let Some((k, _)) = values
            .iter()
            .find(|(k, _)| !fields.iter().any(|(f, _)| f == k))
        {
            return Err(SandboxError::Component(format!(
                "the modal has no field {k:?}"
            )));
        }
        let (m, u, c) = self.resolve(user, &channel_id.to_string())?;
        let custom_id = modal["custom_id"].as_str().unwrap_or("").to_owned();
        let id = self.interact((m, u, c), 5, None, |base| {
            payloads::modal_interaction(base, &custom_id, &fields)
        })?;
        self.world().modals.remove(&interaction_id);
        Ok(id)
    }

    /// A new person joins the guild (GUILD_MEMBER_ADD). Returns their id.
    pub fn member_join(&self, username: &str) -> Result<u64, SandboxError> {
        let (m, u) = {
            let mut w = self.world();
            if w.users
                .values()
                .any(|u| u.username.eq_ignore_ascii_case(username))
            {
                return Err(SandboxError::UnknownUser(
                    format!("{username} (already a member)"),
                    user_list(),
                ));
            }
            let id = w.next_id();
            let u = UserState {
                id,
                username: username.to_owned(),
                display: username.to_owned(),
                bot: false,
            };
            let m = MemberState {
                roles: Vec::new(),
                joined_at: chrono::Utc::now(),
            };
            w.users.insert(id, u.clone());
            w.members.insert(id, m.clone());
            (m, u)
        };
        let mut d = payloads::member(&m, &u, true);
        d["guild_id"] = sf(GUILD_ID);
        self.inner
            .gateway
            .dispatch(&self.inner, "GUILD_MEMBER_ADD", d);
        Ok(u.id)
    }

    /// `user` reacts to a message with `emoji` (MESSAGE_REACTION_ADD).
    pub fn react(&self, user: &str, message_id: u64, emoji: &str) -> Result<(), SandboxError> {
        let (channel_id, member) = {
            let mut w = self.world();
            let msg = w
                .messages
                .get(&message_id)
                .cloned()
                .ok_or(SandboxError::UnknownMessage(message_id))?;
            let uid = find_user(&w, user)
                .ok_or_else(|| SandboxError::UnknownUser(user.to_owned(), user_list()))?;
            w.reactions
                .entry(message_id)
                .or_default()
                .push((emoji.to_owned(), uid));
            let member = w
                .member_pair(uid)
                .map(|(m, u)| payloads::member(&m, &u, true));
            (msg.channel_id, (uid, member))
        };
        self.inner.gateway.dispatch(
            &self.inner,
            "MESSAGE_REACTION_ADD",
            payloads::reaction_add(member.0, channel_id, message_id, emoji, member.1),
        );
        Ok(())
    }

    /// `user` (Ticket Tool, say) opens a thread under `parent` (THREAD_CREATE). Returns
    /// the thread id.
    pub fn open_thread(
        &self,
        user: &str,
        parent: &str,
        name: &str,
        private: bool,
        members: &[&str],
    ) -> Result<u64, SandboxError> {
        let (_, u, p) = self.resolve(user, parent)?;
        let t = {
            let mut w = self.world();
            let id = w.next_id();
            let mut member_ids = vec![u.id];
            for m in members {
                let mid = find_user(&w, m)
                    .ok_or_else(|| SandboxError::UnknownUser((*m).to_owned(), user_list()))?;
                if !member_ids.contains(&mid) {
                    member_ids.push(mid);
                }
            }
            let t = ChannelState {
                id,
                name: name.to_owned(),
                kind: if private {
                    PRIVATE_THREAD
                } else {
                    PUBLIC_THREAD
                },
                parent_id: Some(p.id),
                topic: None,
                position: 0,
                archived: false,
                locked: false,
                owner_id: Some(u.id),
                thread_members: member_ids,
                last_message_id: None,
                message_count: 0,
            };
            w.channels.insert(id, t.clone());
            t
        };
        let mut d = payloads::channel(&t);
        d["newly_created"] = json!(true);
        self.inner.gateway.dispatch(&self.inner, "THREAD_CREATE", d);
        Ok(t.id)
    }

    /// An admin creates a text channel (CHANNEL_CREATE). Returns its id.
    pub fn create_channel(&self, name: &str) -> Result<u64, SandboxError> {
        let c = {
            let mut w = self.world();
            let id = w.next_id();
            let position = w.channels.len() as u16;
            let c = ChannelState {
                id,
                name: name.to_owned(),
                kind: super::state::TEXT,
                parent_id: None,
                topic: None,
                position,
                archived: false,
                locked: false,
                owner_id: None,
                thread_members: vec![],
                last_message_id: None,
                message_count: 0,
            };
            w.channels.insert(id, c.clone());
            c
        };
        self.inner
            .gateway
            .dispatch(&self.inner, "CHANNEL_CREATE", payloads::channel(&c));
        Ok(c.id)
    }

    /// A message as it stands now.
    pub fn message(&self, id: u64) -> Option<Value> {
        self.world().messages.get(&id).map(|m| m.json.clone())
    }

    /// Messages in a channel (by name or id), oldest first, ephemeral ones included.
    pub fn channel_messages(&self, channel: &str) -> Vec<Value> {
        let w = self.world();
        match find_channel(&w, channel) {
            Some(c) => w
                .channel_messages(c)
                .into_iter()
                .map(|m| m.json.clone())
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

    /// The bot's user id.
    pub fn bot_id(&self) -> u64 {
        BOT_ID
    }
}
