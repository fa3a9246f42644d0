//! What people and other bots do: post (and reply, edit, delete), react, join and leave,
//! get roles, open and manage threads (Ticket Tool's part), create channels. Each action
//! is held to Discord's rules for that user (a locked thread, a private thread they are
//! not in, a permission they lack) and fires the event Discord fires, so the bot under
//! test meets exactly what it would meet on Discord.

use serde_json::json;

use super::{mentionize, user_in, user_list};
use crate::activity::Kind;
use crate::payloads::{self, sf};
use crate::rest;
use crate::state::{ChannelState, MemberState, PRIVATE_THREAD, PUBLIC_THREAD, UserState};
use crate::world::{BOT_ID, GUILD_ID, MANAGE_MESSAGES, MANAGE_ROLES, MANAGE_THREADS};
use crate::{Sandbox, SandboxError};

/// A change someone makes to a thread (the fields Discord's Modify Channel takes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadChange {
    pub name: Option<String>,
    pub archived: Option<bool>,
    pub locked: Option<bool>,
}

impl ThreadChange {
    pub fn archive() -> Self {
        ThreadChange {
            archived: Some(true),
            ..Default::default()
        }
    }

    pub fn unarchive() -> Self {
        ThreadChange {
            archived: Some(false),
            ..Default::default()
        }
    }

    pub fn lock() -> Self {
        ThreadChange {
            locked: Some(true),
            ..Default::default()
        }
    }

    pub fn rename(name: &str) -> Self {
        ThreadChange {
            name: Some(name.to_owned()),
            ..Default::default()
        }
    }
}

fn refused(why: impl Into<String>) -> SandboxError {
    SandboxError::Command(why.into())
}

impl Sandbox {
    fn permissions(&self, user_id: u64) -> u64 {
        self.world().permissions_of(user_id)
    }

    /// Whether `u` may post in `c` now; an archived thread that is not locked is
    /// unarchived by the post, as on Discord.
    fn check_post(&self, u: &UserState, c: &ChannelState) -> Result<(), SandboxError> {
        if !c.is_thread() {
            return Ok(());
        }
        let moderator = self.permissions(u.id) & MANAGE_THREADS != 0;
        if c.kind == PRIVATE_THREAD && !c.has_member(u.id) && !moderator {
            return Err(refused(format!(
                "{} cannot see the private thread {} (not a member of it)",
                u.username, c.name
            )));
        }
        if c.locked && (c.archived || !moderator) {
            return Err(refused(format!(
                "the thread {} is locked; only someone with Manage Threads can post there",
                c.name
            )));
        }
        Ok(())
    }

    /// Posts as `user` in `channel`, after Discord's checks; a public thread gains the
    /// poster as a member.
    fn post(
        &self,
        user: &str,
        channel: &str,
        body: serde_json::Value,
    ) -> Result<u64, SandboxError> {
        let (_, u, c) = self.resolve(user, channel)?;
        self.check_post(&u, &c)?;
        if c.is_thread() && c.archived {
            rest::set_archived(&self.inner, c.id, false, u.id == BOT_ID);
        }
        if c.kind == PUBLIC_THREAD && !c.has_member(u.id) {
            let _ = rest::change_thread_member(&self.inner, c.id, u.id, true);
        }
        let v = rest::store_message(&self.inner, c.id, u.id, &body, 0, None)
            .map_err(|_| refused("the sandbox refused the message (see the record)"))?;
        Ok(v["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// `user` posts `content` in `channel` (a name, `#name`, id, or a thread's name).
    /// `@name` words become mentions; `@clanhall` mentions the bot. Returns the message id.
    pub fn say(&self, user: &str, channel: &str, content: &str) -> Result<u64, SandboxError> {
        let content = mentionize(&self.world(), content);
        self.post(user, channel, json!({"content": content}))
    }

    /// `user` replies to `message_id` (a type-19 message with `referenced_message`).
    pub fn reply(&self, user: &str, message_id: u64, content: &str) -> Result<u64, SandboxError> {
        let channel = self
            .world()
            .messages
            .get(&message_id)
            .map(|m| m.channel_id)
            .ok_or(SandboxError::UnknownMessage(message_id))?;
        let content = mentionize(&self.world(), content);
        self.post(
            user,
            &channel.to_string(),
            json!({"content": content, "message_reference": {"message_id": message_id.to_string()}}),
        )
    }

    /// The id of `user` and of the author of `message_id`.
    fn user_and_author(&self, user: &str, message_id: u64) -> Result<(u64, u64), SandboxError> {
        let w = self.world();
        let uid = user_in(&w, user)?;
        let author = w
            .messages
            .get(&message_id)
            .map(|m| m.author_id)
            .ok_or(SandboxError::UnknownMessage(message_id))?;
        Ok((uid, author))
    }

    /// `user` edits their own message (MESSAGE_UPDATE).
    pub fn edit(&self, user: &str, message_id: u64, content: &str) -> Result<(), SandboxError> {
        let (uid, author) = self.user_and_author(user, message_id)?;
        if author != uid {
            return Err(refused("only the author can edit a message"));
        }
        let content = mentionize(&self.world(), content);
        rest::apply_edit(&self.inner, message_id, &json!({"content": content}))
            .map(|_| ())
            .map_err(|_| SandboxError::UnknownMessage(message_id))
    }

    /// `user` deletes a message: their own, or anyone's with Manage Messages
    /// (MESSAGE_DELETE).
    pub fn delete(&self, user: &str, message_id: u64) -> Result<(), SandboxError> {
        let (uid, author) = self.user_and_author(user, message_id)?;
        if author != uid && self.permissions(uid) & MANAGE_MESSAGES == 0 {
            return Err(refused(
                "deleting someone else's message takes Manage Messages",
            ));
        }
        rest::remove_message(&self.inner, message_id);
        Ok(())
    }

    /// A new person joins the guild (GUILD_MEMBER_ADD). Returns their id; afterwards they
    /// can be named by their username anywhere a user is asked for.
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
                joined_at: w.now(),
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

    /// A member leaves the guild (GUILD_MEMBER_REMOVE); their messages stay.
    pub fn member_leave(&self, user: &str) -> Result<(), SandboxError> {
        let u = {
            let mut w = self.world();
            let uid = user_in(&w, user)?;
            if w.members.remove(&uid).is_none() {
                return Err(SandboxError::UnknownUser(
                    format!("{user} (not a member)"),
                    user_list(),
                ));
            }
            for c in w.channels.values_mut() {
                c.remove_member(uid);
            }
            w.users[&uid].clone()
        };
        self.inner.gateway.dispatch(
            &self.inner,
            "GUILD_MEMBER_REMOVE",
            json!({"guild_id": sf(GUILD_ID), "user": payloads::user(&u)}),
        );
        Ok(())
    }

    /// `by` (who needs Manage Roles) gives `user` the role `role` (a key such as `staff`)
    /// or takes it away (GUILD_MEMBER_UPDATE).
    pub fn set_role(
        &self,
        by: &str,
        user: &str,
        role: &str,
        give: bool,
    ) -> Result<(), SandboxError> {
        let def = crate::world::role(role).ok_or_else(|| refused(format!("no role {role:?}")))?;
        let (uid, event) = {
            let mut w = self.world();
            let actor = user_in(&w, by)?;
            if w.permissions_of(actor) & MANAGE_ROLES == 0
                || w.highest_role_position(actor) <= def.position
            {
                return Err(refused(format!("{by} cannot manage the role {}", def.name)));
            }
            let uid = user_in(&w, user)?;
            let m = w
                .members
                .get_mut(&uid)
                .ok_or_else(|| SandboxError::UnknownUser(user.to_owned(), user_list()))?;
            let has = m.roles.contains(&def.id);
            if give == has {
                return Ok(());
            }
            if give {
                m.roles.push(def.id);
            } else {
                m.roles.retain(|r| *r != def.id);
            }
            let event = w
                .member_pair(uid)
                .map(|(m, u)| payloads::member_update(&m, &u));
            (uid, event)
        };
        self.inner.activity.push(Kind::MemberRole {
            user_id: uid,
            role_id: def.id,
            added: give,
        });
        if let Some(d) = event {
            self.inner
                .gateway
                .dispatch(&self.inner, "GUILD_MEMBER_UPDATE", d);
        }
        Ok(())
    }

    /// `user` reacts to a message with `emoji` (MESSAGE_REACTION_ADD).
    pub fn react(&self, user: &str, message_id: u64, emoji: &str) -> Result<(), SandboxError> {
        let (channel_id, uid, member) = {
            let mut w = self.world();
            let msg = w
                .messages
                .get(&message_id)
                .cloned()
                .ok_or(SandboxError::UnknownMessage(message_id))?;
            let uid = user_in(&w, user)?;
            if w.channels.get(&msg.channel_id).is_some_and(|c| c.archived) {
                return Err(refused("nobody can react in an archived thread"));
            }
            let list = w.reactions.entry(message_id).or_default();
            if list.iter().any(|(e, u)| e == emoji && *u == uid) {
                return Ok(());
            }
            list.push((emoji.to_owned(), uid));
            let member = w
                .member_pair(uid)
                .map(|(m, u)| payloads::member(&m, &u, true));
            (msg.channel_id, uid, member)
        };
        self.inner.gateway.dispatch(
            &self.inner,
            "MESSAGE_REACTION_ADD",
            payloads::reaction_add(uid, channel_id, message_id, emoji, member),
        );
        Ok(())
    }

    /// `user` takes their reaction back (MESSAGE_REACTION_REMOVE).
    pub fn unreact(&self, user: &str, message_id: u64, emoji: &str) -> Result<(), SandboxError> {
        let (channel_id, uid, removed) = {
            let mut w = self.world();
            let channel_id = w
                .messages
                .get(&message_id)
                .map(|m| m.channel_id)
                .ok_or(SandboxError::UnknownMessage(message_id))?;
            let uid = user_in(&w, user)?;
            let list = w.reactions.entry(message_id).or_default();
            let before = list.len();
            list.retain(|(e, u)| !(e == emoji && *u == uid));
            (channel_id, uid, before != list.len())
        };
        if removed {
            self.inner.gateway.dispatch(
                &self.inner,
                "MESSAGE_REACTION_REMOVE",
                payloads::reaction_remove(uid, channel_id, message_id, emoji),
            );
        }
        Ok(())
    }

    /// `user` (Ticket Tool, say) opens a thread under `parent` with `members` added
    /// (THREAD_CREATE, then THREAD_MEMBERS_UPDATE for each member). Returns its id.
    pub fn open_thread(
        &self,
        user: &str,
        parent: &str,
        name: &str,
        private: bool,
        members: &[&str],
    ) -> Result<u64, SandboxError> {
        let (_, u, p) = self.resolve(user, parent)?;
        if p.is_thread() {
            return Err(refused("a thread cannot have threads"));
        }
        let member_ids = {
            let w = self.world();
            members
                .iter()
                .map(|m| user_in(&w, m))
                .collect::<Result<Vec<u64>, _>>()?
        };
        let kind = if private {
            PRIVATE_THREAD
        } else {
            PUBLIC_THREAD
        };
        let t = rest::new_thread(&self.inner, &p, name, kind, u.id, None)
            .map_err(|_| refused(format!("cannot open a thread named {name:?}")))?;
        for m in member_ids {
            let _ = rest::change_thread_member(&self.inner, t.id, m, true);
        }
        Ok(t.id)
    }

    /// `user` adds `member` to a thread (THREAD_MEMBERS_UPDATE).
    pub fn add_to_thread(
        &self,
        user: &str,
        thread: &str,
        member: &str,
    ) -> Result<(), SandboxError> {
        let (_, u, t) = self.resolve(user, thread)?;
        if !t.is_thread() {
            return Err(refused(format!("{} is not a thread", t.name)));
        }
        self.check_post(&u, &t)?;
        let mid = user_in(&self.world(), member)?;
        rest::change_thread_member(&self.inner, t.id, mid, true)
            .map_err(|_| refused(format!("cannot add {member} to {}", t.name)))
    }

    /// `user` changes a thread: rename, archive, unarchive, lock (THREAD_UPDATE). The
    /// thread's creator may rename and archive it; locking, and unarchiving a locked
    /// thread, take Manage Threads, as on Discord.
    pub fn change_thread(
        &self,
        user: &str,
        thread: &str,
        change: ThreadChange,
    ) -> Result<(), SandboxError> {
        let (_, u, t) = self.resolve(user, thread)?;
        if !t.is_thread() {
            return Err(refused(format!("{} is not a thread", t.name)));
        }
        let moderator = self.permissions(u.id) & MANAGE_THREADS != 0;
        let creator = t.owner_id == Some(u.id);
        if change.locked.is_some() && !moderator {
            return Err(refused("locking a thread takes Manage Threads"));
        }
        if change.archived == Some(false) && t.locked && !moderator {
            return Err(refused("unarchiving a locked thread takes Manage Threads"));
        }
        if (change.name.is_some() || change.archived.is_some()) && !creator && !moderator {
            return Err(refused(
                "renaming or archiving a thread takes its creator or Manage Threads",
            ));
        }
        if t.archived && change.archived != Some(false) {
            return Err(refused(format!(
                "the thread {} is archived; unarchive it first",
                t.name
            )));
        }
        if let Some(n) = &change.name
            && !(1..=100).contains(&n.chars().count())
        {
            return Err(refused("a thread name is 1-100 characters"));
        }
        let updated = {
            let mut w = self.world();
            let now = w.now();
            let Some(c) = w.channels.get_mut(&t.id) else {
                return Err(SandboxError::UnknownChannel(
                    thread.to_owned(),
                    String::new(),
                ));
            };
            if let Some(n) = change.name {
                c.name = n;
            }
            if let Some(l) = change.locked {
                c.locked = l;
            }
            if let Some(a) = change.archived
                && a != c.archived
            {
                c.archived = a;
                c.archive_changed = now;
            }
            c.clone()
        };
        self.inner.activity.push(Kind::Channel {
            channel_id: updated.id,
            created: false,
            by_bot: u.id == BOT_ID,
        });
        self.inner
            .gateway
            .dispatch(&self.inner, "THREAD_UPDATE", payloads::channel(&updated));
        Ok(())
    }

    /// An admin takes `bits` away from `user` (`clanhall` for the bot) whatever their
    /// roles grant: the server gave the bot less than it asked for.
    pub fn revoke_permission(&self, user: &str, bits: u64) -> Result<(), SandboxError> {
        let mut w = self.world();
        let id = user_in(&w, user)?;
        *w.revoked.entry(id).or_insert(0) |= bits;
        Ok(())
    }

    /// An admin creates a text channel (CHANNEL_CREATE). Returns its id.
    pub fn create_channel(&self, name: &str) -> Result<u64, SandboxError> {
        let c = {
            let mut w = self.world();
            let id = w.next_id();
            let position = w.channels.len() as u16;
            let c = ChannelState::text(id, name, None, position, w.now());
            w.channels.insert(id, c.clone());
            c
        };
        self.inner
            .gateway
            .dispatch(&self.inner, "CHANNEL_CREATE", payloads::channel(&c));
        Ok(c.id)
    }
}
