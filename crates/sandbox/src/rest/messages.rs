//! Messages: create, list, get, edit, delete; the store every message passes through.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::validate::validate_message;
use super::{
    Answer, St, body_json, channel_state, error, id, message_in, no_content, not_found, ok, world,
};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads::{self, sf};
use crate::state::StoredMessage;
use crate::world::{BOT_ID, GUILD_ID};

/// `<@id>` mentions in content, as user objects.
pub(super) fn mentions(inner: &Inner, content: &str) -> Vec<Value> {
    let w = world(inner);
    content
        .split("<@")
        .skip(1)
        .filter_map(|part| {
            let digits: String = part
                .trim_start_matches('!')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .ok()
                .and_then(|i: u64| w.users.get(&i))
                .map(payloads::user)
        })
        .collect()
}

pub(super) fn ensure_embed_types(embeds: &mut Value) {
    for e in embeds.as_array_mut().into_iter().flatten() {
        if e.get("type").is_none() {
            e["type"] = json!("rich");
        }
    }
}

/// Stores a message by `author_id` in `channel_id` built from a create-message body,
/// emits the activity and (unless ephemeral) the MESSAGE_CREATE dispatch. Returns its JSON.
pub(crate) fn store_message(
    inner: &Inner,
    channel_id: u64,
    author_id: u64,
    body: &Value,
    kind: u8,
    interaction_id: Option<u64>,
) -> Value {
    let flags = body["flags"].as_u64().unwrap_or(0);
    let ephemeral = flags & 64 != 0;
    let content = body["content"].as_str().unwrap_or("").to_owned();
    let mentions = mentions(inner, &content);
    let mut embeds = body["embeds"].clone();
    ensure_embed_types(&mut embeds);
    let (json, member_json) = {
        let mut w = world(inner);
        let mid = w.next_id();
        let author = w.users[&author_id].clone();
        let reference = body.get("message_reference").filter(|r| r.is_object()).map(|r| {
            json!({"message_id": r["message_id"].clone(), "channel_id": sf(channel_id), "guild_id": sf(GUILD_ID), "fail_if_not_exists": false})
        });
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
        w.add_message(StoredMessage {
            id: mid,
            channel_id,
            author_id,
            json: v.clone(),
            ephemeral,
            interaction_id,
        });
        let member = w
            .member_pair(author_id)
            .map(|(m, u)| payloads::member(&m, &u, false));
        (v, member)
    };
    let message_id = json["id"].as_str().and_then(id).unwrap_or(0);
    inner.activity.push(Kind::Message {
        channel_id,
        message_id,
        by_bot: author_id == BOT_ID,
        edited: false,
    });
    if !ephemeral {
        let mut d = json.clone();
        d["guild_id"] = sf(GUILD_ID);
        if let Some(m) = member_json {
            d["member"] = m;
        }
        inner.gateway.dispatch(inner, "MESSAGE_CREATE", d);
    }
    json
}

/// Applies an edit body to a stored message.
pub(super) fn apply_edit(inner: &Inner, message_id: u64, body: &Value) -> Result<Value, Response> {
    let (channel_id, json) = {
        let mut w = world(inner);
        let m = w
            .messages
            .get_mut(&message_id)
            .ok_or_else(|| not_found(10008, "Message"))?;
        for key in ["content", "embeds", "components", "flags"] {
            if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                m.json[key] = v.clone();
            }
        }
        ensure_embed_types(&mut m.json["embeds"]);
        m.json["edited_timestamp"] = json!(payloads::timestamp(chrono::Utc::now()));
        (m.channel_id, m.json.clone())
    };
    inner.activity.push(Kind::Message {
        channel_id,
        message_id,
        by_bot: true,
        edited: true,
    });
    Ok(json)
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
        return Err(error(
            StatusCode::BAD_REQUEST,
            50035,
            "the sandbox does not accept attachments",
        ));
    }
    let body = body_json(&body)?;
    validate_message(&body, true)?;
    if c.is_thread() && c.locked {
        return Err(error(StatusCode::FORBIDDEN, 50083, "Thread is archived"));
    }
    if c.is_thread() && c.archived {
        // Posting unarchives a thread, as on Discord.
        if let Some(t) = world(&inner).channels.get_mut(&c.id) {
            t.archived = false;
        }
    }
    ok(store_message(&inner, c.id, BOT_ID, &body, 0, None))
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
    before: Option<String>,
    after: Option<String>,
}

pub(super) async fn list_messages(
    State(inner): St,
    Path(channel): Path<String>,
    Query(q): Query<ListQuery>,
) -> Answer {
    let c = channel_state(&inner, &channel)?;
    let (before, after) = (
        q.before.as_deref().and_then(id),
        q.after.as_deref().and_then(id),
    );
    let w = world(&inner);
    let mut list: Vec<Value> = w
        .channel_messages(c.id)
        .into_iter()
        .filter(|m| {
            !m.ephemeral && before.is_none_or(|b| m.id < b) && after.is_none_or(|a| m.id > a)
        })
        .map(|m| m.json.clone())
        .collect();
    list.reverse(); // newest first, as Discord returns them
    list.truncate(q.limit.unwrap_or(50).clamp(1, 100));
    ok(Value::Array(list))
}

pub(super) async fn get_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    ok(message_in(&inner, &channel, &message)?.json)
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
    let body = body_json(&body)?;
    validate_message(&body, false)?;
    ok(apply_edit(&inner, m.id, &body)?)
}

pub(super) async fn delete_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    world(&inner).messages.remove(&m.id);
    inner.activity.push(Kind::MessageDeleted {
        channel_id: m.channel_id,
        message_id: m.id,
    });
    no_content()
}
