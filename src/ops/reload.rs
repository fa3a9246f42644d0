//! `ops reload [--reboot]`: re-reads the Config and FeatureToggles tabs, swaps the
//! config in, applies new Sheets tuning and refresh cadences, and rebuilds every cache
//! bucket, all without a restart. A reload that cannot read the workbook changes
//! nothing. `--reboot` (admins: the command metadata says so and the dispatcher enforces
//! it) then restarts the bot gracefully.
//!
//! Laid out like `ops refresh`: [`decide`] (pure) → [`apply`] → [`reply_embed`] (pure).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::refresh::{REFRESH_WAIT, report_table};
use crate::cache::{BucketId, RefreshReport, RefreshTrigger};
use crate::config::LoadError;
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::{Flag, Meta, Tier};
use crate::discord::{BotData, Ctx};
use crate::message::embed::{COLOR_OK, COLOR_WARN, Embed};
use crate::runtime::ShutdownReason;
use crate::util::text::count;

/// Restart after reloading: admins only.
pub(crate) const REBOOT: Flag = Flag {
    name: "--reboot",
    tier: Tier::Admin,
};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub reboot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("Unknown flag {flag}. Usage: `!ops reload [--reboot]`.", flag = crate::util::text::code(.0))]
    UnknownFlag(String),
}

impl From<Refusal> for CommandError {
    fn from(r: Refusal) -> Self {
        CommandError::user(r.to_string())
    }
}

/// The pure decision: the flags as typed. Flags are whole words: `reboot` without its
/// dashes is not `--reboot`.
pub(crate) fn decide(flags: Option<&str>) -> Result<Plan, Refusal> {
    let mut plan = Plan { reboot: false };
    for f in flags.unwrap_or("").split_whitespace() {
        if f.eq_ignore_ascii_case(REBOOT.name) {
            plan.reboot = true;
        } else {
            return Err(Refusal::UnknownFlag(f.to_owned()));
        }
    }
    Ok(plan)
}

#[derive(Debug, Clone)]
pub(crate) struct ReloadReport {
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
    pub(crate) fn ok(&self) -> bool {
        self.toggles_failure.is_none()
            && self.issues == 0
            && self.refreshes.iter().all(|r| !r.result.failed())
    }

    pub(crate) fn summary(&self) -> String {
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
                "{} in the Config tab (`!ops config`)",
                count(self.issues, "problem")
            ));
        }
        parts.join(" • ")
    }
}

/// Reloads: the config, tuning, cadences, every bucket; records it in the audit log.
pub(crate) async fn apply(data: &BotData, actor: &str) -> Result<ReloadReport, LoadError> {
    let before = data.config.get();
    let keep = crate::config::LastGood::in_dir(&data.settings.data_dir);
    let snap = match crate::config::load(data.cache.sources(), Some(&keep), data.status.clock.utc())
        .await
    {
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
        let schedule = id.schedule(&after);
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
            Some(REFRESH_WAIT),
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

/// The log channel's dedupe key: the same person getting the same result inside the
/// window is posted once; anyone else, or another result, is posted.
pub(crate) fn post_key(outcome: &Result<ReloadReport, LoadError>, actor: &str) -> String {
    let result = match outcome {
        Ok(r) => {
            let buckets: Vec<&str> = r.refreshes.iter().map(|x| x.result.as_str()).collect();
            format!("{}|{}", r.summary(), buckets.join(","))
        }
        Err(e) => e.to_string(),
    };
    format!("reload:{actor}:{result}")
}

/// The reply (and the log-channel post): what changed, or why nothing did.
pub(crate) fn reply_embed(
    outcome: &Result<ReloadReport, LoadError>,
    in_use_since: DateTime<Utc>,
    took: Duration,
    actor_name: &str,
) -> Embed {
    let e = match outcome {
        Ok(r) => Embed::new("Config reloaded")
            .description(format!("{}\n{}", r.summary(), report_table(&r.refreshes)))
            .color(if r.ok() { COLOR_OK } else { COLOR_WARN }),
        Err(err) => Embed::new("Reload failed")
            .description(format!(
                "{err}\nThe config loaded at {} UTC stays in use.",
                in_use_since.format("%Y-%m-%d %H:%M")
            ))
            .color(COLOR_WARN),
    };
    e.footer(format!("{} ms • by {actor_name}", took.as_millis()))
}

/// Re-reads Config and FeatureToggles and rebuilds the caches.
///
/// `--reboot` (admins only) then restarts the bot gracefully.
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::staff().slow().flags(&[REBOOT])
)]
pub(crate) async fn reload(
    ctx: Ctx<'_>,
    #[description = "--reboot to restart the bot afterwards (admins)"]
    #[rest]
    flags: Option<String>,
) -> Result<(), CommandError> {
    let plan = decide(flags.as_deref())?;
    let data = ctx.data();
    let clock = &data.status.clock;
    let t0 = clock.now();
    let who = format!("{} ({})", ctx.author().name, ctx.author().id);
    let before = data.config.loaded_at();
    let outcome = apply(data, &who).await;
    let took = clock.now().saturating_duration_since(t0);
    let mut e = reply_embed(&outcome, before, took, &ctx.author().name);
    data.alerts.post(&post_key(&outcome, &who), e.clone()).await;
    if plan.reboot {
        e = e.field(
            "Reboot",
            "graceful restart now; back in a few seconds",
            false,
        );
        reply::send(ctx, Reply::embed(e)).await?;
        data.shutdown.trigger(ShutdownReason::Reboot { actor: who });
        return Ok(());
    }
    reply::send(ctx, Reply::embed(e)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_whole_words() {
        assert_eq!(decide(None), Ok(Plan { reboot: false }));
        assert_eq!(decide(Some("  ")), Ok(Plan { reboot: false }));
        assert_eq!(decide(Some("--reboot")), Ok(Plan { reboot: true }));
        assert_eq!(decide(Some("--Reboot")), Ok(Plan { reboot: true }));
        assert_eq!(
            decide(Some("reboot")),
            Err(Refusal::UnknownFlag("reboot".into())),
            "without dashes it is not the flag"
        );
        assert_eq!(
            decide(Some("--reboot --now")).unwrap_err().to_string(),
            "Unknown flag `--now`. Usage: `!ops reload [--reboot]`."
        );
    }

    #[test]
    fn a_failed_reload_says_which_config_stays() {
        let at: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
        let err = Err(LoadError::Sheets(crate::sheets::SheetsError::Api {
            status: 503,
            message: "backend error".into(),
        }));
        let e = reply_embed(&err, at, Duration::from_millis(7), "sam");
        assert_eq!(e.title, "Reload failed");
        assert_eq!(
            e.description,
            "Google Sheets answered 503: backend error\nThe config loaded at 2026-11-20 08:00 UTC stays in use."
        );
        assert_eq!(e.footer, "7 ms • by sam");
        let ok = Ok(ReloadReport {
            turned_on: vec!["live_queue".into()],
            turned_off: vec![],
            toggles_failure: None,
            issues: 0,
            refreshes: vec![],
        });
        let e = reply_embed(&ok, at, Duration::ZERO, "sam");
        assert_eq!(e.title, "Config reloaded");
        assert!(
            e.description.starts_with("turned on: live_queue\n```"),
            "{}",
            e.description
        );
        assert_eq!(e.color, Some(COLOR_OK));
    }
}
