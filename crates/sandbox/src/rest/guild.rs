//! The guild, its channels and roles, members and their roles.

use axum::extract::{Path, State};
use serde_json::Value;

use super::{Answer, St, id, no_content, not_found, ok, our_guild, user_param, world};
use crate::Inner;
use crate::activity::Kind;
use crate::payloads;
use crate::world;

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

pub(super) fn change_role(inner: &Inner, guild: &str, user: &str, role: &str, add: bool) -> Answer {
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
