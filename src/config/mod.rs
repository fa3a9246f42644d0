//! The config registry: the workbook's Config tab and FeatureToggles tab as one typed
//! snapshot, swapped atomically, so readers never see half a config and a reload (`ops
//! reload`) takes effect without a restart.
//!
//! The first load fails closed: if the workbook cannot be read, the bot starts with
//! defaults, every toggle off and an ops alert. A later reload that fails keeps the last
//! good snapshot in use (and says so): a Sheets outage must not switch features off
//! mid-day.

pub mod snapshot;
pub mod toggles;

use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

pub use snapshot::{CONFIG_TAB, ConfigIssue, ConfigSnapshot, Roles};
pub use toggles::Toggles;

use crate::ops::alerts::{Alert, AlertSink, Severity};
use crate::sheets::{SheetsError, Sources, Workbook};

pub struct ConfigRegistry {
    current: ArcSwap<ConfigSnapshot>,
    loaded_at: ArcSwap<DateTime<Utc>>,
}

impl ConfigRegistry {
    pub fn new(initial: ConfigSnapshot) -> Self {
        Self {
            current: ArcSwap::from_pointee(initial),
            loaded_at: ArcSwap::from_pointee(Utc::now()),
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
        self.loaded_at.store(Arc::new(Utc::now()));
    }

    /// Whether a feature toggle is on right now.
    pub fn enabled(&self, toggle: &str) -> bool {
        self.get().toggles.enabled(toggle)
    }
}

/// Reads Config and FeatureToggles from the recruitment workbook: one request, or two
/// when the Config tab renames the toggles tab.
pub async fn load(sources: &Sources) -> Result<ConfigSnapshot, SheetsError> {
    let source = sources.get(Workbook::Recruitment);
    let default_toggles = snapshot::TabNames::default().feature_toggles;
    let mut read = source
        .read_tabs(&[CONFIG_TAB.to_owned(), default_toggles.clone()])
        .await?;
    let mut snap = snapshot::parse(
        read.tabs.remove(CONFIG_TAB).flatten().as_ref(),
        &source.label(),
    );
    let tab = snap.tabs.feature_toggles.clone();
    let table = if tab == default_toggles {
        read.tabs.remove(&tab).flatten()
    } else {
        match source.read_tabs(std::slice::from_ref(&tab)).await {
            Ok(mut r) => r.tabs.remove(&tab).flatten(),
            Err(e) => {
                snap.toggles = Toggles::failed(format!("the {tab} tab could not be read: {e}"));
                return Ok(snap);
            }
        }
    };
    snap.toggles = toggles::parse(table.as_ref(), &tab);
    Ok(snap)
}

/// The first load: a workbook that cannot be read gives defaults with every toggle off.
pub async fn load_initial(sources: &Sources) -> ConfigSnapshot {
    match load(sources).await {
        Ok(s) => s,
        Err(e) => {
            let mut s = snapshot::parse(None, &sources.recruitment.label());
            s.issues = vec![ConfigIssue {
                key: CONFIG_TAB.into(),
                value: String::new(),
                expected: format!("a readable workbook ({e})"),
            }];
            s.toggles = Toggles::failed(format!("the workbook could not be read: {e}"));
            s
        }
    }
}

/// Logs a snapshot's problems and alerts ops when the toggles failed closed.
pub async fn announce(snap: &ConfigSnapshot, alerts: &dyn AlertSink) {
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

/// Loads a local folder's Config tab only (for `clanhall check` and tests).
pub fn load_local(dir: &std::path::Path) -> ConfigSnapshot {
    let source = format!("local:{}", dir.display());
    match crate::sheets::local::CsvFolder::new(dir).read_tabs(&[CONFIG_TAB]) {
        Ok(mut tabs) => {
            let table = tabs.remove(CONFIG_TAB).flatten();
            snapshot::parse(table.as_ref(), &source)
        }
        Err(e) => {
            let mut snap = snapshot::parse(None, &source);
            snap.issues = vec![ConfigIssue {
                key: "WORKBOOK_DIR".into(),
                value: dir.display().to_string(),
                expected: e.to_string(),
            }];
            snap
        }
    }
}

/// The config as a health component: problems in the Config tab or failed toggles
/// degrade the bot (roles, channels or features may be missing), they never stop it.
pub struct ConfigHealth(pub Arc<ConfigRegistry>);

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
                    "{} problem(s) in the {} tab: {}",
                    issues.len(),
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
