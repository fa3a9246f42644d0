//! Messages (<https://discord.com/developers/docs/resources/message>): create, list, get,
//! edit, delete, and the store every message passes through. Each change fires the event
//! Discord fires: MESSAGE_CREATE, MESSAGE_UPDATE, MESSAGE_DELETE (never for ephemeral
//! messages, which only their user sees).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{FieldError, invalid_form, missing_permissions, not_implemented};
use super::validate::validate_message;
use super::{
    Answer, St, body_json, channel_state, error, id, message_in, no_content, not_found, ok,
    query_number, world,
};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads::{self, sf};
use crate::state::{ChannelState, StoredMessage, World};
use crate::world::{BOT_ID, GUILD_ID, MANAGE_MESSAGES, MANAGE_THREADS};

/// Message type 0 (default) and 19 (reply).
const DEFAULT: u8 = 0;
const REPLY: u8 = 19;

/// `<@id>` mentions in content, as user objects.
pub(super) fn mentions(w: &World, content: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    content
        .split("<@")
        .skip(1)
        .filter_map(|part| {
            let digits: String = part
                .trim_start_matches('!')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u64>().ok()
        })
        .filter(|id| {
            let new = !seen.contains(id);
            seen.push(*id);
            new
        })
        .filter_map(|id| w.users.get(&id).map(payloads::user))
        .collect()
}

pub(super) fn ensure_embed_types(embeds: &mut Value) {
    for e in embeds.as_array_mut().into_iter().flatten() {
        if e.get("type").is_none() {
            e["type"] = json!("rich");
        }
    }
}

/// The `message_reference` a create body asks for, checked against the channel: a reply
/// to a message that is not there is refused unless `fail_if_not_exists` is false.
fn reference(w: &World, channel_id: u64, body: &Value) -> Result<Option<Value>, Response> {
    let Some(r) = body.get("message_reference").filter(|r| r.is_object()) else {
        return Ok(None);
    };
    let target = r["message_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| r["message_id"].as_u64().map(|n| n.to_string()));
    let exists = target
        .as_deref()
        .and_then(id)
        .and_then(|m| w.messages.get(&m))
        .is_some_and(|m| m.channel_id == channel_id);
    if !exists {
        if r["fail_if_not_exists"].as_bool() == Some(false) {
            return Ok(None);
        }
        return Err(invalid_form(vec![FieldError::new(
            "message_reference",
            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
            "Unknown message",
        )]));
    }
    Ok(Some(json!({
        "type": 0,
        "message_id": target,
        "channel_id": sf(channel_id),
        "guild_id": sf(GUILD_ID),
    })))
}

/// Stores a message by `author_id` in `channel_id` built from a create-message body,
/// records the activity and (unless ephemeral) fires MESSAGE_CREATE. Returns the message
/// as REST answers it.
pub(crate) fn store_message(
    inner: &Inner,
    channel_id: u64,
    author_id: u64,
    body: &Value,
    kind: u8,
    interaction_id: Option<u64>,
) -> Result<Value, Response> {
    let flags = body["flags"].as_u64().unwrap_or(0);
    let ephemeral = flags & 64 != 0;
    let content = body["content"].as_str().unwrap_or("").to_owned();
    let mut embeds = body["embeds"].clone();
    ensure_embed_types(&mut embeds);
    let (answer, event, message_id) = {
        let mut w = world(inner);
        let reference = reference(&w, channel_id, body)?;
        let kind = if kind == DEFAULT && reference.is_some() {
            REPLY
        } else {
            kind
        };
        let mid = w.next_id();
        let Some(author) = w.users.get(&author_id).cloned() else {
            return Err(not_found(10013, "User"));
        };
        let mentions = mentions(&w, &content);
        let mut v = payloads::message(payloads::MessageParts {
            id: mid,
            channel_id,
            author: &author,
            content: &content,
            embeds,
            components: body["components"].clone(),
            kind,
            flags,
            mentions,
            reference,
        });
        if interaction_id.is_some() {
            v["webhook_id"] = sf(BOT_ID);
            v["application_id"] = sf(BOT_ID);
        }
        let stored = StoredMessage {
            id: mid,
            channel_id,
            author_id,
            json: v,
            ephemeral,
            interaction_id,
        };
        let answer = payloads::message_view(&w, &stored);
        let event = (!ephemeral).then(|| payloads::message_event(&w, &stored));
        w.add_message(stored);
        (answer, event, mid)
    };
    inner.activity.push(Kind::Message {
        channel_id,
        message_id,
        by_bot: author_id == BOT_ID,
        edited: false,
    });
    if let Some(d) = event {
        inner.gateway.dispatch(inner, "MESSAGE_CREATE", d);
    }
    Ok(answer)
}

/// Applies an edit body to a stored message and fires MESSAGE_UPDATE (not for ephemeral
/// messages). Returns the message as it now stands.
pub(crate) fn apply_edit(inner: &Inner, message_id: u64, body: &Value) -> Result<Value, Response> {
    let (channel_id, answer, event) = {
        let mut w = world(inner);
        let now = w.now();
        let new_mentions = body["content"].as_str().map(|c| mentions(&w, c));
        let m = w
            .messages
            .get_mut(&message_id)
            .ok_or_else(|| not_found(10008, "Message"))?;
        for key in ["content", "embeds", "components", "flags"] {
            if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                m.json[key] = v.clone();
            }
        }
        if let Some(list) = new_mentions {
            m.json["mentions"] = Value::Array(list);
        }
        ensure_embed_types(&mut m.json["embeds"]);
        m.json["edited_timestamp"] = json!(payloads::timestamp(now));
        let stored = m.clone();
        let answer = payloads::message_view(&w, &stored);
        let event = (!stored.ephemeral).then(|| payloads::message_event(&w, &stored));
        (stored.channel_id, answer, event)
    };
    inner.activity.push(Kind::Message {
        channel_id,
        message_id,
        by_bot: true,
        edited: true,
    });
    if let Some(d) = event {
        inner.gateway.dispatch(inner, "MESSAGE_UPDATE", d);
    }
    Ok(answer)
}

/// Removes a message and fires MESSAGE_DELETE (for messages others could see).
pub(crate) fn remove_message(inner: &Inner, message_id: u64) -> Option<StoredMessage> {
    let removed = world(inner).messages.remove(&message_id)?;
    inner.activity.push(Kind::MessageDeleted {
        channel_id: removed.channel_id,
        message_id: removed.id,
    });
    if !removed.ephemeral {
        inner.gateway.dispatch(
            inner,
            "MESSAGE_DELETE",
            payloads::message_delete(removed.channel_id, removed.id),
        );
    }
    Some(removed)
}

/// Whether the bot may write in `c` now: a locked thread takes MANAGE_THREADS, and an
/// archived one that is also locked must be unarchived first
/// (<https://discord.com/developers/docs/topics/threads#locked-threads>).
pub(super) fn writable(inner: &Inner, c: &ChannelState) -> Result<(), Response> {
    if !c.is_thread() {
        return Ok(());
    }
    if c.archived && c.locked {
        return Err(error(StatusCode::BAD_REQUEST, 50083, "Thread is archived"));
    }
    if c.locked && world(inner).permissions_of(BOT_ID) & MANAGE_THREADS == 0 {
        return Err(error(StatusCode::FORBIDDEN, 160005, "Thread is locked"));
    }
    Ok(())
}

pub(super) async fn create_message(
    State(inner): St,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let c = channel_state(&inner, &channel)?;
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/"));
    if multipart {
        return Err(not_implemented("attachments (multipart message bodies)"));
    }
    let body = body_json(&body)?;
    validate_message(&body, true)?;
    writable(&inner, &c)?;
    if c.is_thread() && c.archived {
        // Posting unarchives a thread that is not locked, as on Discord.
        super::channels::set_archived(&inner, c.id, false, true);
    }
    ok(store_message(&inner, c.id, BOT_ID, &body, DEFAULT, None)?)
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    limit: Option<String>,
    before: Option<String>,
    after: Option<String>,
    around: Option<String>,
}

pub(super) async fn list_messages(
    State(inner): St,
    Path(channel): Path<String>,
    Query(q): Query<ListQuery>,
) -> Answer {
    let c = channel_state(&inner, &channel)?;
    let limit = query_number("limit", q.limit.as_deref())?.unwrap_or(50) as usize;
    if !(1..=100).contains(&limit) {
        return Err(invalid_form(vec![FieldError::new(
            "limit",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 100.",
        )]));
    }
    if q.around.is_some() {
        return Err(not_implemented("GET /channels/{id}/messages?around="));
    }
    let (before, after) = (
        q.before.as_deref().and_then(id),
        q.after.as_deref().and_then(id),
    );
    let w = world(&inner);
    let mut list: Vec<&StoredMessage> = w
        .channel_messages(c.id)
        .into_iter()
        .filter(|m| {
            !m.ephemeral && before.is_none_or(|b| m.id < b) && after.is_none_or(|a| m.id > a)
        })
        .collect();
    // Newest first, as Discord returns them; with `after`, the page nearest to it.
    if after.is_some() {
        list.truncate(limit);
        list.reverse();
    } else {
        list.reverse();
        list.truncate(limit);
    }
    ok(Value::Array(
        list.into_iter()
            .map(|m| payloads::message_view(&w, m))
            .collect(),
    ))
}

pub(super) async fn get_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let w = world(&inner);
    ok(payloads::message_view(&w, &m))
}

pub(super) async fn edit_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    if m.author_id != BOT_ID {
        return Err(error(
            StatusCode::FORBIDDEN,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    let c = channel_state(&inner, &channel)?;
    if c.is_thread() && c.archived {
        return Err(error(StatusCode::BAD_REQUEST, 50083, "Thread is archived"));
    }
    writable(&inner, &c)?;
    let body = body_json(&body)?;
    validate_message(&body, false)?;
    ok(apply_edit(&inner, m.id, &body)?)
}

pub(super) async fn delete_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    if m.author_id != BOT_ID && world(&inner).permissions_of(BOT_ID) & MANAGE_MESSAGES == 0 {
        return Err(missing_permissions());
    }
    remove_message(&inner, m.id);
    no_content()
}
