//! Interaction callbacks (within 3 seconds), follow-ups, and the webhook routes for the
//! original response.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::messages::{apply_edit, store_message};
use super::validate::validate_message;
use super::{Answer, St, body_json, error, id, invalid_form, no_content, not_found, ok, world};
use crate::Inner;
use crate::activity::Kind;
use crate::state::InteractionState;
use crate::world::BOT_ID;

/// How long an interaction may wait for its first response.
pub(crate) const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

pub(super) fn interaction_by_token(inner: &Inner, token: &str) -> Option<InteractionState> {
    let w = world(inner);
    w.tokens
        .get(token)
        .and_then(|i| w.interactions.get(i))
        .cloned()
}

pub(super) async fn interaction_callback(
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

pub(super) async fn followup(
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
pub(super) fn webhook_message(
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

pub(super) async fn webhook_get(
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

pub(super) async fn webhook_edit(
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

pub(super) async fn webhook_delete(
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
