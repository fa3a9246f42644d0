//! The Config tab (`Key`, `Value`; keys case-insensitive) parsed into a typed snapshot.
//!
//! Parsing never fails as a whole: a bad value is reported as a [`ConfigIssue`] naming
//! the key, and that key keeps its default. Unknown keys are listed (for `ops config`),
//! never fatal (DESIGN §4).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::sheets::{TabNames, Table};
use crate::util::duration;
use crate::util::ids::{parse_id_list, parse_snowflake};

/// Role ids per tier, and the user ids of clan leads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    pub admin: Vec<u64>,
    pub staff: Vec<u64>,
    pub recruiter: Vec<u64>,
    pub clan_leads: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Channels {
    pub log: Option<u64>,
    pub recruiters: Option<u64>,
    pub recruiters_thread: Option<u64>,
    pub welcome: Option<u64>,
    pub promo: Option<u64>,
    pub live_queue: Option<u64>,
    pub interact: Option<u64>,
    /// Where the daily recruiter report goes (`REPORT_CHANNEL_ID`); the recruiters
    /// channel when unset.
    pub report: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnboardingLadder {
    pub remind_after: Duration,
    pub warn_after: Duration,
    pub close_after: Duration,
}

impl Default for OnboardingLadder {
    fn default() -> Self {
        Self {
            remind_after: Duration::from_secs(3 * 3600),
            warn_after: Duration::from_secs(24 * 3600),
            close_after: Duration::from_secs(36 * 3600),
        }
    }
}

/// How long stored history is kept (the `retention:sweep` job), in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Retention {
    pub job_runs_days: u32,
    pub audit_days: u32,
    pub telemetry_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            job_runs_days: 30,
            audit_days: 90,
            telemetry_days: 14,
        }
    }
}

/// A value as it appeared in the tab, for `cfg <key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
    /// 1-based sheet row, header included, so staff can find it.
    pub row: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub key: String,
    pub value: String,
    pub expected: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            // A tab-level problem (no tab, no headers): there is no value to quote.
            write!(f, "{}: expected {}", self.key, self.expected)
        } else {
            write!(
                f,
                "{}={:?}: expected {}",
                self.key, self.value, self.expected
            )
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigSnapshot {
    pub tabs: TabNames,
    pub roles: Roles,
    pub channels: Channels,
    pub ticket_tool_bot_id: Option<u64>,
    /// `REPORT_DAILY_POST_TIME` as (hour, minute) UTC.
    pub report_daily_post_time: Option<(u8, u8)>,
    pub onboarding: OnboardingLadder,
    pub retention: Retention,
    /// Sheets retries, timeout and circuit breaker (`SHEETS_*`).
    pub sheets: crate::sheets::Tuning,
    /// `RESERVATION_MAX_DAYS`: how far ahead a hold may end (default 30).
    pub reservation_max_days: u32,
    /// The FeatureToggles tab (filled in by the loader).
    pub toggles: super::toggles::Toggles,
    /// Valid `REFRESH_<BUCKET>` cadences as written (`3h`, `1d`, a cron line), keyed by
    /// bucket; invalid ones are issues and their bucket keeps its default.
    pub refresh: BTreeMap<String, String>,
    /// Every key/value as read, upper-cased keys.
    pub entries: BTreeMap<String, ConfigEntry>,
    pub unknown_keys: Vec<String>,
    /// Keys that appear on more than one row; none of their rows is used.
    pub duplicates: std::collections::BTreeSet<String>,
    pub issues: Vec<ConfigIssue>,
    /// Why the tab as a whole cannot be used (missing, or without its Key/Value headers):
    /// such a tab is treated like an unreadable workbook, never as an empty config.
    pub tab_unusable: Option<String>,
    /// Where it was read from, e.g. `local:config/sample` (shown by `cfg`).
    pub source: String,
    pub tab: String,
}

/// Every cache bucket's refresh cadence when `REFRESH_<BUCKET>` is unset or invalid.
pub(crate) const REFRESH_CADENCES: &[(&str, &str)] = &[
    ("clans", "3h"),
    ("templates", "1d"),
    ("clan_tags", "1d"),
    ("onboarding_questions", "1d"),
];

/// The shortest and longest interval a cadence may have: more often than a minute
/// spends the Sheets quota (60 reads a minute) on nothing; less often than a month is a
/// typo.
pub(crate) const CADENCE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(30 * 86_400));

/// A bucket's default cadence, if it is a bucket.
pub(crate) fn default_cadence(bucket: &str) -> Option<&'static str> {
    REFRESH_CADENCES
        .iter()
        .find(|(b, _)| *b == bucket)
        .map(|(_, d)| *d)
}

/// Whether `text` is a usable refresh cadence: a schedule, and an interval within
/// [`CADENCE_RANGE`].
fn check_cadence(text: &str) -> Result<(), String> {
    match crate::scheduler::Schedule::parse(text)? {
        crate::scheduler::Schedule::Every(d) if d < CADENCE_RANGE.0 || d > CADENCE_RANGE.1 => {
            Err(format!(
                "an interval between {} and {} (got {})",
                duration::human(CADENCE_RANGE.0),
                duration::human(CADENCE_RANGE.1),
                duration::human(d)
            ))
        }
        _ => Ok(()),
    }
}

/// The Config tab's name (the one tab whose name cannot itself be configured).
pub(crate) const CONFIG_TAB: &str = "Config";

const TAB_KEYS: [&str; 7] = [
    "CLANS_TAB",
    "TEMPLATES_TAB",
    "FEATURE_TOGGLES_TAB",
    "RESERVATIONS_TAB",
    "QUESTIONS_TAB",
    "TICKETS_TAB",
    "SESSIONS_TAB",
];
const ROLE_KEYS: [&str; 4] = [
    "ADMIN_ROLE_IDS",
    "STAFF_ROLE_IDS",
    "RECRUITER_ROLE_IDS",
    "CLAN_LEAD_IDS",
];
const CHANNEL_KEYS: [&str; 9] = [
    "LOG_CHANNEL_ID",
    "RECRUITERS_CHANNEL_ID",
    "RECRUITERS_THREAD_ID",
    "WELCOME_CHANNEL_ID",
    "PROMO_CHANNEL_ID",
    "LIVE_QUEUE_CHANNEL_ID",
    "INTERACT_CHANNEL_ID",
    "REPORT_CHANNEL_ID",
    "TICKET_TOOL_BOT_ID",
];
const OTHER_KEYS: [&str; 12] = [
    "REPORT_DAILY_POST_TIME",
    "RESERVATION_MAX_DAYS",
    "ONB_REMIND_AFTER",
    "ONB_WARN_AFTER",
    "ONB_CLOSE_AFTER",
    "RETENTION_JOB_RUNS_DAYS",
    "RETENTION_AUDIT_DAYS",
    "RETENTION_TELEMETRY_DAYS",
    "SHEETS_RETRIES",
    "SHEETS_TIMEOUT_SEC",
    "SHEETS_CIRCUIT_THRESHOLD",
    "SHEETS_CIRCUIT_COOLDOWN_SEC",
];

/// Whether `key` (upper case) is one the bot reads.
pub(crate) fn is_known_key(key: &str) -> bool {
    TAB_KEYS.contains(&key)
        || ROLE_KEYS.contains(&key)
        || CHANNEL_KEYS.contains(&key)
        || OTHER_KEYS.contains(&key)
        || key.strip_prefix("REFRESH_").is_some_and(|b| !b.is_empty())
}

/// Parses the Config tab. `table` is `None` when the tab is missing; the snapshot is then
/// all defaults with one issue saying so.
pub(crate) fn parse(table: Option<&Table>, source: &str) -> ConfigSnapshot {
    let mut snap = ConfigSnapshot {
        source: source.to_owned(),
        tab: CONFIG_TAB.to_owned(),
        reservation_max_days: DEFAULT_RESERVATION_MAX_DAYS,
        ..ConfigSnapshot::default()
    };
    let Some(table) = table else {
        let why = format!("the workbook has no tab named {CONFIG_TAB}");
        snap.issues.push(ConfigIssue {
            key: CONFIG_TAB.into(),
            value: String::new(),
            expected: format!("a tab named {CONFIG_TAB} with the headers Key and Value"),
        });
        snap.tab_unusable = Some(why);
        return snap;
    };
    let cols = match table.columns(&["key", "value"], &[]) {
        Ok(c) => c,
        Err(e) => {
            snap.issues.push(ConfigIssue {
                key: CONFIG_TAB.into(),
                value: String::new(),
                expected: e.to_string(),
            });
            snap.tab_unusable = Some(e.to_string());
            return snap;
        }
    };
    let (kc, vc) = (cols.get("key"), cols.get("value"));
    for (i, row) in table.rows.iter().enumerate() {
        let key = table.cell(row, kc).to_ascii_uppercase();
        if key.is_empty() {
            continue;
        }
        let value = table.cell(row, vc).to_owned();
        if !is_known_key(&key) && !snap.unknown_keys.contains(&key) {
            snap.unknown_keys.push(key.clone());
        }
        // A key twice is ambiguous: neither row is chosen (the key keeps its default),
        // so a stray second ADMIN_ROLE_IDS row cannot quietly make someone admin.
        if let Some(first) = snap.entries.get(&key) {
            snap.issues.push(ConfigIssue {
                key: key.clone(),
                value: value.clone(),
                expected: format!(
                    "one row per key: it appears in rows {} and {}; neither is used until one is deleted",
                    first.row,
                    i + 2
                ),
            });
            snap.duplicates.insert(key.clone());
        }
        snap.entries.insert(
            key.clone(),
            ConfigEntry {
                key,
                value,
                row: i + 2,
            },
        );
    }
    apply(&mut snap);
    snap
}

fn apply(snap: &mut ConfigSnapshot) {
    let entries = snap.entries.clone();
    let mut issue = |key: &str, value: &str, expected: &str| {
        snap.issues.push(ConfigIssue {
            key: key.into(),
            value: value.into(),
            expected: expected.into(),
        });
    };
    let duplicates = snap.duplicates.clone();
    let get = |k: &str| {
        entries
            .get(k)
            .filter(|_| !duplicates.contains(k))
            .map(|e| e.value.as_str())
            .filter(|v| !v.trim().is_empty())
    };

    let mut tabs = TabNames::default();
    for (key, slot) in [
        ("CLANS_TAB", &mut tabs.clans),
        ("TEMPLATES_TAB", &mut tabs.templates),
        ("FEATURE_TOGGLES_TAB", &mut tabs.feature_toggles),
        ("RESERVATIONS_TAB", &mut tabs.reservations),
        ("QUESTIONS_TAB", &mut tabs.questions),
        ("TICKETS_TAB", &mut tabs.tickets),
        ("SESSIONS_TAB", &mut tabs.sessions),
    ] {
        if let Some(v) = get(key) {
            *slot = v.trim().to_owned();
        }
    }

    let mut roles = Roles::default();
    for (key, slot) in [
        ("ADMIN_ROLE_IDS", &mut roles.admin),
        ("STAFF_ROLE_IDS", &mut roles.staff),
        ("RECRUITER_ROLE_IDS", &mut roles.recruiter),
        ("CLAN_LEAD_IDS", &mut roles.clan_leads),
    ] {
        if let Some(v) = get(key) {
            let (ids, bad) = parse_id_list(v);
            if !bad.is_empty() {
                issue(
                    key,
                    v,
                    &format!(
                        "Discord ids (17-20 digits) separated by commas; not ids: {}",
                        bad.join(", ")
                    ),
                );
            }
            *slot = ids;
        }
    }

    let mut channels = Channels::default();
    let mut ticket_tool = None;
    for (key, slot) in [
        ("LOG_CHANNEL_ID", &mut channels.log),
        ("RECRUITERS_CHANNEL_ID", &mut channels.recruiters),
        ("RECRUITERS_THREAD_ID", &mut channels.recruiters_thread),
        ("WELCOME_CHANNEL_ID", &mut channels.welcome),
        ("PROMO_CHANNEL_ID", &mut channels.promo),
        ("LIVE_QUEUE_CHANNEL_ID", &mut channels.live_queue),
        ("INTERACT_CHANNEL_ID", &mut channels.interact),
        ("REPORT_CHANNEL_ID", &mut channels.report),
        ("TICKET_TOOL_BOT_ID", &mut ticket_tool),
    ] {
        if let Some(v) = get(key) {
            match parse_snowflake(v) {
                Some(id) => *slot = Some(id),
                None => issue(key, v, "one Discord id (17-20 digits)"),
            }
        }
    }

    if let Some(v) = get("REPORT_DAILY_POST_TIME") {
        match duration::parse_time_of_day(v) {
            Some(t) => snap.report_daily_post_time = Some(t),
            None => issue(
                "REPORT_DAILY_POST_TIME",
                v,
                "a UTC time as HH:MM, such as 09:30",
            ),
        }
    }
    let mut ladder = OnboardingLadder::default();
    for (key, slot) in [
        ("ONB_REMIND_AFTER", &mut ladder.remind_after),
        ("ONB_WARN_AFTER", &mut ladder.warn_after),
        ("ONB_CLOSE_AFTER", &mut ladder.close_after),
    ] {
        if let Some(v) = get(key) {
            match duration::parse(v) {
                Ok(d) => *slot = d,
                Err(e) => issue(key, v, &format!("a duration such as 3h, 24h or 2d ({e})")),
            }
        }
    }
    if !(ladder.remind_after < ladder.warn_after && ladder.warn_after < ladder.close_after) {
        issue(
            "ONB_CLOSE_AFTER",
            get("ONB_CLOSE_AFTER").unwrap_or(""),
            "ONB_REMIND_AFTER < ONB_WARN_AFTER < ONB_CLOSE_AFTER (a ticket is warned before it is closed); using the defaults 3h/24h/36h",
        );
        ladder = OnboardingLadder::default();
    }
    let mut retention = Retention::default();
    for (key, slot) in [
        ("RETENTION_JOB_RUNS_DAYS", &mut retention.job_runs_days),
        ("RETENTION_AUDIT_DAYS", &mut retention.audit_days),
        ("RETENTION_TELEMETRY_DAYS", &mut retention.telemetry_days),
    ] {
        if let Some(v) = get(key) {
            match v.trim().parse::<u32>() {
                Ok(d) if (1..=3650).contains(&d) => *slot = d,
                _ => issue(key, v, "a whole number of days between 1 and 3650"),
            }
        }
    }
    let mut sheets = crate::sheets::Tuning::default();
    let mut number = |key: &str, lo: u64, hi: u64| -> Option<u64> {
        let v = get(key)?;
        match v.trim().parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                issue(key, v, &format!("a whole number between {lo} and {hi}"));
                None
            }
        }
    };
    if let Some(n) = number("SHEETS_RETRIES", 0, 10) {
        sheets.retries = n as u32;
    }
    if let Some(n) = number("SHEETS_TIMEOUT_SEC", 1, 300) {
        sheets.timeout = Duration::from_secs(n);
    }
    if let Some(n) = number("SHEETS_CIRCUIT_THRESHOLD", 1, 100) {
        sheets.circuit_threshold = n as u32;
    }
    if let Some(n) = number("SHEETS_CIRCUIT_COOLDOWN_SEC", 1, 3600) {
        sheets.circuit_cooldown = Duration::from_secs(n);
    }
    let reservation_max_days =
        number("RESERVATION_MAX_DAYS", 1, 365).map_or(DEFAULT_RESERVATION_MAX_DAYS, |n| n as u32);
    for (key, entry) in &entries {
        let Some(bucket) = key.strip_prefix("REFRESH_") else {
            continue;
        };
        let value = entry.value.trim();
        if value.is_empty() || duplicates.contains(key) {
            continue;
        }
        let bucket = bucket.to_ascii_lowercase();
        let Some(default) = default_cadence(&bucket) else {
            let names: Vec<String> = REFRESH_CADENCES
                .iter()
                .map(|(b, _)| format!("REFRESH_{}", b.to_ascii_uppercase()))
                .collect();
            issue(
                key,
                value,
                &format!("a cache bucket's cadence key: {}", names.join(", ")),
            );
            continue;
        };
        match check_cadence(value) {
            Ok(()) => {
                snap.refresh.insert(bucket, value.to_owned());
            }
            Err(e) => issue(key, value, &format!("{e}; using {default}")),
        }
    }
    snap.tabs = tabs;
    snap.roles = roles;
    snap.channels = channels;
    snap.ticket_tool_bot_id = ticket_tool;
    snap.onboarding = ladder;
    snap.retention = retention;
    snap.sheets = sheets;
    snap.reservation_max_days = reservation_max_days;
}

/// How far ahead a hold may end unless `RESERVATION_MAX_DAYS` says otherwise.
pub(crate) const DEFAULT_RESERVATION_MAX_DAYS: u32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(&str, &str)]) -> Table {
        let mut raw = vec![vec!["Key".to_owned(), "Value".to_owned()]];
        raw.extend(rows.iter().map(|(k, v)| vec![k.to_string(), v.to_string()]));
        Table::from_rows("Config", raw)
    }

    #[test]
    fn parses_roles_channels_and_tabs_case_insensitively() {
        let snap = parse(
            Some(&table(&[
                (
                    "admin_role_ids",
                    "1200000000000000101, <@&1200000000000000111>",
                ),
                ("STAFF_ROLE_IDS", "1200000000000000102"),
                ("Log_Channel_Id", "<#1200000000000000302>"),
                ("CLANS_TAB", "Clan Roster"),
                ("REFRESH_CLANS", "3h"),
                ("ONB_REMIND_AFTER", "2h"),
                ("SOMETHING_ELSE", "x"),
            ])),
            "local:test",
        );
        assert_eq!(
            snap.roles.admin,
            vec![1200000000000000101, 1200000000000000111]
        );
        assert_eq!(snap.roles.staff, vec![1200000000000000102]);
        assert_eq!(snap.channels.log, Some(1200000000000000302));
        assert_eq!(snap.tabs.clans, "Clan Roster");
        assert_eq!(snap.tabs.templates, "WelcomeTemplates");
        assert_eq!(snap.refresh["clans"], "3h");
        assert_eq!(snap.onboarding.remind_after, Duration::from_secs(7200));
        assert_eq!(snap.unknown_keys, vec!["SOMETHING_ELSE"]);
        assert!(snap.issues.is_empty(), "{:?}", snap.issues);
        assert_eq!(snap.entries["LOG_CHANNEL_ID"].row, 4);
    }

    #[test]
    fn bad_values_are_issues_and_keep_defaults() {
        let snap = parse(
            Some(&table(&[
                ("RECRUITER_ROLE_IDS", "1200000000000000103, recruiters"),
                ("LOG_CHANNEL_ID", "ops-log"),
                ("REPORT_DAILY_POST_TIME", "25:00"),
                ("ONB_WARN_AFTER", "1h"),
            ])),
            "local:test",
        );
        let keys: Vec<&str> = snap.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "RECRUITER_ROLE_IDS",
                "LOG_CHANNEL_ID",
                "REPORT_DAILY_POST_TIME",
                "ONB_CLOSE_AFTER"
            ]
        );
        assert_eq!(
            snap.roles.recruiter,
            vec![1200000000000000103],
            "valid ids are kept"
        );
        assert!(snap.issues[0].expected.contains("not ids: recruiters"));
        assert_eq!(snap.channels.log, None);
        assert_eq!(snap.onboarding, OnboardingLadder::default());
    }

    #[test]
    fn a_key_twice_is_an_issue_and_neither_row_is_used() {
        let snap = parse(
            Some(&table(&[
                ("ADMIN_ROLE_IDS", "1200000000000000101"),
                ("STAFF_ROLE_IDS", "1200000000000000102"),
                ("admin_role_ids", "1200000000000000103"),
            ])),
            "local:test",
        );
        assert_eq!(snap.roles.admin, Vec::<u64>::new(), "no silent choice");
        assert_eq!(snap.roles.staff, vec![1200000000000000102]);
        let issue = snap
            .issues
            .iter()
            .find(|i| i.key == "ADMIN_ROLE_IDS")
            .expect("an issue names the key");
        assert!(
            issue.expected.contains("rows 2 and 4"),
            "{}",
            issue.expected
        );
        assert!(snap.tab_unusable.is_none(), "one bad key is not a bad tab");
    }

    #[test]
    fn cadences_are_checked_with_the_value_in_use_named() {
        let snap = parse(
            Some(&table(&[
                ("REFRESH_CLANS", "soon"),
                ("REFRESH_TEMPLATES", "-1h"),
                ("REFRESH_CLAN_TAGS", "0s"),
                ("REFRESH_ONBOARDING_QUESTIONS", "99999999d"),
                ("REFRESH_CLANZ", "3h"),
            ])),
            "local:test",
        );
        let by_key = |k: &str| {
            snap.issues
                .iter()
                .find(|i| i.key == k)
                .unwrap_or_else(|| panic!("no issue for {k}: {:?}", snap.issues))
                .expected
                .clone()
        };
        assert!(by_key("REFRESH_CLANS").ends_with("; using 3h"));
        assert!(by_key("REFRESH_TEMPLATES").ends_with("; using 1d"));
        assert!(by_key("REFRESH_CLAN_TAGS").contains("using 1d"));
        assert!(by_key("REFRESH_ONBOARDING_QUESTIONS").contains("maximum"));
        assert!(by_key("REFRESH_CLANZ").contains("REFRESH_CLANS"));
        assert!(snap.refresh.is_empty(), "{:?}", snap.refresh);
        let ok = parse(
            Some(&table(&[
                ("REFRESH_CLANS", "30s"),
                ("REFRESH_TEMPLATES", "2h"),
            ])),
            "local:test",
        );
        assert!(
            ok.issues[0].expected.contains("between 1m 0s and 30d 0h"),
            "{:?}",
            ok.issues
        );
        assert_eq!(ok.refresh["templates"], "2h");
    }

    #[test]
    fn issues_quote_the_value_only_when_there_is_one() {
        let tab = ConfigIssue {
            key: CONFIG_TAB.into(),
            value: String::new(),
            expected: "a tab named Config".into(),
        };
        assert_eq!(tab.to_string(), "Config: expected a tab named Config");
        let key = ConfigIssue {
            key: "LOG_CHANNEL_ID".into(),
            value: "ops-log".into(),
            expected: "one Discord id".into(),
        };
        assert_eq!(
            key.to_string(),
            "LOG_CHANNEL_ID=\"ops-log\": expected one Discord id"
        );
    }

    #[test]
    fn missing_tab_or_headers_is_one_issue() {
        let snap = parse(None, "local:test");
        assert_eq!(snap.issues.len(), 1);
        assert_eq!(snap.roles, Roles::default());
        assert!(snap.tab_unusable.is_some(), "a missing tab is unusable");
        let bad = Table::from_rows("Config", vec![vec!["Name".into(), "Setting".into()]]);
        let snap = parse(Some(&bad), "local:test");
        assert!(
            snap.issues[0]
                .expected
                .contains("missing the headers key, value"),
            "{:?}",
            snap.issues
        );
        assert!(snap.tab_unusable.is_some(), "so is one without its headers");
    }
}
