//! The sandbox itself, driven by the real clients: serenity's `Http` for REST, yup-oauth2
//! and google-sheets4 for Google, and the `clanhall sandbox --script` binary.

use std::time::Duration;

use clanhall_sandbox::faults::HttpFault;
use clanhall_sandbox::google::DEFAULT_SHEET_ID;
use clanhall_sandbox::record::Channel;
use clanhall_sandbox::{Sandbox, SandboxOptions, world};
use serenity::all::{
    ChannelId, CreateMessage, CreateThread, EditMessage, EditThread, GuildId, Http, MessageId,
    ReactionType, RoleId, UserId,
};

use crate::support::bot::SAMPLE;
use crate::support::{eventually, http, post_message};

async fn sandbox() -> Sandbox {
    crate::support::bot::sample_sandbox().await
}

fn client(s: &Sandbox) -> Http {
    clanhall::testing::discord_http(s.token(), Some(s.base_url()))
}

fn general() -> ChannelId {
    ChannelId::new(world::channel("general").unwrap().id)
}

#[tokio::test]
async fn messages_create_edit_get_list_delete_through_serenity() {
    let s = sandbox().await;
    let http = client(&s);
    let m = general()
        .send_message(&http, CreateMessage::new().content("hello"))
        .await
        .unwrap();
    assert_eq!(m.content, "hello");
    assert_eq!(m.author.id.get(), world::BOT_ID);
    let edited = general()
        .edit_message(&http, m.id, EditMessage::new().content("hello again"))
        .await
        .unwrap();
    assert_eq!(edited.content, "hello again");
    assert!(edited.edited_timestamp.is_some());
    let got = general().message(&http, m.id).await.unwrap();
    assert_eq!(got.content, "hello again");
    let list = general()
        .messages(&http, serenity::all::GetMessages::new().limit(10))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    general().delete_message(&http, m.id).await.unwrap();
    // Unknown ids: 404 with Discord's error body.
    let err = general().message(&http, m.id).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Message"), "{err}");
    let raw = http_get(
        &s,
        &format!("/api/v10/channels/{}/messages/{}", general(), m.id),
    )
    .await;
    assert_eq!(raw.0, 404);
    assert_eq!(
        raw.1,
        serde_json::json!({"code": 10008, "message": "Unknown Message"})
    );
    let raw = http_get(&s, "/api/v10/channels/1/messages/2").await;
    assert_eq!(raw.1["code"], 10003);
    s.stop().await;
}

async fn http_get(s: &Sandbox, path: &str) -> (u16, serde_json::Value) {
    let resp = http()
        .get(format!("{}{path}", s.base_url()))
        .header("authorization", format!("Bot {}", s.token()))
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn requests_without_the_bot_token_are_rejected() {
    let s = sandbox().await;
    let resp = http()
        .get(format!("{}/api/v10/gateway", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let wrong = http()
        .get(format!("{}/api/v10/gateway", s.base_url()))
        .header("authorization", "Bot nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let statuses: Vec<_> = s
        .record()
        .filter(Channel::Rest)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![Some(401), Some(401)]);
    s.stop().await;
}

#[tokio::test]
async fn discord_limits_are_enforced() {
    let s = sandbox().await;
    let http = client(&s);
    // serenity checks length itself; the sandbox checks it for any client.
    assert!(
        general()
            .send_message(&http, CreateMessage::new().content("x".repeat(2001)))
            .await
            .is_err()
    );
    let post = |body: serde_json::Value| post_message(&s, general().get(), &body);
    let long = post(serde_json::json!({"content": "x".repeat(2001)}))
        .await
        .unwrap();
    assert_eq!(long.status(), 400);
    assert_eq!(
        long.json::<serde_json::Value>().await.unwrap()["message"],
        "Invalid Form Body"
    );
    let fields: Vec<serde_json::Value> = (0..7)
        .map(|i| serde_json::json!({"name": format!("f{i}"), "value": "v".repeat(1000)}))
        .collect();
    let too_big = post(serde_json::json!({"embeds": [{"title": "t", "fields": fields}]}))
        .await
        .unwrap();
    assert_eq!(
        too_big.status(),
        400,
        "7,000 embed characters is over Discord's 6,000"
    );
    let empty = post_message(&s, general().get(), &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    assert_eq!(
        empty.json::<serde_json::Value>().await.unwrap()["code"],
        50006
    );
    s.stop().await;
}

#[tokio::test]
async fn threads_members_roles_and_reactions() {
    let s = sandbox().await;
    let http = client(&s);
    let welcome = ChannelId::new(world::channel("welcome").unwrap().id);
    let thread = welcome
        .create_thread(
            &http,
            CreateThread::new("W0001-rue").kind(serenity::all::ChannelType::PrivateThread),
        )
        .await
        .unwrap();
    assert_eq!(thread.name, "W0001-rue");
    assert_eq!(thread.parent_id, Some(welcome));
    let recruit = UserId::new(world::user("recruit").unwrap().id);
    thread.id.add_thread_member(&http, recruit).await.unwrap();
    let members = thread.id.get_thread_members(&http).await.unwrap();
    assert_eq!(members.len(), 2);
    let edited = thread
        .id
        .edit_thread(
            &http,
            EditThread::new()
                .name("Res-W0001-rue")
                .archived(true)
                .locked(true),
        )
        .await
        .unwrap();
    assert_eq!(edited.name, "Res-W0001-rue");
    let meta = edited.thread_metadata.unwrap();
    assert!(meta.archived && meta.locked);
    // A locked thread refuses posts, as on Discord.
    assert!(
        thread
            .id
            .send_message(&http, CreateMessage::new().content("hi"))
            .await
            .is_err()
    );
    // THREAD_CREATE and THREAD_UPDATE would have been dispatched (no session here: recorded).
    let dispatched: Vec<String> = s
        .record()
        .filter(Channel::GatewayOut)
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert!(
        dispatched.iter().any(|p| p.starts_with("THREAD_CREATE"))
            && dispatched.iter().any(|p| p.starts_with("THREAD_UPDATE")),
        "{dispatched:?}"
    );

    let guild = GuildId::new(world::GUILD_ID);
    let staff = RoleId::new(world::role("staff").unwrap().id);
    http.add_member_role(guild, recruit, staff, None)
        .await
        .unwrap();
    assert_eq!(s.member_roles("recruit"), vec![staff.get()]);
    let member = guild.member(&http, recruit).await.unwrap();
    assert_eq!(member.roles, vec![staff]);
    http.remove_member_role(guild, recruit, staff, None)
        .await
        .unwrap();
    assert!(s.member_roles("recruit").is_empty());
    assert!(
        http.add_member_role(guild, recruit, RoleId::new(5), None)
            .await
            .unwrap_err()
            .to_string()
            .contains("Unknown Role")
    );

    let m = general()
        .send_message(&http, CreateMessage::new().content("react to me"))
        .await
        .unwrap();
    general()
        .create_reaction(&http, m.id, ReactionType::Unicode("🎫".into()))
        .await
        .unwrap();
    let users = general()
        .reaction_users(&http, m.id, ReactionType::Unicode("🎫".into()), None, None)
        .await
        .unwrap();
    assert_eq!(
        users.iter().map(|u| u.id.get()).collect::<Vec<_>>(),
        vec![world::BOT_ID]
    );
    assert!(
        general()
            .create_reaction(&http, MessageId::new(1), ReactionType::Unicode("🎫".into()))
            .await
            .is_err()
    );
    s.stop().await;
}

#[tokio::test]
async fn injected_http_faults_shape_the_response() {
    let s = sandbox().await;
    let path = format!("/api/v10/channels/{}/messages", general());
    s.fail_http(
        Some("GET"),
        &path,
        HttpFault::RateLimited { retry_after: 1.5 },
        Some(1),
    );
    let resp = http()
        .get(format!("{}{path}", s.base_url()))
        .header("authorization", format!("Bot {}", s.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["retry_after"], 1.5);
    // Used up: the next one goes through.
    assert_eq!(http_get(&s, &path).await.0, 200);
    // A delayed request sent first answers after an undelayed one sent later.
    s.fail_http(
        None,
        &path,
        HttpFault::Delay(Duration::from_secs(2)),
        Some(1),
    );
    let other = format!("/api/v10/channels/{}", general());
    let (slow, fast) = tokio::join!(http_get(&s, &path), async {
        tokio::task::yield_now().await;
        http_get(&s, &other).await
    });
    assert_eq!((slow.0, fast.0), (200, 200));
    let order: Vec<String> = s
        .record()
        .filter(Channel::Rest)
        .into_iter()
        .rev()
        .take(2)
        .map(|e| e.path)
        .collect();
    assert_eq!(order, [path.clone(), other], "the delayed answer came last");
    s.fail_http(None, &path, HttpFault::Status(403), Some(1));
    let (code, body) = http_get(&s, &path).await;
    assert_eq!((code, body["code"].as_u64()), (403, Some(0)));
    s.stop().await;
}

// --- Google -------------------------------------------------------------------------

type Hub = google_sheets4::Sheets<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

async fn hub(s: &Sandbox, key_json: &str) -> Hub {
    let key = yup_oauth2::parse_service_account_key(key_json).unwrap();
    let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
        .build()
        .await
        .unwrap();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    let mut hub = google_sheets4::Sheets::new(client, auth);
    hub.base_url(format!("{}/", s.base_url()));
    hub.root_url(format!("{}/", s.base_url()));
    hub
}

#[tokio::test]
async fn google_token_once_then_batch_get_update_append() {
    let s = sandbox().await;
    let hub = hub(&s, &s.service_account_json()).await;
    // One scope for every call, so yup-oauth2 keeps one token (it caches per scope set).
    use google_sheets4::api::Scope;
    let (_, res) = hub
        .spreadsheets()
        .values_batch_get(DEFAULT_SHEET_ID)
        .add_ranges("Config")
        .add_ranges("Config!A1:B2")
        .add_scope(Scope::Spreadsheet)
        .doit()
        .await
        .unwrap();
    let ranges = res.value_ranges.unwrap();
    assert_eq!(ranges.len(), 2);
    let rows = ranges[0].values.clone().unwrap();
    assert_eq!(rows[0][0], "Key");
    assert!(rows.iter().any(|r| r[0] == "LOG_CHANNEL_ID"));
    assert_eq!(ranges[1].range.as_deref(), Some("Config!A1:B2"));

    let update = google_sheets4::api::ValueRange {
        values: Some(vec![vec![
            serde_json::json!("NEW_KEY"),
            serde_json::json!("42"),
        ]]),
        ..Default::default()
    };
    hub.spreadsheets()
        .values_update(update, DEFAULT_SHEET_ID, "Config!A40")
        .value_input_option("RAW")
        .add_scope(Scope::Spreadsheet)
        .doit()
        .await
        .unwrap();
    let (_, got) = hub
        .spreadsheets()
        .values_get(DEFAULT_SHEET_ID, "Config!A40:B40")
        .add_scope(Scope::Spreadsheet)
        .doit()
        .await
        .unwrap();
    assert_eq!(
        got.values.unwrap(),
        vec![vec![serde_json::json!("NEW_KEY"), serde_json::json!("42")]]
    );

    let row = google_sheets4::api::ValueRange {
        values: Some(vec![vec![
            serde_json::json!("APPENDED"),
            serde_json::json!("1"),
        ]]),
        ..Default::default()
    };
    let (_, appended) = hub
        .spreadsheets()
        .values_append(row, DEFAULT_SHEET_ID, "Config!A:B")
        .value_input_option("RAW")
        .add_scope(Scope::Spreadsheet)
        .doit()
        .await
        .unwrap();
    assert_eq!(
        appended.updates.unwrap().updated_range.as_deref(),
        Some("Config!A41:B41")
    );

    // Four Sheets requests, one token.
    assert_eq!(s.google().token_requests(), 1);
    let sheets_calls = s
        .record()
        .filter(Channel::Google)
        .iter()
        .filter(|e| e.path.starts_with("/v4/"))
        .count();
    assert_eq!(sheets_calls, 4);
    s.stop().await;
}

#[tokio::test]
async fn google_rejects_a_foreign_key_and_unknown_ranges() {
    let s = sandbox().await;
    // A key that is not the sandbox's: same e-mail, different private key.
    let forged = {
        let mut v: serde_json::Value = serde_json::from_str(&s.service_account_json()).unwrap();
        v["private_key"] = serde_json::json!(clanhall_sandbox::google::UNTRUSTED_KEY_PEM);
        v.to_string()
    };
    let bad = hub(&s, &forged).await;
    let err = bad
        .spreadsheets()
        .values_get(DEFAULT_SHEET_ID, "Config")
        .doit()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("invalid_grant")
            || format!("{err:?}").contains("Invalid JWT Signature"),
        "{err:?}"
    );

    let good = hub(&s, &s.service_account_json()).await;
    let err = good
        .spreadsheets()
        .values_get(DEFAULT_SHEET_ID, "NoSuchTab!A1")
        .doit()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("Unable to parse range"),
        "{err:?}"
    );
    let err = good
        .spreadsheets()
        .values_get("not-a-sheet", "Config")
        .doit()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("404") || format!("{err:?}").contains("not found"),
        "{err:?}"
    );
    s.fail_http(
        None,
        "values:batchGet",
        HttpFault::RateLimited { retry_after: 1.0 },
        Some(1),
    );
    let err = good
        .spreadsheets()
        .values_batch_get(DEFAULT_SHEET_ID)
        .add_ranges("Config")
        .doit()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("429") || format!("{err:?}").contains("RESOURCE_EXHAUSTED"),
        "{err:?}"
    );
    s.stop().await;
}

// --- `clanhall sandbox --script` ----------------------------------------------------

fn run_script(script: &str) -> (i32, String, String) {
    crate::support::proc::sandbox_script(std::path::Path::new(SAMPLE), script)
}

/// The transcript block that answers `> user: line`.
fn block<'a>(transcript: &'a str, prompt: &str) -> &'a str {
    let start = transcript
        .find(prompt)
        .unwrap_or_else(|| panic!("{prompt} not in transcript:\n{transcript}"));
    let rest = &transcript[start..];
    let end = rest[1..].find("\n> ").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn script_help_by_each_user_shows_each_audience_its_own_help() {
    let script = "# every audience asks for help\nadmin: !help\nstaff: !help\nrecruiter: !help\nmember: !help\nrecruit: /help\n";
    let (code, out, err) = run_script(script);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let admin = block(&out, "> admin: !help");
    let staff = block(&out, "> staff: !help");
    let member = block(&out, "> member: !help");
    let recruit = block(&out, "> recruit: /help");
    assert!(
        admin.contains("▸ Admins") && admin.contains("!cfg <key>") && admin.contains("▸ Staff"),
        "{admin}"
    );
    assert!(
        staff.contains("▸ Staff") && !staff.contains("▸ Admins"),
        "{staff}"
    );
    assert!(
        member.contains("▸ Everyone") && !member.contains("▸ Staff"),
        "{member}"
    );
    assert!(
        recruit.contains("(only you can see this)") && recruit.contains("audience: member"),
        "{recruit}"
    );
    let blocks = [admin, staff, block(&out, "> recruiter: !help"), member];
    for (i, a) in blocks.iter().enumerate() {
        for b in &blocks[i + 1..] {
            assert_ne!(
                a.lines().skip(1).collect::<Vec<_>>(),
                b.lines().skip(1).collect::<Vec<_>>(),
                "two audiences saw the same help"
            );
        }
    }
    assert!(
        !out.contains("\"level\""),
        "logs must not mix into the transcript"
    );
}

/// Issue 11's acceptance script: Ticket Tool opens a ticket for someone who just joined,
/// greets them, and later closes, locks and archives it; the joined user and Ticket
/// Tool act like anyone else.
#[test]
fn script_ticket_tool_opens_greets_closes_and_archives_a_ticket() {
    let script = "\
# a new member arrives and Ticket Tool opens their ticket
admin: :join newbie
tickettool@welcome: :thread W0042-newbie private with newbie
tickettool: Welcome @newbie! A recruiter will be with you shortly.
newbie: hi, I would like to join a clan
tickettool: :add recruiter
recruiter: !ping
tickettool: Ticket Closed by @recruiter
tickettool: :rename closed-0042-newbie
tickettool: :lock
tickettool: :archive
newbie@general: !ping
";
    let (code, out, err) = run_script(script);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        block(&out, "> admin: :join newbie").contains("newbie joined the server"),
        "{out}"
    );
    assert!(
        block(&out, "> tickettool@welcome: :thread")
            .contains("[#welcome] tickettool opened private thread #W0042-newbie"),
        "{out}"
    );
    let ping = block(&out, "> recruiter: !ping");
    assert!(
        ping.contains("[#W0042-newbie]") && ping.contains("Pong"),
        "the bot answers inside the ticket thread:\n{out}"
    );
    assert!(
        block(&out, "> tickettool: :rename").contains("renamed to #closed-0042-newbie"),
        "{out}"
    );
    assert!(
        block(&out, "> tickettool: :lock").contains("[#closed-0042-newbie] tickettool locked"),
        "{out}"
    );
    assert!(block(&out, "> tickettool: :archive").contains("archived the thread"));
    assert!(
        block(&out, "> newbie@general: !ping").contains("Pong"),
        "a joined user is an actor like any other:\n{out}"
    );
}

#[test]
fn script_lines_that_cannot_run_make_the_exit_non_zero() {
    let (code, out, _) = run_script("nobody: !ping\nmember: :click 99\nmember: !ping\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("! line 1: unknown user \"nobody\""), "{out}");
    assert!(out.contains("! line 2: no component 99"), "{out}");
    assert!(
        block(&out, "> member: !ping").contains("Pong"),
        "the other lines still ran:\n{out}"
    );
}

#[tokio::test]
async fn script_exits_non_zero_when_the_bot_never_becomes_ready() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "member: !ping\n").unwrap();
    let env = std::collections::HashMap::from([
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("DATA_DIR", dir.path().join("data").display().to_string()),
        ("WORKBOOK_DIR", SAMPLE.to_owned()),
    ]);
    let settings = clanhall::testing::Settings::from_lookup(&|k| env.get(k).cloned()).unwrap();
    let shutdown = clanhall::testing::Shutdown::new();
    let frontend = clanhall::testing::sandbox::Frontend::Script(script.display().to_string());
    let opts = SandboxOptions {
        heartbeat_interval: Duration::from_millis(300),
        ..Default::default()
    };
    // The gateway never lets the bot in.
    let code = clanhall::testing::sandbox::run_with(
        settings,
        frontend,
        shutdown,
        opts,
        Duration::from_secs(3),
        |s| s.faults().refuse_gateway_for(Duration::from_secs(3600)),
        false,
    )
    .await;
    assert_ne!(code, 0);
    assert_eq!(code, clanhall::testing::sandbox::EXIT_NOT_READY);
}

/// Forwards every interaction the real serenity client receives to the test.
struct Interactions(tokio::sync::mpsc::UnboundedSender<serenity::all::Interaction>);

#[serenity::async_trait]
impl serenity::all::EventHandler for Interactions {
    async fn interaction_create(
        &self,
        _ctx: serenity::all::Context,
        i: serenity::all::Interaction,
    ) {
        let _ = self.0.send(i);
    }
}

async fn next_interaction(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<serenity::all::Interaction>,
) -> serenity::all::Interaction {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the client received no interaction within 5 s")
        .expect("the client stopped")
}

/// The `click`, `select`, `modal` and `submit_modal` helpers, end to end through a real
/// serenity gateway client: what the sandbox dispatches arrives as serenity's own
/// component and modal interactions, and the client's answers (update, defer, follow-up,
/// edit of the original, modal) land in the sandbox world.
#[tokio::test]
async fn components_and_modals_round_trip_through_a_real_serenity_client() {
    use serenity::all::{
        ActionRowComponent, ButtonStyle, ClientBuilder, ComponentInteractionDataKind,
        CreateActionRow, CreateButton, CreateInputText, CreateInteractionResponse,
        CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateModal,
        CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption, EditInteractionResponse,
        InputTextStyle, Interaction,
    };
    let s = sandbox().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut client = ClientBuilder::new_with_http(client(&s), clanhall::testing::discord_intents())
        .event_handler(Interactions(tx))
        .await
        .unwrap();
    let http = client.http.clone();
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });
    assert!(
        eventually(Duration::from_secs(5), || async { s.bot_connected() }).await,
        "the client never connected"
    );

    let menu = CreateSelectMenu::new(
        "pick",
        CreateSelectMenuKind::String {
            options: ["a", "b", "c"]
                .into_iter()
                .map(|v| CreateSelectMenuOption::new(v.to_uppercase(), v))
                .collect(),
        },
    )
    .max_values(2);
    let posted = general()
        .send_message(
            &http,
            CreateMessage::new().content("choose").components(vec![
                CreateActionRow::Buttons(vec![
                    CreateButton::new("flip").label("Flip"),
                    CreateButton::new("ask")
                        .label("Ask")
                        .style(ButtonStyle::Secondary),
                    CreateButton::new("off").label("Off").disabled(true),
                ]),
                CreateActionRow::SelectMenu(menu),
            ]),
        )
        .await
        .unwrap();
    let mid = posted.id.get();
    let member = world::user("member").unwrap().id;

    // A button click arrives as a component interaction; UpdateMessage edits the message.
    let clicked = s.click("member", mid, "flip").unwrap();
    let Interaction::Component(c) = next_interaction(&mut rx).await else {
        panic!("a click must arrive as a component interaction")
    };
    assert_eq!(c.id.get(), clicked);
    assert_eq!(c.data.custom_id, "flip");
    assert!(matches!(c.data.kind, ComponentInteractionDataKind::Button));
    assert_eq!(c.user.id.get(), member);
    assert_eq!(c.message.id, posted.id);
    assert_eq!(c.channel_id, general());
    c.create_response(
        &http,
        CreateInteractionResponse::UpdateMessage(
            CreateInteractionResponseMessage::new().content("flipped"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(s.message(mid).unwrap()["content"], "flipped");

    // Disabled buttons and values a menu does not offer are refused before dispatch.
    assert!(s.click("member", mid, "off").is_err());
    assert!(s.click("member", mid, "nope").is_err());
    assert!(s.select("member", mid, "pick", &["z"]).is_err());

    // A select: deferred, then a follow-up and an edit of the original response.
    s.select("member", mid, "pick", &["b", "c"]).unwrap();
    let Interaction::Component(c) = next_interaction(&mut rx).await else {
        panic!("a select must arrive as a component interaction")
    };
    match &c.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => {
            assert_eq!(values, &["b".to_owned(), "c".to_owned()])
        }
        other => panic!("expected a string select, got {other:?}"),
    }
    c.defer(&http).await.unwrap();
    let follow = c
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new().content("you picked b and c"),
        )
        .await
        .unwrap();
    assert_eq!(follow.channel_id, general());
    let edited = c
        .edit_response(&http, EditInteractionResponse::new().content("noted"))
        .await
        .unwrap();
    assert_eq!(edited.content, "noted");
    let contents: Vec<String> = s
        .channel_messages("general")
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    assert!(
        contents.contains(&"you picked b and c".to_owned()),
        "{contents:?}"
    );

    // A modal: opened in answer to a click, submitted with its fields.
    let asked = s.click("member", mid, "ask").unwrap();
    let Interaction::Component(c) = next_interaction(&mut rx).await else {
        panic!("a click must arrive as a component interaction")
    };
    assert!(
        s.modal(asked).is_none(),
        "no modal before the bot opens one"
    );
    c.create_response(
        &http,
        CreateInteractionResponse::Modal(CreateModal::new("why-modal", "Tell us").components(
            vec![
                CreateActionRow::InputText(CreateInputText::new(
                    InputTextStyle::Short,
                    "Why?",
                    "why",
                )),
                CreateActionRow::InputText(
                    CreateInputText::new(InputTextStyle::Paragraph, "More", "more").required(false),
                ),
            ],
        )),
    )
    .await
    .unwrap();
    let modal = s.modal(asked).expect("the modal the client opened");
    assert_eq!(modal["custom_id"], "why-modal");
    assert!(
        s.submit_modal("member", asked, &[]).is_err(),
        "a required field left empty is refused"
    );
    assert!(
        s.submit_modal("member", asked, &[("why", "x"), ("nope", "y")])
            .is_err(),
        "a field the modal does not have is refused"
    );
    s.submit_modal("member", asked, &[("why", "because")])
        .unwrap();
    let Interaction::Modal(m) = next_interaction(&mut rx).await else {
        panic!("a submitted modal must arrive as a modal interaction")
    };
    assert_eq!(m.data.custom_id, "why-modal");
    assert_eq!(m.user.id.get(), member);
    let fields: Vec<(String, Option<String>)> = m
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|c| match c {
            ActionRowComponent::InputText(t) => Some((t.custom_id.clone(), t.value.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            ("why".to_owned(), Some("because".to_owned())),
            ("more".to_owned(), Some(String::new())),
        ]
    );
    m.create_response(
        &http,
        CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new().content("thanks"),
        ),
    )
    .await
    .unwrap();
    assert!(s.modal(asked).is_none(), "a submitted modal is closed");
    assert!(
        s.submit_modal("member", asked, &[("why", "again")])
            .is_err(),
        "a closed modal cannot be submitted twice"
    );

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
    s.stop().await;
}
