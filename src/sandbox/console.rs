//! The operator's side of `clanhall sandbox`: an interactive console (pick who you are,
//! type messages or slash commands, click components by number) and a script runner
//! (`user: text` per line) that prints a transcript.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clanhall_sandbox::activity::Kind;
use clanhall_sandbox::{Reply, Sandbox, ThreadChange, world};

use super::render::{ComponentRef, render, render_modal};
use crate::discord::HandledEvents;
use crate::runtime::{Shutdown, ShutdownReason};

/// How long the console waits for the bot to finish with one input before showing what
/// it has so far.
pub(crate) const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// What the console sent, so it can wait until the bot has handled exactly that.
enum Sent {
    Message(u64),
    Interaction(u64),
}

/// Console state: who is typing where, what can be clicked, the last open modal.
pub(crate) struct Session<'a> {
    pub sandbox: &'a Sandbox,
    /// The bot's record of what it has finished handling.
    pub handled: Arc<HandledEvents>,
    pub user: String,
    pub channel: String,
    pub components: Vec<ComponentRef>,
    pub last_modal: Option<u64>,
}

/// One parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    Say(String),
    Slash(String),
    Click(String),
    Select(String, Vec<String>),
    Modal(Vec<(String, String)>),
    As(String),
    In(String),
    /// Someone new joins the server.
    Join(String),
    /// A member leaves the server.
    Leave(String),
    /// The current user opens a thread in the current channel and moves into it.
    Thread {
        name: String,
        private: bool,
        with: Vec<String>,
    },
    /// The current user changes the thread they are in.
    ChangeThread(ThreadChange),
    /// The current user adds someone to the thread they are in.
    AddToThread(String),
    Wait(Duration),
    Help,
    Users,
    Channels,
    Quit,
    Nothing,
}

pub(crate) const HELP: &str = "\
Type a message to send it (\"!ping\", \"@clanhall help\"), or a slash command (\"/help\").
  :as <user>            become someone else (admin, staff, recruiter, member, recruit,
                        the tickettool bot, or anyone who joined)
  :in <channel>         move to a channel (general, ops-log, recruiters, welcome, ...)
  :join <name>          someone new joins the server (then :as <name> works)
  :leave <user>         a member leaves the server
  :thread <name> [private] [with a, b]
                        open a thread here (as Ticket Tool: a ticket) and move into it
  :archive  :unarchive  :lock  :rename <name>
                        change the thread you are in
  :add <user>           add someone to the thread you are in
  :click <n>            click button n (numbers are shown as [n] under bot messages)
  :select <n> <value>   pick option(s) in select n (comma-separated values)
  :modal a=1; b=two     answer the last modal the bot opened
  :wait <2s|500ms>      wait
  :users  :channels  :help  :quit";

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    s.trim_end_matches('s')
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0 && *v < 3600.0)
        .map(Duration::from_secs_f64)
}

/// Parses what the operator typed.
pub(crate) fn parse_input(line: &str) -> Result<Input, String> {
    let t = line.trim();
    if t.is_empty() {
        return Ok(Input::Nothing);
    }
    if t.starts_with('/') {
        return Ok(Input::Slash(t.to_owned()));
    }
    let Some(meta) = t.strip_prefix(':') else {
        return Ok(Input::Say(t.to_owned()));
    };
    let (cmd, arg) = meta
        .split_once(char::is_whitespace)
        .map(|(c, a)| (c, a.trim()))
        .unwrap_or((meta, ""));
    let need = |what: &str| {
        if arg.is_empty() {
            Err(format!(":{cmd} needs {what}"))
        } else {
            Ok(arg.to_owned())
        }
    };
    Ok(match cmd {
        "as" => Input::As(need("a user")?),
        "in" => Input::In(need("a channel")?),
        "click" => Input::Click(need("a component number")?),
        "select" => {
            let (n, values) = arg
                .split_once(char::is_whitespace)
                .ok_or(":select needs a number and a value")?;
            Input::Select(
                n.to_owned(),
                values
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect(),
            )
        }
        "modal" => Input::Modal(
            arg.split(';')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .ok_or(format!("{p:?}: expected field=value"))
                })
                .collect::<Result<_, _>>()?,
        ),
        "wait" => {
            Input::Wait(parse_duration(arg).ok_or(":wait needs a duration such as 2s or 500ms")?)
        }
        "join" => Input::Join(need("a username")?),
        "leave" => Input::Leave(need("a user")?),
        "thread" => parse_thread(&need("a thread name")?)?,
        "archive" => Input::ChangeThread(ThreadChange::archive()),
        "unarchive" => Input::ChangeThread(ThreadChange::unarchive()),
        "lock" => Input::ChangeThread(ThreadChange::lock()),
        "rename" => Input::ChangeThread(ThreadChange::rename(&need("a new name")?)),
        "add" => Input::AddToThread(need("a user")?),
        "help" | "h" | "?" => Input::Help,
        "users" => Input::Users,
        "channels" => Input::Channels,
        "quit" | "q" | "exit" => Input::Quit,
        other => return Err(format!("unknown console command :{other} (try :help)")),
    })
}

/// `:thread <name> [private] [with a, b]`.
fn parse_thread(arg: &str) -> Result<Input, String> {
    let (head, with) = match arg.split_once(" with ") {
        Some((h, w)) => (
            h,
            w.split([',', ' '])
                .map(|u| u.trim().trim_start_matches('@').to_owned())
                .filter(|u| !u.is_empty())
                .collect(),
        ),
        None => (arg, Vec::new()),
    };
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let private = words.last() == Some(&"private");
    if private {
        words.pop();
    }
    if words.is_empty() {
        return Err(":thread needs a thread name".to_owned());
    }
    Ok(Input::Thread {
        name: words.join(" "),
        private,
        with,
    })
}

/// A script line: `user: text`, or `user@channel: text`. `#` starts a comment.
pub(crate) fn parse_script_line(
    line: &str,
) -> Result<Option<(String, Option<String>, String)>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let (who, text) = t.split_once(':').ok_or("expected `user: text`")?;
    let who = who.trim();
    if who.is_empty() || who.contains(char::is_whitespace) {
        return Err(format!("{who:?} is not a user name; expected `user: text`"));
    }
    let (user, channel) = match who.split_once('@') {
        Some((u, c)) => (u.to_owned(), Some(c.to_owned())),
        None => (who.to_owned(), None),
    };
    Ok(Some((user, channel, text.trim().to_owned())))
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        sandbox: &'a Sandbox,
        handled: Arc<HandledEvents>,
        user: &str,
        channel: &str,
    ) -> Self {
        Session {
            sandbox,
            handled,
            user: user.to_owned(),
            channel: channel.to_owned(),
            components: Vec::new(),
            last_modal: None,
        }
    }

    fn component(&self, n: &str) -> Result<ComponentRef, String> {
        let found = match n.parse::<usize>() {
            Ok(num) => self.components.iter().find(|c| c.number == num),
            Err(_) => self.components.iter().rev().find(|c| c.custom_id == n),
        };
        found.cloned().ok_or_else(|| {
            format!("no component {n} (numbers are shown as [n] under bot messages)")
        })
    }

    /// Runs one input and returns the text to show (the bot's replies, or an error).
    pub(crate) async fn step(&mut self, input: Input) -> Result<String, String> {
        let mark = self.sandbox.mark();
        let sent = match input {
            Input::Nothing => return Ok(String::new()),
            Input::Help => return Ok(HELP.to_owned()),
            Input::Users => {
                return Ok(world::speakers()
                    .map(|u| {
                        let bot = if u.bot { " (a bot)" } else { "" };
                        format!("  {:<10} {}{bot}", u.key, u.display)
                    })
                    .collect::<Vec<_>>()
                    .join("\n"));
            }
            Input::Channels => {
                return Ok(world::CHANNELS
                    .iter()
                    .map(|c| format!("  #{:<12} {}", c.name, c.topic))
                    .collect::<Vec<_>>()
                    .join("\n"));
            }
            Input::Quit => return Ok(String::new()),
            Input::As(u) => {
                self.user = self.sandbox.speaker(&u).map_err(|e| e.to_string())?;
                return Ok(format!("you are now {}", self.user));
            }
            Input::Join(name) => {
                let id = self.sandbox.member_join(&name).map_err(|e| e.to_string())?;
                return Ok(self.after(mark, format!("{name} joined the server (id {id})")));
            }
            Input::Leave(user) => {
                self.sandbox
                    .member_leave(&user)
                    .map_err(|e| e.to_string())?;
                return Ok(self.after(mark, format!("{user} left the server")));
            }
            Input::Thread {
                name,
                private,
                with,
            } => {
                let with: Vec<&str> = with.iter().map(String::as_str).collect();
                self.sandbox
                    .open_thread(&self.user, &self.channel, &name, private, &with)
                    .map_err(|e| e.to_string())?;
                let what = format!(
                    "[#{}] {} opened {}thread #{name}",
                    self.channel,
                    self.user,
                    if private { "private " } else { "" }
                );
                self.channel = name;
                return Ok(self.after(mark, what));
            }
            Input::ChangeThread(change) => {
                let what = describe(&change);
                let renamed = change.name.clone();
                self.sandbox
                    .change_thread(&self.user, &self.channel, change)
                    .map_err(|e| e.to_string())?;
                let note = format!("[#{}] {} {what} the thread", self.channel, self.user);
                if let Some(n) = renamed {
                    self.channel = n;
                }
                return Ok(self.after(mark, note));
            }
            Input::AddToThread(member) => {
                self.sandbox
                    .add_to_thread(&self.user, &self.channel, &member)
                    .map_err(|e| e.to_string())?;
                let note = format!("[#{}] {} added {member}", self.channel, self.user);
                return Ok(self.after(mark, note));
            }
            Input::In(c) => {
                let name = c.trim_start_matches('#');
                if self.sandbox.channel_messages(name).is_empty()
                    && world::channel(name).is_none()
                    && !self.thread_exists(name)
                {
                    return Err(format!("unknown channel {c:?}; try :channels"));
                }
                self.channel = name.to_owned();
                return Ok(format!("you are now in #{name}"));
            }
            Input::Wait(d) => {
                tokio::time::sleep(d).await;
                return Ok(String::new());
            }
            Input::Say(text) => self
                .sandbox
                .say(&self.user, &self.channel, &text)
                .map(Sent::Message),
            Input::Slash(line) => self
                .sandbox
                .slash(&self.user, &self.channel, &line)
                .map(Sent::Interaction),
            Input::Click(n) => {
                let c = self.component(&n)?;
                if c.kind != 2 {
                    return Err(format!(
                        "[{}] is a select menu; use :select {} <value>",
                        c.number, c.number
                    ));
                }
                self.sandbox
                    .click(&self.user, c.message_id, &c.custom_id)
                    .map(Sent::Interaction)
            }
            Input::Select(n, values) => {
                let c = self.component(&n)?;
                if c.kind != 3 {
                    return Err(format!(
                        "[{}] is a button; use :click {}",
                        c.number, c.number
                    ));
                }
                // Accept labels as well as values.
                let values: Vec<String> = values
                    .iter()
                    .map(|v| {
                        c.options
                            .iter()
                            .find(|(l, _)| l.eq_ignore_ascii_case(v))
                            .map(|(_, val)| val.clone())
                            .unwrap_or_else(|| v.clone())
                    })
                    .collect();
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                self.sandbox
                    .select(&self.user, c.message_id, &c.custom_id, &refs)
                    .map(Sent::Interaction)
            }
            Input::Modal(fields) => {
                let id = self.last_modal.ok_or("no modal is open")?;
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                self.sandbox
                    .submit_modal(&self.user, id, &refs)
                    .map(Sent::Interaction)
            }
        };
        let done = match sent.map_err(|e| e.to_string())? {
            Sent::Message(id) => self.handled.message(id, ANSWER_WITHIN).await,
            Sent::Interaction(id) => self.handled.interaction(id, ANSWER_WITHIN).await,
        };
        let replies = self.sandbox.replies_since(mark);
        let mut text = self.show(&replies);
        if !done {
            text.push_str(&format!(
                "\n  (the bot has not finished within {}s; more may follow)",
                ANSWER_WITHIN.as_secs()
            ));
        }
        Ok(text)
    }

    /// What an action without a message to wait for shows: the action, then whatever the
    /// bot has done since `mark` (its reaction may still be on the way: the next line's
    /// wait catches up on it).
    fn after(&mut self, mark: u64, what: String) -> String {
        let replies = self.sandbox.replies_since(mark);
        if replies.is_empty() {
            return what;
        }
        format!("{what}\n{}", self.show(&replies))
    }

    fn thread_exists(&self, name: &str) -> bool {
        self.sandbox.channel_id(name).is_some()
    }

    /// Renders the bot's replies: each message once, in its final state.
    pub(crate) fn show(&mut self, replies: &[Reply]) -> String {
        let mut out = Vec::new();
        let mut seen: Vec<u64> = Vec::new();
        // Later activity on the same message supersedes earlier (an edit after a defer).
        for (i, r) in replies.iter().enumerate() {
            match &r.kind {
                Kind::Message {
                    by_bot: true,
                    message_id,
                    ..
                } => {
                    if seen.contains(message_id) || replies[i + 1..].iter().any(|l| matches!(&l.kind, Kind::Message { message_id: m, .. } if m == message_id)) {
                        continue;
                    }
                    seen.push(*message_id);
                    let current = self
                        .sandbox
                        .message(*message_id)
                        .or_else(|| r.message.clone());
                    let Some(msg) = current else { continue };
                    let mut notes = Vec::new();
                    if r.ephemeral {
                        notes.push("only you can see this");
                    }
                    if !msg["edited_timestamp"].is_null() && !r.ephemeral {
                        notes.push("edited");
                    }
                    let next = self.components.last().map(|c| c.number + 1).unwrap_or(1);
                    let (text, refs) = render(&msg, &r.channel, &notes.join(", "), next);
                    self.components.extend(refs);
                    out.push(text);
                }
                Kind::Modal { interaction_id } => {
                    self.last_modal = Some(*interaction_id);
                    if let Some(m) = self.sandbox.modal(*interaction_id) {
                        out.push(render_modal(&m));
                    }
                }
                Kind::Reaction {
                    emoji, added: true, ..
                } => out.push(format!("[#{}] clanhall reacted {emoji}", r.channel)),
                Kind::Channel {
                    channel_id,
                    created: true,
                    ..
                } => {
                    if let Some(c) = self.sandbox.channel(*channel_id) {
                        out.push(format!(
                            "[#{}] clanhall created thread #{}",
                            self.sandbox.channel_name(c.parent_id.unwrap_or(0)),
                            c.name
                        ));
                    }
                }
                Kind::MessageDeleted { .. } => {
                    out.push(format!("[#{}] clanhall deleted a message", r.channel))
                }
                Kind::MemberRole {
                    user_id,
                    role_id,
                    added,
                } => {
                    let who = world::user_by_id(*user_id)
                        .map(|u| u.key.to_owned())
                        .unwrap_or_else(|| user_id.to_string());
                    let role = world::ROLES
                        .iter()
                        .find(|d| d.id == *role_id)
                        .map(|d| d.name)
                        .unwrap_or("role");
                    out.push(format!(
                        "clanhall {} role {role} {} {who}",
                        if *added { "gave" } else { "took" },
                        if *added { "to" } else { "from" }
                    ));
                }
                _ => {}
            }
        }
        if out.is_empty() {
            "  (no reply)".to_owned()
        } else {
            out.join("\n")
        }
    }
}

fn describe(change: &ThreadChange) -> String {
    match change {
        ThreadChange { name: Some(n), .. } => format!("renamed to #{n}"),
        ThreadChange {
            locked: Some(true), ..
        } => "locked".to_owned(),
        ThreadChange {
            archived: Some(false),
            ..
        } => "unarchived".to_owned(),
        _ => "archived".to_owned(),
    }
}

/// Runs a script; writes the transcript to `out`. Returns how many lines failed.
pub(crate) async fn run_script(
    sandbox: &Sandbox,
    handled: Arc<HandledEvents>,
    shutdown: &Shutdown,
    script: &str,
    out: &mut dyn Write,
) -> usize {
    let mut session = Session::new(sandbox, handled, "admin", "general");
    let mut failures = 0;
    for (n, line) in script.lines().enumerate() {
        // The bot is stopping (an admin's `--reboot`, a fatal error): the rest of the
        // script would talk to nobody.
        if let Some(reason) = shutdown.reason() {
            let _ = writeln!(out, "{}", stopped_note(&reason));
            break;
        }
        let parsed = match parse_script_line(line) {
            Ok(None) => continue,
            Ok(Some(p)) => p,
            Err(e) => {
                failures += 1;
                let _ = writeln!(out, "! line {}: {e}\n", n + 1);
                continue;
            }
        };
        let (user, channel, text) = parsed;
        let _ = writeln!(
            out,
            "> {}{}: {text}",
            user,
            channel
                .as_deref()
                .map(|c| format!("@{c}"))
                .unwrap_or_default()
        );
        match sandbox.speaker(&user) {
            Ok(name) => session.user = name,
            Err(why) => {
                failures += 1;
                let _ = writeln!(out, "! line {}: {why}\n", n + 1);
                continue;
            }
        }
        if let Some(c) = channel {
            session.channel = c;
        }
        let result = match parse_input(&text) {
            Ok(input) => session.step(input).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Err(e) => {
                failures += 1;
                let _ = writeln!(out, "! line {}: {e}\n", n + 1);
            }
        }
    }
    let _ = out.flush();
    failures
}

/// What the operator is told when the bot stops under the console or a script.
pub(crate) fn stopped_note(reason: &ShutdownReason) -> String {
    match reason {
        ShutdownReason::Reboot { actor } => format!(
            "! the bot asked for a restart ({actor}; exit code {}). The sandbox does not restart itself: run `clanhall sandbox` again.",
            reason.exit_code()
        ),
        other => format!("! the bot stopped: {}", other.describe()),
    }
}

/// The interactive console, on stdin/stdout, until `:quit`, end of input or shutdown.
pub(crate) async fn run_console(
    sandbox: &Sandbox,
    handled: Arc<HandledEvents>,
    shutdown: &Shutdown,
) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut session = Session::new(sandbox, handled, "admin", "general");
    println!("clanhall sandbox: you are admin in #general. :help lists console commands.");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("{}#{}> ", session.user, session.channel);
        let _ = std::io::stdout().flush();
        let line = tokio::select! {
            _ = shutdown.cancelled() => break,
            l = lines.next_line() => l,
        };
        let Ok(Some(line)) = line else { break };
        match parse_input(&line) {
            Ok(Input::Quit) => break,
            Ok(input) => match session.step(input).await {
                Ok(text) if !text.is_empty() => println!("{text}"),
                Ok(_) => {}
                Err(e) => println!("! {e}"),
            },
            Err(e) => println!("! {e}"),
        }
    }
    println!();
    if let Some(reason) = shutdown.reason() {
        println!("{}", stopped_note(&reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inputs() {
        assert_eq!(parse_input("!ping").unwrap(), Input::Say("!ping".into()));
        assert_eq!(
            parse_input("/ops health").unwrap(),
            Input::Slash("/ops health".into())
        );
        assert_eq!(parse_input(":as staff").unwrap(), Input::As("staff".into()));
        assert_eq!(
            parse_input(":select 3 Alpha, Beta").unwrap(),
            Input::Select("3".into(), vec!["Alpha".into(), "Beta".into()])
        );
        assert_eq!(
            parse_input(":modal age=21; name = Rue").unwrap(),
            Input::Modal(vec![
                ("age".into(), "21".into()),
                ("name".into(), "Rue".into())
            ])
        );
        assert_eq!(
            parse_input(":wait 250ms").unwrap(),
            Input::Wait(Duration::from_millis(250))
        );
        assert_eq!(
            parse_input(":thread W0042-rue private with recruit, @staff").unwrap(),
            Input::Thread {
                name: "W0042-rue".into(),
                private: true,
                with: vec!["recruit".into(), "staff".into()]
            }
        );
        assert_eq!(
            parse_input(":thread talk about it").unwrap(),
            Input::Thread {
                name: "talk about it".into(),
                private: false,
                with: vec![]
            }
        );
        assert_eq!(
            parse_input(":rename closed-0042").unwrap(),
            Input::ChangeThread(ThreadChange::rename("closed-0042"))
        );
        assert!(parse_input(":thread private").is_err());
        assert!(parse_input(":rename").is_err());
        assert!(parse_input(":fly").unwrap_err().contains(":help"));
        assert!(parse_input(":as").is_err());
    }

    #[test]
    fn parses_script_lines() {
        assert_eq!(parse_script_line("# comment").unwrap(), None);
        assert_eq!(parse_script_line("   ").unwrap(), None);
        assert_eq!(
            parse_script_line("staff: /help ping").unwrap(),
            Some(("staff".into(), None, "/help ping".into()))
        );
        assert_eq!(
            parse_script_line("admin@ops-log: !ops health").unwrap(),
            Some(("admin".into(), Some("ops-log".into()), "!ops health".into()))
        );
        assert!(parse_script_line("no colon here").is_err());
    }
}
