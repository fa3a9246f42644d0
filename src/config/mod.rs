//! The config registry: the workbook's Config tab and FeatureToggles tab as one typed
//! snapshot, swapped atomically, so readers never see half a config and a reload (`ops
//! reload`) takes effect without a restart.
//!
//! The first load fails closed: if the workbook cannot be read, the bot starts with
//! every toggle off and an ops alert, on the roles and channels of the last good Config
//! tab kept in `DATA_DIR` ([`last_good`]) or on defaults when there is none. A later
//! reload that fails keeps the last good snapshot in use (and says so): a Sheets outage
//! must not switch features off mid-day.

pub(crate) mod last_good;
pub(crate) mod snapshot;
pub(crate) mod toggles;

use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

pub(crate) use last_good::LastGood;
pub(crate) use snapshot::{CONFIG_TAB, ConfigIssue, ConfigSnapshot, Roles};
pub(crate) use toggles::Toggles;

use crate::message::alert::{Alert, AlertSink, Severity};
use crate::runtime::Clock;
use crate::sheets::{SheetsError, Sources, Workbook};

pub struct ConfigRegistry {
    current: ArcSwap<ConfigSnapshot>,
    loaded_at: ArcSwap<DateTime<Utc>>,
    clock: Arc<dyn Clock>,
}

impl ConfigRegistry {
    pub fn new(initial: ConfigSnapshot, clock: Arc<dyn Clock>) -> Self {
        Self {
            current: ArcSwap::from_pointee(initial),
            loaded_at: ArcSwap::from_pointee(clock.utc()),
            clock,
        }
    }

    /// The current snapshot; cheap, never blocks.
    pub fn get(&self) -> Arc<ConfigSnapshot> {
        self.current.load_full()
    }

    pub fn loaded_at(&self) -> DateTime<Utc> {
        **self.loaded_at.load()
    }

    pub fn replace(&self, next: ConfigSnapshot) {
        self.current.store(Arc::new(next));
        self.loaded_at.store(Arc::new(self.clock.utc()));
    }

    /// Whether a feature toggle is on right now.
    pub fn enabled(&self, toggle: &str) -> bool {
        self.get().toggles.enabled(toggle)
    }
}

/// Why a config could not be loaded: the workbook is unreadable, or its Config tab is
/// missing or lacks its headers. Both mean "no config from the sheet": the one in use
/// stays (at reload) or the last good copy is used (at startup).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum LoadError {
    #[error(transparent)]
    Sheets(#[from] SheetsError),
    #[error("the {CONFIG_TAB} tab cannot be used: {0}")]
    ConfigTab(String),
}

/// Loads the config: [`read`], refusing a Config tab that is missing or lacks its
/// headers (it would otherwise read as an empty config: no staff roles, no log channel).
pub(crate) async fn load(
    sources: &Sources,
    keep: Option<&LastGood>,
    now: DateTime<Utc>,
) -> Result<ConfigSnapshot, LoadError> {
    let snap = read(sources, keep, now).await?;
    match &snap.tab_unusable {
        Some(why) => Err(LoadError::ConfigTab(why.clone())),
        None => Ok(snap),
    }
}

/// Reads Config and FeatureToggles from the recruitment workbook: one request, or two
/// when the Config tab renames the toggles tab. A Config tab that parses is kept in
/// `keep` for the next start during an outage. Whatever the tab holds, it is parsed and
/// its problems listed (`clanhall check` reports them); [`load`] is what the bot uses.
pub(crate) async fn read(
    sources: &Sources,
    keep: Option<&LastGood>,
    now: DateTime<Utc>,
) -> Result<ConfigSnapshot, SheetsError> {
    let source = sources.get(Workbook::Recruitment);
    let default_toggles = crate::sheets::TabNames::default().feature_toggles;
    let mut read = source
        .read_tabs(&[CONFIG_TAB.to_owned(), default_toggles.clone()])
        .await?;
    let config_tab = read.tabs.remove(CONFIG_TAB).flatten();
    let mut snap = snapshot::parse(config_tab.as_ref(), &source.label());
    if let Some(why) = read.unreadable.remove(CONFIG_TAB) {
        // A tab that exists but cannot be read is no config at all.
        snap.tab_unusable = Some(why.clone());
        snap.issues[0].expected = format!("a readable {CONFIG_TAB} tab ({why})");
    }
    if let (Some(keep), Some(table)) = (keep, config_tab)
        && !snap.entries.is_empty()
    {
        // A small file, but written with fsync: off the async workers.
        let (keep, source) = (keep.clone(), snap.source.clone());
        let saved = tokio::task::spawn_blocking(move || keep.save(&table, &source, now)).await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, "could not keep the last good Config tab");
        }
    }
    let tab = snap.tabs.feature_toggles.clone();
    let (table, unreadable) = if tab == default_toggles {
        (
            read.tabs.remove(&tab).flatten(),
            read.unreadable.remove(&tab),
        )
    } else {
        match source.read_tabs(std::slice::from_ref(&tab)).await {
            Ok(mut r) => (r.tabs.remove(&tab).flatten(), r.unreadable.remove(&tab)),
            Err(e) => {
                snap.toggles = Toggles::failed(format!("the {tab} tab could not be read: {e}"));
                return Ok(snap);
            }
        }
    };
    if let Some(why) = unreadable {
        snap.toggles = Toggles::failed(format!("the {tab} tab could not be read: {why}"));
        return Ok(snap);
    }
    snap.toggles = toggles::parse(table.as_ref(), &tab);
    Ok(snap)
}

/// The first load. A workbook that cannot be read gives every toggle off, on the last
/// good Config tab's roles and channels when one was kept, else on defaults.
pub(crate) async fn load_initial(
    sources: &Sources,
    keep: &LastGood,
    now: DateTime<Utc>,
) -> ConfigSnapshot {
    match load(sources, Some(keep), now).await {
        Ok(s) => s,
        Err(e) => unreadable(&sources.recruitment.label(), &e, keep.read()),
    }
}

/// The snapshot for a workbook that could not be read: `saved` (the last good Config
/// tab) or defaults, one issue saying which, and every toggle off.
fn unreadable(label: &str, e: &LoadError, saved: Option<last_good::Saved>) -> ConfigSnapshot {
    let (mut s, fallback) = match saved {
        Some(saved) => {
            let at = saved.saved_at.format("%Y-%m-%d %H:%M UTC");
            let s = snapshot::parse(
                Some(&saved.table),
                &format!("last good copy of {} saved {at}", saved.source),
            );
            (
                s,
                format!("; roles and channels come from the last good copy saved {at}"),
            )
        }
        None => {
            let mut s = snapshot::parse(None, label);
            // The "no Config tab" issue would mislead: the tab may be fine, Sheets is not.
            s.issues.clear();
            (
                s,
                "; no last good copy was kept, so roles and channels are unset".to_owned(),
            )
        }
    };
    let wanted = match e {
        LoadError::Sheets(_) => "a readable workbook",
        LoadError::ConfigTab(_) => "a Config tab with the headers Key and Value",
    };
    s.issues.insert(
        0,
        ConfigIssue {
            key: CONFIG_TAB.into(),
            value: String::new(),
            expected: format!("{wanted} ({e}){fallback}"),
        },
    );
    s.tab_unusable = None;
    s.toggles = Toggles::failed(format!("no config could be loaded: {e}"));
    s
}

/// Logs a snapshot's problems and alerts ops when the toggles failed closed.
pub(crate) async fn announce(snap: &ConfigSnapshot, alerts: &dyn AlertSink) {
    for issue in &snap.issues {
        tracing::warn!(key = %issue.key, value = %issue.value, expected = %issue.expected, "config problem");
    }
    for w in snap.toggles.warnings() {
        tracing::warn!(warning = %w, "feature toggle problem");
    }
    if let Some(why) = &snap.toggles.failure {
        alerts
            .send(Alert::new(
                Severity::Warning,
                "toggles:failed-closed",
                "Feature toggles failed closed",
                format!("{why}. Every feature toggle is off until the {} tab is fixed and `!ops reload` runs.", snap.tabs.feature_toggles),
            ))
            .await;
    }
    tracing::info!(
        source = %snap.source,
        keys = snap.entries.len(),
        issues = snap.issues.len(),
        toggles_on = snap.toggles.values.values().filter(|v| **v).count(),
        toggles_failed = snap.toggles.failure.is_some(),
        "config loaded"
    );
}

/// The config as a health component: problems in the Config tab or failed toggles
/// degrade the bot (roles, channels or features may be missing), they never stop it.
pub(crate) struct ConfigHealth(pub Arc<ConfigRegistry>);

impl crate::runtime::ComponentCheck for ConfigHealth {
    fn name(&self) -> &'static str {
        "config"
    }

    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        let snap = self.0.get();
        let issues: Vec<String> = snap.issues.iter().map(ToString::to_string).collect();
        let health = if let Some(why) = &snap.toggles.failure {
            ComponentHealth::new(
                Level::Degraded,
                format!("feature toggles failed closed: {why}"),
            )
        } else if !issues.is_empty() {
            ComponentHealth::new(
                Level::Degraded,
                format!(
                    "{} in the {} tab: {}",
                    crate::util::text::count(issues.len(), "problem"),
                    snap.tab,
                    issues[0]
                ),
            )
        } else {
            ComponentHealth::new(
                Level::Ok,
                format!("{} keys from {}", snap.entries.len(), snap.source),
            )
        };
        health
            .with("source", &snap.source)
            .with("loaded_at", self.0.loaded_at())
            .with("issues", issues)
            .with("unknown_keys", &snap.unknown_keys)
            .with("toggle_warnings", snap.toggles.warnings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::table::Table;

    #[test]
    fn an_unreadable_workbook_uses_the_kept_tab_or_says_there_is_none() {
        let e = LoadError::Sheets(SheetsError::Api {
            status: 503,
            message: "backend error".into(),
        });
        let none = unreadable("google:abc", &e, None);
        assert_eq!(none.issues.len(), 1, "{:?}", none.issues);
        assert!(none.issues[0].expected.contains("503"));
        assert!(none.issues[0].expected.contains("no last good copy"));
        assert!(none.roles.staff.is_empty());
        assert!(none.toggles.failure.is_some());

        let saved = last_good::Saved {
            saved_at: "2026-11-20T08:00:00Z".parse().unwrap(),
            source: "google:abc".into(),
            table: Table::from_rows(
                CONFIG_TAB,
                vec![
                    vec!["Key".into(), "Value".into()],
                    vec!["STAFF_ROLE_IDS".into(), "1200000000000000102".into()],
                    vec!["LOG_CHANNEL_ID".into(), "1200000000000000302".into()],
                ],
            ),
        };
        let kept = unreadable("google:abc", &e, Some(saved));
        assert_eq!(kept.roles.staff, vec![1200000000000000102]);
        assert_eq!(kept.channels.log, Some(1200000000000000302));
        assert_eq!(
            kept.source,
            "last good copy of google:abc saved 2026-11-20 08:00 UTC"
        );
        assert!(kept.issues[0].expected.contains("last good copy saved"));
        assert!(
            kept.toggles.failure.is_some(),
            "toggles are never restored from the copy"
        );
    }
}
