//! JSON payloads exactly as Discord sends them, for the parts of the API the bot uses.
//!
//! serenity silently drops a dispatch it cannot deserialize (it becomes
//! `Event::Unknown`), so every builder here is checked in this module's tests by
//! deserializing its output into serenity's own model types.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use super::state::{ChannelState, MemberState, StoredMessage, ThreadMemberState, UserState, World};
use super::world::{self, DISCORD_EPOCH_MS, GUILD_ID, GUILD_NAME, OWNER_ID, RoleDef};

/// Snowflakes travel as strings.
pub(crate) fn sf(id: u64) -> Value {
    Value::String(id.to_string())
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The creation time encoded in a snowflake.
pub(crate) fn snowflake_time(id: u64) -> DateTime<Utc> {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    Utc.timestamp_millis_opt(ms as i64)
        .single()
        .unwrap_or_else(Utc::now)
}

pub(crate) fn user(u: &UserState) -> Value {
    json!({
        "id": sf(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.display,
        "avatar": null,
        "bot": u.bot,
        "system": false,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
        "primary_guild": null,
    })
}

/// A guild member; `with_user` is false inside MESSAGE_CREATE (the author is separate).
pub(crate) fn member(m: &MemberState, u: &UserState, with_user: bool) -> Value {
    let mut v = json!({
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": m.roles.iter().map(|r| sf(*r)).collect::<Vec<_>>(),
        "joined_at": timestamp(m.joined_at),
        "premium_since": null,
        "communication_disabled_until": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    });
    if with_user {
        v["user"] = user(u);
    }
    v
}

pub(crate) fn role(r: &RoleDef) -> Value {
    json!({
        "id": sf(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": true,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": r.permissions.to_string(),
        "managed": false,
        "mentionable": true,
        "flags": 0,
    })
}

pub(crate) fn everyone_role() -> Value {
    role(&RoleDef {
        key: "everyone",
        id: GUILD_ID,
        name: "@everyone",
        color: 0,
        position: 0,
        permissions: world::MEMBER_PERMISSIONS,
    })
}

pub(crate) fn channel(c: &ChannelState) -> Value {
    let mut v = json!({
        "id": sf(c.id),
        "type": c.kind,
        "guild_id": sf(GUILD_ID),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [],
        "nsfw": false,
        "topic": c.topic,
        "last_message_id": c.last_message_id.map(sf),
        "parent_id": c.parent_id.map(sf),
        "rate_limit_per_user": 0,
        "flags": 0,
    });
    if c.is_thread() {
        if let Some(o) = v.as_object_mut() {
            // Threads have no topic, position or overwrites of their own.
            for k in ["topic", "position", "permission_overwrites", "nsfw"] {
                o.remove(k);
            }
        }
        v["owner_id"] = c.owner_id.map(sf).unwrap_or(Value::Null);
        v["message_count"] = json!(c.message_count);
        // "Approximate number of members in the thread, stops counting at 50".
        v["member_count"] = json!(c.thread_members.len().min(50));
        v["total_message_sent"] = json!(c.message_count);
        v["thread_metadata"] = json!({
            "archived": c.archived,
            "auto_archive_duration": 1440,
            "archive_timestamp": timestamp(c.archive_changed),
            "locked": c.locked,
            "invitable": true,
            "create_timestamp": timestamp(snowflake_time(c.id)),
        });
    }
    v
}

pub(crate) fn thread_member(thread_id: u64, m: &ThreadMemberState) -> Value {
    json!({
        "id": sf(thread_id),
        "user_id": sf(m.user_id),
        "join_timestamp": timestamp(m.joined_at),
        "flags": 0,
    })
}

pub(crate) fn guild_create(
    members: &[(MemberState, UserState)],
    channels: &[ChannelState],
    joined_at: DateTime<Utc>,
) -> Value {
    let mut roles = vec![everyone_role()];
    roles.extend(world::ROLES.iter().map(role));
    let mut g = json!({
        "id": sf(GUILD_ID),
        "name": GUILD_NAME,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": sf(OWNER_ID),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": roles,
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "joined_at": timestamp(joined_at),
        "large": false,
        "unavailable": false,
        "member_count": members.len(),
        "voice_states": [],
        "members": members.iter().map(|(m, u)| member(m, u, true)).collect::<Vec<_>>(),
        "channels": channels.iter().filter(|c| !c.is_thread()).map(channel).collect::<Vec<_>>(),
        "threads": channels.iter().filter(|c| c.is_thread() && !c.archived).map(channel).collect::<Vec<_>>(),
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    });
    let limits = json!({
        "safety_alerts_channel_id": null,
        "home_header": null,
        "incidents_data": null,
        "max_members": 500_000,
        "max_presences": null,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "nsfw": false,
        // Deprecated (voice regions are per channel) but still sent, as the spec requires.
        "region": "deprecated",
        "widget_enabled": false,
        "widget_channel_id": null,
    });
    if let (Some(o), Value::Object(more)) = (g.as_object_mut(), limits) {
        o.extend(more);
    }
    g
}

pub(crate) fn application(bot: &UserState, owner: &UserState) -> Value {
    json!({
        "id": sf(bot.id),
        "name": bot.username,
        "icon": null,
        "description": "clanhall sandbox application",
        "rpc_origins": [],
        "bot_public": false,
        "bot_require_code_grant": false,
        "terms_of_service_url": null,
        "privacy_policy_url": null,
        "owner": user(owner),
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "type": null,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "team": null,
        "guild_id": null,
        "primary_sku_id": null,
        "slug": null,
        "cover_image": null,
        "flags": 0,
        "tags": [],
        "install_params": null,
        "custom_install_url": null,
        "bot": user(bot),
    })
}

/// The current user as `GET /users/@me` and READY give it: a user plus the fields only
/// its owner sees.
pub(crate) fn user_pii(u: &UserState) -> Value {
    let mut v = user(u);
    v["verified"] = json!(true);
    v["mfa_enabled"] = json!(false);
    v["email"] = Value::Null;
    v["locale"] = json!("en-US");
    v
}

pub(crate) fn ready(bot: &UserState, session_id: &str, resume_url: &str) -> Value {
    json!({
        "v": 10,
        "user": user_pii(bot),
        "guilds": [{"id": sf(GUILD_ID), "unavailable": true}],
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "shard": [0, 1],
        "application": {"id": sf(bot.id), "flags": 0},
        "private_channels": [],
    })
}

/// Embeds as Discord stores them: `type` "rich" and each field's `inline` false unless
/// the sender said otherwise (the API fills both in).
fn normalize_embeds(embeds: Value) -> Value {
    let Value::Array(mut list) = embeds else {
        return json!([]);
    };
    for e in &mut list {
        let Some(o) = e.as_object_mut() else { continue };
        o.entry("type").or_insert_with(|| json!("rich"));
        if let Some(Value::Array(fields)) = o.get_mut("fields") {
            for f in fields.iter_mut().filter_map(Value::as_object_mut) {
                f.entry("inline").or_insert(Value::Bool(false));
            }
        }
    }
    Value::Array(list)
}

/// What a message is made of, as the REST body and the world give it.
pub(crate) struct MessageParts<'a> {
    pub id: u64,
    pub channel_id: u64,
    pub author: &'a UserState,
    pub content: &'a str,
    pub embeds: Value,
    pub components: Value,
    pub kind: u8,
    pub flags: u64,
    pub mentions: Vec<Value>,
    pub reference: Option<Value>,
}

/// A message as returned by REST and sent in MESSAGE_CREATE (with `guild_id`/`member`
/// added for the latter by the caller).
pub(crate) fn message(parts: MessageParts<'_>) -> Value {
    let MessageParts {
        id,
        channel_id,
        author,
        content,
        embeds,
        components,
        kind,
        flags,
        mentions,
        reference,
    } = parts;
    let mut v = json!({
        "id": sf(id),
        "channel_id": sf(channel_id),
        "author": user(author),
        "content": content,
        "timestamp": timestamp(snowflake_time(id)),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": normalize_embeds(embeds),
        "pinned": false,
        "type": kind,
        "flags": flags,
        "components": if components.is_array() { components } else { json!([]) },
    });
    if let Some(r) = reference {
        v["message_reference"] = r;
    }
    v
}

/// The emoji object for a reaction key: a unicode emoji, or `name:id` for a custom one.
pub(crate) fn emoji(key: &str) -> Value {
    match key.rsplit_once(':') {
        Some((name, id)) if id.parse::<u64>().is_ok() => {
            let animated = name.starts_with("a:");
            let name = name.strip_prefix("a:").unwrap_or(name);
            json!({"id": id, "name": name, "animated": animated})
        }
        _ => json!({"id": null, "name": key}),
    }
}

/// The `reactions` array of a message: one entry per emoji, in the order first used, with
/// the count and whether the bot is among them; `None` when nobody reacted (Discord
/// leaves the key out then).
pub(crate) fn reactions(w: &World, message_id: u64) -> Option<Value> {
    let list = w.reactions.get(&message_id).filter(|l| !l.is_empty())?;
    let mut order: Vec<&str> = Vec::new();
    for (e, _) in list {
        if !order.contains(&e.as_str()) {
            order.push(e);
        }
    }
    Some(Value::Array(
        order
            .into_iter()
            .map(|e| {
                let count = list.iter().filter(|(k, _)| k == e).count();
                let me = list.iter().any(|(k, u)| k == e && *u == world::BOT_ID);
                json!({
                    "emoji": emoji(e),
                    "count": count,
                    "count_details": {"burst": 0, "normal": count},
                    "burst_colors": [],
                    "me": me,
                    "me_burst": false,
                })
            })
            .collect(),
    ))
}

/// A stored message as Discord shows it now: with its reactions, the message it replies to
/// (as that message stands now, or `null` once deleted), and the thread started from it.
pub(crate) fn message_view(w: &World, m: &StoredMessage) -> Value {
    let mut v = m.json.clone();
    if let Some(r) = reactions(w, m.id) {
        v["reactions"] = r;
    }
    if let Some(reference) = v["message_reference"]["message_id"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
    {
        v["referenced_message"] = w.messages.get(&reference).map_or(Value::Null, |r| {
            let mut r = r.json.clone();
            if let Some(list) = reactions(w, r_id(&r)) {
                r["reactions"] = list;
            }
            r
        });
    }
    if let Some(t) = w.channels.get(&m.id).filter(|c| c.is_thread()) {
        v["thread"] = channel(t);
    }
    v
}

fn r_id(v: &Value) -> u64 {
    v["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// MESSAGE_CREATE / MESSAGE_UPDATE: the message plus `guild_id` and the author's partial
/// member (webhook messages, such as interaction responses, carry none).
pub(crate) fn message_event(w: &World, m: &StoredMessage) -> Value {
    let mut d = message_view(w, m);
    d["guild_id"] = sf(GUILD_ID);
    if m.interaction_id.is_none()
        && let Some((mm, u)) = w.member_pair(m.author_id)
    {
        d["member"] = member(&mm, &u, false);
    }
    d
}

pub(crate) fn message_delete(channel_id: u64, message_id: u64) -> Value {
    json!({"id": sf(message_id), "channel_id": sf(channel_id), "guild_id": sf(GUILD_ID)})
}

pub(crate) fn reaction_remove(user_id: u64, channel_id: u64, message_id: u64, key: &str) -> Value {
    json!({
        "user_id": sf(user_id),
        "channel_id": sf(channel_id),
        "message_id": sf(message_id),
        "guild_id": sf(GUILD_ID),
        "emoji": emoji(key),
        "burst": false,
        "type": 0,
    })
}

/// GUILD_MEMBER_UPDATE: the member with its user and `guild_id`.
pub(crate) fn member_update(m: &MemberState, u: &UserState) -> Value {
    let mut d = member(m, u, true);
    d["guild_id"] = sf(GUILD_ID);
    d
}

/// THREAD_DELETE carries only `id`, `guild_id`, `parent_id` and `type`.
pub(crate) fn thread_delete(c: &ChannelState) -> Value {
    json!({"id": sf(c.id), "guild_id": sf(GUILD_ID), "parent_id": c.parent_id.map(sf), "type": c.kind})
}

/// THREAD_MEMBERS_UPDATE for members added (with their guild member) or removed.
pub(crate) fn thread_members_update(
    w: &World,
    t: &ChannelState,
    added: &[u64],
    removed: &[u64],
) -> Value {
    let mut d = json!({
        "id": sf(t.id),
        "guild_id": sf(GUILD_ID),
        "member_count": t.thread_members.len().min(50),
    });
    if !added.is_empty() {
        d["added_members"] = Value::Array(
            t.thread_members
                .iter()
                .filter(|m| added.contains(&m.user_id))
                .map(|m| {
                    let mut v = thread_member(t.id, m);
                    if let Some((mm, u)) = w.member_pair(m.user_id) {
                        v["member"] = member(&mm, &u, true);
                    }
                    v["presence"] = Value::Null;
                    v
                })
                .collect(),
        );
    }
    if !removed.is_empty() {
        d["removed_member_ids"] = Value::Array(removed.iter().map(|id| sf(*id)).collect());
    }
    d
}

/// GUILD_MEMBERS_CHUNK, one chunk (the sandbox guild is far below 1,000 members).
pub(crate) fn members_chunk(
    members: &[(MemberState, UserState)],
    not_found: &[u64],
    nonce: Option<&str>,
) -> Value {
    let mut d = json!({
        "guild_id": sf(GUILD_ID),
        "members": members.iter().map(|(m, u)| member(m, u, true)).collect::<Vec<_>>(),
        "chunk_index": 0,
        "chunk_count": 1,
    });
    if !not_found.is_empty() {
        d["not_found"] = Value::Array(not_found.iter().map(|id| sf(*id)).collect());
    }
    if let Some(n) = nonce {
        d["nonce"] = json!(n);
    }
    d
}

pub(crate) struct InteractionBase<'a> {
    pub id: u64,
    pub token: &'a str,
    pub channel: &'a ChannelState,
    pub member: &'a MemberState,
    pub user: &'a UserState,
    pub member_permissions: u64,
}

fn interaction(base: &InteractionBase<'_>, kind: u8, data: Value) -> Value {
    json!({
        "id": sf(base.id),
        "application_id": sf(world::BOT_ID),
        "type": kind,
        "data": data,
        "guild_id": sf(GUILD_ID),
        "channel": channel(base.channel),
        "channel_id": sf(base.channel.id),
        "member": {
            "user": user(base.user),
            "nick": null,
            "avatar": null,
            "roles": base.member.roles.iter().map(|r| sf(*r)).collect::<Vec<_>>(),
            "joined_at": timestamp(base.member.joined_at),
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "permissions": base.member_permissions.to_string(),
        },
        "token": base.token,
        "version": 1,
        "app_permissions": world::MEMBER_PERMISSIONS.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    })
}

/// APPLICATION_COMMAND (type 2). `data` is `{id, name, type, options, resolved?}`.
pub(crate) fn command_interaction(base: &InteractionBase<'_>, data: Value) -> Value {
    interaction(base, 2, data)
}

/// MESSAGE_COMPONENT (type 3) on `message`.
pub(crate) fn component_interaction(
    base: &InteractionBase<'_>,
    custom_id: &str,
    component_type: u8,
    values: &[String],
    message: Value,
) -> Value {
    let mut data = json!({"custom_id": custom_id, "component_type": component_type});
    if component_type != 2 {
        data["values"] = json!(values);
    }
    let mut v = interaction(base, 3, data);
    v["message"] = message;
    v
}

/// MODAL_SUBMIT (type 5).
/// A modal submission; `message` is the message whose component opened the modal
/// (Discord sends it, and then allows UPDATE_MESSAGE as the answer).
pub(crate) fn modal_interaction(
    base: &InteractionBase<'_>,
    custom_id: &str,
    fields: &[(String, String)],
    message: Option<Value>,
) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
        .collect();
    let mut v = interaction(base, 5, json!({"custom_id": custom_id, "components": rows}));
    if let Some(m) = message {
        v["message"] = m;
    }
    v
}

pub(crate) fn reaction_add(
    user_id: u64,
    channel_id: u64,
    message_id: u64,
    emoji: &str,
    member: Option<Value>,
) -> Value {
    let mut v = json!({
        "user_id": sf(user_id),
        "channel_id": sf(channel_id),
        "message_id": sf(message_id),
        "guild_id": sf(GUILD_ID),
        "emoji": {"id": null, "name": emoji},
        "burst": false,
        "type": 0,
    });
    if let Some(m) = member {
        v["member"] = m;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::World;
    use serenity::all as s;

    fn world() -> World {
        World::new(crate::clock::SharedClock::default())
    }

    fn pair(w: &World, key: &str) -> (MemberState, UserState) {
        w.member_pair(world::user(key).unwrap().id).unwrap()
    }

    /// Deserializes a full gateway frame the way the shard does and rejects
    /// `Event::Unknown`, which is what serenity turns a malformed dispatch into.
    fn dispatch(t: &str, d: Value) -> s::Event {
        let frame = json!({"op": 0, "s": 1, "t": t, "d": d});
        let text = frame.to_string();
        let ev: s::GatewayEvent =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{t}: {e}\n{text}"));
        match ev {
            s::GatewayEvent::Dispatch(_, s::Event::Unknown(u)) => {
                panic!("{t} deserialized as Unknown: {u:?}")
            }
            s::GatewayEvent::Dispatch(_, e) => e,
            other => panic!("{t}: not a dispatch: {other:?}"),
        }
    }

    #[test]
    fn ready_deserializes() {
        let w = world();
        let bot = w.users[&world::BOT_ID].clone();
        let s::Event::Ready(r) = dispatch("READY", ready(&bot, "sess", "ws://127.0.0.1:1/gateway"))
        else {
            panic!()
        };
        assert_eq!(r.ready.user.id.get(), world::BOT_ID);
        assert_eq!(r.ready.application.id.get(), world::BOT_ID);
        assert_eq!(r.ready.session_id, "sess");
    }

    #[test]
    fn resumed_deserializes() {
        assert!(matches!(
            dispatch("RESUMED", json!({})),
            s::Event::Resumed(_)
        ));
    }

    #[test]
    fn guild_create_deserializes_with_roles_members_channels_threads() {
        let mut w = world();
        let thread_id = w.next_id();
        w.channels.insert(
            thread_id,
            ChannelState::thread(
                thread_id,
                "W0001-rue",
                crate::state::PRIVATE_THREAD,
                world::channel("welcome").unwrap().id,
                world::user("tickettool").unwrap().id,
                w.now(),
            ),
        );
        let channels: Vec<ChannelState> = w.channels.values().cloned().collect();
        let d = guild_create(&w.guild_members(), &channels, w.created);
        let s::Event::GuildCreate(g) = dispatch("GUILD_CREATE", d) else {
            panic!()
        };
        assert_eq!(g.guild.id.get(), GUILD_ID);
        assert_eq!(g.guild.roles.len(), world::ROLES.len() + 1);
        assert_eq!(g.guild.members.len(), world::USERS.len());
        assert_eq!(g.guild.channels.len(), world::CHANNELS.len());
        assert_eq!(g.guild.threads.len(), 1);
        let staff = g
            .guild
            .members
            .get(&s::UserId::new(world::user("staff").unwrap().id))
            .unwrap();
        assert_eq!(
            staff.roles,
            vec![s::RoleId::new(world::role("staff").unwrap().id)]
        );
    }

    #[test]
    fn message_create_deserializes_for_guild_messages() {
        let w = world();
        let (m, u) = pair(&w, "member");
        let ch = world::channel("general").unwrap().id;
        let mut d = message(MessageParts {
            id: w.created.timestamp_millis() as u64,
            channel_id: ch,
            author: &u,
            content: "!ping",
            embeds: json!([]),
            components: json!([]),
            kind: 0,
            flags: 0,
            mentions: vec![],
            reference: None,
        });
        d["guild_id"] = sf(GUILD_ID);
        d["member"] = member(&m, &u, false);
        let s::Event::MessageCreate(mc) = dispatch("MESSAGE_CREATE", d) else {
            panic!()
        };
        assert_eq!(mc.message.content, "!ping");
        assert_eq!(mc.message.guild_id.map(|g| g.get()), Some(GUILD_ID));
        assert!(mc.message.member.is_some());
    }

    #[test]
    fn bot_message_with_embeds_and_components_deserializes_as_rest_reply() {
        let w = world();
        let bot = w.users[&world::BOT_ID].clone();
        let embeds = json!([{"title": "Help", "description": "d", "color": 3447003, "fields": [{"name": "a", "value": "b", "inline": false}], "footer": {"text": "f"}, "type": "rich"}]);
        let components = json!([{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Next", "custom_id": "page:2"},
            {"type": 3, "custom_id": "pick", "options": [{"label": "A", "value": "a"}], "placeholder": "Choose", "min_values": 1, "max_values": 1}
        ]}]);
        let v = message(MessageParts {
            id: 1,
            channel_id: world::channel("general").unwrap().id,
            author: &bot,
            content: "hi",
            embeds,
            components,
            kind: 0,
            flags: 0,
            mentions: vec![],
            reference: None,
        });
        let m: s::Message = serde_json::from_value(v).unwrap();
        assert_eq!(m.embeds[0].title.as_deref(), Some("Help"));
        assert_eq!(m.components[0].components.len(), 2);
    }

    #[test]
    fn interactions_deserialize_command_component_modal() {
        let mut w = world();
        let (m, u) = pair(&w, "staff");
        let ch = w.channels[&world::channel("general").unwrap().id].clone();
        let id = w.next_id();
        let base = InteractionBase {
            id,
            token: "tok",
            channel: &ch,
            member: &m,
            user: &u,
            member_permissions: w.permissions_of(u.id),
        };
        let data = json!({"id": "1200000000000000777", "name": "help", "type": 1, "guild_id": sf(GUILD_ID),
            "options": [{"name": "command", "type": 3, "value": "ping"}]});
        let s::Event::InteractionCreate(ic) =
            dispatch("INTERACTION_CREATE", command_interaction(&base, data))
        else {
            panic!()
        };
        let cmd = ic.interaction.command().expect("application command");
        assert_eq!(cmd.data.name, "help");
        assert_eq!(cmd.member.as_ref().unwrap().roles.len(), 1);

        let bot = w.users[&world::BOT_ID].clone();
        let msg = message(MessageParts {
            id: 2,
            channel_id: ch.id,
            author: &bot,
            content: "",
            embeds: json!([]),
            components: json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]),
            kind: 0,
            flags: 0,
            mentions: vec![],
            reference: None,
        });
        let s::Event::InteractionCreate(ic) = dispatch(
            "INTERACTION_CREATE",
            component_interaction(&base, "go", 2, &[], msg.clone()),
        ) else {
            panic!()
        };
        assert_eq!(
            ic.interaction.message_component().unwrap().data.custom_id,
            "go"
        );
        let s::Event::InteractionCreate(ic) = dispatch(
            "INTERACTION_CREATE",
            component_interaction(&base, "pick", 3, &["a".into()], msg),
        ) else {
            panic!()
        };
        let comp = ic.interaction.message_component().unwrap();
        assert!(
            matches!(&comp.data.kind, s::ComponentInteractionDataKind::StringSelect { values } if values == &["a"])
        );
        let s::Event::InteractionCreate(ic) = dispatch(
            "INTERACTION_CREATE",
            modal_interaction(&base, "form", &[("age".into(), "21".into())], None),
        ) else {
            panic!()
        };
        assert_eq!(
            ic.interaction.modal_submit().unwrap().data.custom_id,
            "form"
        );
    }

    #[test]
    fn channel_and_thread_events_deserialize() {
        let mut w = world();
        let id = w.next_id();
        let t = ChannelState::thread(
            id,
            "W0002-max-member",
            crate::state::PUBLIC_THREAD,
            world::channel("welcome").unwrap().id,
            world::BOT_ID,
            w.now(),
        );
        let mut d = channel(&t);
        d["newly_created"] = json!(true);
        let s::Event::ThreadCreate(tc) = dispatch("THREAD_CREATE", d) else {
            panic!()
        };
        assert_eq!(tc.thread.id.get(), id);
        let s::Event::ThreadUpdate(_) = dispatch("THREAD_UPDATE", channel(&t)) else {
            panic!()
        };
        let general = w.channels[&world::channel("general").unwrap().id].clone();
        let s::Event::ChannelCreate(_) = dispatch("CHANNEL_CREATE", channel(&general)) else {
            panic!()
        };
        let gc: s::GuildChannel = serde_json::from_value(channel(&t)).unwrap();
        assert!(gc.thread_metadata.is_some());
        let tm: s::ThreadMember =
            serde_json::from_value(thread_member(id, &t.thread_members[0])).unwrap();
        assert_eq!(tm.user_id.get(), world::BOT_ID);
    }

    #[test]
    fn member_add_and_reaction_add_deserialize() {
        let w = world();
        let (m, u) = pair(&w, "recruit");
        let mut d = member(&m, &u, true);
        d["guild_id"] = sf(GUILD_ID);
        let s::Event::GuildMemberAdd(ma) = dispatch("GUILD_MEMBER_ADD", d) else {
            panic!()
        };
        assert_eq!(ma.member.user.id.get(), u.id);
        let d = reaction_add(
            u.id,
            world::channel("welcome").unwrap().id,
            5,
            "🎫",
            Some(member(&m, &u, true)),
        );
        let s::Event::ReactionAdd(ra) = dispatch("MESSAGE_REACTION_ADD", d) else {
            panic!()
        };
        assert_eq!(ra.reaction.emoji.to_string(), "🎫");
    }

    #[test]
    fn rest_objects_deserialize() {
        let w = world();
        let bot = w.users[&world::BOT_ID].clone();
        let owner = w.users[&world::OWNER_ID].clone();
        let app: s::CurrentApplicationInfo =
            serde_json::from_value(application(&bot, &owner)).unwrap();
        assert_eq!(app.id.get(), world::BOT_ID);
        let (m, u) = pair(&w, "staff");
        let mut mv = member(&m, &u, true);
        mv["guild_id"] = sf(GUILD_ID);
        let _: s::Member = serde_json::from_value(mv).unwrap();
        let r: s::Role = serde_json::from_value(role(world::role("admin").unwrap())).unwrap();
        assert_eq!(r.name, "Admin");
        let _: s::User = serde_json::from_value(user(&u)).unwrap();
    }
}
