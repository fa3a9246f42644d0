//! Bootstrap settings from the environment (DESIGN §4), parsed once at start into
//! [`Settings`].
//!
//! The environment holds bootstrap values and secrets only; what operators tune lives in
//! the workbook's Config tab. [`KEYS`] is the single list of keys: parsing reads exactly
//! these (a test checks it), `.env.example` lists exactly these with the same defaults (a
//! test checks that too), and `clanhall check` reports them. Parsing never stops at the
//! first problem: every bad value is reported with its key, the value (masked when
//! secret) and the form that was expected.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use ipnet::IpNet;
use serde::Serialize;

use crate::redact::mask_secret;

/// One environment key: its default (empty = none), whether it is secret, the expected
/// form shown when a value is rejected, and a one-line description for docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySpec {
    pub key: &'static str,
    pub default: &'static str,
    pub secret: bool,
    pub expected: &'static str,
    pub help: &'static str,
}

const fn key(
    key: &'static str,
    default: &'static str,
    expected: &'static str,
    help: &'static str,
) -> KeySpec {
    KeySpec {
        key,
        default,
        secret: false,
        expected,
        help,
    }
}

const fn secret(key: &'static str, expected: &'static str, help: &'static str) -> KeySpec {
    KeySpec {
        key,
        default: "",
        secret: true,
        expected,
        help,
    }
}

/// Every environment key clanhall reads, in the order `.env.example` lists them.
pub(crate) const KEYS: &[KeySpec] = &[
    secret(
        "DISCORD_TOKEN",
        "a Discord bot token (three base64 parts separated by dots; Developer Portal > Bot > Reset Token)",
        "Bot token. Required by `clanhall run`; `clanhall sandbox` needs none.",
    ),
    key(
        "DISCORD_PROXY_URL",
        "",
        "an http:// or https:// base URL such as http://127.0.0.1:7000",
        "Send Discord REST calls to this Discord-compatible server or REST rate-limit proxy; turns the in-process rate limiter off.",
    ),
    secret(
        "GOOGLE_SERVICE_ACCOUNT_JSON",
        "the service-account key file's JSON, raw or base64-encoded, with client_email and private_key",
        "Google service account for the Sheets API. Unset: the local workbook in WORKBOOK_DIR is used.",
    ),
    key(
        "GOOGLE_SHEETS_API_URL",
        "https://sheets.googleapis.com/",
        "an https:// base URL (http:// only on localhost)",
        "Sheets API base URL; only changed to point the bot at a stand-in such as the sandbox.",
    ),
    key(
        "RECRUITMENT_SHEET_ID",
        "",
        "a Google spreadsheet id (the long part of the sheet URL between /d/ and /edit)",
        "Recruitment workbook id. Required when GOOGLE_SERVICE_ACCOUNT_JSON is set.",
    ),
    key(
        "ONBOARDING_SHEET_ID",
        "",
        "a Google spreadsheet id (the long part of the sheet URL between /d/ and /edit)",
        "Onboarding workbook id; defaults to RECRUITMENT_SHEET_ID.",
    ),
    key(
        "WORKBOOK_DIR",
        "config/sample",
        "a folder with one CSV per tab, or an .xlsx/.ods file",
        "Local workbook used when no Google credentials are set.",
    ),
    key(
        "DATA_DIR",
        "data",
        "a writable directory path",
        "State: SQLite database, live-queue cache, restart budget, retention reports.",
    ),
    key(
        "HOST",
        "0.0.0.0",
        "an IP address to bind, such as 0.0.0.0 or 127.0.0.1",
        "Address the health server binds.",
    ),
    key(
        "PORT",
        "10000",
        "an integer between 0 and 65535 (0 picks a free port)",
        "Health server port (Render injects it).",
    ),
    key(
        "ENV_NAME",
        "dev",
        "1-32 characters from A-Z a-z 0-9 . _ -",
        "Environment name shown in health output and log-channel posts.",
    ),
    key(
        "BOT_NAME",
        "clanhall",
        "1-64 printable characters",
        "Name shown in health output and embeds.",
    ),
    key(
        "LOG_LEVEL",
        "info",
        "trace, debug, info, warn, error, off, or a tracing filter such as info,clanhall=debug",
        "Log verbosity. A plain level applies to clanhall; dependencies log warnings and errors.",
    ),
    key(
        "LOG_FORMAT",
        "json",
        "json or pretty",
        "json: one JSON object per line (production). pretty: aligned text for humans.",
    ),
    key(
        "GUILD_IDS",
        "",
        "Discord guild ids (17-20 digits), comma-separated or a JSON array",
        "Guilds the bot serves; commands are registered per guild.",
    ),
    secret(
        "OPS_API_TOKEN",
        "at least 16 characters (for example the output of `openssl rand -hex 32`)",
        "Bearer token for /ops/*, /metrics and detailed /health.",
    ),
    key(
        "HEALTH_ALLOWLIST",
        "",
        "IP addresses or CIDR ranges, comma-separated or a JSON array, such as 10.0.0.0/8,::1",
        "Client addresses that see detailed /health and /metrics without a token.",
    ),
    key(
        "TRUSTED_PROXY_HOPS",
        "0",
        "an integer between 0 and 5",
        "Reverse proxies in front of the bot whose X-Forwarded-For entries are trusted (Render: 1).",
    ),
    key(
        "WATCHDOG_CHECK_SEC",
        "60",
        "an integer number of seconds between 1 and 86400",
        "How often the watchdog checks the gateway.",
    ),
    key(
        "WATCHDOG_STALL_SEC",
        "180",
        "an integer number of seconds between 1 and 86400, greater than WATCHDOG_CHECK_SEC",
        "Connected but no heartbeat ACK for this long: the watchdog restarts the process.",
    ),
    key(
        "WATCHDOG_DISCONNECT_GRACE_SEC",
        "300",
        "an integer number of seconds between 1 and 86400, at least WATCHDOG_CHECK_SEC",
        "Disconnected from the gateway for this long: the watchdog restarts the process.",
    ),
    key(
        "WATCHDOG_RESTART_BUDGET",
        "5",
        "an integer between 1 and 100",
        "At most this many watchdog restarts per window; past it the bot stays up, degraded.",
    ),
    key(
        "WATCHDOG_RESTART_WINDOW_SEC",
        "3600",
        "an integer number of seconds between 60 and 604800",
        "Window of the watchdog restart budget (persisted in DATA_DIR across restarts).",
    ),
    key(
        "SHUTDOWN_TIMEOUT_SEC",
        "20",
        "an integer number of seconds between 1 and 300",
        "Longest a graceful shutdown may take before tasks are abandoned (Render waits 30 s).",
    ),
    key(
        "TELEMETRY_LOG_PATH",
        "logs/telemetry_log.jsonl",
        "a file path",
        "JSONL telemetry events (rotated by size).",
    ),
    key(
        "HELP_DIAGNOSTICS",
        "off",
        "on/off, true/false, yes/no or 1/0",
        "Post help-visibility tables to the log channel.",
    ),
];

/// A secret string that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the one place that must send it (an HTTP client, say).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&mask_secret(&self.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A parsed service-account key. The JSON is kept whole (as a secret) for the Google
/// client; the e-mail is kept apart because it is safe to show.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub client_email: String,
    pub json: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogSettings {
    pub check: Duration,
    pub stall: Duration,
    pub disconnect_grace: Duration,
    pub restart_budget: u32,
    pub restart_window: Duration,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Env,
    Default,
    Unset,
    /// Set by `clanhall sandbox` to point the bot at the sandbox.
    Sandbox,
}

/// A setting as it may be shown to people: secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub value: String,
    pub source: Source,
    /// What the key is for (`clanhall check` prints it beside the value).
    pub help: &'static str,
}

/// The production REST path (serenity's rate limiter on, `https://discord.com` URLs)
/// carried through an HTTPS proxy (`CONNECT`) whose certificate for discord.com is signed
/// by `ca_pem`. How the sandbox runs the bot with serenity's own rate limiter; set by the
/// sandbox front end, never read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordTunnel {
    pub proxy_url: String,
    pub ca_pem: String,
}

/// How the bot reaches Discord's REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscordRoute {
    /// `https://discord.com`, serenity's rate limiter on: production.
    Direct,
    /// `DISCORD_PROXY_URL`: a REST proxy that rate-limits for the bot; serenity's limiter
    /// is off (it ignores a proxy otherwise), and the bot waits out 429s itself.
    Proxy(String),
    /// See [`DiscordTunnel`].
    Tunnel(DiscordTunnel),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub discord_token: Option<Secret>,
    pub discord_proxy_url: Option<String>,
    /// Not an environment variable: see [`DiscordTunnel`].
    pub discord_tunnel: Option<DiscordTunnel>,
    pub google_service_account: Option<ServiceAccount>,
    pub google_sheets_api_url: String,
    pub recruitment_sheet_id: Option<String>,
    pub onboarding_sheet_id: Option<String>,
    pub workbook_dir: PathBuf,
    /// Where writes to the local workbook go when not into `workbook_dir` itself: with
    /// the default (embedded sample) workbook, `DATA_DIR/workbook`. Written tabs are read
    /// from there afterwards.
    pub workbook_writes: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub host: IpAddr,
    pub port: u16,
    pub env_name: String,
    pub bot_name: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub guild_ids: Vec<u64>,
    pub ops_api_token: Option<Secret>,
    pub health_allowlist: Vec<IpNet>,
    pub trusted_proxy_hops: usize,
    pub watchdog: WatchdogSettings,
    pub shutdown_timeout: Duration,
    pub telemetry_log_path: PathBuf,
    pub help_diagnostics: bool,
    views: BTreeMap<&'static str, SettingView>,
}

/// One rejected setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    /// The offending value, masked when the key is secret; `None` when it is missing.
    pub value: Option<String>,
    pub expected: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "{}={:?} is invalid: expected {}",
                self.key, v, self.expected
            ),
            None => write!(f, "{} is not set: {}", self.key, self.expected),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{} invalid setting(s): {}", problems.len(), problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct SettingsError {
    pub problems: Vec<Problem>,
}

/// What the settings are used for; `run` needs a Discord token, `sandbox` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Run,
    Sandbox,
}

fn spec(key: &str) -> &'static KeySpec {
    KEYS.iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("settings key {key} missing from KEYS"))
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
    views: BTreeMap<&'static str, SettingView>,
}

impl Reader<'_> {
    /// The trimmed value, or the default; empty strings count as unset (dashboards and
    /// `.env` files often leave `KEY=`).
    fn raw(&mut self, key: &'static str) -> Option<String> {
        let spec = spec(key);
        let from_env = (self.lookup)(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let (value, source) = match from_env {
            Some(v) => (Some(v), Source::Env),
            None if !spec.default.is_empty() => (Some(spec.default.to_owned()), Source::Default),
            None => (None, Source::Unset),
        };
        let shown = match (&value, spec.secret) {
            (None, _) => String::new(),
            (Some(v), true) => mask_secret(v),
            (Some(v), false) => v.clone(),
        };
        self.views.insert(
            spec.key,
            SettingView {
                value: shown,
                source,
                help: spec.help,
            },
        );
        value
    }

    fn problem(&mut self, key: &'static str, value: Option<&str>, expected: impl Into<String>) {
        let spec = spec(key);
        self.problems.push(Problem {
            key: key.to_owned(),
            value: value.map(|v| {
                if spec.secret {
                    mask_secret(v)
                } else {
                    v.to_owned()
                }
            }),
            expected: expected.into(),
        });
    }

    /// Reads and parses a key; on failure records a problem and returns `None`.
    fn parse<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.raw(key)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(detail) => {
                let expected = if detail.is_empty() {
                    spec(key).expected.to_owned()
                } else {
                    format!("{} ({detail})", spec(key).expected)
                };
                self.problem(key, Some(&raw), expected);
                None
            }
        }
    }

    /// For keys with a default: the parsed value, or the parsed default after a problem
    /// was recorded (so parsing can go on and report every other problem too).
    fn parse_or_default<T>(
        &mut self,
        key: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let default = spec(key).default;
        match self.parse(key, &parse) {
            Some(v) => v,
            // Defaults are constants covered by `defaults_parse` below.
            None => parse(default).unwrap_or_else(|e| panic!("default of {key} invalid: {e}")),
        }
    }
}

fn parse_int<T: std::str::FromStr + PartialOrd + Copy>(
    lo: T,
    hi: T,
) -> impl Fn(&str) -> Result<T, String> {
    move |s: &str| match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(String::new()),
    }
}

fn parse_secs(lo: u64, hi: u64) -> impl Fn(&str) -> Result<Duration, String> {
    let f = parse_int(lo, hi);
    move |s: &str| f(s).map(Duration::from_secs)
}

/// Parses `on/off`, `true/false`, `yes/no`, `1/0` (any case).
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(String::new()),
    }
}

/// Splits a list given either as CSV or as a JSON array of strings.
pub(crate) fn split_list(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    if s.starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(s).map_err(|e| format!("not a valid JSON array: {e}"))?;
        items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s.trim().to_owned()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                other => Err(format!("unexpected JSON item {other}")),
            })
            .filter(|r| r.as_ref().map(|s| !s.is_empty()).unwrap_or(true))
            .collect()
    } else {
        Ok(s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect())
    }
}

/// Parses one IP address or CIDR range; a bare address becomes a single-host range.
pub fn parse_ip_or_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range"))
}

fn parse_allowlist(s: &str) -> Result<Vec<IpNet>, String> {
    split_list(s)?.iter().map(|e| parse_ip_or_cidr(e)).collect()
}

fn parse_snowflakes(s: &str) -> Result<Vec<u64>, String> {
    split_list(s)?
        .iter()
        .map(|e| {
            let ok = (17..=20).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit());
            match e.parse::<u64>() {
                Ok(v) if ok && v > 0 => Ok(v),
                _ => Err(format!("{e:?} is not a guild id")),
            }
        })
        .collect()
}

fn parse_discord_token(s: &str) -> Result<Secret, String> {
    let t = s.strip_prefix("Bot ").unwrap_or(s).trim();
    let parts: Vec<&str> = t.split('.').collect();
    let b64 = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() == 3 && parts.iter().all(b64) && t.len() >= 50 {
        Ok(Secret::new(t))
    } else {
        Err("the value does not have the shape of a bot token".into())
    }
}

fn parse_service_account(s: &str) -> Result<ServiceAccount, String> {
    let json = if s.trim_start().starts_with('{') {
        s.to_owned()
    } else {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let bytes = engines
            .iter()
            .find_map(|e| e.decode(&compact).ok())
            .ok_or("neither JSON nor base64")?;
        String::from_utf8(bytes).map_err(|_| "base64 that does not decode to text")?
    };
    let v: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| format!("JSON does not parse: line {}", e.line()))?;
    let field = |name: &str| v.get(name).and_then(|x| x.as_str()).unwrap_or("");
    if field("client_email").is_empty() {
        return Err("client_email is missing".into());
    }
    if !field("private_key").contains("PRIVATE KEY") {
        return Err("private_key is missing or not a PEM key".into());
    }
    Ok(ServiceAccount {
        client_email: field("client_email").to_owned(),
        json: Secret::new(json),
    })
}

fn parse_sheet_id(s: &str) -> Result<String, String> {
    if s.len() >= 20
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(s.to_owned())
    } else {
        Err(String::new())
    }
}

/// Whether a URL's host is this machine: plain http is only safe there.
fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The Sheets base URL, with the trailing `/` google-sheets4 needs. Every request carries
/// the service account's OAuth bearer token, so plain http is refused except on loopback
/// (the sandbox).
fn parse_sheets_api_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s).map_err(|e| e.to_string())?;
    match u.scheme() {
        "https" if u.host_str().is_some() => {}
        "http" if is_loopback(&u) => {}
        "http" => {
            return Err(
                "plain http would send the Google access token in clear text; use https (http is allowed for localhost/127.0.0.1 only)"
                    .into(),
            );
        }
        _ => {
            return Err("scheme must be https (or http on loopback) and a host is required".into());
        }
    }
    Ok(if s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    })
}

fn parse_proxy_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s).map_err(|e| e.to_string())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("scheme must be http or https and a host is required".into());
    }
    if u.query().is_some() || u.path() != "/" {
        return Err("give the base URL only, without a path or query".into());
    }
    Ok(s.trim_end_matches('/').to_owned())
}

fn parse_log_level(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(log_filter_directive(s))
        .map(|_| s.to_owned())
        .map_err(|e| e.to_string())
}

/// Expands a plain level into a filter: clanhall at that level, dependencies at `warn`
/// (serenity and hyper are chatty at `info`). A full directive is used as given.
pub fn log_filter_directive(level: &str) -> String {
    let plain = ["trace", "debug", "info", "warn", "error", "off"];
    let lower = level.trim().to_ascii_lowercase();
    if plain.contains(&lower.as_str()) {
        let deps = if lower == "off" || lower == "error" {
            lower.as_str()
        } else {
            "warn"
        };
        format!("{deps},clanhall={lower}")
    } else {
        level.to_owned()
    }
}

impl Settings {
    /// How REST calls reach Discord: the sandbox's tunnel, else `DISCORD_PROXY_URL`, else
    /// discord.com directly.
    pub fn discord_route(&self) -> DiscordRoute {
        match (&self.discord_tunnel, &self.discord_proxy_url) {
            (Some(t), _) => DiscordRoute::Tunnel(t.clone()),
            (None, Some(p)) => DiscordRoute::Proxy(p.clone()),
            (None, None) => DiscordRoute::Direct,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Parses settings from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
            views: BTreeMap::new(),
        };
        let discord_token = r.parse("DISCORD_TOKEN", parse_discord_token);
        let discord_proxy_url = r.parse("DISCORD_PROXY_URL", parse_proxy_url);
        let google_service_account = r.parse("GOOGLE_SERVICE_ACCOUNT_JSON", parse_service_account);
        let google_sheets_api_url =
            r.parse_or_default("GOOGLE_SHEETS_API_URL", parse_sheets_api_url);
        let recruitment_sheet_id = r.parse("RECRUITMENT_SHEET_ID", parse_sheet_id);
        let onboarding_sheet_id = r.parse("ONBOARDING_SHEET_ID", parse_sheet_id);
        let workbook_set = lookup("WORKBOOK_DIR").is_some_and(|v| !v.trim().is_empty());
        let workbook_dir = PathBuf::from(r.raw("WORKBOOK_DIR").unwrap_or_default());
        let data_dir = PathBuf::from(r.raw("DATA_DIR").unwrap_or_default());
        // The embedded sample workbook is never written: what the bot writes to it (the
        // mirror tabs, clan availability) is state, and goes under DATA_DIR.
        let workbook_writes = (!workbook_set).then(|| data_dir.join("workbook"));
        let host = r.parse_or_default("HOST", |s| s.parse::<IpAddr>().map_err(|_| String::new()));
        let port = r.parse_or_default("PORT", parse_int(0u16, u16::MAX));
        let env_name = r.parse_or_default("ENV_NAME", |s| {
            let ok = s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if ok {
                Ok(s.to_owned())
            } else {
                Err(String::new())
            }
        });
        let bot_name = r.parse_or_default("BOT_NAME", |s| {
            if s.chars().count() <= 64 && !s.chars().any(char::is_control) {
                Ok(s.to_owned())
            } else {
                Err(String::new())
            }
        });
        let log_level = r.parse_or_default("LOG_LEVEL", parse_log_level);
        let log_format =
            r.parse_or_default("LOG_FORMAT", |s| match s.to_ascii_lowercase().as_str() {
                "json" => Ok(LogFormat::Json),
                "pretty" => Ok(LogFormat::Pretty),
                _ => Err(String::new()),
            });
        let guild_ids = r.parse("GUILD_IDS", parse_snowflakes).unwrap_or_default();
        let ops_api_token = r.parse("OPS_API_TOKEN", |s| {
            if s.chars().count() >= 16 {
                Ok(Secret::new(s))
            } else {
                Err("too short".into())
            }
        });
        let health_allowlist = r
            .parse("HEALTH_ALLOWLIST", parse_allowlist)
            .unwrap_or_default();
        let trusted_proxy_hops = r.parse_or_default("TRUSTED_PROXY_HOPS", parse_int(0usize, 5));
        let check = r.parse_or_default("WATCHDOG_CHECK_SEC", parse_secs(1, 86_400));
        let stall = r.parse_or_default("WATCHDOG_STALL_SEC", parse_secs(1, 86_400));
        let disconnect_grace =
            r.parse_or_default("WATCHDOG_DISCONNECT_GRACE_SEC", parse_secs(1, 86_400));
        let restart_budget = r.parse_or_default("WATCHDOG_RESTART_BUDGET", parse_int(1u32, 100));
        let restart_window =
            r.parse_or_default("WATCHDOG_RESTART_WINDOW_SEC", parse_secs(60, 604_800));
        let shutdown_timeout = r.parse_or_default("SHUTDOWN_TIMEOUT_SEC", parse_secs(1, 300));
        let telemetry_log_path = PathBuf::from(r.raw("TELEMETRY_LOG_PATH").unwrap_or_default());
        let help_diagnostics = r.parse_or_default("HELP_DIAGNOSTICS", parse_bool);

        // Rules that span keys.
        if stall <= check {
            let v = stall.as_secs().to_string();
            r.problem(
                "WATCHDOG_STALL_SEC",
                Some(&v),
                format!(
                    "a value greater than WATCHDOG_CHECK_SEC ({}), or the watchdog cannot see a stall before it fires",
                    check.as_secs()
                ),
            );
        }
        if disconnect_grace < check {
            let v = disconnect_grace.as_secs().to_string();
            r.problem(
                "WATCHDOG_DISCONNECT_GRACE_SEC",
                Some(&v),
                format!(
                    "a value of at least WATCHDOG_CHECK_SEC ({})",
                    check.as_secs()
                ),
            );
        }
        if google_service_account.is_some() && recruitment_sheet_id.is_none() {
            let unset =
                r.views.get("RECRUITMENT_SHEET_ID").map(|v| v.source) == Some(Source::Unset);
            if unset {
                r.problem(
                    "RECRUITMENT_SHEET_ID",
                    None,
                    "required when GOOGLE_SERVICE_ACCOUNT_JSON is set (the id in the sheet's URL)",
                );
            }
        }

        if !r.problems.is_empty() {
            return Err(SettingsError {
                problems: r.problems,
            });
        }
        let onboarding_sheet_id = onboarding_sheet_id.or_else(|| recruitment_sheet_id.clone());
        Ok(Settings {
            discord_token,
            discord_proxy_url,
            discord_tunnel: None,
            google_service_account,
            google_sheets_api_url,
            recruitment_sheet_id,
            onboarding_sheet_id,
            workbook_dir,
            workbook_writes,
            data_dir,
            host,
            port,
            env_name,
            bot_name,
            log_level,
            log_format,
            guild_ids,
            ops_api_token,
            health_allowlist,
            trusted_proxy_hops,
            watchdog: WatchdogSettings {
                check,
                stall,
                disconnect_grace,
                restart_budget,
                restart_window,
            },
            shutdown_timeout,
            telemetry_log_path,
            help_diagnostics,
            views: r.views,
        })
    }

    /// Problems that only matter for one mode (a missing token for `run`).
    pub fn problems_for(&self, mode: Mode) -> Vec<Problem> {
        let mut out = Vec::new();
        if mode == Mode::Run && self.discord_token.is_none() {
            out.push(Problem {
                key: "DISCORD_TOKEN".into(),
                value: None,
                expected: "`clanhall run` connects to Discord and needs a bot token \
                           (Developer Portal > Bot > Reset Token). To try clanhall without \
                           Discord, run `clanhall sandbox`."
                    .into(),
            });
        }
        out
    }

    /// Every key as it may be shown (secrets masked) with where its value came from.
    pub fn views(&self) -> &BTreeMap<&'static str, SettingView> {
        &self.views
    }

    /// Records a value set by the process itself (the sandbox) so `cfg` and `check`
    /// show what is in effect, masked when the key is secret.
    pub fn record_override(&mut self, key: &'static str, value: &str) {
        let spec = spec(key);
        let shown = if spec.secret {
            mask_secret(value)
        } else {
            value.to_owned()
        };
        self.views.insert(
            key,
            SettingView {
                value: shown,
                source: Source::Sandbox,
                help: spec.help,
            },
        );
    }

    /// The tracing filter to install for these settings.
    pub fn log_filter(&self) -> String {
        log_filter_directive(&self.log_level)
    }
}

/// Registers the raw values of every secret key present in the environment with the
/// redactor, valid or not, so they are masked in every sink from the first log line on.
pub(crate) fn register_env_secrets(lookup: &dyn Fn(&str) -> Option<String>) {
    for spec in KEYS.iter().filter(|s| s.secret) {
        if let Some(v) = lookup(spec.key) {
            crate::redact::register_secret(&v);
            if let Some(stripped) = v.trim().strip_prefix("Bot ") {
                crate::redact::register_secret(stripped);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhR2xk.pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP";

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| map.get(k).cloned())
    }

    fn problem_keys(pairs: &[(&str, &str)]) -> Vec<String> {
        parse(pairs)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn defaults_parse() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.port, 10000);
        assert_eq!(s.host.to_string(), "0.0.0.0");
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert_eq!(s.workbook_dir, PathBuf::from("config/sample"));
        assert_eq!(
            s.workbook_writes,
            Some(PathBuf::from("data/workbook")),
            "the embedded sample is never written"
        );
        let own = Settings::from_lookup(&|k| (k == "WORKBOOK_DIR").then(|| "/srv/wb".to_owned()))
            .unwrap();
        assert_eq!(
            own.workbook_writes, None,
            "a workbook of one's own is written in place"
        );
        assert_eq!(s.watchdog.check, Duration::from_secs(60));
        assert_eq!(s.watchdog.stall, Duration::from_secs(180));
        assert_eq!(s.watchdog.disconnect_grace, Duration::from_secs(300));
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(!s.help_diagnostics);
        assert!(s.discord_token.is_none());
        assert_eq!(s.views()["PORT"].source, Source::Default);
        assert_eq!(s.views()["DISCORD_TOKEN"].source, Source::Unset);
    }

    #[test]
    fn every_key_default_is_valid() {
        for spec in KEYS.iter().filter(|s| !s.default.is_empty()) {
            let r = parse(&[(spec.key, spec.default)]);
            assert!(r.is_ok(), "{}: {:?}", spec.key, r.err());
        }
    }

    #[test]
    fn each_invalid_value_names_its_key_value_and_expected_form() {
        let err = parse(&[
            ("PORT", "ten thousand"),
            ("LOG_FORMAT", "xml"),
            ("HEALTH_ALLOWLIST", "10.0.0.0/8, not-an-ip"),
            ("GUILD_IDS", "123"),
            ("HELP_DIAGNOSTICS", "maybe"),
            ("WATCHDOG_CHECK_SEC", "0"),
        ])
        .unwrap_err();
        let by_key: HashMap<_, _> = err.problems.iter().map(|p| (p.key.as_str(), p)).collect();
        assert_eq!(by_key.len(), 6, "{err}");
        let port = by_key["PORT"];
        assert_eq!(port.value.as_deref(), Some("ten thousand"));
        assert!(port.expected.contains("between 0 and 65535"));
        assert!(
            by_key["HEALTH_ALLOWLIST"]
                .expected
                .contains("\"not-an-ip\"")
        );
        assert!(by_key["GUILD_IDS"].expected.contains("17-20 digits"));
        assert!(by_key["LOG_FORMAT"].expected.contains("json or pretty"));
        let text = err.to_string();
        assert!(text.starts_with("6 invalid setting(s)"), "{text}");
        assert!(text.contains("PORT=\"ten thousand\" is invalid"), "{text}");
    }

    #[test]
    fn secret_values_are_masked_in_problems() {
        let bad_token = "not-a-token-but-still-secret-123";
        let err = parse(&[("DISCORD_TOKEN", bad_token), ("OPS_API_TOKEN", "short")]).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(bad_token), "{text}");
        assert!(!text.contains("short\""), "{text}");
        let p = &err.problems[0];
        assert_eq!(p.key, "DISCORD_TOKEN");
        assert_eq!(p.value.as_deref(), Some("[redacted: 32 chars]"));
        assert!(p.expected.contains("bot token"));
    }

    #[test]
    fn cross_key_rules_name_the_key() {
        assert_eq!(
            problem_keys(&[("WATCHDOG_CHECK_SEC", "60"), ("WATCHDOG_STALL_SEC", "30")]),
            vec!["WATCHDOG_STALL_SEC"]
        );
        assert_eq!(
            problem_keys(&[
                ("WATCHDOG_CHECK_SEC", "120"),
                ("WATCHDOG_DISCONNECT_GRACE_SEC", "60"),
                ("WATCHDOG_STALL_SEC", "600")
            ]),
            vec!["WATCHDOG_DISCONNECT_GRACE_SEC"]
        );
    }

    #[test]
    fn run_without_token_points_at_sandbox() {
        let s = parse(&[]).unwrap();
        let problems = s.problems_for(Mode::Run);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "DISCORD_TOKEN");
        assert!(problems[0].expected.contains("clanhall sandbox"));
        assert!(s.problems_for(Mode::Sandbox).is_empty());
    }

    #[test]
    fn token_with_bot_prefix_is_accepted_and_never_printed() {
        let s = parse(&[("DISCORD_TOKEN", &format!("Bot {TOKEN}"))]).unwrap();
        assert_eq!(s.discord_token.as_ref().unwrap().expose(), TOKEN);
        assert!(!format!("{s:?}").contains(TOKEN));
        assert!(!serde_json::to_string(s.views()).unwrap().contains(TOKEN));
    }

    #[test]
    fn allowlist_accepts_csv_and_json_ipv4_and_ipv6() {
        let s = parse(&[(
            "HEALTH_ALLOWLIST",
            r#"["10.0.0.0/8", "::1", "2001:db8::/32", "192.168.1.7"]"#,
        )])
        .unwrap();
        let shown: Vec<String> = s.health_allowlist.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            shown,
            ["10.0.0.0/8", "::1/128", "2001:db8::/32", "192.168.1.7/32"]
        );
        let s = parse(&[("HEALTH_ALLOWLIST", "127.0.0.1, 10.1.2.3/16")]).unwrap();
        assert_eq!(s.health_allowlist[1].to_string(), "10.1.0.0/16");
    }

    #[test]
    fn service_account_raw_and_base64() {
        let json = r#"{"type":"service_account","client_email":"bot@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n","token_uri":"https://oauth2.googleapis.com/token"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        for v in [json.to_string(), b64] {
            let s = parse(&[
                ("GOOGLE_SERVICE_ACCOUNT_JSON", &v),
                (
                    "RECRUITMENT_SHEET_ID",
                    "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                ),
            ])
            .unwrap();
            assert_eq!(
                s.google_service_account.unwrap().client_email,
                "bot@p.iam.gserviceaccount.com"
            );
            assert_eq!(
                s.onboarding_sheet_id.as_deref(),
                Some("1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")
            );
        }
        // Credentials without a sheet id: the sheet id is what is missing.
        assert_eq!(
            problem_keys(&[("GOOGLE_SERVICE_ACCOUNT_JSON", json)]),
            vec!["RECRUITMENT_SHEET_ID"]
        );
        let err = parse(&[("GOOGLE_SERVICE_ACCOUNT_JSON", r#"{"client_email":"x"}"#)]).unwrap_err();
        assert!(err.problems[0].expected.contains("private_key"), "{err}");
    }

    #[test]
    fn log_level_accepts_levels_and_directives() {
        assert_eq!(
            parse(&[("LOG_LEVEL", "debug")]).unwrap().log_filter(),
            "warn,clanhall=debug"
        );
        assert_eq!(
            parse(&[("LOG_LEVEL", "info,serenity=debug")])
                .unwrap()
                .log_filter(),
            "info,serenity=debug"
        );
        assert_eq!(problem_keys(&[("LOG_LEVEL", "loud=[")]), vec!["LOG_LEVEL"]);
    }

    #[test]
    fn sheets_api_url_is_https_except_on_loopback() {
        let url = |v: &str| parse(&[("GOOGLE_SHEETS_API_URL", v)]).map(|s| s.google_sheets_api_url);
        assert_eq!(
            url("https://sheets.example.test").unwrap(),
            "https://sheets.example.test/"
        );
        for local in [
            "http://127.0.0.1:7000",
            "http://localhost:7000/",
            "http://[::1]:7000",
        ] {
            assert!(url(local).is_ok(), "{local}");
        }
        for remote in [
            "http://sheets.example.test/",
            "http://10.0.0.5:8080",
            "ftp://x",
        ] {
            let err = url(remote).unwrap_err();
            assert_eq!(err.problems[0].key, "GOOGLE_SHEETS_API_URL", "{remote}");
        }
        let err = url("http://sheets.example.test/").unwrap_err();
        assert!(
            err.problems[0].expected.contains("clear text"),
            "{}",
            err.problems[0].expected
        );
    }

    #[test]
    fn proxy_url_must_be_a_base_url() {
        assert_eq!(
            parse(&[("DISCORD_PROXY_URL", "http://127.0.0.1:7000/")])
                .unwrap()
                .discord_proxy_url
                .as_deref(),
            Some("http://127.0.0.1:7000")
        );
        assert_eq!(
            problem_keys(&[("DISCORD_PROXY_URL", "ftp://x")]),
            vec!["DISCORD_PROXY_URL"]
        );
        assert_eq!(
            problem_keys(&[("DISCORD_PROXY_URL", "http://x/api/v10")]),
            vec!["DISCORD_PROXY_URL"]
        );
    }

    #[test]
    fn parsing_reads_exactly_the_listed_keys() {
        let read = RefCell::new(BTreeSet::new());
        let _ = Settings::from_lookup(&|k| {
            read.borrow_mut().insert(k.to_owned());
            None
        });
        let listed: BTreeSet<String> = KEYS.iter().map(|s| s.key.to_owned()).collect();
        assert_eq!(read.into_inner(), listed);
    }

    #[test]
    fn env_example_matches_the_key_table() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
            .expect(".env.example exists at the repository root");
        let mut seen = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            seen.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let expected: Vec<(String, String)> = KEYS
            .iter()
            .map(|s| (s.key.to_owned(), s.default.to_owned()))
            .collect();
        assert_eq!(
            seen, expected,
            ".env.example must list every key, in KEYS order, with its default"
        );
    }

    #[test]
    fn configuration_doc_lists_every_key() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/configuration.md"
        ))
        .expect("docs/configuration.md exists");
        for spec in KEYS {
            assert!(
                doc.contains(&format!("| `{}` |", spec.key)),
                "docs/configuration.md does not document {}",
                spec.key
            );
        }
    }
}
