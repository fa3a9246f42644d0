//! The `retention:sweep` job: prunes rotated telemetry files, old job runs and old audit
//! events past the windows in the Config tab (`RETENTION_*_DAYS`), and writes a report
//! (`DATA_DIR/retention/latest.json` plus one per day) that `clanhall report retention`
//! prints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::config::ConfigRegistry;
use crate::config::snapshot::Retention;
use crate::scheduler::JobError;
use crate::store::{Pruned, Store};
use crate::telemetry::events::{Telemetry, files};

pub(crate) const JOB_ID: &str = "retention:sweep";
/// Daily, at a quiet hour.
pub(crate) const SCHEDULE: &str = "03:30";
pub(crate) const REPORT_DIR: &str = "retention";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RetentionReport {
    pub generated_at: String,
    pub trace: String,
    pub windows_days: Retention,
    pub removed_job_runs: usize,
    pub removed_audit_events: usize,
    pub removed_telemetry_files: Vec<String>,
    pub remaining: std::collections::BTreeMap<String, i64>,
    pub warnings: Vec<String>,
}

/// Rotated telemetry files (never the live one) last modified before `cutoff`.
pub(crate) fn expired_telemetry_files(live: &Path, cutoff: DateTime<Utc>) -> Vec<PathBuf> {
    files(live)
        .into_iter()
        .filter(|p| p != live)
        .filter(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .map(|t| DateTime::<Utc>::from(t) < cutoff)
                .unwrap_or(false)
        })
        .collect()
}

/// One sweep. Returns the report it wrote. The file work (deleting rotated telemetry,
/// writing the fsync'd reports) runs on the blocking pool.
pub(crate) async fn sweep(
    store: &Store,
    config: &ConfigRegistry,
    telemetry: &Telemetry,
    data_dir: &Path,
    now: DateTime<Utc>,
    trace: &str,
) -> Result<RetentionReport, JobError> {
    let w = config.get().retention;
    let days = move |d: u32| now - chrono::Duration::days(d as i64);
    let Pruned {
        job_runs,
        audit_events,
    } = store
        .prune(days(w.job_runs_days), days(w.audit_days))
        .await?;
    let remaining = store.counts().await?;
    let live = telemetry.path.clone();
    let dir = data_dir.join(REPORT_DIR);
    let trace = trace.to_owned();
    let report = tokio::task::spawn_blocking(move || {
        let mut warnings = Vec::new();
        let mut removed_files = Vec::new();
        for f in expired_telemetry_files(&live, days(w.telemetry_days)) {
            match std::fs::remove_file(&f) {
                Ok(()) => removed_files.push(f.display().to_string()),
                Err(e) => warnings.push(format!("could not remove {}: {e}", f.display())),
            }
        }
        let report = RetentionReport {
            generated_at: crate::store::ts(now),
            trace,
            windows_days: w,
            removed_job_runs: job_runs,
            removed_audit_events: audit_events,
            removed_telemetry_files: removed_files,
            remaining,
            warnings,
        };
        write_reports(&dir, &report, now, w.audit_days)?;
        Ok::<_, JobError>(report)
    })
    .await
    .map_err(|e| JobError::Offload(e.to_string()))??;
    telemetry.emit(
        "retention",
        &report.trace,
        serde_json::to_value(&report).unwrap_or_default(),
    );
    Ok(report)
}

/// Writes today's report and `latest.json`; dated reports follow the audit window.
fn write_reports(
    dir: &Path,
    report: &RetentionReport,
    now: DateTime<Utc>,
    audit_days: u32,
) -> Result<(), JobError> {
    atomic_file::write_json(&dir.join(format!("{}.json", now.date_naive())), report)?;
    atomic_file::write_json(&dir.join("latest.json"), report)?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        let oldest = (now - chrono::Duration::days(audit_days as i64)).date_naive();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let day = name
                .strip_suffix(".json")
                .and_then(|d| d.parse::<NaiveDate>().ok());
            if day.is_some_and(|d| d < oldest) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// The scheduler job.
pub(crate) fn job(
    store: Store,
    config: Arc<ConfigRegistry>,
    telemetry: Arc<Telemetry>,
    data_dir: PathBuf,
) -> crate::scheduler::JobSpec {
    use crate::scheduler::{JobSpec, Schedule};
    let schedule = Schedule::parse(SCHEDULE).unwrap_or(Schedule::daily(3, 30));
    JobSpec::new(
        JOB_ID,
        "Prunes old job runs, audit events and telemetry files; writes a retention report",
        schedule,
        std::time::Duration::from_secs(120),
        move |ctx| {
            let (store, config, telemetry, data_dir) = (
                store.clone(),
                config.clone(),
                telemetry.clone(),
                data_dir.clone(),
            );
            async move {
                let r = sweep(
                    &store,
                    &config,
                    &telemetry,
                    &data_dir,
                    ctx.started,
                    &ctx.trace,
                )
                .await?;
                Ok(serde_json::json!({
                    "removed_job_runs": r.removed_job_runs,
                    "removed_audit_events": r.removed_audit_events,
                    "removed_telemetry_files": r.removed_telemetry_files.len(),
                }))
            }
        },
    )
}

/// The latest report (or one day's), for `clanhall report retention`.
pub(crate) fn read_report(
    data_dir: &Path,
    day: Option<NaiveDate>,
) -> Result<RetentionReport, String> {
    let dir = data_dir.join(REPORT_DIR);
    let file = match day {
        Some(d) => dir.join(format!("{d}.json")),
        None => dir.join("latest.json"),
    };
    match atomic_file::read_json::<RetentionReport>(&file) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(format!(
            "no retention report at {}: the {JOB_ID} job writes one daily at {SCHEDULE} UTC (an admin can run it now with `!ops jobs run {JOB_ID}`)",
            file.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::SystemClock;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn sweep_prunes_within_windows_and_writes_reports() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let now = Utc::now();
        let old = store
            .start_run(
                "j",
                "t",
                "schedule",
                "scheduler",
                now - chrono::Duration::days(45),
            )
            .await
            .unwrap();
        store
            .finish_run(crate::store::FinishedRun {
                run_id: old,
                finished: now,
                result: crate::store::RunResult::Ok,
                duration_ms: 1,
                error: None,
                detail: None,
                orphaned_offload_possible: false,
                daily: None,
            })
            .await
            .unwrap();
        store
            .start_run("j", "t", "schedule", "scheduler", now)
            .await
            .unwrap();
        let live = dir.path().join("logs/t.jsonl");
        std::fs::create_dir_all(live.parent().unwrap()).unwrap();
        std::fs::write(&live, b"{}\n").unwrap();
        let rotated = PathBuf::from(format!("{}.1", live.display()));
        std::fs::write(&rotated, b"{}\n").unwrap();
        let stop = CancellationToken::new();
        let (telemetry, _) = Telemetry::start(live.clone(), stop.clone());
        let config = ConfigRegistry::new(Default::default(), Arc::new(SystemClock));
        // The rotated file counts as old once the sweep runs "later".
        let later = now + chrono::Duration::days(20);
        let report = sweep(&store, &config, &telemetry, dir.path(), later, "trace1")
            .await
            .unwrap();
        assert_eq!(report.removed_job_runs, 1);
        assert_eq!(
            report.removed_telemetry_files,
            vec![rotated.display().to_string()]
        );
        assert!(live.exists(), "the live file is never pruned");
        assert!(!rotated.exists());
        assert_eq!(report.remaining["job_runs"], 1);
        let read = read_report(dir.path(), None).unwrap();
        assert_eq!(read, report);
        assert_eq!(
            read_report(dir.path(), Some(later.date_naive())).unwrap(),
            report
        );
        assert!(
            read_report(
                dir.path(),
                Some(NaiveDate::from_ymd_opt(2001, 1, 1).unwrap())
            )
            .unwrap_err()
            .contains("no retention report")
        );
        stop.cancel();
    }
}
