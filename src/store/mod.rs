//! The state store: SQLite in `DATA_DIR` (`clanhall.db`), the source of truth for what
//! the bot writes. WAL journal, foreign keys on, migrations from `migrations/` embedded
//! at build time, every mutation in one transaction.
//!
//! Opening runs an integrity check. A database that cannot be read, is not a database,
//! fails the check, or comes from a newer build stops the start with a message that
//! says so: it is never recreated, because recreating it would silently drop state.
//!
//! SQLite calls are blocking; they run on tokio's blocking pool behind one connection
//! (the bot's write rate is a few rows a minute).
//!
//! Who owns what: the store owns the connection, the migrations, the transaction helper
//! ([`Store::transaction`], [`Store::read`]) and the platform tables (`audit_events`,
//! and `job_runs`/`job_state`, which the scheduler reads and writes through the queries
//! below). A feature owns its own tables' queries in its own module and runs them
//! through `transaction`, writing its audit row with [`Store::audit_in`] in the same
//! transaction.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::runtime::Clock;
use serde::Serialize;

/// File name inside `DATA_DIR`.
pub(crate) const DB_FILE: &str = "clanhall.db";

/// Every migration, in order. A test keeps this list and `migrations/` in step.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_reservations",
        include_str!("../../migrations/0002_reservations.sql"),
    ),
    (
        "0003_onboarding",
        include_str!("../../migrations/0003_onboarding.sql"),
    ),
    (
        "0004_recruitment",
        include_str!("../../migrations/0004_recruitment.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the state database {path}: {reason}. Check that DATA_DIR is a writable directory"
    )]
    Open { path: PathBuf, reason: String },
    #[error(
        "the state database {path} is unreadable or corrupt ({detail}). It was left untouched: restore it from a backup, or move it aside to start with an empty state"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the state database {path} was written by a newer clanhall (schema {found}; this build knows up to {known}). Run the newer build, or restore an older backup"
    )]
    TooNew {
        path: PathBuf,
        found: String,
        known: String,
    },
    #[error("state database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database worker failed: {0}")]
    Worker(String),
}

/// A timestamp as stored: RFC 3339 UTC with milliseconds, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRunRow {
    pub id: i64,
    pub job: String,
    pub trace: String,
    pub trigger: String,
    pub actor: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub orphaned_offload_possible: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobStateRow {
    pub paused: bool,
    pub paused_by: Option<String>,
    pub last_daily_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// How a run ended, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Ok,
    Error,
    Timeout,
    Panic,
    /// The process stopped while the run was in progress (set at the next start).
    Interrupted,
}

impl RunResult {
    /// A stored result; `running` (a run in progress) is not one.
    pub(crate) fn parse(s: &str) -> Option<RunResult> {
        [
            RunResult::Ok,
            RunResult::Error,
            RunResult::Timeout,
            RunResult::Panic,
            RunResult::Interrupted,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Ok => "ok",
            RunResult::Error => "error",
            RunResult::Timeout => "timeout",
            RunResult::Panic => "panic",
            RunResult::Interrupted => "interrupted",
        }
    }
}

/// One audit-log entry: who did what to what.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Audit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
}

/// How a run ended, for [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedRun {
    pub run_id: i64,
    pub finished: DateTime<Utc>,
    pub result: RunResult,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// What the job reported it did.
    pub detail: Option<serde_json::Value>,
    pub orphaned_offload_possible: bool,
    /// For daily jobs: the job and the day it ran (its "already ran today" marker).
    pub daily: Option<(String, NaiveDate)>,
}

/// Counts removed by a prune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub job_runs: usize,
    pub audit_events: usize,
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Stamps every row the store writes itself (migrations, audit rows, pauses).
    clock: Arc<dyn Clock>,
    pub path: PathBuf,
    /// The last call's error, cleared by the next success (for `/health`).
    last_error: Arc<Mutex<Option<String>>>,
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        }
        _ => StoreError::Sql(e),
    }
}

/// Whether `path` is an existing database to open (`false`: a new one will be made). An
/// existing file that is empty is refused: only a missing file makes a new database, so
/// a truncated file can never silently restart the bot with no history.
fn existing_database(path: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => {
            let wal = PathBuf::from(format!("{}-wal", path.display()));
            if std::fs::metadata(&wal).is_ok_and(|w| w.len() > 0) {
                return Ok(true);
            }
            Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: "the file is empty (0 bytes)".into(),
            })
        }
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Whether the database holds clanhall's schema (its migrations table).
fn has_schema(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn migrate(
    conn: &mut Connection,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    let applied: Vec<String> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let known: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
    if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.as_str())) {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: unknown.clone(),
            known: known.last().copied().unwrap_or("none").to_owned(),
        });
    }
    let mut ran = Vec::new();
    for (version, sql) in MIGRATIONS {
        if applied.iter().any(|a| a == version) {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, ts(now)],
        )?;
        tx.commit()?;
        ran.push((*version).to_owned());
    }
    Ok(ran)
}

impl Store {
    /// Opens (or creates) the database in `data_dir`, checks its integrity, migrates it
    /// and marks runs left `running` by a crash as `interrupted`. Blocking.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let existed = existing_database(&path)?;
        let mut conn = Connection::open(&path).map_err(|e| classify(&path, e))?;
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| match classify(&path, e) {
                StoreError::Sql(e) => StoreError::Corrupt {
                    path: path.clone(),
                    detail: e.to_string(),
                },
                other => other,
            })?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path,
                detail: format!("integrity check: {check}"),
            });
        }
        if existed && !has_schema(&conn).map_err(|e| classify(&path, e))? {
            return Err(StoreError::Corrupt {
                path,
                detail: "it holds no clanhall schema (no schema_migrations table), so it is not this bot's database".into(),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| classify(&path, e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let ran = migrate(&mut conn, &path, clock.utc())?;
        let interrupted = conn.execute(
            "UPDATE job_runs SET result = 'interrupted', finished_at = ?1, error = 'the process stopped while this run was in progress' WHERE result = 'running'",
            params![ts(clock.utc())],
        )?;
        tracing::info!(path = %path.display(), migrations_applied = ran.len(), interrupted_runs = interrupted, "state store opened; integrity check ok");
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            clock,
            path,
            last_error: Arc::default(),
        })
    }

    /// Checks the database in `data_dir` without changing anything (for `clanhall check`):
    /// a missing file is fine (a new one will be made); an existing one must open, pass
    /// the integrity check, hold clanhall's schema and not come from a newer build.
    pub(crate) fn inspect(data_dir: &Path) -> Result<(), StoreError> {
        use rusqlite::OpenFlags;
        let path = data_dir.join(DB_FILE);
        if !existing_database(&path)? {
            return Ok(());
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| classify(&path, e))?;
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(format!("integrity check: {check}")));
        }
        if !has_schema(&conn).map_err(|e| corrupt(e.to_string()))? {
            return Err(corrupt("it holds no clanhall schema (no schema_migrations table), so it is not this bot's database".into()));
        }
        let applied: Vec<String> = conn
            .prepare("SELECT version FROM schema_migrations")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let known: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        if let Some(newer) = applied.iter().find(|v| !known.contains(&v.as_str())) {
            return Err(StoreError::TooNew {
                path,
                found: newer.clone(),
                known: known.last().copied().unwrap_or("none").to_owned(),
            });
        }
        Ok(())
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut c = conn.lock();
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))
        .and_then(|r| r);
        *self.last_error.lock() = result.as_ref().err().map(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "state store call failed");
        }
        result
    }

    /// Runs `f` in one transaction on the blocking pool: committed when `f` returns `Ok`,
    /// rolled back otherwise. Every change a feature makes goes through here, with its
    /// audit row ([`Store::audit_in`]) in the same transaction.
    pub(crate) async fn transaction<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Runs a read on the blocking pool.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(move |c| f(c)).await
    }

    /// The time the store stamps rows with (the injected clock).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.utc()
    }

    /// Writes an audit row inside the caller's transaction.
    pub(crate) fn audit_in(
        tx: &rusqlite::Transaction<'_>,
        at: DateTime<Utc>,
        entry: &Audit<'_>,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO audit_events (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                ts(at),
                entry.actor,
                entry.action,
                entry.target,
                entry.detail.as_ref().map(|d| d.to_string())
            ],
        )?;
        Ok(())
    }

    /// The last call's error, if the last call failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    /// Records the start of a run; returns its id. Committed when this returns.
    pub async fn start_run(
        &self,
        job: &str,
        trace: &str,
        trigger: &str,
        actor: &str,
        started: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (job, trace, trigger, actor) = (
            job.to_owned(),
            trace.to_owned(),
            trigger.to_owned(),
            actor.to_owned(),
        );
        self.transaction(move |tx| {
            tx.execute(
                "INSERT INTO job_runs (job, trace, trigger, actor, started_at, result) VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
                params![job, trace, trigger, actor, ts(started)],
            )?;
            let id = tx.last_insert_rowid();
            Ok(id)
        })
        .await
    }

    /// Records how a run ended (and, for daily jobs, the day it ran) in one transaction.
    pub async fn finish_run(&self, run: FinishedRun) -> Result<(), StoreError> {
        let FinishedRun {
            run_id,
            finished,
            result,
            duration_ms,
            error,
            detail,
            orphaned_offload_possible,
            daily,
        } = run;
        self.transaction(move |tx| {
            tx.execute(
                "UPDATE job_runs SET finished_at = ?2, result = ?3, duration_ms = ?4, error = ?5, detail = ?6, orphaned_offload_possible = ?7 WHERE id = ?1",
                params![run_id, ts(finished), result.as_str(), duration_ms, error, detail.map(|d| d.to_string()), orphaned_offload_possible],
            )?;
            if let Some((job, day)) = daily {
                tx.execute(
                    "INSERT INTO job_state (job, last_daily_date, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (job) DO UPDATE SET last_daily_date = excluded.last_daily_date, updated_at = excluded.updated_at",
                    params![job, day.to_string(), ts(finished)],
                )?;
            }
            Ok(())
        })
        .await
    }

    fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRunRow> {
        let started: String = r.get(5)?;
        let finished: Option<String> = r.get(6)?;
        Ok(JobRunRow {
            id: r.get(0)?,
            job: r.get(1)?,
            trace: r.get(2)?,
            trigger: r.get(3)?,
            actor: r.get(4)?,
            started_at: parse_ts(&started).unwrap_or_default(),
            finished_at: finished.as_deref().and_then(parse_ts),
            result: r.get(7)?,
            duration_ms: r.get(8)?,
            error: r.get(9)?,
            orphaned_offload_possible: r.get(10)?,
        })
    }

    /// The newest runs (of one job, or all), newest first.
    pub async fn recent_runs(
        &self,
        job: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobRunRow>, StoreError> {
        let job = job.map(str::to_owned);
        self.read(move |c| {
            let sql = "SELECT id, job, trace, trigger, actor, started_at, finished_at, result, duration_ms, error, orphaned_offload_possible
                       FROM job_runs WHERE (?1 IS NULL OR job = ?1) ORDER BY id DESC LIMIT ?2";
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![job, limit as i64], Self::row_to_run)?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn run(&self, id: i64) -> Result<Option<JobRunRow>, StoreError> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT id, job, trace, trigger, actor, started_at, finished_at, result, duration_ms, error, orphaned_offload_possible FROM job_runs WHERE id = ?1",
                params![id],
                Self::row_to_run,
            )
            .optional()?)
        })
        .await
    }

    pub async fn job_states(&self) -> Result<BTreeMap<String, JobStateRow>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT job, paused, paused_by, last_daily_date FROM job_state")?;
            let rows = stmt.query_map([], |r| {
                let day: Option<String> = r.get(3)?;
                Ok((
                    r.get::<_, String>(0)?,
                    JobStateRow {
                        paused: r.get(1)?,
                        paused_by: r.get(2)?,
                        last_daily_date: day.and_then(|d| d.parse().ok()),
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Pauses or resumes a job and records who did it, in one transaction.
    pub async fn set_paused(&self, job: &str, paused: bool, actor: &str) -> Result<(), StoreError> {
        let (job, actor) = (job.to_owned(), actor.to_owned());
        let at = self.now();
        self.transaction(move |tx| {
            let now = ts(at);
            tx.execute(
                "INSERT INTO job_state (job, paused, paused_by, paused_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (job) DO UPDATE SET paused = excluded.paused, paused_by = excluded.paused_by, paused_at = excluded.paused_at, updated_at = excluded.updated_at",
                params![job, paused, actor, now],
            )?;
            let entry = Audit {
                actor: &actor,
                action: if paused { "job.pause" } else { "job.resume" },
                target: Some(&job),
                detail: None,
            };
            Self::audit_in(tx, at, &entry)
        })
        .await
    }

    /// Records an action in the audit log, in its own transaction.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        let (actor, action, target) = (
            actor.to_owned(),
            action.to_owned(),
            target.map(str::to_owned),
        );
        let now = self.now();
        self.transaction(move |tx| {
            let entry = Audit {
                actor: &actor,
                action: &action,
                target: target.as_deref(),
                detail,
            };
            Self::audit_in(tx, now, &entry)
        })
        .await
    }

    pub async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare("SELECT id, at, actor, action, target, detail FROM audit_events ORDER BY id DESC LIMIT ?1")?;
            let rows = stmt
                .query_map(params![limit as i64], |r| {
                    Ok(AuditRow { id: r.get(0)?, at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, target: r.get(4)?, detail: r.get(5)? })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Deletes finished runs and audit events older than the cut-offs, in one transaction.
    pub async fn prune(
        &self,
        runs_before: DateTime<Utc>,
        audit_before: DateTime<Utc>,
    ) -> Result<Pruned, StoreError> {
        self.transaction(move |tx| {
            let job_runs = tx.execute(
                "DELETE FROM job_runs WHERE started_at < ?1 AND result != 'running'",
                params![ts(runs_before)],
            )?;
            let audit_events = tx.execute(
                "DELETE FROM audit_events WHERE at < ?1",
                params![ts(audit_before)],
            )?;
            Ok(Pruned {
                job_runs,
                audit_events,
            })
        })
        .await
    }

    /// Row counts per table, for reports and health.
    pub async fn counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        self.read(|c| {
            let mut out = BTreeMap::new();
            for table in ["job_runs", "job_state", "audit_events"] {
                let n: i64 =
                    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
                out.insert(table.to_owned(), n);
            }
            Ok(out)
        })
        .await
    }

    /// A cheap liveness probe of the database (for `/health`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
        .await
    }
}

/// The store as a health component: degraded while its last call failed.
pub(crate) struct StoreHealth(pub Store);

impl crate::runtime::ComponentCheck for StoreHealth {
    fn name(&self) -> &'static str {
        "store"
    }
    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        match self.0.last_error() {
            None => ComponentHealth::new(Level::Ok, "SQLite ok"),
            Some(e) => ComponentHealth::new(Level::Degraded, format!("last call failed: {e}")),
        }
        .with("path", self.0.path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::SystemClock;

    #[tokio::test]
    async fn runs_state_and_audit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let t0 = Utc::now();
        let id = store
            .start_run("retention:sweep", "abcd", "schedule", "scheduler", t0)
            .await
            .unwrap();
        let running = store.run(id).await.unwrap().unwrap();
        assert_eq!(running.result, "running");
        let day = t0.date_naive();
        store
            .finish_run(FinishedRun {
                run_id: id,
                finished: t0,
                result: RunResult::Ok,
                duration_ms: 12,
                error: None,
                detail: Some(serde_json::json!({"removed": 3})),
                orphaned_offload_possible: false,
                daily: Some(("retention:sweep".into(), day)),
            })
            .await
            .unwrap();
        let done = store.run(id).await.unwrap().unwrap();
        assert_eq!((done.result.as_str(), done.duration_ms), ("ok", Some(12)));
        store
            .set_paused("retention:sweep", true, "ada")
            .await
            .unwrap();
        let states = store.job_states().await.unwrap();
        let st = &states["retention:sweep"];
        assert!(st.paused);
        assert_eq!(st.paused_by.as_deref(), Some("ada"));
        assert_eq!(st.last_daily_date, Some(day));
        let audit = store.recent_audit(10).await.unwrap();
        assert_eq!(audit[0].action, "job.pause");
        assert_eq!(store.counts().await.unwrap()["job_runs"], 1);
    }

    #[tokio::test]
    async fn a_crash_leaves_running_rows_marked_interrupted_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let id = store
            .start_run("j", "t", "manual", "api", Utc::now())
            .await
            .unwrap();
        drop(store);
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let row = store.run(id).await.unwrap().unwrap();
        assert_eq!(row.result, "interrupted");
        assert!(row.error.unwrap().contains("stopped"));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        std::fs::write(&path, b"this is definitely not sqlite, it is a text file with enough bytes to look like a header").unwrap();
        let err = Store::open(dir.path(), Arc::new(SystemClock))
            .err()
            .expect("must refuse");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"));
        assert_eq!(
            std::fs::read(&path).unwrap()[..4],
            *b"this",
            "never recreated"
        );
    }

    #[test]
    fn an_empty_file_or_one_without_our_schema_is_refused_not_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        std::fs::write(&path, b"").unwrap();
        let err = Store::open(dir.path(), Arc::new(SystemClock))
            .err()
            .expect("a 0-byte file is not a new database");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left untouched");

        // A real SQLite file, but not one of ours (no schema_migrations).
        std::fs::remove_file(&path).unwrap();
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
        drop(c);
        let err = Store::open(dir.path(), Arc::new(SystemClock))
            .err()
            .expect("a foreign database is refused");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("schema"), "{err}");

        // Only a missing file makes a new database.
        std::fs::remove_file(&path).unwrap();
        assert!(Store::open(dir.path(), Arc::new(SystemClock)).is_ok());
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), Arc::new(SystemClock)).unwrap());
        let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.execute(
            "INSERT INTO schema_migrations VALUES ('9999_future', 'x')",
            [],
        )
        .unwrap();
        drop(c);
        let err = Store::open(dir.path(), Arc::new(SystemClock))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    #[tokio::test]
    async fn prune_removes_only_old_finished_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let old = Utc::now() - chrono::Duration::days(40);
        let a = store
            .start_run("j", "t", "schedule", "scheduler", old)
            .await
            .unwrap();
        store
            .finish_run(FinishedRun {
                run_id: a,
                finished: old,
                result: RunResult::Ok,
                duration_ms: 1,
                error: None,
                detail: None,
                orphaned_offload_possible: false,
                daily: None,
            })
            .await
            .unwrap();
        let _still_running = store
            .start_run("j", "t", "schedule", "scheduler", old)
            .await
            .unwrap();
        let _new = store
            .start_run("j", "t", "schedule", "scheduler", Utc::now())
            .await
            .unwrap();
        let cut = Utc::now() - chrono::Duration::days(30);
        assert_eq!(
            store.prune(cut, cut).await.unwrap(),
            Pruned {
                job_runs: 1,
                audit_events: 0
            }
        );
        assert_eq!(store.counts().await.unwrap()["job_runs"], 2);
    }

    #[tokio::test]
    async fn a_failing_call_degrades_health_until_the_next_success() {
        use crate::runtime::ComponentCheck as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let health = StoreHealth(store.clone());
        assert_eq!(health.check().status, crate::runtime::Level::Ok);
        let err = store
            .call(|c| Ok(c.execute("INSERT INTO no_such_table VALUES (1)", [])?))
            .await;
        assert!(err.is_err());
        let h = health.check();
        assert_eq!(h.status, crate::runtime::Level::Degraded);
        assert!(h.summary.contains("no_such_table"), "{}", h.summary);
        store.ping().await.unwrap();
        assert_eq!(health.check().status, crate::runtime::Level::Ok);
    }

    #[test]
    fn migrations_list_matches_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_owned())
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(files, listed);
    }
}
