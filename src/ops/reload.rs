//! `ops reload`: re-reads the Config and FeatureToggles tabs, swaps the config in,
//! applies new Sheets tuning and refresh cadences, and rebuilds every cache bucket, all
//! without a restart. A reload that cannot read the workbook changes nothing.

use std::collections::BTreeSet;

use serde_json::json;

use crate::cache::{BucketId, RefreshReport, RefreshTrigger};
use crate::discord::BotData;
use crate::sheets::SheetsError;

#[derive(Debug, Clone)]
pub struct ReloadReport {
    pub turned_on: Vec<String>,
    pub turned_off: Vec<String>,
    pub toggles_failure: Option<String>,
    pub issues: usize,
    pub refreshes: Vec<RefreshReport>,
}

fn on(snap: &crate::config::ConfigSnapshot) -> BTreeSet<String> {
    if snap.toggles.failure.is_some() {
        return BTreeSet::new();
    }
    snap.toggles
        .values
        .iter()
        .filter(|(_, v)| **v)
        .map(|(k, _)| k.clone())
        .collect()
}

impl ReloadReport {
    pub fn ok(&self) -> bool {
        self.toggles_failure.is_none()
            && self.issues == 0
            && self.refreshes.iter().all(|r| r.result != "fail")
    }

    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        match &self.toggles_failure {
            Some(why) => parts.push(format!("⚠️ feature toggles failed closed: {why}")),
            None if self.turned_on.is_empty() && self.turned_off.is_empty() => {
                parts.push("toggles unchanged".into())
            }
            None => {
                if !self.turned_on.is_empty() {
                    parts.push(format!("turned on: {}", self.turned_on.join(", ")));
                }
                if !self.turned_off.is_empty() {
                    parts.push(format!("turned off: {}", self.turned_off.join(", ")));
                }
            }
        }
        if self.issues > 0 {
            parts.push(format!(
                "{} problem(s) in the Config tab (`!ops config`)",
                self.issues
            ));
        }
        parts.join(" • ")
    }
}

pub async fn reload(data: &BotData, actor: &str) -> Result<ReloadReport, SheetsError> {
    let before = data.config.get();
    let keep = crate::config::LastGood::in_dir(&data.settings.data_dir);
    let snap = match crate::config::load(data.cache.sources(), Some(&keep)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(actor, error = %e, "config reload failed; the previous config stays in use");
            return Err(e);
        }
    };
    data.cache.sources().set_tuning(snap.sheets);
    data.config.replace(snap);
    let after = data.config.get();
    crate::config::announce(&after, data.alerts.as_ref()).await;
    for id in BucketId::ALL {
        let (schedule, _) = id.schedule(&after);
        if let Err(e) = data.scheduler.reschedule(&id.job_id(), schedule) {
            tracing::warn!(job = %id.job_id(), error = %e, "could not apply the refresh cadence");
        }
    }
    let refreshes = data
        .cache
        .refresh(
            &BucketId::ALL,
            RefreshTrigger::Manual,
            actor,
            Some(super::commands::REFRESH_WAIT),
        )
        .await;
    let (b, a) = (on(&before), on(&after));
    let report = ReloadReport {
        turned_on: a.difference(&b).cloned().collect(),
        turned_off: b.difference(&a).cloned().collect(),
        toggles_failure: after.toggles.failure.clone(),
        issues: after.issues.len(),
        refreshes,
    };
    let detail = json!({"turned_on": report.turned_on, "turned_off": report.turned_off, "toggles_failure": report.toggles_failure, "issues": report.issues});
    if let Err(e) = data
        .store
        .audit(actor, "config.reload", None, Some(detail))
        .await
    {
        tracing::warn!(error = %e, "could not record the reload in the audit log");
    }
    tracing::info!(actor, summary = %report.summary(), "config reloaded");
    Ok(report)
}
