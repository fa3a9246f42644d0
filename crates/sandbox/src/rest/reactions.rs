//! Reactions (<https://discord.com/developers/docs/resources/message#create-reaction>):
//! the bot adds and removes its own (others' with MANAGE_MESSAGES), lists who reacted;
//! MESSAGE_REACTION_ADD and MESSAGE_REACTION_REMOVE follow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::errors::missing_permissions;
use super::{
    Answer, St, channel_state, error, message_in, no_content, not_found, ok, user_param, world,
};
use crate::activity::Kind;
use crate::payloads;
use crate::world::{BOT_ID, MANAGE_MESSAGES};

/// Decodes `%XX` escapes (unicode emoji arrive percent-encoded; custom ones as name:id).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A reaction key the sandbox can show: a unicode emoji, or `name:id` of a custom one
/// (the sandbox guild has no custom emoji, so any id is unknown, as on Discord).
fn reaction_key(raw: &str) -> Result<String, axum::response::Response> {
    let key = percent_decode(raw);
    let custom = key
        .rsplit_once(':')
        .is_some_and(|(_, id)| id.parse::<u64>().is_ok());
    if key.is_empty() || custom {
        return Err(error(StatusCode::BAD_REQUEST, 10014, "Unknown Emoji"));
    }
    Ok(key)
}

pub(super) async fn add_reaction(
    State(inner): St,
    Path((channel, message, emoji, user)): Path<(String, String, String, String)>,
) -> Answer {
    if user != "@me" {
        return Err(error(
            StatusCode::METHOD_NOT_ALLOWED,
            0,
            "405: Method Not Allowed",
        ));
    }
    let m = message_in(&inner, &channel, &message)?;
    if channel_state(&inner, &channel)?.archived {
        return Err(error(StatusCode::BAD_REQUEST, 50083, "Thread is archived"));
    }
    let emoji = reaction_key(&emoji)?;
    let member = {
        let mut w = world(&inner);
        let list = w.reactions.entry(m.id).or_default();
        if list.iter().any(|(e, u)| *e == emoji && *u == BOT_ID) {
            return no_content();
        }
        list.push((emoji.clone(), BOT_ID));
        w.member_pair(BOT_ID)
            .map(|(mm, u)| payloads::member(&mm, &u, true))
    };
    inner.activity.push(Kind::Reaction {
        channel_id: m.channel_id,
        message_id: m.id,
        emoji: emoji.clone(),
        user_id: BOT_ID,
        added: true,
    });
    inner.gateway.dispatch(
        &inner,
        "MESSAGE_REACTION_ADD",
        payloads::reaction_add(BOT_ID, m.channel_id, m.id, &emoji, member),
    );
    no_content()
}

pub(super) async fn remove_reaction(
    State(inner): St,
    Path((channel, message, emoji, user)): Path<(String, String, String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let uid = user_param(&user).ok_or_else(|| not_found(10013, "User"))?;
    // Removing someone else's reaction takes MANAGE_MESSAGES.
    if uid != BOT_ID && world(&inner).permissions_of(BOT_ID) & MANAGE_MESSAGES == 0 {
        return Err(missing_permissions());
    }
    let emoji = reaction_key(&emoji)?;
    let removed = {
        let mut w = world(&inner);
        let list = w.reactions.entry(m.id).or_default();
        let before = list.len();
        list.retain(|(e, u)| !(*e == emoji && *u == uid));
        before != list.len()
    };
    if removed {
        inner.activity.push(Kind::Reaction {
            channel_id: m.channel_id,
            message_id: m.id,
            emoji: emoji.clone(),
            user_id: uid,
            added: false,
        });
        inner.gateway.dispatch(
            &inner,
            "MESSAGE_REACTION_REMOVE",
            payloads::reaction_remove(uid, m.channel_id, m.id, &emoji),
        );
    }
    no_content()
}

pub(super) async fn list_reactions(
    State(inner): St,
    Path((channel, message, emoji)): Path<(String, String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let emoji = percent_decode(&emoji);
    let w = world(&inner);
    let users = w
        .reactions
        .get(&m.id)
        .into_iter()
        .flatten()
        .filter(|(e, _)| *e == emoji)
        .filter_map(|(_, u)| w.users.get(u));
    ok(Value::Array(users.map(payloads::user).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_emoji() {
        assert_eq!(percent_decode("%F0%9F%8E%AB"), "🎫");
        assert_eq!(percent_decode("name:123"), "name:123");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
