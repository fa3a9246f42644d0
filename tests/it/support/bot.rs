//! The real bot against the sandbox, in-process, on random loopback ports.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clanhall::testing::App;
use clanhall::testing::{Clock, ManualClock, Mode, Settings, SystemClock};
use clanhall::testing::{Shutdown, ShutdownReason};
use clanhall_sandbox::Reply;

use super::eventually;
use clanhall_sandbox::clock::SharedClock;
use clanhall_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

pub(crate) const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample");

/// A copy of the sample workbook that a test may edit (delete a tab, rename a header).
pub(crate) fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(SAMPLE).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    dir
}

/// A sandbox serving the sample workbook, for tests that run the bot as a process.
pub(crate) async fn sample_sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions {
        workbook_dir: Some(SAMPLE.into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

pub(crate) struct BotOptions {
    pub heartbeat: Duration,
    pub env: Vec<(&'static str, String)>,
    pub wait_ready: bool,
    pub workbook: String,
    /// Read the workbook through the real Google client from the sandbox's Sheets
    /// endpoint (spreadsheet `DEFAULT_SHEET_ID`) instead of the local folder.
    pub google: bool,
    /// The bot's clock: a test moves it to run scheduled jobs (the scheduler looks at
    /// least once a second), instead of waiting for their time.
    pub clock: Option<Arc<ManualClock>>,
    /// The production REST path (serenity's rate limiter on, through the sandbox's
    /// tunnel) instead of the proxy path the sandbox normally uses.
    pub rate_limiter: bool,
}

impl Default for BotOptions {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_millis(300),
            env: Vec::new(),
            wait_ready: true,
            workbook: SAMPLE.to_owned(),
            google: false,
            clock: None,
            rate_limiter: false,
        }
    }
}

/// The bot's clock as the sandbox's, so both read the same "now".
struct SameClock(Arc<dyn Clock>);

impl clanhall_sandbox::clock::Clock for SameClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.utc()
    }
}

pub(crate) struct TestBot {
    pub sandbox: Sandbox,
    pub app: Option<App>,
    pub shutdown: Shutdown,
    pub http: String,
    pub dir: tempfile::TempDir,
    /// What the bot was started with, so [`TestBot::restart_bot`] starts it again the same.
    settings: Settings,
    clock: Arc<dyn Clock>,
}

impl TestBot {
    pub(crate) async fn start() -> TestBot {
        Self::start_with(BotOptions::default(), |_| ()).await
    }

    /// The bot on the workbook folder `dir` (the sandbox serves the same), otherwise
    /// as [`TestBot::start`].
    pub(crate) async fn on_workbook(dir: &std::path::Path) -> TestBot {
        TestBot::start_with(
            BotOptions {
                workbook: dir.display().to_string(),
                ..Default::default()
            },
            |_| (),
        )
        .await
    }

    /// The messages in `channel` whose content starts with `prefix`, oldest first.
    pub(crate) fn messages_starting(&self, channel: &str, prefix: &str) -> Vec<Value> {
        self.sandbox
            .channel_messages(channel)
            .into_iter()
            .filter(|m| m["content"].as_str().is_some_and(|c| c.starts_with(prefix)))
            .collect()
    }

    /// Starts the sandbox, lets `prepare` inject faults, then starts the bot.
    pub(crate) async fn start_with(opts: BotOptions, prepare: impl FnOnce(&Sandbox)) -> TestBot {
        super::logs();
        let dir = tempfile::tempdir().unwrap();
        // The bot writes its mirror tabs into a local workbook: never into the repo's
        // sample, so each test gets its own copy of it.
        let mut opts = opts;
        if opts.workbook == SAMPLE {
            let copy = dir.path().join("workbook");
            std::fs::create_dir_all(&copy).unwrap();
            for f in std::fs::read_dir(SAMPLE).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
            }
            opts.workbook = copy.display().to_string();
        }
        // One clock for both sides: the bot's, and the sandbox's snowflakes and timestamps.
        let clock: Arc<dyn Clock> = match &opts.clock {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        let sandbox = Sandbox::start(SandboxOptions {
            heartbeat_interval: opts.heartbeat,
            workbook_dir: Some(opts.workbook.clone().into()),
            clock: SharedClock(Arc::new(SameClock(clock.clone()))),
            ..Default::default()
        })
        .await
        .unwrap();
        prepare(&sandbox);
        let mut env: HashMap<String, String> = HashMap::from([
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "0".into()),
            (
                "DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            ("WORKBOOK_DIR".into(), opts.workbook.clone()),
            (
                "TELEMETRY_LOG_PATH".into(),
                dir.path()
                    .join("logs/telemetry.jsonl")
                    .display()
                    .to_string(),
            ),
            ("SHUTDOWN_TIMEOUT_SEC".into(), "10".into()),
        ]);
        if opts.google {
            env.insert(
                "GOOGLE_SERVICE_ACCOUNT_JSON".into(),
                sandbox.service_account_json(),
            );
            env.insert(
                "RECRUITMENT_SHEET_ID".into(),
                clanhall_sandbox::google::DEFAULT_SHEET_ID.into(),
            );
            env.insert("GOOGLE_SHEETS_API_URL".into(), sandbox.base_url().into());
        }
        for (k, v) in opts.env {
            env.insert(k.to_owned(), v);
        }
        let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("test settings");
        let shutdown = Shutdown::new();
        let mut settings = clanhall::testing::sandbox::bot_settings(&sandbox, settings);
        if opts.rate_limiter {
            settings = clanhall::testing::sandbox::with_tunnel(&sandbox, settings);
        }
        let app = App::start_with_clock(
            settings.clone(),
            Mode::Sandbox,
            shutdown.clone(),
            clock.clone(),
        )
        .await
        .expect("app starts");
        let http = format!("http://{}", app.http_addr);
        let bot = TestBot {
            sandbox,
            app: Some(app),
            shutdown,
            http,
            dir,
            settings,
            clock,
        };
        if opts.wait_ready {
            bot.wait_ready().await;
        }
        bot
    }

    async fn wait_ready(&self) {
        let app = self.app();
        if !app.wait_ready(Duration::from_secs(20)).await {
            panic!(
                "bot not ready: {:?}",
                clanhall::testing::health::assess(&app.status).reasons
            );
        }
    }

    /// Stops the bot and starts it again with the same settings, clock and `DATA_DIR`
    /// against the same, still running sandbox (a deploy): threads, messages and
    /// components in the sandbox are as they were. Returns the old run's exit code once
    /// the new one is ready.
    pub(crate) async fn restart_bot(&mut self) -> i32 {
        self.restart_bot_with(|| ()).await
    }

    /// Like [`restart_bot`](Self::restart_bot), running `while_down` between the stop and
    /// the start (move the clock: the bot was down for a while).
    pub(crate) async fn restart_bot_with(&mut self, while_down: impl FnOnce()) -> i32 {
        self.shutdown
            .trigger(ShutdownReason::Finished("restart".into()));
        let old = self.app.take().expect("the bot is running");
        let code = tokio::time::timeout(Duration::from_secs(15), old.wait())
            .await
            .expect("the bot stops in time");
        while_down();
        self.shutdown = Shutdown::new();
        let app = App::start_with_clock(
            self.settings.clone(),
            Mode::Sandbox,
            self.shutdown.clone(),
            self.clock.clone(),
        )
        .await
        .expect("the bot starts again");
        self.http = format!("http://{}", app.http_addr);
        self.app = Some(app);
        self.wait_ready().await;
        code
    }

    /// GET on the bot's health server (loopback is allowlisted in sandbox mode).
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let resp = super::http()
            .get(format!("{}{path}", self.http))
            .send()
            .await
            .unwrap();
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// How long a command may take before a test gives up on it.
    pub(crate) const ANSWER_WITHIN: Duration = Duration::from_secs(15);

    fn app(&self) -> &App {
        self.app.as_ref().expect("the bot is running")
    }

    /// Waits until the bot has handled message `id` (its command ran and every reply
    /// was answered), panicking with the line when it does not.
    pub(crate) async fn handled_message(&self, id: u64, line: &str) {
        assert!(
            self.app().handled.message(id, Self::ANSWER_WITHIN).await,
            "the bot did not finish handling {line:?} within {:?}",
            Self::ANSWER_WITHIN
        );
    }

    /// Waits until the bot has handled interaction `id`.
    pub(crate) async fn handled_interaction(&self, id: u64, what: &str) {
        assert!(
            self.app()
                .handled
                .interaction(id, Self::ANSWER_WITHIN)
                .await,
            "the bot did not finish handling {what:?} within {:?}",
            Self::ANSWER_WITHIN
        );
    }

    /// `user` says `line` in `channel`; once the bot has handled it, the bot's messages
    /// (anywhere) since.
    pub(crate) async fn ask(&self, user: &str, channel: &str, line: &str) -> Vec<Reply> {
        let mark = self.sandbox.mark();
        let id = self
            .sandbox
            .say(user, channel, line)
            .expect("the sandbox knows this user and channel");
        self.handled_message(id, line).await;
        self.sandbox.bot_messages_since(mark)
    }

    /// Like [`ask`](Self::ask), as a slash command (`/ops health`).
    pub(crate) async fn ask_slash(&self, user: &str, channel: &str, line: &str) -> Vec<Reply> {
        let mark = self.sandbox.mark();
        let id = self
            .sandbox
            .slash(user, channel, line)
            .expect("the sandbox knows this user, channel and command");
        self.handled_interaction(id, line).await;
        self.sandbox.bot_messages_since(mark)
    }

    /// `user` clicks the component `id` on message `msg`; the interaction's id, once the
    /// bot has handled it.
    pub(crate) async fn click(&self, user: &str, msg: u64, id: &str) -> u64 {
        let i = self
            .sandbox
            .click(user, msg, id)
            .unwrap_or_else(|e| panic!("click {id}: {e}"));
        self.handled_interaction(i, id).await;
        i
    }

    /// `user` picks `values` in the select menu `id` on message `msg`, once handled.
    pub(crate) async fn pick(&self, user: &str, msg: u64, id: &str, values: &[&str]) {
        let i = self
            .sandbox
            .select(user, msg, id, values)
            .unwrap_or_else(|e| panic!("select {id}: {e}"));
        self.handled_interaction(i, id).await;
    }

    /// `user` says `line` in `channel`; the texts of the bot's messages in that channel
    /// (log-channel posts and the like are left out).
    pub(crate) async fn say_in(&self, user: &str, channel: &str, line: &str) -> Vec<String> {
        self.ask(user, channel, line)
            .await
            .into_iter()
            .filter(|r| r.channel == channel)
            .map(|r| r.text())
            .collect()
    }

    /// Asserts the bot did nothing (anywhere) in handling `user` saying `line`.
    pub(crate) async fn assert_silent(&self, user: &str, channel: &str, line: &str) {
        let mark = self.sandbox.mark();
        let id = self.sandbox.say(user, channel, line).unwrap();
        self.handled_message(id, line).await;
        let r = self.sandbox.replies_since(mark);
        assert!(r.is_empty(), "{line} in {channel}: {r:?}");
    }

    /// Waits until `/ready` answers `code`, up to `within`.
    pub(crate) async fn ready_becomes(&self, code: u16, within: Duration) -> bool {
        eventually(within, || async { self.get("/ready").await.0 == code }).await
    }

    /// The bot's telemetry events so far (the JSONL file; the writer is asynchronous, so
    /// wait for the event you need with [`eventually`]).
    pub(crate) fn telemetry(&self) -> Vec<Value> {
        let path = self.dir.path().join("logs/telemetry.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The rows `sql` selects from the bot's database, each as column → value, read
    /// through a read-only connection while the bot runs (SQLite's WAL lets a reader see
    /// every committed transaction).
    pub(crate) fn query(&self, sql: &str) -> Vec<serde_json::Map<String, Value>> {
        query_db(&self.dir.path().join("data/clanhall.db"), sql)
    }

    /// Every row of `table`, in insertion order.
    pub(crate) fn table(&self, table: &str) -> Vec<serde_json::Map<String, Value>> {
        self.query(&format!("SELECT * FROM {table} ORDER BY rowid"))
    }

    /// The telemetry events named `event`, in order.
    pub(crate) fn telemetry_events(&self, event: &str) -> Vec<Value> {
        self.telemetry()
            .into_iter()
            .filter(|e| e["event"] == event)
            .collect()
    }

    /// Stops the bot (as when a script ends) and the sandbox; returns the exit code.
    pub(crate) async fn stop(self) -> i32 {
        self.stop_keep_dir().await.0
    }

    /// Like [`stop`](Self::stop), keeping the temp dir (DATA_DIR) for a restart.
    pub(crate) async fn stop_keep_dir(mut self) -> (i32, tempfile::TempDir) {
        self.shutdown
            .trigger(ShutdownReason::Finished("test done".into()));
        let code = tokio::time::timeout(Duration::from_secs(15), self.app.take().unwrap().wait())
            .await
            .expect("app stops in time");
        self.sandbox.stop().await;
        (code, self.dir)
    }

    /// Waits for the app to shut down by itself; returns the exit code and the temp dir
    /// (still holding DATA_DIR) for inspection.
    pub(crate) async fn exit_code(mut self, within: Duration) -> (i32, tempfile::TempDir) {
        let code = tokio::time::timeout(within, self.app.take().unwrap().wait())
            .await
            .expect("app stops by itself");
        self.sandbox.stop().await;
        (code, self.dir)
    }
}

/// The rows `sql` selects from the database at `path`, each as column → value, through a
/// read-only connection (it may be open in a running bot: WAL lets a reader see every
/// committed transaction).
pub(crate) fn query_db(path: &std::path::Path, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    stmt.query_map([], |row| {
        let mut out = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                rusqlite::types::ValueRef::Real(f) => Value::from(f),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::String(String::from_utf8_lossy(t).into_owned())
                }
                rusqlite::types::ValueRef::Blob(b) => Value::from(b.len()),
            };
            out.insert(n.clone(), v);
        }
        Ok(out)
    })
    .and_then(|rows| rows.collect())
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
