//! One registry for every periodic job (DESIGN §8): cache refreshes, reminders,
//! retention... The predecessor had five scheduling mechanisms and `!next` saw one; here
//! `ops jobs`, `GET /ops/jobs` and `/metrics` see them all.
//!
//! Each run gets a trace id, a timeout, a row in `job_runs` (inserted when it starts,
//! so a crash leaves evidence) and a `job_run` telemetry event. A run over its timeout
//! is cancelled and recorded as `timeout`; if it had handed blocking work to another
//! thread, that work cannot be stopped and the run says `orphaned_offload_possible`. A
//! failing or panicking job never stops the scheduler: each run is its own task.
//! Pauses and the "already ran today" date of daily jobs are persisted; a daily job
//! whose day was missed while the bot was down runs once at start.

pub(crate) mod schedule;

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

pub(crate) use schedule::Schedule;

use crate::runtime::Clock;
use crate::store::{FinishedRun, RunResult, Store, StoreError};
use crate::telemetry::events::Telemetry;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::new_trace_id;

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    /// A daily job whose day was missed while the bot was down.
    CatchUp,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
            Trigger::Manual => "manual",
        }
    }
}

/// What a running job can see and use.
#[derive(Clone)]
pub struct JobContext {
    pub job: String,
    pub trace: String,
    pub trigger: Trigger,
    pub actor: String,
    /// When the run started, by the scheduler's clock: what a job takes as "now".
    pub started: DateTime<Utc>,
    /// Cancelled on shutdown; long jobs should stop at their next step.
    pub cancel: CancellationToken,
    offloaded: Arc<AtomicBool>,
}

impl JobContext {
    /// Runs blocking work on another thread. If the run then times out, that work cannot
    /// be stopped: the run is recorded with `orphaned_offload_possible`.
    pub async fn offload<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobError> {
        self.offloaded.store(true, Ordering::SeqCst);
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| JobError::Offload(e.to_string()))
    }
}

/// Why a job run did not do its work.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] crate::atomic_file::FileError),
    /// The job ran, and the work it exists for did not happen; the message says why.
    #[error("{0}")]
    Incomplete(String),
    /// Blocking work handed to another thread failed (it panicked or was cancelled).
    #[error("offloaded work failed: {0}")]
    Offload(String),
}

/// Whether a scheduled run has anything to do; asked before the run is recorded.
pub(crate) type IdleFn = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// A job's work: a summary of what it did (stored and sent as telemetry), or why not.
pub(crate) type JobFn =
    Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<Value, JobError>> + Send + Sync>;

#[derive(Clone)]
pub struct JobSpec {
    pub id: String,
    pub description: String,
    pub schedule: Schedule,
    pub timeout: Duration,
    pub run: JobFn,
    /// A daily job whose time today has passed without a run is run at start even when
    /// it has never run before (a first deploy in the evening): for work that is only
    /// ever late, never wrong, such as ending expired holds.
    pub catch_up_always: bool,
    /// Also run once right at start (then on the schedule): for work left over from the
    /// last process, such as writes still queued for the sheet.
    pub run_at_start: bool,
    /// Asked before each scheduled run: `true` skips it unrecorded (a job that runs every
    /// minute *while there is work*, such as the mirror flush, would otherwise fill
    /// `job_runs` with empty runs). Manual runs always run.
    pub idle: Option<IdleFn>,
}

impl JobSpec {
    pub fn new<F, Fut>(
        id: &str,
        description: &str,
        schedule: Schedule,
        timeout: Duration,
        f: F,
    ) -> JobSpec
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        JobSpec {
            id: id.to_owned(),
            description: description.to_owned(),
            schedule,
            timeout,
            run: Arc::new(move |ctx| Box::pin(f(ctx))),
            catch_up_always: false,
            run_at_start: false,
            idle: None,
        }
    }

    /// See [`JobSpec::idle`].
    pub(crate) fn idle_when<F, Fut>(mut self, f: F) -> JobSpec
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        self.idle = Some(Arc::new(move || Box::pin(f())));
        self
    }

    /// See [`JobSpec::run_at_start`].
    pub fn at_start(mut self) -> JobSpec {
        self.run_at_start = true;
        self
    }

    /// See [`JobSpec::catch_up_always`].
    pub fn always_catch_up(mut self) -> JobSpec {
        self.catch_up_always = true;
        self
    }
}

/// What operators see of a job.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: String,
    pub description: String,
    pub schedule: String,
    pub paused: bool,
    pub running: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<DateTime<Utc>>,
    pub last_result: Option<RunResult>,
    pub last_duration_ms: Option<u64>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_daily_date: Option<NaiveDate>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("there is no job {0:?}; jobs: {1}")]
    UnknownJob(String, String),
    #[error("{0} is already running")]
    AlreadyRunning(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Entry {
    spec: JobSpec,
    next_run: Option<DateTime<Utc>>,
    next_trigger: Trigger,
    last_run: Option<DateTime<Utc>>,
    last_result: Option<RunResult>,
    last_duration_ms: Option<u64>,
    consecutive_failures: u32,
    last_error: Option<String>,
    paused: bool,
    running: bool,
    last_daily_date: Option<NaiveDate>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub run_id: i64,
    pub job: String,
    pub result: RunResult,
    pub error: Option<String>,
    pub detail: Option<Value>,
    pub duration: Duration,
    pub orphaned_offload_possible: bool,
}

/// A started run.
#[derive(Debug)]
pub struct RunHandle {
    pub run_id: i64,
    pub trace: String,
    pub job: String,
    done: tokio::task::JoinHandle<RunOutcome>,
}

impl RunHandle {
    pub async fn wait(self) -> Option<RunOutcome> {
        self.done.await.ok()
    }
}

pub struct Scheduler {
    entries: Mutex<BTreeMap<String, Entry>>,
    store: Store,
    clock: Arc<dyn Clock>,
    telemetry: Arc<Telemetry>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    wake: Notify,
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".into()),
        Err(e) => e.to_string(),
    }
}

impl Scheduler {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        telemetry: Arc<Telemetry>,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            entries: Mutex::new(BTreeMap::new()),
            store,
            clock,
            telemetry,
            metrics,
            cancel,
            tasks,
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock()
    }

    fn job_list(&self) -> String {
        self.lock().keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Adds a job (or replaces its spec, keeping its history), with its persisted state:
    /// paused, and the day a daily job last ran. A daily job whose day was missed is due
    /// at once.
    pub async fn register(&self, spec: JobSpec) -> Result<(), StoreError> {
        let state = self
            .store
            .job_states()
            .await?
            .remove(&spec.id)
            .unwrap_or_default();
        let now = self.clock.utc();
        let today = now.date_naive();
        let (next_run, next_trigger) = match (spec.schedule.today_at(now), state.last_daily_date) {
            // Ran before, not today, and today's time has passed: a missed day.
            (Some(at), Some(last)) if last < today && now >= at => (Some(now), Trigger::CatchUp),
            (Some(at), None) if spec.catch_up_always && now >= at => (Some(now), Trigger::CatchUp),
            // Already ran today: tomorrow.
            (Some(at), Some(last)) if last >= today => {
                (spec.schedule.next_after(at.max(now)), Trigger::Schedule)
            }
            _ if spec.run_at_start => (Some(now), Trigger::Schedule),
            _ => (spec.schedule.next_after(now), Trigger::Schedule),
        };
        // What the last runs were, from the store: a restart must not make `ops jobs`
        // forget them (an interrupted run included).
        let recent = self.store.recent_runs(Some(&spec.id), 10).await?;
        let last = recent.first();
        let failures = recent
            .iter()
            .take_while(|r| RunResult::parse(&r.result).is_some_and(|x| x != RunResult::Ok))
            .count() as u32;
        if next_trigger == Trigger::CatchUp {
            tracing::info!(job = %spec.id, last_ran = %state.last_daily_date.map(|d| d.to_string()).unwrap_or_default(), "daily job missed while the bot was down; running it now");
        }
        let mut entries = self.lock();
        match entries.get_mut(&spec.id) {
            Some(e) => {
                e.next_run = if e.spec.schedule == spec.schedule {
                    e.next_run
                } else {
                    spec.schedule.next_after(now)
                };
                e.spec = spec;
            }
            None => {
                entries.insert(
                    spec.id.clone(),
                    Entry {
                        spec,
                        next_run,
                        next_trigger,
                        last_run: last.map(|r| r.finished_at.unwrap_or(r.started_at)),
                        last_result: last.and_then(|r| RunResult::parse(&r.result)),
                        last_duration_ms: last.and_then(|r| r.duration_ms).map(|d| d as u64),
                        consecutive_failures: failures,
                        last_error: last.and_then(|r| r.error.clone()),
                        paused: state.paused,
                        running: false,
                        last_daily_date: state.last_daily_date,
                    },
                );
            }
        }
        drop(entries);
        self.wake.notify_one();
        Ok(())
    }

    /// Changes a job's schedule (a cadence edited in the Config tab and reloaded).
    pub fn reschedule(&self, id: &str, schedule: Schedule) -> Result<(), SchedulerError> {
        let now = self.clock.utc();
        let mut entries = self.lock();
        let list = entries.keys().cloned().collect::<Vec<_>>().join(", ");
        let e = entries
            .get_mut(id)
            .ok_or_else(|| SchedulerError::UnknownJob(id.to_owned(), list))?;
        if e.spec.schedule != schedule {
            e.next_run = schedule.next_after(now);
            e.spec.schedule = schedule;
        }
        drop(entries);
        self.wake.notify_one();
        Ok(())
    }

    pub fn views(&self) -> Vec<JobView> {
        self.lock()
            .values()
            .map(|e| JobView {
                id: e.spec.id.clone(),
                description: e.spec.description.clone(),
                schedule: e.spec.schedule.describe(),
                paused: e.paused,
                running: e.running,
                next_run: if e.paused { None } else { e.next_run },
                last_run: e.last_run,
                last_result: e.last_result,
                last_duration_ms: e.last_duration_ms,
                consecutive_failures: e.consecutive_failures,
                last_error: e.last_error.clone(),
                last_daily_date: e.last_daily_date,
            })
            .collect()
    }

    pub fn has_job(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Starts every job due at `now`. Returns the runs started (tests await them).
    pub async fn start_due(self: &Arc<Self>, now: DateTime<Utc>) -> Vec<RunHandle> {
        let due: Vec<(String, Trigger, Option<IdleFn>)> = {
            let mut entries = self.lock();
            entries
                .values_mut()
                .filter(|e| !e.paused && !e.running && e.next_run.is_some_and(|t| t <= now))
                .map(|e| {
                    let trigger = e.next_trigger;
                    e.next_trigger = Trigger::Schedule;
                    e.next_run = e.spec.schedule.next_after(now);
                    (e.spec.id.clone(), trigger, e.spec.idle.clone())
                })
                .collect()
        };
        let mut started = Vec::new();
        for (id, trigger, idle) in due {
            if let Some(idle) = idle
                && idle().await
            {
                continue;
            }
            match self.execute(&id, trigger, "scheduler").await {
                Ok(h) => started.push(h),
                Err(SchedulerError::AlreadyRunning(_)) => {}
                Err(e) => tracing::error!(job = %id, error = %e, "could not start a job run"),
            }
        }
        started
    }

    /// Runs a job now, whatever its schedule (and even when paused).
    pub async fn run_now(
        self: &Arc<Self>,
        id: &str,
        actor: &str,
    ) -> Result<RunHandle, SchedulerError> {
        self.execute(id, Trigger::Manual, actor).await
    }

    pub async fn set_paused(
        &self,
        id: &str,
        paused: bool,
        actor: &str,
    ) -> Result<(), SchedulerError> {
        if !self.has_job(id) {
            return Err(SchedulerError::UnknownJob(id.to_owned(), self.job_list()));
        }
        self.store.set_paused(id, paused, actor).await?;
        let now = self.clock.utc();
        if let Some(e) = self.lock().get_mut(id) {
            e.paused = paused;
            if !paused {
                e.next_run = e.spec.schedule.next_after(now);
            }
        }
        tracing::info!(
            job = id,
            paused,
            actor,
            "job {}",
            if paused { "paused" } else { "resumed" }
        );
        self.wake.notify_one();
        Ok(())
    }

    async fn execute(
        self: &Arc<Self>,
        id: &str,
        trigger: Trigger,
        actor: &str,
    ) -> Result<RunHandle, SchedulerError> {
        let spec = {
            let mut entries = self.lock();
            let list = entries.keys().cloned().collect::<Vec<_>>().join(", ");
            let e = entries
                .get_mut(id)
                .ok_or_else(|| SchedulerError::UnknownJob(id.to_owned(), list))?;
            if e.running {
                return Err(SchedulerError::AlreadyRunning(id.to_owned()));
            }
            e.running = true;
            e.spec.clone()
        };
        let trace = new_trace_id();
        let started = self.clock.utc();
        let run_id = match self
            .store
            .start_run(id, &trace, trigger.as_str(), actor, started)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if let Some(en) = self.lock().get_mut(id) {
                    en.running = false;
                }
                return Err(e.into());
            }
        };
        let ctx = JobContext {
            job: id.to_owned(),
            trace: trace.clone(),
            trigger,
            actor: actor.to_owned(),
            started,
            cancel: self.cancel.child_token(),
            offloaded: Arc::new(AtomicBool::new(false)),
        };
        let me = self.clone();
        let run_trace = trace.clone();
        let span = tracing::info_span!("job", trace = %trace, job = %id);
        let done = self.tasks.spawn(
            async move {
                tracing::info!(run_id, trigger = trigger.as_str(), actor = %ctx.actor, "job started");
                let t0 = Instant::now();
                let offloaded = ctx.offloaded.clone();
                let work = tokio::spawn(crate::telemetry::with_trace(
                    ctx.trace.clone(),
                    (spec.run)(ctx).in_current_span(),
                ));
                let abort = work.abort_handle();
                let (result, error, detail) = match tokio::time::timeout(spec.timeout, work).await {
                    Ok(Ok(Ok(detail))) => (RunResult::Ok, None, Some(detail)),
                    Ok(Ok(Err(e))) => (RunResult::Error, Some(e.to_string()), None),
                    Ok(Err(join)) if join.is_panic() => (RunResult::Panic, Some(format!("panicked: {}", panic_message(join))), None),
                    Ok(Err(join)) => (RunResult::Error, Some(format!("cancelled: {join}")), None),
                    Err(_) => {
                        abort.abort();
                        (RunResult::Timeout, Some(format!("timed out after {}s and was cancelled", spec.timeout.as_secs_f64())), None)
                    }
                };
                let outcome = RunOutcome {
                    run_id,
                    job: spec.id.clone(),
                    orphaned_offload_possible: result == RunResult::Timeout && offloaded.load(Ordering::SeqCst),
                    result,
                    error,
                    detail,
                    duration: t0.elapsed(),
                };
                me.complete(&spec, trigger, &outcome, &run_trace).await;
                outcome
            }
            .instrument(span),
        );
        Ok(RunHandle {
            run_id,
            trace,
            job: id.to_owned(),
            done,
        })
    }

    async fn complete(&self, spec: &JobSpec, trigger: Trigger, o: &RunOutcome, trace: &str) {
        let finished = self.clock.utc();
        let today = finished.date_naive();
        let daily = (spec.schedule.is_daily() && trigger != Trigger::Manual)
            .then(|| (spec.id.clone(), today));
        let ms = o.duration.as_millis() as i64;
        if let Err(e) = self
            .store
            .finish_run(FinishedRun {
                run_id: o.run_id,
                finished,
                result: o.result,
                duration_ms: ms,
                error: o.error.clone(),
                detail: o.detail.clone(),
                orphaned_offload_possible: o.orphaned_offload_possible,
                daily: daily.clone(),
            })
            .await
        {
            tracing::error!(run_id = o.run_id, error = %e, "could not record the end of a job run");
        }
        let failures = {
            let mut entries = self.lock();
            match entries.get_mut(&spec.id) {
                Some(e) => {
                    e.running = false;
                    e.last_run = Some(finished);
                    e.last_result = Some(o.result);
                    e.last_duration_ms = Some(ms as u64);
                    e.last_error = o.error.clone();
                    e.consecutive_failures = if o.result == RunResult::Ok {
                        0
                    } else {
                        e.consecutive_failures + 1
                    };
                    if daily.is_some() {
                        e.last_daily_date = Some(today);
                    }
                    e.consecutive_failures
                }
                None => 0,
            }
        };
        self.metrics.observe_job(
            &spec.id,
            o.result.as_str(),
            o.duration.as_secs_f64(),
            failures,
        );
        self.telemetry.emit(
            "job_run",
            trace,
            serde_json::json!({
                "job": spec.id,
                "run_id": o.run_id,
                "trigger": trigger.as_str(),
                "result": o.result.as_str(),
                "duration_ms": ms,
                "error": o.error,
                "orphaned_offload_possible": o.orphaned_offload_possible,
                "detail": o.detail,
            }),
        );
        if o.result == RunResult::Ok {
            tracing::info!(run_id = o.run_id, result = "ok", ms, "job finished");
        } else {
            tracing::warn!(
                run_id = o.run_id,
                result = o.result.as_str(),
                ms,
                error = o.error.as_deref().unwrap_or(""),
                consecutive_failures = failures,
                orphaned_offload_possible = o.orphaned_offload_possible,
                "job failed"
            );
        }
    }

    /// The scheduling loop: starts due jobs until shutdown.
    pub async fn run(self: Arc<Self>) {
        tracing::info!(jobs = self.lock().len(), "scheduler started");
        loop {
            let now = self.clock.utc();
            self.start_due(now).await;
            let next = self
                .lock()
                .values()
                .filter(|e| !e.paused && !e.running)
                .filter_map(|e| e.next_run)
                .min();
            let wait = next
                .map(|n| (n - now).to_std().unwrap_or_default())
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
        tracing::info!("scheduler stopped");
    }
}

/// The scheduler as a health component: degraded while a job keeps failing.
pub(crate) struct SchedulerHealth(pub Arc<Scheduler>);

impl crate::runtime::ComponentCheck for SchedulerHealth {
    fn name(&self) -> &'static str {
        "scheduler"
    }
    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        let views = self.0.views();
        let failing: Vec<String> = views
            .iter()
            .filter(|v| v.consecutive_failures >= 3)
            .map(|v| format!("{} ({} failures)", v.id, v.consecutive_failures))
            .collect();
        let h = if failing.is_empty() {
            ComponentHealth::new(Level::Ok, format!("{} jobs", views.len()))
        } else {
            ComponentHealth::new(Level::Degraded, format!("failing: {}", failing.join(", ")))
        };
        h.with("jobs", views.len()).with(
            "paused",
            views
                .iter()
                .filter(|v| v.paused)
                .map(|v| v.id.clone())
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ManualClock;
    use parking_lot::Mutex;

    struct Rig {
        sched: Arc<Scheduler>,
        clock: Arc<ManualClock>,
        store: Store,
        _dir: tempfile::TempDir,
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rig_at(start: DateTime<Utc>, dir: Option<tempfile::TempDir>) -> Rig {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let path = dir.path().to_path_buf();
        let clock = Arc::new(ManualClock::new(start));
        let store = Store::open(&path, clock.clone()).unwrap();
        let (telemetry, _) = Telemetry::start(path.join("t.jsonl"), CancellationToken::new());
        let sched = Scheduler::new(
            store.clone(),
            clock.clone(),
            telemetry,
            Arc::new(Metrics::new("t", "t")),
            CancellationToken::new(),
            TaskTracker::new(),
        );
        Rig {
            sched,
            clock,
            store,
            _dir: dir,
        }
    }

    fn ok_job(id: &str, schedule: Schedule) -> JobSpec {
        JobSpec::new(
            id,
            "test job",
            schedule,
            Duration::from_secs(5),
            |_ctx| async { Ok(serde_json::json!({"did": "it"})) },
        )
    }

    async fn run_all(handles: Vec<RunHandle>) -> Vec<RunOutcome> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.wait().await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn due_jobs_run_and_reschedule() {
        let r = rig_at(at("2026-11-23T23:59:00Z"), None);
        r.sched
            .register(ok_job(
                "every-minute",
                Schedule::every(Duration::from_secs(60)),
            ))
            .await
            .unwrap();
        assert_eq!(
            r.sched.views()[0].next_run,
            Some(at("2026-11-24T00:00:00Z"))
        );
        assert!(
            r.sched.start_due(r.clock.utc()).await.is_empty(),
            "not due yet"
        );
        r.clock.advance(Duration::from_secs(60));
        let outcomes = run_all(r.sched.start_due(r.clock.utc()).await).await;
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].result, RunResult::Ok);
        let v = &r.sched.views()[0];
        assert_eq!(v.last_result, Some(RunResult::Ok));
        assert_eq!(v.next_run, Some(at("2026-11-24T00:01:00Z")));
        let rows = r.store.recent_runs(Some("every-minute"), 10).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].result.as_str(), rows[0].trigger.as_str()),
            ("ok", "schedule")
        );
        assert_eq!(rows[0].trace.len(), 16);
    }

    #[tokio::test]
    async fn a_missed_daily_job_runs_once_at_start() {
        let r = rig_at(at("2026-11-20T12:00:00Z"), None);
        r.sched
            .register(ok_job("reservations:reminder", Schedule::daily(12, 0)))
            .await
            .unwrap();
        r.clock.advance(Duration::from_secs(1));
        // Not due at 12:00:01 (next is tomorrow 12:00) — run it via the schedule first.
        let mut day = r.sched.views()[0].next_run.unwrap();
        r.clock.advance((day - r.clock.utc()).to_std().unwrap());
        run_all(r.sched.start_due(r.clock.utc()).await).await;
        assert_eq!(r.sched.views()[0].last_daily_date, Some(day.date_naive()));
        // The bot goes down for three days; a new process starts at 15:00.
        day += chrono::Duration::days(3);
        let dir = r._dir;
        let r2 = rig_at(day + chrono::Duration::hours(3), Some(dir));
        r2.sched
            .register(ok_job("reservations:reminder", Schedule::daily(12, 0)))
            .await
            .unwrap();
        let outcomes = run_all(r2.sched.start_due(r2.clock.utc()).await).await;
        assert_eq!(outcomes.len(), 1, "runs once, not once per missed day");
        let rows = r2
            .store
            .recent_runs(Some("reservations:reminder"), 10)
            .await
            .unwrap();
        assert_eq!(rows[0].trigger, "catch_up");
        assert!(r2.sched.start_due(r2.clock.utc()).await.is_empty());
        assert_eq!(
            r2.sched.views()[0].next_run,
            Some(day + chrono::Duration::days(1))
        );
    }

    #[tokio::test]
    async fn an_idle_job_is_skipped_unrecorded_but_runs_when_asked() {
        let r = rig_at(at("2026-11-20T10:00:00Z"), None);
        r.sched
            .register(
                ok_job("mirror:flush", Schedule::Every(Duration::from_secs(60)))
                    .at_start()
                    .idle_when(|| async { true }),
            )
            .await
            .unwrap();
        assert!(
            r.sched.start_due(r.clock.utc()).await.is_empty(),
            "idle: skipped"
        );
        assert!(
            r.store.recent_runs(None, 10).await.unwrap().is_empty(),
            "and not recorded"
        );
        let h = r.sched.run_now("mirror:flush", "admin").await.unwrap();
        run_all(vec![h]).await;
        assert_eq!(
            r.store.recent_runs(None, 10).await.unwrap().len(),
            1,
            "a manual run runs"
        );
    }

    #[tokio::test]
    async fn a_job_marked_at_start_is_due_at_once_then_on_its_schedule() {
        let r = rig_at(at("2026-11-20T10:00:00Z"), None);
        r.sched
            .register(ok_job("mirror:flush", Schedule::Every(Duration::from_secs(60))).at_start())
            .await
            .unwrap();
        r.sched
            .register(ok_job("other", Schedule::Every(Duration::from_secs(60))))
            .await
            .unwrap();
        let outcomes = run_all(r.sched.start_due(r.clock.utc()).await).await;
        assert_eq!(outcomes.len(), 1, "only the at-start job runs at once");
        assert!(
            r.sched.start_due(r.clock.utc()).await.is_empty(),
            "then it waits"
        );
    }

    #[tokio::test]
    async fn a_job_that_never_ran_catches_up_only_when_it_always_catches_up() {
        let r = rig_at(at("2026-11-20T19:30:00Z"), None);
        r.sched
            .register(ok_job("report:recruiters", Schedule::daily(18, 0)))
            .await
            .unwrap();
        r.sched
            .register(ok_job("reservations:autorelease", Schedule::daily(18, 0)).always_catch_up())
            .await
            .unwrap();
        let outcomes = run_all(r.sched.start_due(r.clock.utc()).await).await;
        assert_eq!(
            outcomes.len(),
            1,
            "only the always-catch-up job runs at start"
        );
        let rows = r.store.recent_runs(None, 10).await.unwrap();
        assert_eq!(
            (rows[0].job.as_str(), rows[0].trigger.as_str()),
            ("reservations:autorelease", "catch_up")
        );
    }

    #[tokio::test]
    async fn a_daily_job_that_already_ran_today_waits_for_tomorrow_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(crate::runtime::SystemClock)).unwrap();
        let id = store
            .start_run(
                "d",
                "t",
                "schedule",
                "scheduler",
                at("2026-11-23T12:00:00Z"),
            )
            .await
            .unwrap();
        store
            .finish_run(FinishedRun {
                run_id: id,
                finished: at("2026-11-23T12:00:01Z"),
                result: RunResult::Ok,
                duration_ms: 1,
                error: None,
                detail: None,
                orphaned_offload_possible: false,
                daily: Some(("d".into(), at("2026-11-23T12:00:00Z").date_naive())),
            })
            .await
            .unwrap();
        drop(store);
        let r = rig_at(at("2026-11-23T15:00:00Z"), Some(dir));
        r.sched
            .register(ok_job("d", Schedule::daily(12, 0)))
            .await
            .unwrap();
        assert!(r.sched.start_due(r.clock.utc()).await.is_empty());
        assert_eq!(
            r.sched.views()[0].next_run,
            Some(at("2026-11-24T12:00:00Z"))
        );
    }

    #[tokio::test]
    async fn a_restart_remembers_the_last_run_an_interrupted_one_included() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Arc::new(crate::runtime::SystemClock)).unwrap();
        store
            .start_run(
                "j",
                "t",
                "schedule",
                "scheduler",
                at("2026-11-23T09:00:00Z"),
            )
            .await
            .unwrap();
        drop(store); // the process died mid-run
        let r = rig_at(at("2026-11-23T10:00:00Z"), Some(dir));
        r.sched
            .register(ok_job("j", Schedule::every(Duration::from_secs(60))))
            .await
            .unwrap();
        let v = &r.sched.views()[0];
        assert_eq!(v.last_result, Some(RunResult::Interrupted));
        assert!(
            v.last_error.as_deref().unwrap_or("").contains("stopped"),
            "{v:?}"
        );
        assert_eq!(v.consecutive_failures, 1);
        assert!(v.last_run.is_some());
    }

    #[tokio::test]
    async fn a_pause_survives_a_restart() {
        let r = rig_at(at("2026-11-23T10:00:00Z"), None);
        r.sched
            .register(ok_job("j", Schedule::every(Duration::from_secs(60))))
            .await
            .unwrap();
        r.sched.set_paused("j", true, "ada").await.unwrap();
        r.clock.advance(Duration::from_secs(3600));
        assert!(
            r.sched.start_due(r.clock.utc()).await.is_empty(),
            "paused jobs do not run"
        );
        let r2 = rig_at(at("2026-11-23T12:00:00Z"), Some(r._dir));
        r2.sched
            .register(ok_job("j", Schedule::every(Duration::from_secs(60))))
            .await
            .unwrap();
        let v = &r2.sched.views()[0];
        assert!(v.paused);
        assert_eq!(v.next_run, None);
        r2.clock.advance(Duration::from_secs(3600));
        assert!(r2.sched.start_due(r2.clock.utc()).await.is_empty());
        // Manual runs still work while paused; resuming reschedules.
        assert_eq!(
            r2.sched
                .run_now("j", "ada")
                .await
                .unwrap()
                .wait()
                .await
                .unwrap()
                .result,
            RunResult::Ok
        );
        r2.sched.set_paused("j", false, "ada").await.unwrap();
        assert!(r2.sched.views()[0].next_run.is_some());
        assert!(matches!(
            r2.sched.set_paused("nope", true, "ada").await,
            Err(SchedulerError::UnknownJob(..))
        ));
    }

    #[tokio::test]
    async fn a_job_over_its_timeout_is_cancelled_and_recorded_as_timeout() {
        let r = rig_at(at("2026-11-23T10:00:00Z"), None);
        /// Set when the job's future is dropped: the run was cancelled, not waited for.
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = dropped.clone();
        let slow = JobSpec::new(
            "slow",
            "never finishes",
            Schedule::every(Duration::from_secs(3600)),
            Duration::from_millis(100),
            move |_ctx| {
                let guard = Dropped(flag.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok(Value::Null)
                }
            },
        );
        // The blocking work waits for the test to let it go, after the timeout.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(Some(gate)));
        let offloads = JobSpec::new(
            "offloads",
            "blocks",
            Schedule::every(Duration::from_secs(3600)),
            Duration::from_millis(100),
            move |ctx| {
                let gate = gate.lock().take();
                async move {
                    ctx.offload(move || {
                        if let Some(g) = gate {
                            let _ = g.recv();
                        }
                    })
                    .await?;
                    Ok(Value::Null)
                }
            },
        );
        r.sched.register(slow).await.unwrap();
        r.sched.register(offloads).await.unwrap();
        let o = r
            .sched
            .run_now("slow", "test")
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(o.result, RunResult::Timeout);
        assert!(!o.orphaned_offload_possible);
        assert!(dropped.load(Ordering::SeqCst), "cancelled, not waited for");
        let o2 = r
            .sched
            .run_now("offloads", "test")
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(o2.result, RunResult::Timeout);
        assert!(
            o2.orphaned_offload_possible,
            "blocking work may still be running"
        );
        let _ = release.send(());
        let rows = r.store.recent_runs(None, 10).await.unwrap();
        let row = rows.iter().find(|x| x.job == "offloads").unwrap();
        assert_eq!(row.result, "timeout");
        assert!(row.orphaned_offload_possible);
        assert!(r.sched.views().iter().all(|v| !v.running));
    }

    #[tokio::test]
    async fn a_panicking_job_is_recorded_and_the_others_keep_running() {
        let r = rig_at(at("2026-11-23T10:00:00Z"), None);
        let boom = JobSpec::new(
            "boom",
            "panics",
            Schedule::every(Duration::from_secs(60)),
            Duration::from_secs(5),
            |_ctx| async {
                if true {
                    panic!("kaboom in the job");
                }
                Ok(Value::Null)
            },
        );
        r.sched.register(boom).await.unwrap();
        r.sched
            .register(ok_job("fine", Schedule::every(Duration::from_secs(60))))
            .await
            .unwrap();
        for _ in 0..3 {
            r.clock.advance(Duration::from_secs(60));
            let outcomes = run_all(r.sched.start_due(r.clock.utc()).await).await;
            assert_eq!(outcomes.len(), 2);
            let boom = outcomes.iter().find(|o| o.job == "boom").unwrap();
            assert_eq!(boom.result, RunResult::Panic);
            assert!(boom.error.as_deref().unwrap().contains("kaboom in the job"));
            assert_eq!(
                outcomes.iter().find(|o| o.job == "fine").unwrap().result,
                RunResult::Ok
            );
        }
        let views = r.sched.views();
        assert_eq!(
            views
                .iter()
                .find(|v| v.id == "boom")
                .unwrap()
                .consecutive_failures,
            3
        );
        assert_eq!(
            views
                .iter()
                .find(|v| v.id == "fine")
                .unwrap()
                .consecutive_failures,
            0
        );
        let failed = r.store.recent_runs(Some("boom"), 10).await.unwrap();
        assert!(failed.iter().all(|x| x.result == "panic"));
    }

    #[tokio::test]
    async fn one_run_at_a_time_per_job() {
        let r = rig_at(at("2026-11-23T10:00:00Z"), None);
        let gate = Arc::new(tokio::sync::Notify::new());
        let g = gate.clone();
        r.sched
            .register(JobSpec::new(
                "gated",
                "waits",
                Schedule::every(Duration::from_secs(3600)),
                Duration::from_secs(5),
                move |_ctx| {
                    let g = g.clone();
                    async move {
                        g.notified().await;
                        Ok(Value::Null)
                    }
                },
            ))
            .await
            .unwrap();
        let first = r.sched.run_now("gated", "a").await.unwrap();
        assert!(matches!(
            r.sched.run_now("gated", "b").await,
            Err(SchedulerError::AlreadyRunning(_))
        ));
        gate.notify_one();
        first.wait().await.unwrap();
        assert!(
            r.sched
                .run_now("nope", "a")
                .await
                .unwrap_err()
                .to_string()
                .contains("jobs: gated")
        );
    }
}
