//! Channels and threads: get, rename/archive/lock, create, thread members.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    Answer, St, body_json, channel_state, created, error, id, invalid_form, message_in, no_content,
    not_found, ok, user_param, world,
};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads;
use crate::state::{ChannelState, PRIVATE_THREAD, PUBLIC_THREAD, World};
use crate::world::BOT_ID;

pub(super) async fn get_channel(State(inner): St, Path(channel): Path<String>) -> Answer {
    ok(payloads::channel(&channel_state(&inner, &channel)?))
}

pub(super) async fn patch_channel(
    State(inner): St,
    Path(channel): Path<String>,
    body: Bytes,
) -> Answer {
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

pub(super) fn new_thread(
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

pub(super) async fn create_thread(
    State(inner): St,
    Path(channel): Path<String>,
    body: Bytes,
) -> Answer {
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

pub(super) async fn thread_from_message(
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

pub(super) fn thread_mut<'a>(
    w: &'a mut World,
    channel: &str,
) -> Result<&'a mut ChannelState, Response> {
    id(channel)
        .and_then(|c| w.channels.get_mut(&c))
        .filter(|t| t.is_thread())
        .ok_or_else(|| not_found(10003, "Channel"))
}

pub(super) async fn list_thread_members(State(inner): St, Path(channel): Path<String>) -> Answer {
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

pub(super) async fn add_thread_member(
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

pub(super) async fn remove_thread_member(
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
