//! Gateway intents (<https://discord.com/developers/docs/events/gateway#gateway-intents>):
//! which dispatches a session receives, and what is left of them.
//!
//! - An event tied to an intent the IDENTIFY did not ask for is not sent at all (it does
//!   not take a sequence number either).
//! - Without GUILD_PRESENCES, GUILD_CREATE carries only the bot's own member (the sandbox
//!   has no voice channels); members are fetched with REST or op 8.
//! - Without MESSAGE_CONTENT, `content`, `embeds`, `attachments`, `components` and `poll`
//!   of a message are empty, except in the bot's own messages and messages that mention
//!   it (<https://discord.com/developers/docs/events/gateway#message-content-intent>).
//!   REST answers follow the same rule by what the application is approved for.

use serde_json::{Value, json};

use crate::world::BOT_ID;

pub const GUILDS: u64 = 1 << 0;
pub const GUILD_MEMBERS: u64 = 1 << 1;
pub const GUILD_MODERATION: u64 = 1 << 2;
pub const GUILD_EXPRESSIONS: u64 = 1 << 3;
pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
pub const GUILD_WEBHOOKS: u64 = 1 << 5;
pub const GUILD_INVITES: u64 = 1 << 6;
pub const GUILD_VOICE_STATES: u64 = 1 << 7;
pub const GUILD_PRESENCES: u64 = 1 << 8;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
pub const DIRECT_MESSAGES: u64 = 1 << 12;
pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
pub const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
pub const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
pub const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
pub const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;

/// The intents an application must enable (and, past 100 servers, be approved for).
pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;

/// Every intent Discord defines; any other bit is "invalid intent(s)" (close 4013).
pub const KNOWN: u64 = GUILDS
    | GUILD_MEMBERS
    | GUILD_MODERATION
    | GUILD_EXPRESSIONS
    | GUILD_INTEGRATIONS
    | GUILD_WEBHOOKS
    | GUILD_INVITES
    | GUILD_VOICE_STATES
    | GUILD_PRESENCES
    | GUILD_MESSAGES
    | GUILD_MESSAGE_REACTIONS
    | GUILD_MESSAGE_TYPING
    | DIRECT_MESSAGES
    | DIRECT_MESSAGE_REACTIONS
    | DIRECT_MESSAGE_TYPING
    | MESSAGE_CONTENT
    | GUILD_SCHEDULED_EVENTS
    | AUTO_MODERATION_CONFIGURATION
    | AUTO_MODERATION_EXECUTION
    | GUILD_MESSAGE_POLLS
    | DIRECT_MESSAGE_POLLS;

/// The intent a guild event needs; `None` for events every session gets (READY,
/// INTERACTION_CREATE, GUILD_MEMBERS_CHUNK...). The sandbox has no DMs, so message and
/// reaction events are the guild ones.
pub fn required(t: &str) -> Option<u64> {
    Some(match t {
        "GUILD_CREATE"
        | "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "CHANNEL_CREATE"
        | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE"
        | "CHANNEL_PINS_UPDATE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE"
        | "THREAD_LIST_SYNC"
        | "THREAD_MEMBER_UPDATE"
        | "THREAD_MEMBERS_UPDATE" => GUILDS,
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => GUILD_MEMBERS,
        "PRESENCE_UPDATE" => GUILD_PRESENCES,
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            GUILD_MESSAGES
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => GUILD_MESSAGE_REACTIONS,
        "TYPING_START" => GUILD_MESSAGE_TYPING,
        _ => return None,
    })
}

fn id_of(v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// Whether a message's content reaches an application without MESSAGE_CONTENT: its own
/// messages and messages that mention it.
fn content_exempt(message: &Value) -> bool {
    id_of(&message["author"]["id"]) == Some(BOT_ID)
        || message["mentions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| id_of(&u["id"]) == Some(BOT_ID))
}

/// Empties the content fields of a message (and of the message it replies to) as Discord
/// does for an application without MESSAGE_CONTENT.
pub fn strip_content(message: &mut Value) {
    if !content_exempt(message) {
        message["content"] = json!("");
        for k in ["embeds", "attachments", "components"] {
            if message.get(k).is_some() {
                message[k] = json!([]);
            }
        }
        if let Some(o) = message.as_object_mut() {
            o.remove("poll");
        }
    }
    if let Some(r) = message
        .get_mut("referenced_message")
        .filter(|r| r.is_object())
    {
        strip_content(r);
    }
}

/// What a session with `intents` receives of the dispatch `t`, or `None` when it
/// receives nothing.
pub fn apply(t: &str, mut d: Value, intents: u64) -> Option<Value> {
    let about_bot = t == "GUILD_MEMBER_UPDATE" && id_of(&d["user"]["id"]) == Some(BOT_ID);
    if let Some(needed) = required(t)
        && intents & needed == 0
        && !about_bot
    {
        return None;
    }
    match t {
        "GUILD_CREATE" if intents & GUILD_PRESENCES == 0 => {
            if let Some(members) = d["members"].as_array_mut() {
                members.retain(|m| id_of(&m["user"]["id"]) == Some(BOT_ID));
            }
            d["presences"] = json!([]);
        }
        "THREAD_MEMBERS_UPDATE" if intents & GUILD_MEMBERS == 0 => {
            let added = d["added_members"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| id_of(&m["user_id"]) == Some(BOT_ID));
            let removed = d["removed_member_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|u| id_of(u) == Some(BOT_ID));
            if !added && !removed {
                return None;
            }
        }
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" if intents & MESSAGE_CONTENT == 0 => {
            strip_content(&mut d);
        }
        _ => {}
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(author: u64, mentions: &[u64]) -> Value {
        json!({
            "id": "1", "author": {"id": author.to_string()}, "content": "secret plans",
            "embeds": [{"title": "t"}], "components": [{"type": 1}], "attachments": [],
            "mentions": mentions.iter().map(|m| json!({"id": m.to_string()})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn events_follow_their_intents() {
        let all = GUILDS | GUILD_MESSAGES;
        assert!(apply("MESSAGE_CREATE", message(5, &[]), GUILDS).is_none());
        assert!(apply("MESSAGE_CREATE", message(5, &[]), all).is_some());
        assert!(apply("INTERACTION_CREATE", json!({}), 0).is_some());
        let member = json!({"user": {"id": "5"}, "roles": []});
        assert!(apply("GUILD_MEMBER_UPDATE", member, GUILDS).is_none());
        let me = json!({"user": {"id": BOT_ID.to_string()}, "roles": []});
        assert!(
            apply("GUILD_MEMBER_UPDATE", me, GUILDS).is_some(),
            "an update of the bot itself is always sent"
        );
    }

    #[test]
    fn content_is_empty_without_the_intent_unless_the_bot_wrote_or_is_mentioned() {
        let flags = GUILDS | GUILD_MESSAGES;
        let d = apply("MESSAGE_CREATE", message(5, &[]), flags).unwrap();
        assert_eq!(d["content"], "");
        assert_eq!(d["embeds"], json!([]));
        assert_eq!(d["components"], json!([]));
        let d = apply("MESSAGE_CREATE", message(5, &[BOT_ID]), flags).unwrap();
        assert_eq!(d["content"], "secret plans");
        let d = apply("MESSAGE_CREATE", message(BOT_ID, &[]), flags).unwrap();
        assert_eq!(d["content"], "secret plans");
        let d = apply("MESSAGE_CREATE", message(5, &[]), flags | MESSAGE_CONTENT).unwrap();
        assert_eq!(d["content"], "secret plans");
    }

    #[test]
    fn guild_create_without_presences_carries_only_the_bot() {
        let d = json!({"members": [{"user": {"id": "5"}}, {"user": {"id": BOT_ID.to_string()}}], "presences": []});
        let with = apply("GUILD_CREATE", d.clone(), GUILDS | GUILD_PRESENCES).unwrap();
        assert_eq!(with["members"].as_array().unwrap().len(), 2);
        let without = apply("GUILD_CREATE", d, GUILDS).unwrap();
        assert_eq!(without["members"].as_array().unwrap().len(), 1);
    }
}
