//! Channels and threads (<https://discord.com/developers/docs/resources/channel>,
//! <https://discord.com/developers/docs/topics/threads>): get, modify (rename, topic,
//! archive, lock), delete, create threads, thread members. Each change fires Discord's
//! event: CHANNEL_UPDATE / THREAD_UPDATE (then THREAD_MEMBER_UPDATE on unarchive),
//! CHANNEL_DELETE / THREAD_DELETE, THREAD_CREATE (and MESSAGE_UPDATE for the starter
//! message of a thread started from a message), THREAD_MEMBERS_UPDATE.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{FieldError, error, invalid_form, missing_permissions, not_found};
use super::{Answer, St, body_json, channel_state, created, id, message_in, no_content, ok};
use super::{user_param, world};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads::{self, sf};
use crate::state::{ChannelState, PRIVATE_THREAD, PUBLIC_THREAD};
use crate::world::{BOT_ID, GUILD_ID, MANAGE_CHANNELS, MANAGE_THREADS};

const NAME_MAX: usize = 100;
const TOPIC_MAX: usize = 1024;

fn bot_can(inner: &Inner, permission: u64) -> bool {
    world(inner).permissions_of(BOT_ID) & permission != 0
}

pub(super) async fn get_channel(State(inner): St, Path(channel): Path<String>) -> Answer {
    let c = channel_state(&inner, &channel)?;
    let mut v = payloads::channel(&c);
    // A thread the bot is in carries the bot's thread member.
    if let Some(m) = c.thread_members.iter().find(|m| m.user_id == BOT_ID) {
        v["member"] = payloads::thread_member(c.id, m);
    }
    ok(v)
}

/// Archives or unarchives a thread and fires THREAD_UPDATE (plus THREAD_MEMBER_UPDATE to
/// the bot, when a thread it is in comes back, as the threads doc describes).
pub(crate) fn set_archived(inner: &Inner, thread_id: u64, archived: bool, by_bot: bool) {
    let changed = {
        let mut w = world(inner);
        let now = w.now();
        match w.channels.get_mut(&thread_id) {
            Some(t) if t.archived != archived => {
                t.archived = archived;
                t.archive_changed = now;
                Some(t.clone())
            }
            _ => None,
        }
    };
    if let Some(t) = changed {
        thread_updated(inner, &t, !archived, by_bot);
    }
}

fn thread_updated(inner: &Inner, t: &ChannelState, unarchived: bool, by_bot: bool) {
    inner.activity.push(Kind::Channel {
        channel_id: t.id,
        created: false,
        by_bot,
    });
    inner
        .gateway
        .dispatch(inner, "THREAD_UPDATE", payloads::channel(t));
    if unarchived && let Some(m) = t.thread_members.iter().find(|m| m.user_id == BOT_ID) {
        let mut d = payloads::thread_member(t.id, m);
        d["guild_id"] = sf(GUILD_ID);
        inner.gateway.dispatch(inner, "THREAD_MEMBER_UPDATE", d);
    }
}

pub(super) async fn patch_channel(
    State(inner): St,
    Path(channel): Path<String>,
    body: Bytes,
) -> Answer {
    let body = body_json(&body)?;
    let before = channel_state(&inner, &channel)?;
    let mut problems = Vec::new();
    if let Some(name) = body.get("name") {
        let n = name.as_str().map(|s| s.chars().count()).unwrap_or(0);
        if !(1..=NAME_MAX).contains(&n) {
            problems.push(FieldError::bad_length("name", 1, NAME_MAX));
        }
    }
    if let Some(topic) = body["topic"].as_str()
        && topic.chars().count() > TOPIC_MAX
    {
        problems.push(FieldError::max_length("topic", TOPIC_MAX));
    }
    if !problems.is_empty() {
        return Err(invalid_form(problems));
    }
    let archived = body["archived"].as_bool();
    let locked = body["locked"].as_bool();
    if before.is_thread() {
        // Only an unarchive of an unlocked thread needs no MANAGE_THREADS; and an
        // archived thread takes no other change unless it is unarchived too.
        let plain_unarchive = archived == Some(false) && !before.locked && locked.is_none();
        if !plain_unarchive && !bot_can(&inner, MANAGE_THREADS) {
            return Err(missing_permissions());
        }
        if before.archived && archived != Some(false) {
            return Err(error(StatusCode::BAD_REQUEST, 50083, "Thread is archived"));
        }
    } else if !bot_can(&inner, MANAGE_CHANNELS) {
        return Err(missing_permissions());
    }
    let updated = {
        let mut w = world(&inner);
        let now = w.now();
        let c = id(&channel)
            .and_then(|c| w.channels.get_mut(&c))
            .ok_or_else(|| not_found(10003, "Channel"))?;
        if let Some(name) = body["name"].as_str() {
            c.name = name.to_owned();
        }
        if !c.is_thread()
            && let Some(t) = body.get("topic")
        {
            c.topic = t.as_str().map(str::to_owned);
        }
        if c.is_thread() {
            if let Some(a) = archived
                && a != c.archived
            {
                c.archived = a;
                c.archive_changed = now;
            }
            if let Some(l) = locked {
                c.locked = l;
            }
        }
        c.clone()
    };
    if updated.is_thread() {
        thread_updated(&inner, &updated, before.archived && !updated.archived, true);
    } else {
        inner.activity.push(Kind::Channel {
            channel_id: updated.id,
            created: false,
            by_bot: true,
        });
        inner
            .gateway
            .dispatch(&inner, "CHANNEL_UPDATE", payloads::channel(&updated));
    }
    ok(payloads::channel(&updated))
}

pub(super) async fn delete_channel(State(inner): St, Path(channel): Path<String>) -> Answer {
    let c = channel_state(&inner, &channel)?;
    let needed = if c.is_thread() {
        MANAGE_THREADS
    } else {
        MANAGE_CHANNELS
    };
    if !bot_can(&inner, needed) {
        return Err(missing_permissions());
    }
    {
        let mut w = world(&inner);
        w.channels.remove(&c.id);
        w.messages.retain(|_, m| m.channel_id != c.id);
    }
    inner.activity.push(Kind::Channel {
        channel_id: c.id,
        created: false,
        by_bot: true,
    });
    if c.is_thread() {
        inner
            .gateway
            .dispatch(&inner, "THREAD_DELETE", payloads::thread_delete(&c));
    } else {
        inner
            .gateway
            .dispatch(&inner, "CHANNEL_DELETE", payloads::channel(&c));
    }
    ok(payloads::channel(&c))
}

/// Creates a thread under `parent` owned by `owner` and fires THREAD_CREATE
/// (`newly_created`). `thread_id` is the starter message's id for a thread started from a
/// message (the thread shares it).
pub(crate) fn new_thread(
    inner: &Inner,
    parent: &ChannelState,
    name: &str,
    kind: u8,
    owner: u64,
    thread_id: Option<u64>,
) -> Result<ChannelState, Response> {
    let n = name.chars().count();
    if !(1..=NAME_MAX).contains(&n) {
        return Err(invalid_form(vec![FieldError::bad_length(
            "name", 1, NAME_MAX,
        )]));
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
        let now = w.now();
        let tid = match thread_id {
            Some(t) => t,
            None => w.next_id(),
        };
        if w.channels.contains_key(&tid) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                160004,
                "A thread has already been created for this message",
            ));
        }
        let t = ChannelState::thread(tid, name, kind, parent.id, owner, now);
        w.channels.insert(tid, t.clone());
        t
    };
    inner.activity.push(Kind::Channel {
        channel_id: t.id,
        created: true,
        by_bot: owner == BOT_ID,
    });
    let mut d = payloads::channel(&t);
    d["newly_created"] = json!(true);
    inner.gateway.dispatch(inner, "THREAD_CREATE", d);
    Ok(t)
}

pub(super) async fn create_thread(
    State(inner): St,
    Path(channel): Path<String>,
    body: Bytes,
) -> Answer {
    let parent = channel_state(&inner, &channel)?;
    let body = body_json(&body)?;
    // The default is a private thread (12) for a thread without a starter message.
    let kind = match body["type"].as_u64() {
        Some(11) => PUBLIC_THREAD,
        Some(12) | None => PRIVATE_THREAD,
        Some(_) => {
            return Err(invalid_form(vec![FieldError::choices(
                "type",
                &[10, 11, 12],
            )]));
        }
    };
    created(payloads::channel(&new_thread(
        &inner,
        &parent,
        body["name"].as_str().unwrap_or(""),
        kind,
        BOT_ID,
        None,
    )?))
}

pub(super) async fn thread_from_message(
    State(inner): St,
    Path((channel, message)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let m = message_in(&inner, &channel, &message)?;
    let parent = channel_state(&inner, &channel)?;
    let body = body_json(&body)?;
    let name = body["name"].as_str().unwrap_or("");
    let t = new_thread(&inner, &parent, name, PUBLIC_THREAD, BOT_ID, Some(m.id))?;
    // The starter message now shows its thread.
    let update = {
        let w = world(&inner);
        w.messages
            .get(&m.id)
            .filter(|m| !m.ephemeral)
            .map(|m| payloads::message_event(&w, m))
    };
    if let Some(d) = update {
        inner.gateway.dispatch(&inner, "MESSAGE_UPDATE", d);
    }
    created(payloads::channel(&t))
}

/// A thread by path id, or Discord's 404.
fn thread(inner: &Inner, channel: &str) -> Result<ChannelState, Response> {
    channel_state(inner, channel)
        .ok()
        .filter(ChannelState::is_thread)
        .ok_or_else(|| not_found(10003, "Channel"))
}

pub(super) async fn list_thread_members(State(inner): St, Path(channel): Path<String>) -> Answer {
    let t = thread(&inner, &channel)?;
    ok(Value::Array(
        t.thread_members
            .iter()
            .map(|m| payloads::thread_member(t.id, m))
            .collect(),
    ))
}

pub(super) async fn get_thread_member(
    State(inner): St,
    Path((channel, user)): Path<(String, String)>,
) -> Answer {
    let t = thread(&inner, &channel)?;
    let uid = user_param(&user).ok_or_else(|| not_found(10013, "User"))?;
    let m = t
        .thread_members
        .iter()
        .find(|m| m.user_id == uid)
        .ok_or_else(|| not_found(10007, "Member"))?;
    ok(payloads::thread_member(t.id, m))
}

/// Adds or removes a thread member and fires THREAD_MEMBERS_UPDATE (and THREAD_CREATE
/// when the bot itself joins).
pub(crate) fn change_thread_member(
    inner: &Inner,
    thread_id: u64,
    user_id: u64,
    add: bool,
) -> Result<(), Response> {
    let (t, changed) = {
        let mut w = world(inner);
        let now = w.now();
        if !w.members.contains_key(&user_id) {
            return Err(not_found(10007, "Member"));
        }
        let t = w
            .channels
            .get_mut(&thread_id)
            .filter(|t| t.is_thread())
            .ok_or_else(|| not_found(10003, "Channel"))?;
        if t.archived {
            return Err(error(StatusCode::BAD_REQUEST, 50083, "Thread is archived"));
        }
        let changed = if add {
            t.add_member(user_id, now)
        } else {
            t.remove_member(user_id)
        };
        (t.clone(), changed)
    };
    if !changed {
        return Ok(());
    }
    let d = {
        let w = world(inner);
        let (added, removed) = if add {
            (vec![user_id], vec![])
        } else {
            (vec![], vec![user_id])
        };
        payloads::thread_members_update(&w, &t, &added, &removed)
    };
    inner.gateway.dispatch(inner, "THREAD_MEMBERS_UPDATE", d);
    if add && user_id == BOT_ID {
        inner
            .gateway
            .dispatch(inner, "THREAD_CREATE", payloads::channel(&t));
    }
    Ok(())
}

pub(super) async fn add_thread_member(
    State(inner): St,
    Path((channel, user)): Path<(String, String)>,
) -> Answer {
    let t = thread(&inner, &channel)?;
    let uid = user_param(&user).ok_or_else(|| not_found(10013, "User"))?;
    change_thread_member(&inner, t.id, uid, true)?;
    no_content()
}

pub(super) async fn remove_thread_member(
    State(inner): St,
    Path((channel, user)): Path<(String, String)>,
) -> Answer {
    let t = thread(&inner, &channel)?;
    let uid = user_param(&user).ok_or_else(|| not_found(10013, "User"))?;
    // Removing someone else takes MANAGE_THREADS, or owning a private thread.
    let owns_private = t.kind == PRIVATE_THREAD && t.owner_id == Some(BOT_ID);
    if uid != BOT_ID && !owns_private && !bot_can(&inner, MANAGE_THREADS) {
        return Err(missing_permissions());
    }
    change_thread_member(&inner, t.id, uid, false)?;
    no_content()
}
