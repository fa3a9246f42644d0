//! Conformance (issue 11, item 7): every REST answer the sandbox gives and every object
//! its gateway sends is checked against the response schemas of Discord's OpenAPI spec:
//! required fields present, snowflakes as strings, nested objects by their own schema.
//! The facts come from the spec through `tools/spec_facts.py` ([`spec_facts`]); the
//! second, independent client is discord.py ([`discord_py`]).

mod discord_py;
mod spec_facts;

use std::collections::BTreeSet;
use std::time::Duration;

use clanhall_sandbox::record::Channel;
use clanhall_sandbox::{Sandbox, world};
use serde_json::{Value, json};
use serenity::all::{Event, GatewayIntents};

use crate::support::gateway::GatewayClient;
use spec_facts::{SCHEMAS, Schema};

fn schema(name: &str) -> &'static Schema {
    let name = spec_facts::ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, same)| *same);
    SCHEMAS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no schema {name} in the spec facts"))
}

/// What is wrong with `v` as a `name`, each problem with its path.
fn problems(v: &Value, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(v, schema(name), name, &mut out);
    out
}

fn check(v: &Value, s: &Schema, path: &str, out: &mut Vec<String>) {
    let Some(obj) = v.as_object() else {
        out.push(format!("{path}: not an object ({v})"));
        return;
    };
    for field in s.required {
        if !obj.contains_key(*field) {
            out.push(format!(
                "{path}.{field}: required by {} but missing",
                s.name
            ));
        }
    }
    for field in s.snowflakes {
        let bad = |x: &Value| !x.is_null() && x.as_str().is_none_or(|t| t.parse::<u64>().is_err());
        match obj.get(*field) {
            Some(Value::Array(items)) if items.iter().any(bad) => {
                out.push(format!(
                    "{path}.{field}: snowflakes must be strings ({:?})",
                    items
                ));
            }
            Some(x) if !x.is_array() && bad(x) => {
                out.push(format!(
                    "{path}.{field}: a snowflake must be a string ({x})"
                ));
            }
            _ => {}
        }
    }
    for (field, inner, array) in s.objects {
        let Some(x) = obj.get(*field).filter(|x| !x.is_null()) else {
            continue;
        };
        let inner = schema(inner);
        if *array {
            match x.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        check(item, inner, &format!("{path}.{field}[{i}]"), out);
                    }
                }
                None => out.push(format!("{path}.{field}: expected an array")),
            }
        } else {
            check(x, inner, &format!("{path}.{field}"), out);
        }
    }
}

#[test]
fn the_checker_finds_missing_fields_numeric_snowflakes_and_nested_problems() {
    let user = json!({"id": "1", "username": "u", "avatar": null, "discriminator": "0",
        "public_flags": 0, "flags": 0, "global_name": null, "primary_guild": null});
    assert!(problems(&user, "UserResponse").is_empty());
    let mut numeric = user.clone();
    numeric["id"] = json!(1);
    assert_eq!(problems(&numeric, "UserResponse").len(), 1);
    let member = json!({"user": {"id": "1"}, "roles": [], "joined_at": "x", "nick": null,
        "avatar": null, "banner": null, "communication_disabled_until": null, "flags": 0,
        "pending": false, "premium_since": null, "mute": false, "deaf": false});
    let p = problems(&member, "GuildMemberResponse");
    assert!(
        p.iter()
            .any(|x| x.starts_with("GuildMemberResponse.user.username")),
        "{p:?}"
    );
}

/// The answer's body, which must be a success.
async fn call(s: &Sandbox, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let resp = request(s, method.clone(), path, body).send().await.unwrap();
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

/// `v` as `name` (or each element, when `v` is an array), collecting problems under `what`.
fn expect(all: &mut Vec<String>, what: &str, v: &Value, name: &str) {
    let items = v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]);
    assert!(!items.is_empty(), "{what}: nothing to check");
    for (i, item) in items.iter().enumerate() {
        for p in problems(item, name) {
            all.push(format!("{what} [{i}]: {p}"));
        }
    }
}

#[tokio::test]
async fn every_rest_answer_has_the_fields_discords_schemas_require() {
    use reqwest::Method as M;
    let s = crate::support::bot::sample_sandbox().await;
    let mut c = GatewayClient::connect(&s, GatewayIntents::all()).await;
    let general = world::channel("general").unwrap().id;
    let guild = world::GUILD_ID;
    let app = world::BOT_ID;
    let member = world::user("member").unwrap().id;
    let mut all = Vec::new();
    let mut seen = BTreeSet::new();
    let get = async |path: &str, name: &str, all: &mut Vec<String>| {
        let v = call(&s, M::GET, path, None).await;
        expect(all, &format!("GET {path}"), &v, name);
        v
    };
    get("/gateway", "GatewayResponse", &mut all).await;
    get("/gateway/bot", "GatewayBotResponse", &mut all).await;
    get(
        "/oauth2/applications/@me",
        "PrivateApplicationResponse",
        &mut all,
    )
    .await;
    get("/applications/@me", "PrivateApplicationResponse", &mut all).await;
    get("/users/@me", "UserPIIResponse", &mut all).await;
    get(&format!("/users/{member}"), "UserResponse", &mut all).await;
    get(
        &format!("/guilds/{guild}"),
        "GuildWithCountsResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/guilds/{guild}/channels"),
        "GuildChannelResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/guilds/{guild}/roles"),
        "GuildRoleResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/guilds/{guild}/members?limit=100"),
        "GuildMemberResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/guilds/{guild}/members/search?query=r"),
        "GuildMemberResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/guilds/{guild}/members/{member}"),
        "GuildMemberResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/channels/{general}"),
        "GuildChannelResponse",
        &mut all,
    )
    .await;

    let commands = json!([{"name": "ping", "description": "Ping", "type": 1}]);
    let path = format!("/applications/{app}/guilds/{guild}/commands");
    let v = call(&s, M::PUT, &path, Some(commands.clone())).await;
    expect(
        &mut all,
        &format!("PUT {path}"),
        &v,
        "ApplicationCommandResponse",
    );
    get(&path, "ApplicationCommandResponse", &mut all).await;
    let path = format!("/applications/{app}/commands");
    let v = call(&s, M::PUT, &path, Some(commands)).await;
    expect(
        &mut all,
        &format!("PUT {path}"),
        &v,
        "ApplicationCommandResponse",
    );

    let said = s.say("member", "general", "hello").unwrap();
    let body = json!({
        "content": "a reply",
        "embeds": [{"title": "T", "description": "D", "fields": [{"name": "n", "value": "v"}],
                    "footer": {"text": "f"}}],
        "components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Go", "custom_id": "conf:go"}]}],
        "message_reference": {"message_id": said.to_string()},
    });
    let path = format!("/channels/{general}/messages");
    let posted = call(&s, M::POST, &path, Some(body)).await;
    expect(
        &mut all,
        &format!("POST {path}"),
        &posted,
        "MessageResponse",
    );
    let mid = posted["id"].as_str().unwrap().to_owned();
    let path = format!("/channels/{general}/messages/{mid}/reactions/%E2%9C%85/@me");
    call_no_content(&s, M::PUT, &path).await;
    let path = format!("/channels/{general}/messages/{mid}");
    let got = get(&path, "MessageResponse", &mut all).await;
    assert!(
        got["reactions"].as_array().is_some_and(|r| !r.is_empty()),
        "the reaction is on the message: {got}"
    );
    let edited = call(&s, M::PATCH, &path, Some(json!({"content": "edited"}))).await;
    expect(
        &mut all,
        &format!("PATCH {path}"),
        &edited,
        "MessageResponse",
    );
    get(
        &format!("/channels/{general}/messages?limit=5"),
        "MessageResponse",
        &mut all,
    )
    .await;
    get(
        &format!("/channels/{general}/messages/{mid}/reactions/%E2%9C%85"),
        "UserResponse",
        &mut all,
    )
    .await;

    let path = format!("/channels/{general}/messages/{mid}/threads");
    let t = call(&s, M::POST, &path, Some(json!({"name": "from-a-message"}))).await;
    expect(&mut all, &format!("POST {path}"), &t, "ThreadResponse");
    let path = format!("/channels/{general}/threads");
    let t = call(
        &s,
        M::POST,
        &path,
        Some(json!({"name": "a-thread", "type": 12})),
    )
    .await;
    expect(
        &mut all,
        &format!("POST {path}"),
        &t,
        "CreatedThreadResponse",
    );
    let tid = t["id"].as_str().unwrap().to_owned();
    let path = format!("/channels/{tid}/thread-members/{member}");
    call_no_content(&s, M::PUT, &path).await;
    get(&path, "ThreadMemberResponse", &mut all).await;
    get(
        &format!("/channels/{tid}/thread-members"),
        "ThreadMemberResponse",
        &mut all,
    )
    .await;
    get(&format!("/channels/{tid}"), "ThreadResponse", &mut all).await;
    let path = format!("/channels/{tid}");
    let v = call(&s, M::PATCH, &path, Some(json!({"name": "renamed"}))).await;
    expect(&mut all, &format!("PATCH {path}"), &v, "ThreadResponse");

    // An interaction: the callback with its response, a follow-up, the original.
    s.slash("member", "general", "/ping").unwrap();
    let Some(Event::InteractionCreate(ic)) = c
        .next_where(Duration::from_secs(5), |e| {
            matches!(e, Event::InteractionCreate(_))
        })
        .await
    else {
        panic!("no INTERACTION_CREATE")
    };
    let cmd = ic.interaction.command().unwrap();
    let path = format!(
        "/interactions/{}/{}/callback?with_response=true",
        cmd.id, cmd.token
    );
    let v = call(
        &s,
        M::POST,
        &path,
        Some(json!({"type": 4, "data": {"content": "pong"}})),
    )
    .await;
    expect(
        &mut all,
        "POST interaction callback",
        &v,
        "InteractionCallbackResponse",
    );
    expect(
        &mut all,
        "POST interaction callback (resource)",
        &v["resource"],
        "CreateMessageInteractionCallbackResponse",
    );
    let hook = format!("/webhooks/{app}/{}", cmd.token);
    let v = call(&s, M::POST, &hook, Some(json!({"content": "later"}))).await;
    expect(&mut all, "POST follow-up", &v, "MessageResponse");
    let original = format!("{hook}/messages/@original");
    get(&original, "MessageResponse", &mut all).await;
    let v = call(&s, M::PATCH, &original, Some(json!({"content": "pong!"}))).await;
    expect(&mut all, "PATCH @original", &v, "MessageResponse");

    // Errors: the generic shape, a form error, a rate limit.
    let missing = raw(&s, M::GET, "/channels/1/messages/2", None).await;
    expect(&mut all, "404", &missing, "ErrorResponse");
    let invalid = raw(
        &s,
        M::POST,
        &format!("/channels/{general}/messages"),
        Some(json!({})),
    )
    .await;
    expect(&mut all, "50035", &invalid, "ErrorResponse");
    let mut limited = Value::Null;
    for _ in 0..10 {
        let body = json!({"content": "burst"});
        let v = raw(
            &s,
            M::POST,
            &format!("/channels/{general}/messages"),
            Some(body),
        )
        .await;
        if v.get("retry_after").is_some() {
            limited = v;
            break;
        }
    }
    expect(&mut all, "429", &limited, "RatelimitedResponse");

    // What the gateway sent while all of that happened.
    for e in s.record().filter(Channel::GatewayOut) {
        let d = &e.body;
        let what = format!("gateway {}", e.path);
        let name = match e.path.as_str() {
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" if d.get("author").is_some() => "MessageResponse",
            "THREAD_CREATE" | "THREAD_UPDATE" => "ThreadResponse",
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" => "GuildChannelResponse",
            "READY" => {
                expect(&mut all, &what, &d["user"], "UserResponse");
                seen.insert(e.path.clone());
                continue;
            }
            "GUILD_CREATE" => {
                expect(
                    &mut all,
                    "GUILD_CREATE roles",
                    &d["roles"],
                    "GuildRoleResponse",
                );
                expect(
                    &mut all,
                    "GUILD_CREATE channels",
                    &d["channels"],
                    "GuildChannelResponse",
                );
                expect(
                    &mut all,
                    "GUILD_CREATE members",
                    &d["members"],
                    "GuildMemberResponse",
                );
                if d["threads"].as_array().is_some_and(|t| !t.is_empty()) {
                    expect(
                        &mut all,
                        "GUILD_CREATE threads",
                        &d["threads"],
                        "ThreadResponse",
                    );
                }
                seen.insert(e.path.clone());
                continue;
            }
            _ => continue,
        };
        seen.insert(e.path.clone());
        expect(&mut all, &what, d, name);
    }
    for t in [
        "READY",
        "GUILD_CREATE",
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "THREAD_CREATE",
    ] {
        assert!(seen.contains(t), "no {t} was checked: {seen:?}");
    }
    assert!(
        all.is_empty(),
        "{} problems:\n{}",
        all.len(),
        all.join("\n")
    );
    c.stop().await;
    s.stop().await;
}

/// A request to the sandbox's REST API as the bot.
fn request(
    s: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::RequestBuilder {
    let req = crate::support::http()
        .request(method, format!("{}/api/v10{path}", s.base_url()))
        .header("authorization", format!("Bot {}", s.token()));
    match body {
        Some(b) => req.json(&b),
        None => req,
    }
}

/// The answer's body, whatever its status.
async fn raw(s: &Sandbox, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let resp = request(s, method, path, body).send().await.unwrap();
    resp.json().await.unwrap_or(Value::Null)
}

async fn call_no_content(s: &Sandbox, method: reqwest::Method, path: &str) {
    let resp = request(s, method.clone(), path, None).send().await.unwrap();
    assert_eq!(resp.status(), 204, "{method} {path}");
}
