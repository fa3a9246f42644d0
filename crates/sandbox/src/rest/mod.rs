//! Discord REST v10, the part the bot uses, one module per resource. Unknown ids answer
//! 404 with Discord's `{code, message}` body; invalid bodies answer 400 the way Discord
//! does, including the limits the predecessor kept overflowing (2,000 characters of
//! content, 10 embeds and 6,000 embed characters per message, 5 rows of 5 components),
//! and an interaction answered after 3 seconds is "Unknown interaction", so a missing
//! defer fails a test.
//!
//! - `bootstrap`: gateway discovery, the application, users, command registration.
//! - `messages`, `channels` (threads included), `reactions`, `guild` (members, roles).
//! - `interactions`: callbacks, follow-ups and the webhook routes for responses.
//! - `validate`: Discord's message limits.

// Handlers answer `Result<Response, Response>`: the error side is the HTTP answer
// itself, so `?` works throughout; boxing it would only add an allocation to a loopback
// test server.
#![allow(clippy::result_large_err)]

mod bootstrap;
mod channels;
pub(crate) mod errors;
mod guild;
mod interactions;
mod messages;
mod reactions;
mod validate;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::Inner;
use super::state::{ChannelState, StoredMessage, World, is_our_guild};
use super::world::BOT_ID;

pub(crate) use channels::{change_thread_member, new_thread, set_archived};
pub(crate) use errors::{
    FieldError, error, invalid_form, invalid_json, not_found, not_implemented,
};
pub(crate) use interactions::register_interaction;
pub(crate) use messages::{apply_edit, remove_message, store_message};
pub(crate) use reactions::percent_decode;

type Answer = Result<Response, Response>;
type St = State<Arc<Inner>>;

pub(crate) fn router() -> Router<Arc<Inner>> {
    let commands = |r| format!("/api/v10/applications/{{app}}{r}/commands");
    Router::new()
        .route("/api/v10/gateway", get(bootstrap::gateway))
        .route("/api/v10/gateway/bot", get(bootstrap::gateway_bot))
        .route(
            "/api/v10/oauth2/applications/@me",
            get(bootstrap::application),
        )
        .route("/api/v10/applications/@me", get(bootstrap::application))
        .route("/api/v10/users/@me", get(bootstrap::current_user))
        .route("/api/v10/users/{user}", get(bootstrap::get_user))
        .route(
            &commands(""),
            put(bootstrap::put_global_commands).get(bootstrap::get_global_commands),
        )
        .route(
            &commands("/guilds/{guild}"),
            put(bootstrap::put_guild_commands).get(bootstrap::get_guild_commands),
        )
        .route(
            "/api/v10/channels/{channel}",
            get(channels::get_channel)
                .patch(channels::patch_channel)
                .delete(channels::delete_channel),
        )
        .route(
            "/api/v10/channels/{channel}/messages",
            post(messages::create_message).get(messages::list_messages),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            get(messages::get_message)
                .patch(messages::edit_message)
                .delete(messages::delete_message),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/threads",
            post(channels::thread_from_message),
        )
        .route(
            "/api/v10/channels/{channel}/threads",
            post(channels::create_thread),
        )
        .route(
            "/api/v10/channels/{channel}/thread-members",
            get(channels::list_thread_members),
        )
        .route(
            "/api/v10/channels/{channel}/thread-members/{user}",
            get(channels::get_thread_member)
                .put(channels::add_thread_member)
                .delete(channels::remove_thread_member),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/reactions/{emoji}/{user}",
            put(reactions::add_reaction).delete(reactions::remove_reaction),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/reactions/{emoji}",
            get(reactions::list_reactions),
        )
        .route("/api/v10/guilds/{guild}", get(guild::get_guild))
        .route(
            "/api/v10/guilds/{guild}/channels",
            get(guild::guild_channels),
        )
        .route("/api/v10/guilds/{guild}/roles", get(guild::guild_roles))
        .route("/api/v10/guilds/{guild}/members", get(guild::list_members))
        .route(
            "/api/v10/guilds/{guild}/members/search",
            get(guild::search_members),
        )
        .route(
            "/api/v10/guilds/{guild}/members/{user}",
            get(guild::get_member),
        )
        .route(
            "/api/v10/guilds/{guild}/members/{user}/roles/{role}",
            put(guild::add_role).delete(guild::remove_role),
        )
        .route(
            "/api/v10/interactions/{id}/{token}/callback",
            post(interactions::interaction_callback),
        )
        .route(
            "/api/v10/webhooks/{app}/{token}",
            post(interactions::followup),
        )
        .route(
            "/api/v10/webhooks/{app}/{token}/messages/{message}",
            get(interactions::webhook_get)
                .patch(interactions::webhook_edit)
                .delete(interactions::webhook_delete),
        )
}

// --- answers ---------------------------------------------------------------------

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

fn created(v: Value) -> Answer {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A boolean query parameter as Discord reads it: `true`/`false`, any case, or `1`/`0`
/// (discord.py sends `with_response=1`). Anything else is a 50035 naming the parameter.
fn query_flag(name: &str, v: Option<&str>) -> Result<Option<bool>, Response> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(invalid_form(vec![FieldError::new(
            name,
            "BOOLEAN_TYPE_COERCE",
            format!("Value \"{other}\" is not a valid boolean."),
        )])),
    }
}

/// A whole-number query parameter, or a 50035 naming it.
fn query_number(name: &str, v: Option<&str>) -> Result<Option<u64>, Response> {
    v.map(|t| {
        t.parse::<u64>().map_err(|_| {
            invalid_form(vec![FieldError::new(
                name,
                "NUMBER_TYPE_COERCE",
                format!("Value \"{t}\" is not int."),
            )])
        })
    })
    .transpose()
}

fn id(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| invalid_json())
}

fn world(inner: &Inner) -> parking_lot::MutexGuard<'_, World> {
    inner.world.lock()
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

fn user_param(user: &str) -> Option<u64> {
    if user == "@me" {
        Some(BOT_ID)
    } else {
        id(user)
    }
}

fn our_guild(guild: &str) -> Result<u64, Response> {
    id(guild)
        .filter(|g| is_our_guild(*g))
        .ok_or_else(|| not_found(10004, "Guild"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_and_numbers_read_as_discord_reads_them() {
        for (v, want) in [
            ("true", true),
            ("True", true),
            ("1", true),
            ("false", false),
            ("0", false),
        ] {
            assert_eq!(
                query_flag("with_response", Some(v)).unwrap(),
                Some(want),
                "{v}"
            );
        }
        assert_eq!(query_flag("wait", None).unwrap(), None);
        let refused = query_flag("with_response", Some("maybe")).unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(query_number("limit", Some("20")).unwrap(), Some(20));
        assert!(query_number("limit", Some("twenty")).is_err());
    }
}
