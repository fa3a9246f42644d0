//! The sandbox answers as Discord would (issue 11), checked through a real serenity client:
//! intents, error bodies, the events REST changes fire, message semantics, and a loud 501
//! for what it does not implement.

use std::time::Duration;

use clanhall_sandbox::faults::HttpFault;
use clanhall_sandbox::gateway::intents;
use clanhall_sandbox::record::Channel;
use clanhall_sandbox::{Sandbox, SandboxOptions, ThreadChange, world};
use serde_json::{Value, json};
use serenity::all::{
    ChannelId, ChunkGuildFilter, CreateMessage, EditChannel, EditMessage, EditThread, Event,
    GatewayIntents, GuildId, HttpError, MessageId, MessageType, ReactionType, RoleId, UserId,
};

use crate::support::bot::TestBot;
use crate::support::eventually;
use crate::support::gateway::{GatewayClient, name};

const WAIT: Duration = Duration::from_secs(5);

async fn sandbox() -> Sandbox {
    crate::support::bot::sample_sandbox().await
}

fn general() -> ChannelId {
    ChannelId::new(world::channel("general").unwrap().id)
}

fn guild() -> GuildId {
    GuildId::new(world::GUILD_ID)
}

fn user(key: &str) -> UserId {
    UserId::new(world::user(key).unwrap().id)
}

/// The intents the bot identifies with.
fn bot_intents() -> GatewayIntents {
    clanhall::testing::discord_intents()
}

/// A sandbox and a client identified with the bot's intents.
async fn with_client() -> (Sandbox, GatewayClient) {
    let s = sandbox().await;
    let c = GatewayClient::connect(&s, bot_intents()).await;
    (s, c)
}

/// The Discord error inside a serenity error, or a panic naming what came instead.
fn discord_error(e: serenity::Error) -> serenity::http::ErrorResponse {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => r,
        other => panic!("not an unsuccessful request: {other:?}"),
    }
}

// --- 1. Intents -------------------------------------------------------------------------

#[tokio::test]
async fn without_privileged_intents_the_gateway_withholds_members_and_content() {
    let s = sandbox().await;
    let mut c =
        GatewayClient::connect(&s, GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES).await;
    let ctx = c.ctx.clone().unwrap();
    let cached = ctx.cache.guild(guild()).map(|g| g.members.len());
    assert_eq!(
        cached,
        Some(1),
        "without GUILD_PRESENCES only the bot's own member"
    );
    let in_cache = ctx
        .cache
        .guild(guild())
        .is_some_and(|g| g.members.contains_key(&user("recruit")));
    assert!(
        !in_cache,
        "a member looked up only in the cache is missing, as on Discord"
    );
    let fetched = guild().member(&c.http, user("recruit")).await.unwrap();
    assert_eq!(fetched.user.id, user("recruit"), "REST finds the member");

    s.say("member", "general", "secret plans").unwrap();
    let Some(Event::MessageCreate(m)) = c
        .next_where(WAIT, |e| matches!(e, Event::MessageCreate(_)))
        .await
    else {
        panic!("no MESSAGE_CREATE")
    };
    assert_eq!(
        m.message.content, "",
        "no MESSAGE_CONTENT: content is empty"
    );
    s.say("member", "general", "hey @clanhall look").unwrap();
    let Some(Event::MessageCreate(m)) = c
        .next_where(WAIT, |e| matches!(e, Event::MessageCreate(_)))
        .await
    else {
        panic!("no MESSAGE_CREATE")
    };
    assert!(
        m.message.content.contains("look"),
        "a mention of the bot keeps its content"
    );

    s.member_join("newbie").unwrap();
    s.say("member", "general", "after the join").unwrap();
    let seen = c
        .collect_until(WAIT, |e| matches!(e, Event::MessageCreate(_)))
        .await;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::GuildMemberAdd(_))),
        "no GUILD_MEMBER_ADD without GUILD_MEMBERS: {:?}",
        seen.iter().map(name).collect::<Vec<_>>()
    );
    assert!(
        s.record()
            .filter(Channel::GatewayOut)
            .iter()
            .any(|e| e.path == "GUILD_MEMBER_ADD (not sent: intents)")
    );

    // Op 8 by id works without GUILD_MEMBERS; the whole list needs it and is ignored.
    let recruit = user("recruit");
    ctx.shard.chunk_guild(
        guild(),
        None,
        false,
        ChunkGuildFilter::UserIds(vec![recruit, UserId::new(42)]),
        Some("by-id".into()),
    );
    let Some(Event::GuildMembersChunk(chunk)) = c
        .next_where(WAIT, |e| matches!(e, Event::GuildMembersChunk(_)))
        .await
    else {
        panic!("no GUILD_MEMBERS_CHUNK")
    };
    assert_eq!(chunk.nonce.as_deref(), Some("by-id"));
    assert!(chunk.members.contains_key(&recruit));
    assert_eq!(
        chunk.not_found.iter().map(|g| g.get()).collect::<Vec<_>>(),
        [42]
    );
    ctx.shard.chunk_guild(
        guild(),
        None,
        false,
        ChunkGuildFilter::None,
        Some("everyone".into()),
    );
    s.say("member", "general", "marker").unwrap();
    let seen = c
        .collect_until(WAIT, |e| matches!(e, Event::MessageCreate(_)))
        .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::GuildMembersChunk(_))),
        "the whole member list needs GUILD_MEMBERS"
    );
    c.stop().await;
    s.stop().await;
}

#[tokio::test]
async fn with_the_members_intent_joins_arrive_and_the_whole_list_can_be_asked_for() {
    let (s, mut c) = with_client().await;
    let id = s.member_join("newbie").unwrap();
    let Some(Event::GuildMemberAdd(add)) = c
        .next_where(WAIT, |e| matches!(e, Event::GuildMemberAdd(_)))
        .await
    else {
        panic!("no GUILD_MEMBER_ADD")
    };
    assert_eq!(add.member.user.id.get(), id);
    let ctx = c.ctx.clone().unwrap();
    ctx.shard.chunk_guild(
        guild(),
        None,
        false,
        ChunkGuildFilter::None,
        Some("all".into()),
    );
    let Some(Event::GuildMembersChunk(chunk)) = c
        .next_where(WAIT, |e| matches!(e, Event::GuildMembersChunk(_)))
        .await
    else {
        panic!("no GUILD_MEMBERS_CHUNK")
    };
    assert_eq!(chunk.members.len(), world::USERS.len() + 1);
    ctx.shard.chunk_guild(
        guild(),
        Some(10),
        false,
        ChunkGuildFilter::Query("rue".into()),
        Some("prefix".into()),
    );
    let Some(Event::GuildMembersChunk(chunk)) = c
        .next_where(WAIT, |e| matches!(e, Event::GuildMembersChunk(_)))
        .await
    else {
        panic!("no GUILD_MEMBERS_CHUNK")
    };
    assert_eq!(
        chunk.members.keys().copied().collect::<Vec<_>>(),
        vec![user("recruit")]
    );

    // REST: the list pages by user id; search matches a username prefix.
    let first = guild().members(&c.http, Some(2), None).await.unwrap();
    assert_eq!(first.len(), 2);
    let next = guild()
        .members(&c.http, Some(1000), Some(first[1].user.id))
        .await
        .unwrap();
    assert_eq!(first.len() + next.len(), world::USERS.len() + 1);
    assert!(next.iter().all(|m| m.user.id > first[1].user.id));
    let found = guild()
        .search_members(&c.http, "sam", Some(5))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].user.id, user("staff"));
    c.stop().await;
    s.stop().await;
}

#[tokio::test]
async fn a_privileged_intent_the_application_has_not_enabled_is_refused() {
    let s = Sandbox::start(SandboxOptions {
        approved_intents: intents::MESSAGE_CONTENT,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = GatewayClient::start(&s, bot_intents()).await;
    let http = c.http.clone();
    let ended = c.ended(Duration::from_secs(10)).await;
    assert!(
        matches!(
            ended,
            Some(Err(serenity::Error::Gateway(
                serenity::all::GatewayError::DisallowedGatewayIntents
            )))
        ),
        "{ended:?}"
    );
    assert!(
        s.record()
            .filter(Channel::GatewayOut)
            .iter()
            .any(|e| e.status == Some(4014))
    );
    // The REST member list needs the same intent enabled.
    let e = discord_error(guild().members(&http, Some(5), None).await.unwrap_err());
    assert_eq!((e.status_code.as_u16(), e.error.code), (403, 50001));
    s.stop().await;
}

// --- 3. Errors in Discord's shape ----------------------------------------------------------

#[tokio::test]
async fn every_error_decodes_through_serenity_with_its_code_and_field_paths() {
    let s = sandbox().await;
    let http = crate::support::gateway::rest(&s);
    http.set_application_id(serenity::all::ApplicationId::new(world::BOT_ID));
    let invalid = json!({"content": "x".repeat(2001), "embeds": [{"title": "t".repeat(300), "fields": [{"name": "", "value": "v"}]}]});
    let e = discord_error(
        http.send_message(general(), vec![], &invalid)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.status_code.as_u16(), e.error.code), (400, 50035));
    let mut paths: Vec<&str> = e.error.errors.iter().map(|x| x.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["content", "embeds.0.fields.0.name", "embeds.0.title"]
    );
    assert!(
        e.error
            .errors
            .iter()
            .any(|x| x.path == "content" && x.code == "BASE_TYPE_MAX_LENGTH")
    );

    let cases: Vec<(serenity::Error, u16, isize)> = vec![
        (
            http.send_message(general(), vec![], &json!({}))
                .await
                .unwrap_err(),
            400,
            50006,
        ),
        (
            http.send_message(ChannelId::new(1), vec![], &json!({"content": "x"}))
                .await
                .unwrap_err(),
            404,
            10003,
        ),
        (
            http.create_guild_commands(guild(), &json!([{"name": "Bad Name", "description": "d"}]))
                .await
                .unwrap_err(),
            400,
            50035,
        ),
        (
            http.create_thread(general(), &json!({"name": "", "type": 11}), None)
                .await
                .unwrap_err(),
            400,
            50035,
        ),
        (
            http.get_bans(guild(), None, None).await.unwrap_err(),
            501,
            0,
        ),
    ];
    for (err, status, code) in cases {
        let e = discord_error(err);
        assert_eq!(
            (e.status_code.as_u16(), e.error.code),
            (status, code),
            "{:?}",
            e.error
        );
        assert_ne!(e.error.code, -1, "decoded, not serenity's -1");
    }
    // A user's message cannot be edited; someone else's reaction takes Manage Messages
    // (taken from the bot here).
    s.revoke_permission("clanhall", clanhall_sandbox::world::MANAGE_MESSAGES)
        .unwrap();
    let theirs = s.say("member", "general", "mine").unwrap();
    let e = discord_error(
        general()
            .edit_message(
                &http,
                MessageId::new(theirs),
                EditMessage::new().content("no"),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(e.error.code, 50005);
    s.react("member", theirs, "👍").unwrap();
    let e = discord_error(
        http.delete_reaction(
            general(),
            MessageId::new(theirs),
            user("member"),
            &ReactionType::Unicode("👍".into()),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((e.status_code.as_u16(), e.error.code), (403, 50013));
    // What the sandbox does not implement says so: 501, never a Discord-looking 404.
    let e = discord_error(http.get_bans(guild(), None, None).await.unwrap_err());
    assert!(
        e.error.message.contains("not implemented"),
        "{}",
        e.error.message
    );
    s.stop().await;
}

// --- 4. Events after REST changes ------------------------------------------------------------

#[tokio::test]
async fn rest_changes_fire_the_events_discord_fires() {
    let (s, mut c) = with_client().await;
    let http = c.http.clone();
    let next = |want: &'static str| move |e: &Event| name(e) == want;

    let m = general()
        .send_message(&http, CreateMessage::new().content("v1"))
        .await
        .unwrap();
    c.next_where(WAIT, next("MESSAGE_CREATE")).await.unwrap();
    general()
        .edit_message(&http, m.id, EditMessage::new().content("v2"))
        .await
        .unwrap();
    let Some(Event::MessageUpdate(u)) = c.next_where(WAIT, next("MESSAGE_UPDATE")).await else {
        panic!("no MESSAGE_UPDATE after an edit")
    };
    assert_eq!(u.content.as_deref(), Some("v2"));

    let thumbs = ReactionType::Unicode("👍".into());
    http.create_reaction(general(), m.id, &thumbs)
        .await
        .unwrap();
    c.next_where(WAIT, next("MESSAGE_REACTION_ADD"))
        .await
        .unwrap();
    http.delete_reaction_me(general(), m.id, &thumbs)
        .await
        .unwrap();
    let Some(Event::ReactionRemove(r)) = c.next_where(WAIT, next("MESSAGE_REACTION_REMOVE")).await
    else {
        panic!("no MESSAGE_REACTION_REMOVE")
    };
    assert_eq!(r.reaction.message_id, m.id);

    let staff_role = RoleId::new(world::role("staff").unwrap().id);
    http.add_member_role(guild(), user("member"), staff_role, None)
        .await
        .unwrap();
    let Some(Event::GuildMemberUpdate(g)) = c.next_where(WAIT, next("GUILD_MEMBER_UPDATE")).await
    else {
        panic!("no GUILD_MEMBER_UPDATE after a role was added")
    };
    assert!(g.roles.contains(&staff_role));
    http.remove_member_role(guild(), user("member"), staff_role, None)
        .await
        .unwrap();
    let Some(Event::GuildMemberUpdate(g)) = c.next_where(WAIT, next("GUILD_MEMBER_UPDATE")).await
    else {
        panic!("no GUILD_MEMBER_UPDATE after a role was removed")
    };
    assert!(!g.roles.contains(&staff_role));

    general()
        .edit(&http, EditChannel::new().name("lobby"))
        .await
        .unwrap();
    let Some(Event::ChannelUpdate(ch)) = c.next_where(WAIT, next("CHANNEL_UPDATE")).await else {
        panic!("no CHANNEL_UPDATE after a rename")
    };
    assert_eq!(ch.channel.name, "lobby");

    let starter = general()
        .send_message(&http, CreateMessage::new().content("start here"))
        .await
        .unwrap();
    let thread = general()
        .create_thread_from_message(&http, starter.id, serenity::all::CreateThread::new("talk"))
        .await
        .unwrap();
    let seen = c
        .collect_until(
            WAIT,
            |e| matches!(e, Event::MessageUpdate(u) if u.id == starter.id),
        )
        .await;
    assert!(seen.iter().any(|e| name(e) == "THREAD_CREATE"));
    let Some(Event::MessageUpdate(u)) = seen.last() else {
        panic!(
            "no MESSAGE_UPDATE for the starter message: {:?}",
            seen.iter().map(name).collect::<Vec<_>>()
        )
    };
    assert_eq!(
        u.thread.as_ref().and_then(|t| t.as_ref()).map(|t| t.id),
        Some(thread.id)
    );

    http.add_thread_channel_member(thread.id, user("recruit"))
        .await
        .unwrap();
    let Some(Event::ThreadMembersUpdate(tm)) =
        c.next_where(WAIT, next("THREAD_MEMBERS_UPDATE")).await
    else {
        panic!("no THREAD_MEMBERS_UPDATE")
    };
    assert_eq!(tm.added_members[0].user_id, user("recruit"));

    thread
        .id
        .edit_thread(&http, EditThread::new().archived(true).locked(true))
        .await
        .unwrap();
    let Some(Event::ThreadUpdate(t)) = c.next_where(WAIT, next("THREAD_UPDATE")).await else {
        panic!("no THREAD_UPDATE after archive")
    };
    let meta = t.thread.thread_metadata.unwrap();
    assert!(meta.archived && meta.locked);
    // Archived and locked: posting is refused until a moderator unarchives it.
    let e = discord_error(
        thread
            .id
            .send_message(&http, CreateMessage::new().content("hello?"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.error.code, 50083);
    thread
        .id
        .edit_thread(&http, EditThread::new().archived(false))
        .await
        .unwrap();
    let seen = c
        .collect_until(WAIT, |e| name(e) == "THREAD_MEMBER_UPDATE")
        .await;
    assert_eq!(
        seen.iter()
            .map(name)
            .filter(|n| n.starts_with("THREAD"))
            .collect::<Vec<_>>(),
        ["THREAD_UPDATE", "THREAD_MEMBER_UPDATE"],
        "unarchiving fires THREAD_UPDATE, then THREAD_MEMBER_UPDATE"
    );

    general().delete_message(&http, m.id).await.unwrap();
    let Some(Event::MessageDelete(d)) = c.next_where(WAIT, next("MESSAGE_DELETE")).await else {
        panic!("no MESSAGE_DELETE")
    };
    assert_eq!(d.message_id, m.id);
    thread.id.delete(&http).await.unwrap();
    let Some(Event::ThreadDelete(d)) = c.next_where(WAIT, next("THREAD_DELETE")).await else {
        panic!("no THREAD_DELETE")
    };
    assert_eq!(d.thread.id, thread.id);
    c.stop().await;
    s.stop().await;
}

// --- 5. Message semantics --------------------------------------------------------------------

#[tokio::test]
async fn replies_reactions_and_snowflakes_look_like_discords() {
    let (s, mut c) = with_client().await;
    let http = c.http.clone();
    let question = s.say("member", "general", "where do I sign up?").unwrap();
    let answer = general()
        .send_message(
            &http,
            CreateMessage::new()
                .content("here")
                .reference_message((general(), MessageId::new(question))),
        )
        .await
        .unwrap();
    assert_eq!(answer.kind, MessageType::InlineReply);
    assert_eq!(
        answer.referenced_message.as_ref().map(|m| m.id.get()),
        Some(question)
    );
    // A person's reply arrives as a reply too.
    s.reply("recruit", answer.id.get(), "thanks").unwrap();
    let Some(Event::MessageCreate(m)) = c
        .next_where(
            WAIT,
            |e| matches!(e, Event::MessageCreate(m) if m.message.content == "thanks"),
        )
        .await
    else {
        panic!("no MESSAGE_CREATE for the reply")
    };
    assert_eq!(m.message.kind, MessageType::InlineReply);
    assert_eq!(
        m.message.referenced_message.as_ref().map(|r| r.id),
        Some(answer.id)
    );
    // A reply to a message that is not there is refused.
    let e = discord_error(
        general()
            .send_message(
                &http,
                CreateMessage::new()
                    .content("lost")
                    .reference_message((general(), MessageId::new(7))),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(e.error.errors[0].path, "message_reference");

    // Reactions: counted per emoji, `me` when the bot is among them.
    s.react("member", question, "🎫").unwrap();
    http.create_reaction(
        general(),
        MessageId::new(question),
        &ReactionType::Unicode("🎫".into()),
    )
    .await
    .unwrap();
    let got = general()
        .message(&http, MessageId::new(question))
        .await
        .unwrap();
    assert_eq!(got.reactions.len(), 1);
    assert_eq!((got.reactions[0].count, got.reactions[0].me), (2, true));

    // Every snowflake in a REST answer is a string.
    let raw = crate::support::gateway::raw_get(
        &s,
        &format!("/api/v10/channels/{}/messages/{}", general(), answer.id),
    )
    .await;
    assert_snowflakes_are_strings(&raw, "message");
    c.stop().await;
    s.stop().await;
}

fn assert_snowflakes_are_strings(v: &Value, at: &str) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let path = format!("{at}.{k}");
                if (k == "id" || k.ends_with("_id")) && !x.is_null() {
                    assert!(x.is_string(), "{path} is {x}, not a string");
                }
                assert_snowflakes_are_strings(x, &path);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_snowflakes_are_strings(x, &format!("{at}.{i}"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn an_interaction_callback_with_response_answers_200_with_the_message() {
    let (s, mut c) = with_client().await;
    let http = c.http.clone();
    http.create_guild_commands(
        guild(),
        &json!([{"name": "ping", "description": "pong", "type": 1}]),
    )
    .await
    .unwrap();
    let iid = s.slash("member", "general", "/ping").unwrap();
    let Some(Event::InteractionCreate(ic)) = c
        .next_where(WAIT, |e| matches!(e, Event::InteractionCreate(_)))
        .await
    else {
        panic!("no INTERACTION_CREATE")
    };
    let cmd = ic.interaction.command().unwrap();
    assert_eq!(cmd.id.get(), iid);
    let callback = |query: &'static str| {
        crate::support::http()
            .post(format!(
                "{}/api/v10/interactions/{}/{}/callback{query}",
                s.base_url(),
                cmd.id,
                cmd.token
            ))
            .json(&json!({"type": 4, "data": {"content": "pong"}}))
            .send()
    };
    let resp = callback("?with_response=true").await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["interaction"]["id"], cmd.id.to_string());
    assert_eq!(body["interaction"]["type"], 2);
    assert_eq!(body["resource"]["type"], 4);
    assert_eq!(body["resource"]["message"]["content"], "pong");
    assert_eq!(
        body["interaction"]["response_message_id"],
        body["resource"]["message"]["id"]
    );
    // A second callback is refused, whatever it asks for.
    let again = callback("").await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], 40060);
    c.stop().await;
    s.stop().await;
}

// --- 9. Actors: Ticket Tool's part -------------------------------------------------------------

#[tokio::test]
async fn ticket_tool_opens_greets_closes_and_archives_a_ticket_thread() {
    let (s, mut c) = with_client().await;
    let thread = s
        .open_thread("tickettool", "welcome", "W0042-rue", true, &["recruit"])
        .unwrap();
    let Some(Event::ThreadCreate(t)) = c.next_where(WAIT, |e| name(e) == "THREAD_CREATE").await
    else {
        panic!("no THREAD_CREATE")
    };
    assert_eq!(t.thread.id.get(), thread);
    assert_eq!(t.thread.owner_id, Some(user("tickettool")));
    s.say(
        "tickettool",
        "W0042-rue",
        "Welcome @recruit! A recruiter will be with you shortly.",
    )
    .unwrap();
    let Some(Event::MessageCreate(greet)) = c
        .next_where(
            WAIT,
            |e| matches!(e, Event::MessageCreate(m) if m.message.channel_id.get() == thread),
        )
        .await
    else {
        panic!("no greeting")
    };
    assert!(greet.message.author.bot);
    assert_eq!(greet.message.mentions[0].id, user("recruit"));
    assert!(
        s.say("member", "W0042-rue", "can I see this?").is_err(),
        "a private thread is closed to non-members"
    );
    s.say("tickettool", "W0042-rue", "Ticket Closed by @staff")
        .unwrap();
    s.change_thread(
        "tickettool",
        "W0042-rue",
        ThreadChange::rename("closed-W0042-rue"),
    )
    .unwrap();
    s.change_thread("tickettool", "closed-W0042-rue", ThreadChange::archive())
        .unwrap();
    let seen = c
        .collect_until(WAIT, |e| {
            matches!(e, Event::ThreadUpdate(t) if t.thread.thread_metadata.is_some_and(|m| m.archived))
        })
        .await;
    let Some(Event::ThreadUpdate(t)) = seen.last() else {
        panic!(
            "no THREAD_UPDATE archiving it: {:?}",
            seen.iter().map(name).collect::<Vec<_>>()
        )
    };
    assert_eq!(t.thread.name, "closed-W0042-rue");
    assert!(
        s.change_thread("recruit", "closed-W0042-rue", ThreadChange::unarchive())
            .is_err(),
        "a recruit cannot reopen someone else's thread"
    );
    s.change_thread("tickettool", "closed-W0042-rue", ThreadChange::unarchive())
        .unwrap();
    assert!(!s.channel(thread).unwrap().archived);
    c.stop().await;
    s.stop().await;
}

// --- 10. Restart the bot alone; a replay after RESUME -------------------------------------

#[tokio::test]
async fn the_bot_restarts_alone_and_finds_threads_messages_and_its_data_as_they_were() {
    let mut bot = TestBot::start().await;
    bot.sandbox
        .open_thread("tickettool", "welcome", "W0042-rue", true, &["recruit"])
        .unwrap();
    let before = bot.ask("recruit", "W0042-rue", "!ping").await;
    let pong = before[0].message_id().expect("a Pong in the thread");
    let paused = bot
        .ask("admin", "general", "!ops jobs pause retention:sweep")
        .await;
    assert!(paused[0].content().starts_with("⏸️"), "{paused:?}");
    let (identifies, _) = bot.sandbox.gateway_counts();

    assert_eq!(bot.restart_bot().await, 0, "a clean stop");
    assert_eq!(
        bot.sandbox.gateway_counts().0,
        identifies + 1,
        "the new run identified against the same sandbox"
    );
    assert!(
        bot.sandbox.message(pong).is_some(),
        "the sandbox kept the old run's messages"
    );
    let after = bot.ask("recruit", "W0042-rue", "!ping").await;
    assert!(
        after
            .iter()
            .any(|r| r.channel == "W0042-rue" && r.content().contains("Pong")),
        "the new run sees the thread opened before it started: {after:?}"
    );
    let jobs = bot.ask("staff", "general", "!ops jobs").await;
    assert!(
        jobs[0].text().contains("⏸️ paused"),
        "the pause is in DATA_DIR: {}",
        jobs[0].text()
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_message_replayed_after_a_resume_is_answered_once() {
    let bot = TestBot::start().await;
    let mark = bot.sandbox.mark();
    let id = bot.sandbox.say("member", "general", "!ping").unwrap();
    bot.handled_message(id, "!ping").await;
    // The dispatches the bot already had (the !ping, its own Pong) come again.
    bot.sandbox.faults().replay_on_resume(3);
    bot.sandbox.drop_gateway();
    let ignored = |l: &Value| l["msg"] == "duplicate delivery ignored" && l["id"] == json!(id);
    assert!(
        eventually(Duration::from_secs(15), || async {
            crate::support::log_lines().iter().any(ignored)
        })
        .await,
        "the replayed !ping never reached the bot"
    );
    assert_eq!(
        bot.sandbox.gateway_counts(),
        (1, 1),
        "one identify, one resume"
    );
    let pongs = bot
        .sandbox
        .bot_messages_since(mark)
        .iter()
        .filter(|r| r.content().contains("Pong"))
        .count();
    assert_eq!(pongs, 1, "a replayed command is not run twice");
    bot.stop().await;
}

// --- 11. Faults for writes ---------------------------------------------------------------

#[tokio::test]
async fn a_message_posted_but_unanswered_is_in_the_channel_once() {
    let s = sandbox().await;
    let http = crate::support::gateway::rest(&s);
    let path = format!("/channels/{}/messages", general());
    s.fail_http(
        Some("POST"),
        &path,
        HttpFault::ApplyThenStatus(500),
        Some(1),
    );
    let err = general()
        .send_message(&http, CreateMessage::new().content("lost answer"))
        .await
        .unwrap_err();
    assert_eq!(discord_error(err).status_code.as_u16(), 500);
    s.fail_http(Some("POST"), &path, HttpFault::ApplyThenHang, Some(1));
    let hung = tokio::time::timeout(
        Duration::from_millis(500),
        general().send_message(&http, CreateMessage::new().content("no answer")),
    )
    .await;
    assert!(hung.is_err(), "the answer never comes");
    let texts: Vec<String> = s
        .channel_messages("general")
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    for t in ["lost answer", "no answer"] {
        assert_eq!(
            texts.iter().filter(|c| *c == t).count(),
            1,
            "{t:?} was posted: {texts:?}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn the_bot_does_not_post_a_reply_twice_when_the_answer_is_lost() {
    let bot = TestBot::start().await;
    let path = format!("/channels/{}/messages", general());
    bot.sandbox.fail_http(
        Some("POST"),
        &path,
        HttpFault::ApplyThenStatus(500),
        Some(1),
    );
    let mark = bot.sandbox.mark();
    let id = bot.sandbox.say("member", "general", "!ping").unwrap();
    bot.handled_message(id, "!ping").await;
    let pongs = bot
        .sandbox
        .bot_messages_since(mark)
        .iter()
        .filter(|r| r.channel == "general" && r.content().contains("Pong"))
        .count();
    assert_eq!(
        pongs, 1,
        "a 500 after the post is not a reason to post again"
    );
    bot.stop().await;
}

// --- 12. Reading state in tests -------------------------------------------------------------

#[tokio::test]
async fn tests_read_the_stores_tables_and_the_telemetry_while_the_bot_runs() {
    let bot = TestBot::start().await;
    let r = bot
        .ask("admin", "general", "!ops jobs pause retention:sweep")
        .await;
    assert!(r[0].content().starts_with("⏸️"), "{r:?}");
    let state = bot.query("SELECT job, paused, paused_by FROM job_state WHERE paused = 1");
    assert_eq!(state.len(), 1, "{state:?}");
    assert_eq!(state[0]["job"], "retention:sweep");
    let admin = world::user("admin").unwrap().id.to_string();
    assert!(
        state[0]["paused_by"].as_str().unwrap().contains(&admin),
        "{state:?}"
    );
    assert!(
        bot.table("audit_events")
            .iter()
            .any(|row| row["target"] == "retention:sweep"),
        "{:?}",
        bot.table("audit_events")
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            bot.telemetry_events("command")
                .iter()
                .any(|e| e["command"] == "ops jobs pause")
        })
        .await,
        "{:?}",
        bot.telemetry()
    );
    bot.stop().await;
}

// --- 8. One clock -----------------------------------------------------------------------------

#[tokio::test]
async fn snowflakes_and_timestamps_follow_the_clock_the_sandbox_is_given() {
    use chrono::{DateTime, Utc};
    struct Fixed(DateTime<Utc>);
    impl clanhall_sandbox::clock::Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }
    let at: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let s = Sandbox::start(SandboxOptions {
        clock: clanhall_sandbox::clock::SharedClock(std::sync::Arc::new(Fixed(at))),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = crate::support::gateway::rest(&s);
    let m = general()
        .send_message(&http, CreateMessage::new().content("when?"))
        .await
        .unwrap();
    assert_eq!(m.timestamp.unix_timestamp(), at.timestamp());
    assert_eq!(m.id.created_at().unix_timestamp(), at.timestamp());
    let t = s
        .open_thread("tickettool", "welcome", "W0001-x", true, &[])
        .unwrap();
    let meta = s.channel(t).unwrap();
    assert_eq!(meta.archive_changed, at);
    s.stop().await;
}

// --- 2. Rate limits ----------------------------------------------------------------------------

#[tokio::test]
async fn every_answer_carries_rate_limit_headers_and_the_sixth_message_is_a_429() {
    let s = sandbox().await;
    let post = || crate::support::post_message(&s, general().get(), &json!({"content": "hi"}));
    let header = |r: &reqwest::Response, k: &str| {
        r.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let mut buckets = Vec::new();
    for left in (0..5).rev() {
        let r = post().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-ratelimit-limit"), "5");
        assert_eq!(header(&r, "x-ratelimit-remaining"), left.to_string());
        assert!(
            header(&r, "x-ratelimit-reset-after")
                .parse::<f64>()
                .unwrap()
                <= 5.0
        );
        assert!(header(&r, "x-ratelimit-reset").parse::<f64>().unwrap() > 1.7e9);
        buckets.push(header(&r, "x-ratelimit-bucket"));
    }
    assert!(buckets.windows(2).all(|w| w[0] == w[1] && !w[0].is_empty()));
    let r = post().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-ratelimit-scope"), "user");
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["global"], false);
    assert!(body["retry_after"].as_f64().unwrap() <= 5.0);
    assert_eq!(s.rate_limits().limited(), 1);
    // Another channel is another bucket; a GET has its own headers too.
    let got = crate::support::http()
        .get(format!(
            "{}/api/v10/channels/{}",
            s.base_url(),
            world::channel("ops-log").unwrap().id
        ))
        .header("authorization", format!("Bot {}", s.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(!header(&got, "x-ratelimit-limit").is_empty());
    // Renaming a channel: two per ten minutes.
    let http = crate::support::gateway::rest(&s);
    let ops = ChannelId::new(world::channel("ops-log").unwrap().id);
    ops.edit(&http, EditChannel::new().name("ops-1"))
        .await
        .unwrap();
    ops.edit(&http, EditChannel::new().name("ops-2"))
        .await
        .unwrap();
    let e = discord_error(
        ops.edit(&http, EditChannel::new().name("ops-3"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.status_code.as_u16(), 429);
    s.stop().await;
}

#[tokio::test]
async fn with_serenitys_limiter_on_through_the_tunnel_a_concurrent_burst_all_arrives() {
    let s = sandbox().await;
    let http = std::sync::Arc::new(crate::support::gateway::rest_with_limiter(&s));
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let http = http.clone();
            tokio::spawn(async move {
                general()
                    .send_message(&http, CreateMessage::new().content(format!("m{i}")))
                    .await
            })
        })
        .collect();
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let sent = s.channel_messages("general").len();
    assert_eq!(sent, 8, "every message arrived once");
    assert!(
        s.rate_limits().limited() > 0,
        "eight at once before serenity knew the limit: some were refused and retried"
    );
    let rest = s.record().filter(Channel::Rest);
    assert!(
        rest.iter()
            .any(|e| e.method == "CONNECT" && e.path == "discord.com:443"),
        "the client went through the tunnel"
    );
    s.stop().await;
}

/// Twenty posts to the log channel through the bot's own sending path, as fast as the bot
/// can queue them; returns the titles in the order they landed.
async fn burst_of_twenty(bot: &crate::support::bot::TestBot) -> Vec<String> {
    use clanhall::testing::Embed;
    let app = bot.app.as_ref().unwrap();
    for i in 1..=20 {
        app.alerts
            .post(
                &format!("burst-{i:02}"),
                Embed::new(format!("burst {i:02}")),
            )
            .await;
    }
    let titles = || {
        bot.sandbox
            .channel_messages("ops-log")
            .iter()
            .filter_map(|m| m["embeds"][0]["title"].as_str().map(str::to_owned))
            .filter(|t| t.starts_with("burst "))
            .collect::<Vec<_>>()
    };
    let all =
        crate::support::eventually(Duration::from_secs(90), || async { titles().len() >= 20 })
            .await;
    assert!(all, "only {} of 20 arrived: {:?}", titles().len(), titles());
    titles()
}

fn twenty_in_order() -> Vec<String> {
    (1..=20).map(|i| format!("burst {i:02}")).collect()
}

#[tokio::test]
async fn a_burst_of_twenty_posts_to_one_channel_arrives_whole_and_in_order_behind_a_proxy() {
    let bot = crate::support::bot::TestBot::start().await;
    let before = bot.sandbox.rate_limits().limited();
    assert_eq!(burst_of_twenty(&bot).await, twenty_in_order());
    assert!(
        bot.sandbox.rate_limits().limited() > before,
        "five per five seconds: the burst met 429s and the bot waited them out"
    );
    let waits: Vec<u64> = crate::support::log_lines()
        .iter()
        .filter(|l| l["msg"] == "Discord answered 429; waiting its retry_after")
        .filter_map(|l| l["wait_ms"].as_u64())
        .collect();
    assert!(
        !waits.is_empty() && waits.iter().all(|w| *w <= 5000),
        "each wait is the 429's retry_after (at most the 5 s window): {waits:?}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_burst_of_twenty_posts_arrives_whole_and_in_order_with_serenitys_rate_limiter() {
    let bot = crate::support::bot::TestBot::start_with(
        crate::support::bot::BotOptions {
            rate_limiter: true,
            ..Default::default()
        },
        |_| (),
    )
    .await;
    // Another process on the same token (the old instance during a deploy) has just used
    // the channel's bucket: this process's limiter cannot know, and meets a 429 first.
    let ops = world::channel("ops-log").unwrap().id;
    loop {
        let r = crate::support::http()
            .post(format!(
                "{}/api/v10/channels/{ops}/messages",
                bot.sandbox.base_url()
            ))
            .header("authorization", format!("Bot {}", bot.sandbox.token()))
            .json(&json!({"content": "the old instance, still posting"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "the bucket is drained, not exceeded");
        if r.headers()["x-ratelimit-remaining"] == "0" {
            break;
        }
    }
    let before = bot.sandbox.rate_limits().limited();
    assert_eq!(burst_of_twenty(&bot).await, twenty_in_order());
    assert!(
        bot.sandbox.rate_limits().limited() > before,
        "the drained bucket answered 429 and serenity waited it out"
    );
    assert!(
        bot.sandbox
            .record()
            .filter(Channel::Rest)
            .iter()
            .any(|e| e.method == "CONNECT"),
        "the bot's REST calls went through the tunnel, on the production path"
    );
    bot.stop().await;
}
