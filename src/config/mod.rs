//! The config registry: the workbook's Config tab as a typed snapshot, swapped
//! atomically on reload so readers never see half a config.

pub mod snapshot;

use std::sync::Arc;

use arc_swap::ArcSwap;

pub use snapshot::{ConfigIssue, ConfigSnapshot, Roles};

pub struct ConfigRegistry {
    current: ArcSwap<ConfigSnapshot>,
}

impl ConfigRegistry {
    pub fn new(initial: ConfigSnapshot) -> Self {
        Self {
            current: ArcSwap::from_pointee(initial),
        }
    }

    /// The current snapshot; cheap, never blocks.
    pub fn get(&self) -> Arc<ConfigSnapshot> {
        self.current.load_full()
    }

    pub fn replace(&self, next: ConfigSnapshot) {
        self.current.store(Arc::new(next));
    }
}

/// Loads the Config tab from a local workbook folder. Never fails as a whole: a missing
/// folder or tab yields defaults and an issue that says what is wrong.
pub fn load_local(dir: &std::path::Path) -> ConfigSnapshot {
    let source = format!("local:{}", dir.display());
    match crate::sheets::local::CsvFolder::new(dir).read_tabs(&[snapshot::CONFIG_TAB]) {
        Ok(mut tabs) => {
            let table = tabs.remove(snapshot::CONFIG_TAB).flatten();
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

/// The config as a health component: problems in the Config tab degrade the bot (roles
/// or channels may be missing), they never stop it.
pub struct ConfigHealth(pub std::sync::Arc<ConfigRegistry>);

impl crate::runtime::ComponentCheck for ConfigHealth {
    fn name(&self) -> &'static str {
        "config"
    }

    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        let snap = self.0.get();
        let issues: Vec<String> = snap.issues.iter().map(ToString::to_string).collect();
        let health = if issues.is_empty() {
            ComponentHealth::new(
                Level::Ok,
                format!("{} keys from {}", snap.entries.len(), snap.source),
            )
        } else {
            ComponentHealth::new(
                Level::Degraded,
                format!(
                    "{} problem(s) in the {} tab: {}",
                    issues.len(),
                    snap.tab,
                    issues[0]
                ),
            )
        };
        health
            .with("source", &snap.source)
            .with("issues", issues)
            .with("unknown_keys", &snap.unknown_keys)
    }
}
