//! The sandbox's mutable world: users, members, channels and threads, messages,
//! registered commands, interactions. One lock; every operation is short.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::clock::SharedClock;
use super::world::{self, DISCORD_EPOCH_MS, GUILD_ID};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub id: u64,
    pub username: String,
    pub display: String,
    pub bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    pub roles: Vec<u64>,
    pub joined_at: DateTime<Utc>,
}

pub const TEXT: u8 = 0;
pub const PUBLIC_THREAD: u8 = 11;
pub const PRIVATE_THREAD: u8 = 12;

/// Someone in a thread, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMemberState {
    pub user_id: u64,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    pub id: u64,
    pub name: String,
    pub kind: u8,
    pub parent_id: Option<u64>,
    pub topic: Option<String>,
    pub position: u16,
    pub archived: bool,
    pub locked: bool,
    pub owner_id: Option<u64>,
    pub thread_members: Vec<ThreadMemberState>,
    pub last_message_id: Option<u64>,
    pub message_count: u32,
    /// When the thread was created, archived or unarchived last (`archive_timestamp`).
    pub archive_changed: DateTime<Utc>,
}

impl ChannelState {
    /// A text channel.
    pub fn text(
        id: u64,
        name: &str,
        topic: Option<&str>,
        position: u16,
        now: DateTime<Utc>,
    ) -> Self {
        ChannelState {
            id,
            name: name.to_owned(),
            kind: TEXT,
            parent_id: None,
            topic: topic.map(str::to_owned),
            position,
            archived: false,
            locked: false,
            owner_id: None,
            thread_members: Vec::new(),
            last_message_id: None,
            message_count: 0,
            archive_changed: now,
        }
    }

    /// A new thread under `parent`, created by `owner` (its first member).
    pub fn thread(
        id: u64,
        name: &str,
        kind: u8,
        parent: u64,
        owner: u64,
        now: DateTime<Utc>,
    ) -> Self {
        ChannelState {
            kind,
            parent_id: Some(parent),
            topic: None,
            position: 0,
            owner_id: Some(owner),
            thread_members: vec![ThreadMemberState {
                user_id: owner,
                joined_at: now,
            }],
            ..ChannelState::text(id, name, None, 0, now)
        }
    }

    pub fn is_thread(&self) -> bool {
        matches!(self.kind, PUBLIC_THREAD | PRIVATE_THREAD)
    }

    pub fn has_member(&self, user_id: u64) -> bool {
        self.thread_members.iter().any(|m| m.user_id == user_id)
    }

    /// Adds a member; `false` when they already were one.
    pub fn add_member(&mut self, user_id: u64, now: DateTime<Utc>) -> bool {
        if self.has_member(user_id) {
            return false;
        }
        self.thread_members.push(ThreadMemberState {
            user_id,
            joined_at: now,
        });
        true
    }

    /// Removes a member; `false` when they were not one.
    pub fn remove_member(&mut self, user_id: u64) -> bool {
        let before = self.thread_members.len();
        self.thread_members.retain(|m| m.user_id != user_id);
        before != self.thread_members.len()
    }
}

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    /// The message object as REST returns it.
    pub json: Value,
    pub ephemeral: bool,
    pub interaction_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct InteractionState {
    pub id: u64,
    pub token: String,
    pub kind: u8,
    pub user_id: u64,
    pub channel_id: u64,
    /// For component interactions: the message the component is on.
    pub source_message: Option<u64>,
    /// The callback type the bot answered with, once it has.
    pub callback: Option<u8>,
    /// The message created by the response (type 4, or the edit after a defer).
    pub original: Option<u64>,
    pub ephemeral: bool,
}

#[derive(Debug, Default)]
pub struct World {
    pub users: BTreeMap<u64, UserState>,
    pub members: BTreeMap<u64, MemberState>,
    pub channels: BTreeMap<u64, ChannelState>,
    pub messages: BTreeMap<u64, StoredMessage>,
    pub reactions: BTreeMap<u64, Vec<(String, u64)>>,
    /// Registered commands per guild (`None` = global), as the bot sent them.
    pub commands: BTreeMap<Option<u64>, Vec<Value>>,
    pub interactions: BTreeMap<u64, InteractionState>,
    pub tokens: HashMap<String, u64>,
    /// Modals the bot opened, by the interaction they answered.
    pub modals: BTreeMap<u64, Value>,
    /// Permission bits taken away from a member whatever their roles grant (a server
    /// whose admins gave the bot less than its invite asked for).
    pub revoked: BTreeMap<u64, u64>,
    pub created: DateTime<Utc>,
    pub clock: SharedClock,
    last_snowflake: u64,
}

impl World {
    pub fn new(clock: SharedClock) -> Self {
        let created = clock.now() - chrono::Duration::days(30);
        let mut w = World {
            created,
            clock,
            ..Default::default()
        };
        for u in world::USERS {
            w.users.insert(
                u.id,
                UserState {
                    id: u.id,
                    username: u.username.into(),
                    display: u.display.into(),
                    bot: u.bot,
                },
            );
            let roles = u
                .roles
                .iter()
                .filter_map(|k| world::role(k))
                .map(|r| r.id)
                .collect();
            w.members.insert(
                u.id,
                MemberState {
                    roles,
                    joined_at: created,
                },
            );
        }
        for (i, c) in world::CHANNELS.iter().enumerate() {
            w.channels.insert(
                c.id,
                ChannelState::text(c.id, c.name, Some(c.topic), i as u16, created),
            );
        }
        w
    }

    /// What the world reads as now (the clock the sandbox was given).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A fresh snowflake: the clock's time in Discord's layout, strictly increasing.
    pub fn next_id(&mut self) -> u64 {
        let ms = (self.now().timestamp_millis().max(0) as u64).saturating_sub(DISCORD_EPOCH_MS);
        let candidate = ms << 22;
        self.last_snowflake = candidate.max(self.last_snowflake + 1);
        self.last_snowflake
    }

    pub fn member_pair(&self, user_id: u64) -> Option<(MemberState, UserState)> {
        Some((
            self.members.get(&user_id)?.clone(),
            self.users.get(&user_id)?.clone(),
        ))
    }

    /// Permission bits of a member: @everyone plus its roles; Administrator implies all.
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        let mut p = world::MEMBER_PERMISSIONS;
        if let Some(m) = self.members.get(&user_id) {
            for r in &m.roles {
                if let Some(def) = world::ROLES.iter().find(|d| d.id == *r) {
                    p |= def.permissions;
                }
            }
        }
        if user_id == world::OWNER_ID {
            p |= 0x8; // the owner is an administrator
        }
        let p = if p & 0x8 != 0 { u64::MAX >> 14 } else { p };
        p & !self.revoked.get(&user_id).copied().unwrap_or(0)
    }

    /// The position of a member's highest role (0: only @everyone).
    pub fn highest_role_position(&self, user_id: u64) -> u16 {
        self.members
            .get(&user_id)
            .into_iter()
            .flat_map(|m| &m.roles)
            .filter_map(|r| world::ROLES.iter().find(|d| d.id == *r))
            .map(|d| d.position)
            .max()
            .unwrap_or(0)
    }

    pub fn guild_members(&self) -> Vec<(MemberState, UserState)> {
        self.members
            .keys()
            .filter_map(|id| self.member_pair(*id))
            .collect()
    }

    pub fn add_message(&mut self, m: StoredMessage) {
        if let Some(c) = self.channels.get_mut(&m.channel_id) {
            c.last_message_id = Some(m.id);
            c.message_count += 1;
        }
        self.messages.insert(m.id, m);
    }

    pub fn channel_messages(&self, channel_id: u64) -> Vec<&StoredMessage> {
        self.messages
            .values()
            .filter(|m| m.channel_id == channel_id)
            .collect()
    }

    pub fn is_guild_channel(&self, id: u64) -> bool {
        self.channels.contains_key(&id)
    }
}

/// The guild id, for routes that take one.
pub fn is_our_guild(id: u64) -> bool {
    id == GUILD_ID
}
