//! Discord REST v10, the part the bot uses. Unknown ids answer 404 with Discord's
//! `{code, message}` body; invalid bodies answer 400 the way Discord does, including
//! the limits the predecessor kept overflowing (2,000 characters of content, 10 embeds
//! and 6,000 embed characters per message, 5 rows of 5 components), and an interaction
//! answered after 3 seconds is "Unknown interaction", so a missing defer fails a test.

// Handlers answer `Result<Response, Response>`: the error side is the HTTP answer
// itself, so `?` works throughout; boxing it would only add an allocation to a loopback
// test server.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::Inner;
use super::activity::Kind;
use super::payloads::{self, sf};
use super::state::{
    ChannelState, InteractionState, PRIVATE_THREAD, PUBLIC_THREAD, StoredMessage, World,
    is_our_guild,
};
use super::world::{self, BOT_ID, GUILD_ID};

/// How long an interaction may wait for its first response.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

type Answer = Result<Response, Response>;
type St = State<Arc<Inner>>;

pub(crate) fn router() -> Router<Arc<Inner>> {
    let commands = |r| format!("/api/v10/applications/{{app}}{r}/commands");
    Router::new()
        .route("/api/v10/gateway", get(gateway))
        .route("/api/v10/gateway/bot", get(gateway_bot))
        .route("/api/v10/oauth2/applications/@me", get(application))
        .route("/api/v10/applications/@me", get(application))
        .route("/api/v10/users/@me", get(current_user))
        .route("/api/v10/users/{user}", get(get_user))
        .route(
            &commands(""),
            put(put_global_commands).get(get_global_commands),
        )
        .route(
            &commands("/guilds/{guild}"),
            put(put_guild_commands).get(get_guild_commands),
        )
        .route(
            "/api/v10/channels/{channel}",
            get(get_channel).patch(patch_channel),
        )
        .route(
            "/api/v10/channels/{channel}/messages",
            post(create_message).get(list_messages),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/threads",
            post(thread_from_message),
        )
        .route("/api/v10/channels/{channel}/threads", post(create_thread))
        .route(
            "/api/v10/channels/{channel}/thread-members",
            get(list_thread_members),
        )
        .route(
            "/api/v10/channels/{channel}/thread-members/{user}",
            put(add_thread_member).delete(remove_thread_member),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/reactions/{emoji}/{user}",
            put(add_reaction).delete(remove_reaction),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/reactions/{emoji}",
            get(list_reactions),
        )
        .route("/api/v10/guilds/{guild}", get(get_guild))
        .route("/api/v10/guilds/{guild}/channels", get(guild_channels))
        .route("/api/v10/guilds/{guild}/roles", get(guild_roles))
        .route("/api/v10/guilds/{guild}/members/{user}", get(get_member))
        .route(
            "/api/v10/guilds/{guild}/members/{user}/roles/{role}",
            put(add_role).delete(remove_role),
        )
        .route(
            "/api/v10/interactions/{id}/{token}/callback",
            post(interaction_callback),
        )
        .route("/api/v10/webhooks/{app}/{token}", post(followup))
        .route(
            "/api/v10/webhooks/{app}/{token}/messages/{message}",
            get(webhook_get).patch(webhook_edit).delete(webhook_delete),
        )
}

// --- answers ---------------------------------------------------------------------

pub fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, axum::Json(payloads::error(code, message))).into_response()
}

fn not_found(code: u32, what: &str) -> Response {
    error(StatusCode::NOT_FOUND, code, &format!("Unknown {what}"))
}

fn invalid_form(detail: &str) -> Response {
    let body = json!({"code": 50035, "message": "Invalid Form Body", "errors": {"detail": detail}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

fn created(v: Value) -> Answer {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn id(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            50109,
            &format!("The request body contains invalid JSON ({e})"),
        )
    })
}

fn world(inner: &Inner) -> std::sync::MutexGuard<'_, World> {
    inner.world.lock().unwrap_or_else(|e| e.into_inner())
}

// --- validation ------------------------------------------------------------------

/// Discord's message limits; the sandbox enforces them so an overflow fails a test
/// instead of failing in production.
pub fn validate_message(body: &Value, require_something: bool) -> Result<(), Response> {
    let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    let content = len(&body["content"]);
    if content > 2000 {
        return Err(invalid_form(&format!(
            "content: must be 2000 or fewer in length (got {content})"
        )));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err(invalid_form(&format!(
            "embeds: must be 10 or fewer in length (got {})",
            embeds.len()
        )));
    }
    let mut total = 0usize;
    for (i, e) in embeds.iter().enumerate() {
        let (title, desc) = (len(&e["title"]), len(&e["description"]));
        if title > 256 {
            return Err(invalid_form(&format!(
                "embeds.{i}.title: must be 256 or fewer in length"
            )));
        }
        if desc > 4096 {
            return Err(invalid_form(&format!(
                "embeds.{i}.description: must be 4096 or fewer in length (got {desc})"
            )));
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err(invalid_form(&format!(
                "embeds.{i}.fields: must be 25 or fewer in length"
            )));
        }
        total += title + desc + len(&e["footer"]["text"]) + len(&e["author"]["name"]);
        for (j, f) in fields.iter().enumerate() {
            let (n, v) = (len(&f["name"]), len(&f["value"]));
            if n == 0 || v == 0 {
                return Err(invalid_form(&format!(
                    "embeds.{i}.fields.{j}: name and value are required"
                )));
            }
            if n > 256 || v > 1024 {
                return Err(invalid_form(&format!(
                    "embeds.{i}.fields.{j}: name must be 256 and value 1024 or fewer in length"
                )));
            }
            total += n + v;
        }
    }
    if total > 6000 {
        return Err(invalid_form(&format!(
            "embeds: the total size of all embeds must be 6000 or fewer characters (got {total})"
        )));
    }
    let rows = body["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > 5 {
        return Err(invalid_form(&format!(
            "components: must be 5 or fewer in length (got {})",
            rows.len()
        )));
    }
    for (i, row) in rows.iter().enumerate() {
        let n = row["components"].as_array().map(Vec::len).unwrap_or(0);
        if n == 0 || n > 5 {
            return Err(invalid_form(&format!(
                "components.{i}.components: must be between 1 and 5 in length (got {n})"
            )));
        }
    }
    let stickers = body["sticker_ids"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    if require_something && content == 0 && embeds.is_empty() && rows.is_empty() && !stickers {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    Ok(())
}

// --- messages --------------------------------------------------------------------

/// `<@id>` mentions in content, as user objects.
fn mentions(inner: &Inner, content: &str) -> Vec<Value> {
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

fn ensure_embed_types(embeds: &mut Value) {
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
        let mut v = payloads::message(
            mid,
            channel_id,
            &author,
            &content,
            embeds,
            body["components"].clone(),
            kind,
            flags,
            mentions,
            reference,
        );
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
fn apply_edit(inner: &Inner, message_id: u64, body: &Value) -> Result<Value, Response> {
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

fn channel_state(inner: &Inner, channel: &str) -> Result<ChannelState, Response> {
    id(channel)
        .and_then(|c| world(inner).channels.get(&c).cloned())
        .ok_or_else(|| not_found(10003, "Channel"))
}

fn message_in(inner: &Inner, channel: &str, message: &str) -> Result<StoredMessage, Response> {
    let w = world(inner);
    let c = id(channel)
        .filter(|c| w.channels.contains_key(c))
        .ok_or_else(|| not_found(10003, "Channel"))?;
    id(message)
        .and_then(|m| w.messages.get(&m))
        .filter(|m| m.channel_id == c)
        .cloned()
        .ok_or_else(|| not_found(10008, "Message"))
}

async fn create_message(
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
struct ListQuery {
    limit: Option<usize>,
    before: Option<String>,
    after: Option<String>,
}

async fn list_messages(
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

async fn get_message(State(inner): St, Path((channel, message)): Path<(String, String)>) -> Answer {
    ok(message_in(&inner, &channel, &message)?.json)
}

async fn edit_message(
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

async fn delete_message(
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

// --- bootstrap and commands ------------------------------------------------------

async fn gateway(State(inner): St) -> Answer {
    ok(json!({"url": format!("{}/gateway", inner.ws_base)}))
}

async fn gateway_bot(State(inner): St) -> Answer {
    ok(json!({
        "url": format!("{}/gateway", inner.ws_base),
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
    }))
}

async fn application(State(inner): St) -> Answer {
    let w = world(&inner);
    ok(payloads::application(
        &w.users[&BOT_ID],
        &w.users[&world::OWNER_ID],
    ))
}

async fn current_user(State(inner): St) -> Answer {
    ok(payloads::user(&world(&inner).users[&BOT_ID]))
}

async fn get_user(State(inner): St, Path(user): Path<String>) -> Answer {
    let w = world(&inner);
    let u = id(&user)
        .and_then(|u| w.users.get(&u))
        .ok_or_else(|| not_found(10013, "User"))?;
    ok(payloads::user(u))
}

fn register(inner: &Inner, guild: Option<u64>, body: &Bytes) -> Answer {
    let Value::Array(list) = body_json(body)? else {
        return Err(invalid_form("body must be an array of commands"));
    };
    let mut stored = Vec::new();
    {
        let mut w = world(inner);
        for c in &list {
            let name = c["name"].as_str().unwrap_or("");
            if name.is_empty()
                || name.len() > 32
                || name
                    .chars()
                    .any(|ch| ch.is_uppercase() || ch.is_whitespace())
            {
                return Err(invalid_form(&format!(
                    "name: {name:?} is not a valid command name"
                )));
            }
            let mut c = c.clone();
            c["id"] = sf(w.next_id());
            c["application_id"] = sf(BOT_ID);
            c["version"] = sf(w.next_id());
            for (key, default) in [
                ("type", json!(1)),
                ("description", json!("")),
                ("dm_permission", json!(true)),
                ("nsfw", json!(false)),
            ] {
                if c.get(key).is_none() {
                    c[key] = default;
                }
            }
            if c.get("default_member_permissions").is_none() {
                c["default_member_permissions"] = Value::Null;
            }
            if let Some(g) = guild {
                c["guild_id"] = sf(g);
            }
            stored.push(c);
        }
        w.commands.insert(guild, stored.clone());
    }
    inner.activity.push(Kind::CommandsRegistered {
        guild_id: guild,
        count: stored.len(),
    });
    ok(Value::Array(stored))
}

fn our_guild(guild: &str) -> Result<u64, Response> {
    id(guild)
        .filter(|g| is_our_guild(*g))
        .ok_or_else(|| not_found(10004, "Guild"))
}

async fn put_global_commands(State(inner): St, Path(_app): Path<String>, body: Bytes) -> Answer {
    register(&inner, None, &body)
}

async fn get_global_commands(State(inner): St, Path(_app): Path<String>) -> Answer {
    ok(Value::Array(
        world(&inner)
            .commands
            .get(&None)
            .cloned()
            .unwrap_or_default(),
    ))
}

async fn put_guild_commands(
    State(inner): St,
    Path((_app, guild)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let g = our_guild(&guild).map_err(|_| error(StatusCode::FORBIDDEN, 50001, "Missing Access"))?;
    register(&inner, Some(g), &body)
}

async fn get_guild_commands(
    State(inner): St,
    Path((_app, guild)): Path<(String, String)>,
) -> Answer {
    let g = our_guild(&guild)?;
    ok(Value::Array(
        world(&inner)
            .commands
            .get(&Some(g))
            .cloned()
            .unwrap_or_default(),
    ))
}

// --- channels and threads --------------------------------------------------------

async fn get_channel(State(inner): St, Path(channel): Path<String>) -> Answer {
    ok(payloads::channel(&channel_state(&inner, &channel)?))
}

async fn patch_channel(State(inner): St, Path(channel): Path<String>, body: Bytes) -> Answer {
    let body = body_json(&body)?;
    let updated = {
        let mut w = world(&inner);
        let c = id(&channel)
            .and_then(|c| w.channels.get_mut(&c))
            .ok_or_else(|| not_found(10003, "Channel"))?;
        if let Some(name) = body["name"].as_str() {
            if name.is_empty() || name.chars().count() > 100 {
                return Err(invalid_form("name: must be between 1 and 100 in length"));
            }
            c.name = name.to_owned();
        }
        if let Some(t) = body.get("topic") {
            c.topic = t.as_str().map(str::to_owned);
        }
        if let Some(a) = body["archived"].as_bool() {
            c.archived = a;
        }
        if let Some(l) = body["locked"].as_bool() {
            c.locked = l;
        }
        c.clone()
    };
    inner.activity.push(Kind::Channel {
        channel_id: updated.id,
        created: false,
    });
    if updated.is_thread() {
        inner
            .gateway
            .dispatch(&inner, "THREAD_UPDATE", payloads::channel(&updated));
    }
    ok(payloads::channel(&updated))
}

fn new_thread(
    inner: &Inner,
    parent: &ChannelState,
    name: &str,
    kind: u8,
    thread_id: Option<u64>,
) -> Result<ChannelState, Response> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid_form("name: must be between 1 and 100 in length"));
    }
    if parent.is_thread() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50024,
            "Cannot execute action on this channel type",
        ));
    }
    let t = {
        let mut w = world(inner);
        let tid = thread_id.unwrap_or_else(|| w.next_id());
        if w.channels.contains_key(&tid) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                160004,
                "A thread has already been created for this message",
            ));
        }
        let t = ChannelState {
            id: tid,
            name: name.to_owned(),
            kind,
            parent_id: Some(parent.id),
            topic: None,
            position: 0,
            archived: false,
            locked: false,
            owner_id: Some(BOT_ID),
            thread_members: vec![BOT_ID],
            last_message_id: None,
            message_count: 0,
        };
        w.channels.insert(tid, t.clone());
        t
    };
    inner.activity.push(Kind::Channel {
        channel_id: t.id,
        created: true,
    });
    let mut d = payloads::channel(&t);
    d["newly_created"] = json!(true);
    inner.gateway.dispatch(inner, "THREAD_CREATE", d);
    Ok(t)
}

async fn create_thread(State(inner): St, Path(channel): Path<String>, body: Bytes) -> Answer {
    let parent = channel_state(&inner, &channel)?;
    let body = body_json(&body)?;
    let kind = match body["type"].as_u64() {
        Some(11) => PUBLIC_THREAD,
        Some(12) | None => PRIVATE_THREAD,
        Some(_) => return Err(invalid_form("type: must be 11 or 12")),
    };
    created(payloads::channel(&new_thread(
        &inner,
        &parent,
        body["name"].as_str().unwrap_or(""),
        kind,
        None,
    )?))
}

async fn thread_from_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let parent = channel_state(&inner, &channel)?;
    let body = body_json(&body)?;
    let name = body["name"].as_str().unwrap_or("");
    created(payloads::channel(&new_thread(
        &inner,
        &parent,
        name,
        PUBLIC_THREAD,
        Some(m.id),
    )?))
}

fn user_param(user: &str) -> Option<u64> {
    if user == "@me" {
        Some(BOT_ID)
    } else {
        id(user)
    }
}

fn thread_mut<'a>(w: &'a mut World, channel: &str) -> Result<&'a mut ChannelState, Response> {
    id(channel)
        .and_then(|c| w.channels.get_mut(&c))
        .filter(|t| t.is_thread())
        .ok_or_else(|| not_found(10003, "Channel"))
}

async fn list_thread_members(State(inner): St, Path(channel): Path<String>) -> Answer {
    let t = channel_state(&inner, &channel)
        .ok()
        .filter(ChannelState::is_thread)
        .ok_or_else(|| not_found(10003, "Channel"))?;
    ok(Value::Array(
        t.thread_members
            .iter()
            .map(|u| payloads::thread_member(t.id, *u))
            .collect(),
    ))
}

async fn add_thread_member(
    State(inner): St,
    Path((channel, user)): Path<(String, String)>,
) -> Answer {
    let mut w = world(&inner);
    let uid = user_param(&user)
        .filter(|u| w.members.contains_key(u))
        .ok_or_else(|| not_found(10007, "Member"))?;
    let t = thread_mut(&mut w, &channel)?;
    if !t.thread_members.contains(&uid) {
        t.thread_members.push(uid);
    }
    no_content()
}

async fn remove_thread_member(
    State(inner): St,
    Path((channel, user)): Path<(String, String)>,
) -> Answer {
    let mut w = world(&inner);
    let uid = user_param(&user);
    thread_mut(&mut w, &channel)?
        .thread_members
        .retain(|m| Some(*m) != uid);
    no_content()
}

// --- reactions -------------------------------------------------------------------

/// Decodes `%XX` escapes (unicode emoji arrive percent-encoded; custom ones as name:id).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn add_reaction(
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
    let emoji = percent_decode(&emoji);
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

async fn remove_reaction(
    State(inner): St,
    Path((channel, message, emoji, user)): Path<(String, String, String, String)>,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let uid = user_param(&user).ok_or_else(|| not_found(10013, "User"))?;
    let emoji = percent_decode(&emoji);
    world(&inner)
        .reactions
        .entry(m.id)
        .or_default()
        .retain(|(e, u)| !(*e == emoji && *u == uid));
    inner.activity.push(Kind::Reaction {
        channel_id: m.channel_id,
        message_id: m.id,
        emoji,
        user_id: uid,
        added: false,
    });
    no_content()
}

async fn list_reactions(
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

// --- guild, members, roles -------------------------------------------------------

async fn get_guild(State(inner): St, Path(guild): Path<String>) -> Answer {
    our_guild(&guild)?;
    let w = world(&inner);
    let channels: Vec<_> = w.channels.values().cloned().collect();
    let mut g = payloads::guild_create(&[], &channels, w.created);
    if let Some(o) = g.as_object_mut() {
        // GET /guilds/{id} has none of the GUILD_CREATE extras.
        for k in [
            "members",
            "channels",
            "threads",
            "voice_states",
            "presences",
            "stage_instances",
            "guild_scheduled_events",
            "joined_at",
            "large",
            "member_count",
            "unavailable",
        ] {
            o.remove(k);
        }
    }
    ok(g)
}

async fn guild_channels(State(inner): St, Path(guild): Path<String>) -> Answer {
    our_guild(&guild)?;
    let w = world(&inner);
    ok(Value::Array(
        w.channels
            .values()
            .filter(|c| !c.is_thread())
            .map(payloads::channel)
            .collect(),
    ))
}

async fn guild_roles(Path(guild): Path<String>) -> Answer {
    our_guild(&guild)?;
    let mut roles = vec![payloads::everyone_role()];
    roles.extend(world::ROLES.iter().map(payloads::role));
    ok(Value::Array(roles))
}

async fn get_member(State(inner): St, Path((guild, user)): Path<(String, String)>) -> Answer {
    our_guild(&guild)?;
    let (m, u) = user_param(&user)
        .and_then(|u| world(&inner).member_pair(u))
        .ok_or_else(|| not_found(10007, "Member"))?;
    ok(payloads::member(&m, &u, true))
}

fn change_role(inner: &Inner, guild: &str, user: &str, role: &str, add: bool) -> Answer {
    our_guild(guild)?;
    let role_id = id(role)
        .filter(|r| world::ROLES.iter().any(|d| d.id == *r))
        .ok_or_else(|| not_found(10011, "Role"))?;
    let uid = {
        let mut w = world(inner);
        let (uid, m) = id(user)
            .and_then(|u| w.members.get_mut(&u).map(|m| (u, m)))
            .ok_or_else(|| not_found(10007, "Member"))?;
        if add && !m.roles.contains(&role_id) {
            m.roles.push(role_id);
        } else if !add {
            m.roles.retain(|r| *r != role_id);
        }
        uid
    };
    inner.activity.push(Kind::MemberRole {
        user_id: uid,
        role_id,
        added: add,
    });
    no_content()
}

async fn add_role(
    State(inner): St,
    Path((guild, user, role)): Path<(String, String, String)>,
) -> Answer {
    change_role(&inner, &guild, &user, &role, true)
}

async fn remove_role(
    State(inner): St,
    Path((guild, user, role)): Path<(String, String, String)>,
) -> Answer {
    change_role(&inner, &guild, &user, &role, false)
}

// --- interactions and webhooks ---------------------------------------------------

fn interaction_by_token(inner: &Inner, token: &str) -> Option<InteractionState> {
    let w = world(inner);
    w.tokens
        .get(token)
        .and_then(|i| w.interactions.get(i))
        .cloned()
}

async fn interaction_callback(
    State(inner): St,
    Path((iid, token)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let it = interaction_by_token(&inner, &token)
        .filter(|i| Some(i.id) == id(&iid))
        .ok_or_else(|| not_found(10062, "interaction"))?;
    let body = body_json(&body)?;
    if it.callback.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        ));
    }
    if inner
        .interaction_created(it.id)
        .is_some_and(|t| t.elapsed() > INTERACTION_DEADLINE)
    {
        return Err(not_found(10062, "interaction"));
    }
    let kind = body["type"].as_u64().unwrap_or(0) as u8;
    let data = body["data"].clone();
    let mut original = None;
    match kind {
        4 => {
            validate_message(&data, true)?;
            let v = store_message(&inner, it.channel_id, BOT_ID, &data, 20, Some(it.id));
            original = v["id"].as_str().and_then(id);
        }
        5 | 6 => {}
        7 => {
            validate_message(&data, false)?;
            let src = it.source_message.ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    40004,
                    "This interaction has no message to update",
                )
            })?;
            apply_edit(&inner, src, &data)?;
        }
        9 => {
            let rows = data["components"].as_array().map(Vec::len).unwrap_or(0);
            let missing = |k: &str| data[k].as_str().is_none_or(str::is_empty);
            if missing("custom_id") || missing("title") || rows == 0 || rows > 5 {
                return Err(invalid_form(
                    "modal: custom_id, title and 1-5 rows are required",
                ));
            }
            world(&inner).modals.insert(it.id, data.clone());
            inner.activity.push(Kind::Modal {
                interaction_id: it.id,
            });
        }
        other => {
            return Err(invalid_form(&format!(
                "type: {other} is not a valid interaction callback type"
            )));
        }
    }
    if let Some(i) = world(&inner).interactions.get_mut(&it.id) {
        i.callback = Some(kind);
        i.original = original;
        i.ephemeral = data["flags"].as_u64().unwrap_or(0) & 64 != 0;
    }
    inner.activity.push(Kind::InteractionCallback {
        interaction_id: it.id,
        callback: kind,
    });
    no_content()
}

async fn followup(
    State(inner): St,
    Path((app, token)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let it = interaction_by_token(&inner, &token)
        .filter(|i| id(&app) == Some(BOT_ID) && i.callback.is_some())
        .ok_or_else(|| not_found(10015, "Webhook"))?;
    let body = body_json(&body)?;
    validate_message(&body, true)?;
    ok(store_message(
        &inner,
        it.channel_id,
        BOT_ID,
        &body,
        20,
        Some(it.id),
    ))
}

/// Resolves `@original` or a follow-up id for an interaction token.
fn webhook_message(
    inner: &Inner,
    token: &str,
    message: &str,
) -> Result<(InteractionState, Option<u64>), Response> {
    let it = interaction_by_token(inner, token).ok_or_else(|| not_found(10015, "Webhook"))?;
    let mid = if message == "@original" {
        it.original
    } else {
        let m = id(message).ok_or_else(|| not_found(10008, "Message"))?;
        world(inner)
            .messages
            .get(&m)
            .filter(|s| s.interaction_id == Some(it.id))
            .map(|s| s.id)
    };
    Ok((it, mid))
}

async fn webhook_get(
    State(inner): St,
    Path((_app, token, message)): Path<(String, String, String)>,
) -> Answer {
    let (_, mid) = webhook_message(&inner, &token, &message)?;
    let w = world(&inner);
    let m = mid
        .and_then(|m| w.messages.get(&m))
        .ok_or_else(|| not_found(10008, "Message"))?;
    ok(m.json.clone())
}

async fn webhook_edit(
    State(inner): St,
    Path((_app, token, message)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    let body = body_json(&body)?;
    validate_message(&body, false)?;
    match webhook_message(&inner, &token, &message)? {
        (_, Some(mid)) => ok(apply_edit(&inner, mid, &body)?),
        // A deferred response's original message is created by its first edit.
        (it, None) if message == "@original" && it.callback == Some(5) => {
            let mut data = body.clone();
            if it.ephemeral {
                data["flags"] = json!(64);
            }
            let v = store_message(&inner, it.channel_id, BOT_ID, &data, 20, Some(it.id));
            if let Some(i) = world(&inner).interactions.get_mut(&it.id) {
                i.original = v["id"].as_str().and_then(id);
            }
            ok(v)
        }
        // After a deferred update, @original is the component's message.
        (it, None) if message == "@original" && it.callback == Some(6) => {
            let src = it
                .source_message
                .ok_or_else(|| not_found(10008, "Message"))?;
            ok(apply_edit(&inner, src, &body)?)
        }
        _ => Err(not_found(10008, "Message")),
    }
}

async fn webhook_delete(
    State(inner): St,
    Path((_app, token, message)): Path<(String, String, String)>,
) -> Answer {
    let (_, mid) = webhook_message(&inner, &token, &message)?;
    let mid = mid.ok_or_else(|| not_found(10008, "Message"))?;
    let removed = world(&inner).messages.remove(&mid);
    if let Some(m) = removed {
        inner.activity.push(Kind::MessageDeleted {
            channel_id: m.channel_id,
            message_id: m.id,
        });
    }
    no_content()
}

/// Registers a new interaction; the 3-second clock starts now.
pub(crate) fn register_interaction(inner: &Inner, it: InteractionState) {
    inner.mark_interaction(it.id, Instant::now());
    let mut w = world(inner);
    w.tokens.insert(it.token.clone(), it.id);
    w.interactions.insert(it.id, it);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_limits_are_enforced() {
        assert!(validate_message(&json!({"content": "hi"}), true).is_ok());
        assert!(validate_message(&json!({}), true).is_err());
        assert!(validate_message(&json!({}), false).is_ok());
        assert!(validate_message(&json!({"content": "x".repeat(2001)}), true).is_err());
        let big_field = json!({"name": "n", "value": "v".repeat(1025)});
        assert!(validate_message(&json!({"embeds": [{"fields": [big_field]}]}), true).is_err());
        let many = json!({"embeds": (0..3).map(|_| json!({"description": "d".repeat(2500)})).collect::<Vec<_>>()});
        assert!(
            validate_message(&many, true).is_err(),
            "7,500 embed characters is over 6,000"
        );
        let rows = json!({"components": (0..6).map(|_| json!({"type": 1, "components": [{"type": 2}]})).collect::<Vec<_>>()});
        assert!(validate_message(&rows, true).is_err());
    }

    #[test]
    fn percent_decoding_of_emoji() {
        assert_eq!(percent_decode("%F0%9F%8E%AB"), "🎫");
        assert_eq!(percent_decode("name:123"), "name:123");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
