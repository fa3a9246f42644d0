//! What a client asks first: the gateway URL, the application, users, and the slash
//! command registrations.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    Answer, FieldError, St, body_json, error, id, invalid_form, not_found, ok, our_guild, world,
};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads::{self, sf};
use crate::world::{BOT_ID, OWNER_ID};

pub(super) async fn gateway(State(inner): St) -> Answer {
    ok(json!({"url": format!("{}/gateway", inner.ws_base)}))
}

pub(super) async fn gateway_bot(State(inner): St) -> Answer {
    ok(json!({
        "url": format!("{}/gateway", inner.ws_base),
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
    }))
}

pub(super) async fn application(State(inner): St) -> Answer {
    let w = world(&inner);
    ok(payloads::application(
        &w.users[&BOT_ID],
        &w.users[&OWNER_ID],
    ))
}

pub(super) async fn current_user(State(inner): St) -> Answer {
    ok(payloads::user_pii(&world(&inner).users[&BOT_ID]))
}

pub(super) async fn get_user(State(inner): St, Path(user): Path<String>) -> Answer {
    let w = world(&inner);
    let u = id(&user)
        .and_then(|u| w.users.get(&u))
        .ok_or_else(|| not_found(10013, "User"))?;
    ok(payloads::user(u))
}

/// Discord's rule for a chat command's name: 1-32 characters, lowercase where a letter
/// has case, letters, digits, `-` and `_` (no spaces).
fn valid_command_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name
            .chars()
            .all(|c| (c.is_alphanumeric() || c == '-' || c == '_') && !c.is_uppercase())
}

pub(super) fn register(inner: &Inner, guild: Option<u64>, body: &Bytes) -> Answer {
    let Value::Array(list) = body_json(body)? else {
        return Err(invalid_form(vec![FieldError::new(
            "",
            "BASE_TYPE_ARRAY",
            "Must be an array.",
        )]));
    };
    let mut stored = Vec::new();
    {
        let mut w = world(inner);
        let problems: Vec<FieldError> = list
            .iter()
            .enumerate()
            .filter(|(_, c)| !valid_command_name(c["name"].as_str().unwrap_or("")))
            .map(|(i, _)| {
                FieldError::new(
                    format!("{i}.name"),
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                )
            })
            .collect();
        if !problems.is_empty() {
            return Err(invalid_form(problems));
        }
        for c in &list {
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

pub(super) async fn put_global_commands(
    State(inner): St,
    Path(_app): Path<String>,
    body: Bytes,
) -> Answer {
    register(&inner, None, &body)
}

pub(super) async fn get_global_commands(State(inner): St, Path(_app): Path<String>) -> Answer {
    ok(Value::Array(
        world(&inner)
            .commands
            .get(&None)
            .cloned()
            .unwrap_or_default(),
    ))
}

pub(super) async fn put_guild_commands(
    State(inner): St,
    Path((_app, guild)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let g = our_guild(&guild).map_err(|_| error(StatusCode::FORBIDDEN, 50001, "Missing Access"))?;
    register(&inner, Some(g), &body)
}

pub(super) async fn get_guild_commands(
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
