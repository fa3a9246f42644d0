//! A discord.py 2.x bot (`discord_py_bot.py`) against the sandbox: READY (with member
//! chunking), a message answered with an embed reply, a slash command answered with
//! `send_message`, a deferred follow-up, a button and a modal. `.ci/run` installs
//! discord.py from PyPI into `target/discord-py`; where it is not installed the test says
//! so loudly on stderr and does nothing else (set `CLANHALL_DISCORD_PY` to another
//! Python with discord.py to use that one).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use clanhall_sandbox::{Reply, Sandbox, world};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

const STEP_WITHIN: Duration = Duration::from_secs(20);

/// The Python that has discord.py, or why there is none.
fn python() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("CLANHALL_DISCORD_PY") {
        return Ok(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/discord-py/bin/python");
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} does not exist; `bash .ci/run` installs discord.py there",
            p.display()
        ))
    }
}

struct PyBot {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl PyBot {
    async fn start(python: &PathBuf, s: &Sandbox) -> PyBot {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/conformance/discord_py_bot.py");
        let ws = format!("{}/gateway", s.base_url().replacen("http", "ws", 1));
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .env("SANDBOX_API", s.base_url())
            .env("SANDBOX_WS", ws)
            .env("DISCORD_TOKEN", s.token())
            .env("GUILD_ID", world::GUILD_ID.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python starts");
        let out = child.stdout.take().expect("piped stdout");
        PyBot {
            child,
            lines: BufReader::new(out).lines(),
        }
    }

    /// Waits for the bot to report `step`; panics with what it reported instead.
    async fn step(&mut self, step: &str) -> Value {
        let deadline = tokio::time::Instant::now() + STEP_WITHIN;
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line()).await;
            match line {
                Ok(Ok(Some(l))) => {
                    let v: Value = serde_json::from_str(&l).unwrap_or(Value::String(l));
                    if v["step"] == step {
                        return v;
                    }
                    assert_ne!(v["step"], "error", "discord.py failed: {v}");
                    seen.push(v);
                }
                Ok(_) => panic!("discord.py exited before {step:?}; it said {seen:?}"),
                Err(_) => {
                    panic!("no {step:?} from discord.py within {STEP_WITHIN:?}; it said {seen:?}")
                }
            }
        }
    }
}

async fn bot_message(s: &Sandbox, mark: u64, pred: impl Fn(&Reply) -> bool) -> Reply {
    s.wait_bot_message(mark, STEP_WITHIN, pred)
        .await
        .expect("the discord.py bot's message arrives")
}

#[tokio::test]
async fn a_discord_py_bot_runs_against_the_sandbox() {
    let python = match python() {
        Ok(p) => p,
        Err(why) => {
            eprintln!(
                "\n**** SKIPPED conformance::discord_py: discord.py is not installed ({why}). \
                 The second-client fidelity check did not run. ****\n"
            );
            return;
        }
    };
    let s = crate::support::bot::sample_sandbox().await;
    let mut bot = PyBot::start(&python, &s).await;

    let ready = bot.step("ready").await;
    assert_eq!(ready["user"], world::BOT_NAME);
    assert_eq!(ready["guild"], world::GUILD_NAME);
    assert_eq!(
        ready["chunked"], true,
        "members arrived through op 8: {ready}"
    );
    assert_eq!(
        ready["commands"],
        serde_json::json!(["form", "hello", "later"])
    );

    // A message, answered with an embed reply (type 19).
    let mark = s.mark();
    let asked = s.say("member", "general", "!hello").unwrap();
    bot.step("message").await;
    let reply = bot_message(&s, mark, |r| !r.embeds().is_empty()).await;
    let m = s.message(reply.message_id().unwrap()).unwrap();
    assert_eq!(m["type"], 19);
    assert_eq!(m["referenced_message"]["id"], asked.to_string());
    assert_eq!(reply.embeds()[0]["title"], "Hello");

    // A slash command answered with send_message.
    let mark = s.mark();
    s.slash("member", "general", "/hello").unwrap();
    bot.step("slash").await;
    bot_message(&s, mark, |r| r.content() == "hello from discord.py").await;

    // Deferred, then a follow-up.
    let mark = s.mark();
    s.slash("member", "general", "/later").unwrap();
    bot.step("deferred").await;
    bot_message(&s, mark, |r| r.content() == "done later").await;

    // A button on a persistent view.
    s.say("member", "general", "!buttons").unwrap();
    let sent = bot.step("buttons").await;
    let id: u64 = sent["message_id"].as_str().unwrap().parse().unwrap();
    let mark = s.mark();
    s.click("recruit", id, "dpy:press").unwrap();
    assert_eq!(
        bot.step("button").await["user"],
        world::user("recruit").unwrap().username
    );
    let pressed = bot_message(&s, mark, |r| r.content().starts_with("pressed by")).await;
    assert_eq!(pressed.message_id(), Some(id), "edited in place");

    // A modal, opened and submitted.
    let opened = s.slash("member", "general", "/form").unwrap();
    bot.step("modal_opened").await;
    let mark = s.mark();
    s.submit_modal("member", opened, &[("dpy:answer", "forty-two")])
        .unwrap();
    assert_eq!(bot.step("modal").await["value"], "forty-two");
    bot_message(&s, mark, |r| r.content() == "you said forty-two").await;

    let _ = bot.child.kill().await;
    s.stop().await;
}
