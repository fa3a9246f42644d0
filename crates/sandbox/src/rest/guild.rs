//! The guild (<https://discord.com/developers/docs/resources/guild>): its channels and
//! roles, members (get, list, search) and their roles (GUILD_MEMBER_UPDATE follows).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::errors::{FieldError, error, invalid_form, missing_permissions};
use super::{Answer, St, id, no_content, not_found, ok, our_guild, user_param, world};
use crate::Inner;
use crate::activity::Kind;
use crate::gateway::intents;
use crate::payloads;
use crate::world::{self, BOT_ID, MANAGE_ROLES};

pub(super) async fn get_guild(State(inner): St, Path(guild): Path<String>) -> Answer {
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

pub(super) async fn guild_channels(State(inner): St, Path(guild): Path<String>) -> Answer {
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

pub(super) async fn guild_roles(Path(guild): Path<String>) -> Answer {
    our_guild(&guild)?;
    let mut roles = vec![payloads::everyone_role()];
    roles.extend(world::ROLES.iter().map(payloads::role));
    ok(Value::Array(roles))
}

pub(super) async fn get_member(
    State(inner): St,
    Path((guild, user)): Path<(String, String)>,
) -> Answer {
    our_guild(&guild)?;
    let (m, u) = user_param(&user)
        .and_then(|u| world(&inner).member_pair(u))
        .ok_or_else(|| not_found(10007, "Member"))?;
    ok(payloads::member(&m, &u, true))
}

#[derive(serde::Deserialize)]
pub(super) struct ListMembers {
    limit: Option<String>,
    after: Option<String>,
    query: Option<String>,
}

/// `limit` for the member lists: 1-1000, default 1.
fn member_limit(raw: Option<&str>) -> Result<usize, axum::response::Response> {
    let Some(raw) = raw else { return Ok(1) };
    match raw.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(invalid_form(vec![FieldError::new(
            "limit",
            "NUMBER_TYPE_MAX",
            "int value should be between 1 and 1000.",
        )])),
    }
}

/// `GET /guilds/{id}/members`: needs the GUILD_MEMBERS privileged intent enabled for the
/// application (whatever the IDENTIFY asked for), sorted by user id, paged by `after`.
pub(super) async fn list_members(
    State(inner): St,
    Path(guild): Path<String>,
    Query(q): Query<ListMembers>,
) -> Answer {
    our_guild(&guild)?;
    if inner.approved_intents & intents::GUILD_MEMBERS == 0 {
        return Err(error(StatusCode::FORBIDDEN, 50001, "Missing Access"));
    }
    let limit = member_limit(q.limit.as_deref())?;
    let after = q.after.as_deref().and_then(id).unwrap_or(0);
    let w = world(&inner);
    ok(Value::Array(
        w.guild_members()
            .into_iter()
            .filter(|(_, u)| u.id > after)
            .take(limit)
            .map(|(m, u)| payloads::member(&m, &u, true))
            .collect(),
    ))
}

/// `GET /guilds/{id}/members/search?query=`: members whose username or nickname starts
/// with the query (case-insensitive).
pub(super) async fn search_members(
    State(inner): St,
    Path(guild): Path<String>,
    Query(q): Query<ListMembers>,
) -> Answer {
    our_guild(&guild)?;
    let Some(query) = q.query.filter(|s| !s.is_empty()) else {
        return Err(invalid_form(vec![FieldError::required("query")]));
    };
    let limit = member_limit(q.limit.as_deref())?;
    let w = world(&inner);
    ok(Value::Array(
        w.guild_members()
            .into_iter()
            .filter(|(_, u)| {
                starts_with_ci(&u.username, &query) || starts_with_ci(&u.display, &query)
            })
            .take(limit)
            .map(|(m, u)| payloads::member(&m, &u, true))
            .collect(),
    ))
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// Adds or removes a role and fires GUILD_MEMBER_UPDATE. The bot needs MANAGE_ROLES and a
/// higher role than the one it manages (<https://discord.com/developers/docs/topics/permissions#permission-hierarchy>).
pub(super) fn change_role(inner: &Inner, guild: &str, user: &str, role: &str, add: bool) -> Answer {
    our_guild(guild)?;
    let def = id(role)
        .and_then(|r| world::ROLES.iter().find(|d| d.id == r))
        .ok_or_else(|| not_found(10011, "Role"))?;
    let (uid, changed, event) = {
        let mut w = world(inner);
        if w.permissions_of(BOT_ID) & MANAGE_ROLES == 0
            || w.highest_role_position(BOT_ID) <= def.position
        {
            return Err(missing_permissions());
        }
        let (uid, m) = id(user)
            .and_then(|u| w.members.get_mut(&u).map(|m| (u, m)))
            .ok_or_else(|| not_found(10007, "Member"))?;
        let changed = if add && !m.roles.contains(&def.id) {
            m.roles.push(def.id);
            true
        } else if !add && m.roles.contains(&def.id) {
            m.roles.retain(|r| *r != def.id);
            true
        } else {
            false
        };
        let event = w
            .member_pair(uid)
            .map(|(m, u)| payloads::member_update(&m, &u));
        (uid, changed, event)
    };
    if changed {
        inner.activity.push(Kind::MemberRole {
            user_id: uid,
            role_id: def.id,
            added: add,
        });
        if let Some(d) = event {
            inner.gateway.dispatch(inner, "GUILD_MEMBER_UPDATE", d);
        }
    }
    no_content()
}

pub(super) async fn add_role(
    State(inner): St,
    Path((guild, user, role)): Path<(String, String, String)>,
) -> Answer {
    change_role(&inner, &guild, &user, &role, true)
}

pub(super) async fn remove_role(
    State(inner): St,
    Path((guild, user, role)): Path<(String, String, String)>,
) -> Answer {
    change_role(&inner, &guild, &user, &role, false)
}
