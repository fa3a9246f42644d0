//! What simulated people (and other bots, such as Ticket Tool) do in the sandbox, and how
//! a test reads the result. Each action goes through the same rules and fires the same
//! events as Discord: [`act`] (messages, reactions, members, roles, threads, channels),
//! [`interact`] (slash commands, buttons, selects, modals: people only), [`observe`]
//! (messages as they stand, what the bot did since a mark).

mod act;
mod interact;
mod observe;

pub use act::ThreadChange;

use serde_json::Value;

use super::activity::Kind;
use super::slash::Resolver;
use super::state::{ChannelState, MemberState, UserState, World};
use super::world::{self, BOT_ID};
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

/// [`find_user`], or the error naming who can be.
fn user_in(w: &World, s: &str) -> Result<u64, SandboxError> {
    find_user(w, s).ok_or_else(|| SandboxError::UnknownUser(s.to_owned(), user_list()))
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
    /// The name to act as for `name`: one of the world's people or other bots, or someone
    /// who joined with [`Sandbox::member_join`] and is still a member. The bot itself
    /// answers on its own and cannot be spoken as.
    pub fn speaker(&self, name: &str) -> Result<String, SandboxError> {
        let w = self.world();
        let everyone = || {
            let mut names: Vec<String> = world::speakers().map(|u| u.key.to_owned()).collect();
            names.extend(
                w.users
                    .values()
                    .filter(|u| world::user_by_id(u.id).is_none() && w.members.contains_key(&u.id))
                    .map(|u| u.username.clone()),
            );
            names.join(", ")
        };
        match find_user(&w, name) {
            Some(BOT_ID) => Err(SandboxError::Command(format!(
                "{name} is the bot itself and answers on its own; users: {}",
                everyone()
            ))),
            Some(id) if w.members.contains_key(&id) => Ok(world::user_by_id(id)
                .map(|u| u.key.to_owned())
                .or_else(|| w.users.get(&id).map(|u| u.username.clone()))
                .unwrap_or_else(|| id.to_string())),
            Some(_) => Err(SandboxError::UnknownUser(
                format!("{name} (no longer a member)"),
                everyone(),
            )),
            None => Err(SandboxError::UnknownUser(name.to_owned(), everyone())),
        }
    }

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

    /// A user id by key, username, display name, mention or id (joined users included).
    pub fn user_id(&self, user: &str) -> Option<u64> {
        find_user(&self.world(), user)
    }

    /// The activity mark to wait from.
    pub fn mark(&self) -> u64 {
        self.inner.activity.mark()
    }

    /// The bot's user id.
    pub fn bot_id(&self) -> u64 {
        BOT_ID
    }
}
