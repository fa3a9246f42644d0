//! Interaction responses (<https://discord.com/developers/docs/interactions/receiving-and-responding>):
//! the callback (once, within 3 seconds, else 10062 / 40060), `?with_response=true`
//! (200 with the interaction callback response instead of 204), follow-ups, and the
//! webhook routes for the original response and follow-ups (valid for 15 minutes, then
//! 50027 "Invalid Webhook Token").

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::messages::{apply_edit, remove_message, store_message};
use super::validate::validate_message;
use super::{
    Answer, FieldError, St, body_json, error, id, invalid_form, no_content, not_found, ok,
    query_flag, world,
};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads::sf;
use crate::state::InteractionState;
use crate::world::{BOT_ID, GUILD_ID};

/// How long an interaction may wait for its first response.
pub(crate) const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

/// How long an interaction token works for follow-ups and edits.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The type of a message an interaction creates: 20 (chat input command) for a slash
/// command's, 0 (default) for a component's or a modal's.
fn response_type(it: &InteractionState) -> u8 {
    if it.kind == 2 { 20 } else { 0 }
}

/// Posts a message the interaction `it` answers with (its response or a follow-up).
fn respond(inner: &Inner, it: &InteractionState, body: &Value) -> Result<Value, Response> {
    store_message(
        inner,
        it.channel_id,
        BOT_ID,
        body,
        response_type(it),
        Some(it.id),
    )
}

pub(super) fn interaction_by_token(inner: &Inner, token: &str) -> Option<InteractionState> {
    let w = world(inner);
    w.tokens
        .get(token)
        .and_then(|i| w.interactions.get(i))
        .cloned()
}

#[derive(serde::Deserialize)]
pub(super) struct CallbackQuery {
    with_response: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct FollowupQuery {
    wait: Option<String>,
}

pub(super) async fn interaction_callback(
    State(inner): St,
    Path((iid, token)): Path<(String, String)>,
    Query(q): Query<CallbackQuery>,
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
    let mut resource: Option<Value> = None;
    match kind {
        4 => {
            validate_message(&data, true)?;
            let v = respond(&inner, &it, &data)?;
            original = v["id"].as_str().and_then(id);
            resource = Some(v);
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
            resource = Some(apply_edit(&inner, src, &data)?);
        }
        9 => {
            let rows = data["components"].as_array().map(Vec::len).unwrap_or(0);
            let missing = |k: &str| data[k].as_str().is_none_or(str::is_empty);
            let mut problems = Vec::new();
            for k in ["custom_id", "title"] {
                if missing(k) {
                    problems.push(FieldError::required(format!("data.{k}")));
                }
            }
            if rows == 0 || rows > 5 {
                problems.push(FieldError::bad_length("data.components", 1, 5));
            }
            // https://discord.com/developers/docs/components/reference#text-input
            if data["title"]
                .as_str()
                .is_some_and(|t| t.chars().count() > 45)
            {
                problems.push(FieldError::max_length("data.title", 45));
            }
            if data["custom_id"]
                .as_str()
                .is_some_and(|t| t.chars().count() > 100)
            {
                problems.push(FieldError::max_length("data.custom_id", 100));
            }
            for (i, row) in data["components"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (j, input) in row["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let at = |f: &str| format!("data.components.{i}.components.{j}.{f}");
                    let len = |k: &str| input[k].as_str().map(|t| t.chars().count()).unwrap_or(0);
                    if len("label") > 45 {
                        problems.push(FieldError::max_length(at("label"), 45));
                    }
                    if input["max_length"]
                        .as_u64()
                        .is_some_and(|m| m == 0 || m > 4000)
                    {
                        problems.push(FieldError::new(
                            at("max_length"),
                            "BASE_TYPE_BAD_INT",
                            "max_length must be between 1 and 4000",
                        ));
                    }
                    if len("value") > 4000 {
                        problems.push(FieldError::max_length(at("value"), 4000));
                    }
                    if len("placeholder") > 100 {
                        problems.push(FieldError::max_length(at("placeholder"), 100));
                    }
                }
            }
            if !problems.is_empty() {
                return Err(invalid_form(problems));
            }
            world(&inner).modals.insert(it.id, data.clone());
            inner.activity.push(Kind::Modal {
                interaction_id: it.id,
            });
        }
        _ => {
            return Err(invalid_form(vec![FieldError::choices(
                "type",
                &[1, 4, 5, 6, 7, 8, 9, 10, 12],
            )]));
        }
    }
    let ephemeral = data["flags"].as_u64().unwrap_or(0) & 64 != 0;
    if let Some(i) = world(&inner).interactions.get_mut(&it.id) {
        i.callback = Some(kind);
        i.original = original;
        i.ephemeral = ephemeral;
    }
    inner.activity.push(Kind::InteractionCallback {
        interaction_id: it.id,
        callback: kind,
    });
    if query_flag("with_response", q.with_response.as_deref())? != Some(true) {
        return no_content();
    }
    let mut interaction = json!({
        "id": sf(it.id),
        "type": it.kind,
        "activity_instance_id": null,
        "channel_id": sf(it.channel_id),
        "guild_id": sf(GUILD_ID),
    });
    if let Some(m) = original.or(if kind == 7 { it.source_message } else { None }) {
        interaction["response_message_id"] = sf(m);
        interaction["response_message_loading"] = json!(false);
        interaction["response_message_ephemeral"] = json!(ephemeral);
    } else if kind == 5 {
        interaction["response_message_loading"] = json!(true);
        interaction["response_message_ephemeral"] = json!(ephemeral);
    }
    let mut answer = json!({"interaction": interaction});
    if let Some(message) = resource {
        answer["resource"] = json!({"type": kind, "message": message});
    }
    ok(answer)
}

/// The interaction a webhook route's token belongs to, if it still works.
fn live_token(inner: &Inner, app: &str, token: &str) -> Result<InteractionState, Response> {
    let it = interaction_by_token(inner, token)
        .filter(|_| id(app) == Some(BOT_ID))
        .ok_or_else(|| not_found(10015, "Webhook"))?;
    if inner
        .interaction_created(it.id)
        .is_some_and(|t| t.elapsed() > TOKEN_LIFETIME)
    {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            50027,
            "Invalid Webhook Token",
        ));
    }
    Ok(it)
}

pub(super) async fn followup(
    State(inner): St,
    Path((app, token)): Path<(String, String)>,
    Query(q): Query<FollowupQuery>,
    body: Bytes,
) -> Answer {
    let it = live_token(&inner, &app, &token)?;
    if it.callback.is_none() {
        return Err(not_found(10015, "Webhook"));
    }
    let body = body_json(&body)?;
    validate_message(&body, true)?;
    let v = respond(&inner, &it, &body)?;
    // Without `wait`, a webhook execution answers 204; interaction follow-ups always
    // wait, and clients ask for it anyway.
    if query_flag("wait", q.wait.as_deref())? == Some(false) {
        return no_content();
    }
    ok(v)
}

/// Resolves `@original` or a follow-up id for an interaction token.
pub(super) fn webhook_message(
    inner: &Inner,
    app: &str,
    token: &str,
    message: &str,
) -> Result<(InteractionState, Option<u64>), Response> {
    let it = live_token(inner, app, token)?;
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

pub(super) async fn webhook_get(
    State(inner): St,
    Path((app, token, message)): Path<(String, String, String)>,
) -> Answer {
    let (_, mid) = webhook_message(&inner, &app, &token, &message)?;
    let w = world(&inner);
    let m = mid
        .and_then(|m| w.messages.get(&m))
        .ok_or_else(|| not_found(10008, "Message"))?;
    ok(crate::payloads::message_view(&w, m))
}

pub(super) async fn webhook_edit(
    State(inner): St,
    Path((app, token, message)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    let body = body_json(&body)?;
    validate_message(&body, false)?;
    match webhook_message(&inner, &app, &token, &message)? {
        (_, Some(mid)) => ok(apply_edit(&inner, mid, &body)?),
        // A deferred response's original message is created by its first edit.
        (it, None) if message == "@original" && it.callback == Some(5) => {
            let mut data = body.clone();
            if it.ephemeral {
                data["flags"] = json!(64);
            }
            let v = respond(&inner, &it, &data)?;
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

pub(super) async fn webhook_delete(
    State(inner): St,
    Path((app, token, message)): Path<(String, String, String)>,
) -> Answer {
    let (_, mid) = webhook_message(&inner, &app, &token, &message)?;
    let mid = mid.ok_or_else(|| not_found(10008, "Message"))?;
    remove_message(&inner, mid);
    no_content()
}

/// Registers a new interaction; the 3-second clock starts now.
pub(crate) fn register_interaction(inner: &Inner, it: InteractionState) {
    inner.mark_interaction(it.id, Instant::now());
    let mut w = world(inner);
    w.tokens.insert(it.token.clone(), it.id);
    w.interactions.insert(it.id, it);
}
