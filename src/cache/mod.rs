//! Cache buckets: each dataset the features read from the workbook (`clans`,
//! `templates`, `clan_tags`, `onboarding_questions`), refreshed on a schedule
//! (`refresh:<bucket>` jobs, cadences from the Config tab's `REFRESH_<BUCKET>`) or on
//! demand (`ops refresh`), and reporting exactly how fresh it is.
//!
//! - A refresh makes one read per workbook for all the buckets it covers.
//! - Headers are validated on every refresh: a missing required header fails that
//!   bucket's refresh with a message naming the header and the tab, one ops alert is
//!   posted, and the last good data stays in use.
//! - Readers never wait: data is swapped in whole when a refresh succeeds.
//! - Telemetry per bucket: TTL, age, last refresh, last result (`ok`, `retry_ok`,
//!   `fail`), retries, last actor and trigger, last error, item count, latency,
//!   row warnings. The next scheduled refresh comes from the scheduler.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{ConfigRegistry, ConfigSnapshot};
use crate::message::alert::{Alert, AlertSink, LogAlerts, Severity};
use crate::runtime::Clock;
use crate::scheduler::{JobError, Schedule};
use crate::sheets::{Sources, TabsRead, Workbook};
use crate::tabs::clans::{self, ClanList};
use crate::tabs::questions::{self, QuestionSet};
use crate::tabs::templates::{self, Templates};
use crate::telemetry::events::Telemetry;
use crate::telemetry::metrics::{BucketLabels, BucketResultLabels, Metrics};
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketId {
    Clans,
    Templates,
    ClanTags,
    OnboardingQuestions,
}

impl BucketId {
    pub const ALL: [BucketId; 4] = [
        BucketId::Clans,
        BucketId::Templates,
        BucketId::ClanTags,
        BucketId::OnboardingQuestions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BucketId::Clans => "clans",
            BucketId::Templates => "templates",
            BucketId::ClanTags => "clan_tags",
            BucketId::OnboardingQuestions => "onboarding_questions",
        }
    }

    pub fn parse(s: &str) -> Option<BucketId> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        BucketId::ALL.into_iter().find(|b| b.as_str() == s)
    }

    pub fn workbook(self) -> Workbook {
        match self {
            BucketId::OnboardingQuestions => Workbook::Onboarding,
            _ => Workbook::Recruitment,
        }
    }

    /// The tab it reads, as named in the Config tab.
    pub fn tab(self, cfg: &ConfigSnapshot) -> String {
        match self {
            BucketId::Clans | BucketId::ClanTags => cfg.tabs.clans.clone(),
            BucketId::Templates => cfg.tabs.templates.clone(),
            BucketId::OnboardingQuestions => cfg.tabs.questions.clone(),
        }
    }

    pub fn job_id(self) -> String {
        format!("refresh:{}", self.as_str())
    }

    fn default_cadence(self) -> &'static str {
        crate::config::snapshot::default_cadence(self.as_str()).unwrap_or("1d")
    }

    /// The refresh schedule: `REFRESH_<BUCKET>` when the Config tab gives a valid one
    /// (the config validates it and reports a bad one), else the default.
    pub(crate) fn schedule(self, cfg: &ConfigSnapshot) -> Schedule {
        cfg.refresh
            .get(self.as_str())
            .and_then(|text| Schedule::parse(text).ok())
            .or_else(|| Schedule::parse(self.default_cadence()).ok())
            .unwrap_or(Schedule::every(Duration::from_secs(86_400)))
    }
}

/// How long a bucket's data is considered fresh: one period of its schedule.
pub(crate) fn ttl_of(schedule: &Schedule, now: DateTime<Utc>) -> Duration {
    match schedule {
        Schedule::Every(d) => *d,
        Schedule::Daily { .. } => Duration::from_secs(86_400),
        Schedule::Cron { .. } => {
            let a = schedule.next_after(now);
            let b = a.and_then(|a| schedule.next_after(a));
            a.zip(b)
                .and_then(|(a, b)| (b - a).to_std().ok())
                .unwrap_or(Duration::from_secs(86_400))
        }
    }
}

/// Why a refresh started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshTrigger {
    Startup,
    Schedule,
    Manual,
}

impl RefreshTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshTrigger::Startup => "startup",
            RefreshTrigger::Schedule => "schedule",
            RefreshTrigger::Manual => "manual",
        }
    }
}

/// How one bucket's refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RefreshOutcome {
    /// Fresh data, first try.
    #[serde(rename = "ok")]
    Ok,
    /// Fresh data after retries.
    #[serde(rename = "retry_ok")]
    RetryOk,
    /// No fresh data; the last good data stays in use.
    #[serde(rename = "fail")]
    Failed,
    /// Not attempted: the bucket was already refreshing.
    #[serde(rename = "skipped")]
    Skipped,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::RetryOk => "retry_ok",
            RefreshOutcome::Failed => "fail",
            RefreshOutcome::Skipped => "skipped",
        }
    }

    pub fn failed(self) -> bool {
        self == RefreshOutcome::Failed
    }
}

impl std::fmt::Display for RefreshOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a bucket holds.
#[derive(Debug, Clone)]
pub(crate) enum Data {
    Clans(Arc<ClanList>),
    Templates(Arc<Templates>),
    ClanTags(Arc<Vec<String>>),
    Questions(Arc<QuestionSet>),
}

impl Data {
    pub(crate) fn items(&self) -> usize {
        match self {
            Data::Clans(c) => c.clans.len(),
            Data::Templates(t) => t.by_tag.len(),
            Data::ClanTags(t) => t.len(),
            Data::Questions(q) => q.count(),
        }
    }

    pub(crate) fn warnings(&self) -> Vec<String> {
        match self {
            Data::Clans(c) => c.warnings.clone(),
            Data::Templates(t) => t.warnings.clone(),
            Data::ClanTags(_) => Vec::new(),
            Data::Questions(q) => q.warnings.clone(),
        }
    }
}

/// Parses a bucket's data from the tabs read. Errors name the tab and what is wrong.
pub(crate) fn parse_bucket(
    id: BucketId,
    read: &TabsRead,
    cfg: &ConfigSnapshot,
) -> Result<Data, String> {
    let tab = id.tab(cfg);
    if let Some(why) = read.unreadable.get(&tab) {
        return Err(format!("the {tab:?} tab cannot be read: {why}"));
    }
    let table = read
        .tabs
        .get(&tab)
        .cloned()
        .flatten()
        .ok_or_else(|| format!("the workbook has no tab named {tab:?} ({})", tab_key(id)))?;
    Ok(match id {
        BucketId::Clans => Data::Clans(Arc::new(clans::parse(&table).map_err(|e| e.to_string())?)),
        BucketId::ClanTags => tags_of(&clans::parse(&table).map_err(|e| e.to_string())?),
        BucketId::Templates => Data::Templates(Arc::new(
            templates::parse(&table).map_err(|e| e.to_string())?,
        )),
        BucketId::OnboardingQuestions => Data::Questions(Arc::new(
            questions::parse(&table).map_err(|e| e.to_string())?,
        )),
    })
}

fn tags_of(list: &ClanList) -> Data {
    Data::ClanTags(Arc::new(list.clans.iter().map(|c| c.tag.clone()).collect()))
}

fn tab_key(id: BucketId) -> &'static str {
    match id {
        BucketId::Clans | BucketId::ClanTags => "Config key CLANS_TAB",
        BucketId::Templates => "Config key TEMPLATES_TAB",
        BucketId::OnboardingQuestions => "Config key QUESTIONS_TAB",
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    last_refresh_at: Option<DateTime<Utc>>,
    last_result: Option<RefreshOutcome>,
    retries: u32,
    last_actor: Option<String>,
    last_trigger: Option<RefreshTrigger>,
    last_error: Option<String>,
    latency: Option<Duration>,
    refreshing: bool,
    warnings: Vec<String>,
    /// When the data in use was loaded.
    data_at: Option<DateTime<Utc>>,
}

struct Bucket {
    data: ArcSwapOption<Data>,
    state: Mutex<State>,
}

/// What operators see of a bucket.
#[derive(Debug, Clone, Serialize)]
pub struct BucketView {
    pub bucket: BucketId,
    pub tab: String,
    pub workbook: Workbook,
    pub ttl_sec: u64,
    /// Age of the data in use.
    pub age_sec: Option<u64>,
    pub stale: bool,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_result: Option<RefreshOutcome>,
    pub retries: u32,
    pub last_actor: Option<String>,
    pub last_trigger: Option<RefreshTrigger>,
    pub last_error: Option<String>,
    pub item_count: Option<usize>,
    pub latency_ms: Option<u64>,
    pub warnings: Vec<String>,
    pub refreshing: bool,
    /// When its `refresh:<bucket>` job runs next (filled in from the scheduler).
    pub next_refresh_at: Option<DateTime<Utc>>,
}

/// One bucket's part of a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    pub bucket: BucketId,
    pub result: RefreshOutcome,
    pub retries: u32,
    pub items: Option<usize>,
    pub ms: u64,
    pub error: Option<String>,
    /// Still running in the background when the caller stopped waiting.
    pub pending: bool,
}

impl RefreshReport {
    fn fresh(bucket: BucketId, retries: u32, items: usize, ms: u64) -> Self {
        RefreshReport {
            bucket,
            result: if retries > 0 {
                RefreshOutcome::RetryOk
            } else {
                RefreshOutcome::Ok
            },
            retries,
            items: Some(items),
            ms,
            error: None,
            pending: false,
        }
    }

    fn failed(bucket: BucketId, retries: u32, error: String, ms: u64) -> Self {
        RefreshReport {
            bucket,
            result: RefreshOutcome::Failed,
            retries,
            items: None,
            ms,
            error: Some(error),
            pending: false,
        }
    }
}

/// What the cache is built from.
pub struct CacheDeps {
    pub sources: Sources,
    pub config: Arc<ConfigRegistry>,
    pub telemetry: Arc<Telemetry>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Refreshes run as tasks on the process's tracker, so shutdown waits for them.
    pub tasks: TaskTracker,
}

/// A feature's own view laid over every Clans read (the reservations' availability,
/// from the ledger, over the sheet's cells that may still wait in the outbox).
pub(crate) trait ClansOverlay: Send + Sync {
    fn apply(&self, list: &mut ClanList);
}

impl<T: ClansOverlay + ?Sized> ClansOverlay for Arc<T> {
    fn apply(&self, list: &mut ClanList) {
        (**self).apply(list)
    }
}

pub struct Cache {
    /// Laid over each Clans list before it is installed.
    overlay: arc_swap::ArcSwapOption<Box<dyn ClansOverlay>>,
    buckets: BTreeMap<BucketId, Bucket>,
    sources: Sources,
    config: Arc<ConfigRegistry>,
    telemetry: Arc<Telemetry>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    tasks: TaskTracker,
    alerts: arc_swap::ArcSwap<Arc<dyn AlertSink>>,
}

impl Cache {
    pub fn new(deps: CacheDeps) -> Arc<Cache> {
        let CacheDeps {
            sources,
            config,
            telemetry,
            metrics,
            clock,
            tasks,
        } = deps;
        let buckets = BucketId::ALL
            .into_iter()
            .map(|id| {
                (
                    id,
                    Bucket {
                        data: ArcSwapOption::empty(),
                        state: Mutex::new(State::default()),
                    },
                )
            })
            .collect();
        let alerts: Arc<dyn AlertSink> = Arc::new(LogAlerts);
        let cache = Arc::new(Cache {
            overlay: arc_swap::ArcSwapOption::empty(),
            buckets,
            sources,
            config,
            telemetry,
            metrics: metrics.clone(),
            clock,
            tasks,
            alerts: arc_swap::ArcSwap::from_pointee(alerts),
        });
        let weak = Arc::downgrade(&cache);
        metrics.add_sampler(Box::new(move |m| {
            if let Some(c) = weak.upgrade() {
                for v in c.views() {
                    let labels = BucketLabels {
                        bucket: v.bucket.as_str(),
                    };
                    m.cache_age
                        .get_or_create(&labels)
                        .set(v.age_sec.unwrap_or(0) as f64);
                    m.cache_items
                        .get_or_create(&labels)
                        .set(v.item_count.unwrap_or(0) as i64);
                }
            }
        }));
        cache
    }

    /// Where alerts go once Discord is up.
    pub fn set_alerts(&self, alerts: Arc<dyn AlertSink>) {
        self.alerts.store(Arc::new(alerts));
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    fn data(&self, id: BucketId) -> Option<Arc<Data>> {
        self.buckets[&id].data.load_full()
    }

    pub fn clans(&self) -> Option<Arc<ClanList>> {
        match self.data(BucketId::Clans)?.as_ref() {
            Data::Clans(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Lays `overlay` over the Clans list now and over every later read.
    pub(crate) fn set_clans_overlay(&self, overlay: Box<dyn ClansOverlay>) {
        self.overlay.store(Some(Arc::new(overlay)));
        self.reapply_clans_overlay();
    }

    /// Lays the overlay over the cached Clans list again (the feature's own state
    /// changed), without reading the sheet.
    pub(crate) fn reapply_clans_overlay(&self) {
        let bucket = &self.buckets[&BucketId::Clans];
        let (Some(data), Some(overlay)) = (bucket.data.load_full(), self.overlay.load_full())
        else {
            return;
        };
        if let Data::Clans(list) = data.as_ref() {
            let mut next = (**list).clone();
            overlay.apply(&mut next);
            bucket
                .data
                .store(Some(Arc::new(Data::Clans(Arc::new(next)))));
        }
    }

    pub fn templates(&self) -> Option<Arc<Templates>> {
        match self.data(BucketId::Templates)?.as_ref() {
            Data::Templates(t) => Some(t.clone()),
            _ => None,
        }
    }

    pub fn clan_tags(&self) -> Option<Arc<Vec<String>>> {
        match self.data(BucketId::ClanTags)?.as_ref() {
            Data::ClanTags(t) => Some(t.clone()),
            _ => None,
        }
    }

    pub fn questions(&self) -> Option<Arc<QuestionSet>> {
        match self.data(BucketId::OnboardingQuestions)?.as_ref() {
            Data::Questions(q) => Some(q.clone()),
            _ => None,
        }
    }

    pub fn views(&self) -> Vec<BucketView> {
        let cfg = self.config.get();
        let now = self.clock.utc();
        self.buckets
            .iter()
            .map(|(id, b)| {
                let s = b.state.lock().clone();
                let schedule = id.schedule(&cfg);
                let ttl = ttl_of(&schedule, now);
                let age = s.data_at.map(|t| (now - t).to_std().unwrap_or_default());
                BucketView {
                    bucket: *id,
                    tab: id.tab(&cfg),
                    workbook: id.workbook(),
                    ttl_sec: ttl.as_secs(),
                    age_sec: age.map(|a| a.as_secs()),
                    stale: age.is_none_or(|a| a > ttl),
                    last_refresh_at: s.last_refresh_at,
                    last_result: s.last_result,
                    retries: s.retries,
                    last_actor: s.last_actor,
                    last_trigger: s.last_trigger,
                    last_error: s.last_error,
                    item_count: b.data.load().as_ref().map(|d| d.items()),
                    latency_ms: s.latency.map(|l| l.as_millis() as u64),
                    warnings: s.warnings,
                    refreshing: s.refreshing,
                    next_refresh_at: None,
                }
            })
            .collect()
    }

    /// Refreshes `ids`: one read per workbook, concurrently. With `wait`, returns after
    /// at most that long; buckets whose read is still running are reported as failed
    /// and `pending` (they finish, and record their result, in the background).
    pub async fn refresh(
        self: &Arc<Self>,
        ids: &[BucketId],
        trigger: RefreshTrigger,
        actor: &str,
        wait: Option<Duration>,
    ) -> Vec<RefreshReport> {
        let mut reports = Vec::new();
        let mut groups: BTreeMap<Workbook, Vec<BucketId>> = BTreeMap::new();
        for id in ids {
            let mut s = self.buckets[id].state.lock();
            if s.refreshing {
                reports.push(RefreshReport {
                    result: RefreshOutcome::Skipped,
                    ..RefreshReport::failed(*id, 0, "already refreshing".into(), 0)
                });
                continue;
            }
            s.refreshing = true;
            drop(s);
            groups
                .entry(self.sources.read_key(id.workbook()))
                .or_default()
                .push(*id);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (wb, ids) in groups {
            let me = self.clone();
            let actor = actor.to_owned();
            let trace =
                crate::telemetry::current_trace_id().unwrap_or_else(crate::telemetry::new_trace_id);
            let span = tracing::info_span!("refresh", trace = %trace);
            let ids2 = ids.clone();
            let handle = self.tasks.spawn(tracing::Instrument::instrument(
                async move { me.refresh_group(wb, &ids2, trigger, &actor, &trace).await },
                span,
            ));
            tasks.push((ids, handle));
        }
        for (ids, mut handle) in tasks {
            let outcome = match wait {
                Some(w) => tokio::time::timeout(w.saturating_sub(started.elapsed()), &mut handle)
                    .await
                    .ok(),
                None => Some((&mut handle).await),
            };
            match outcome {
                Some(Ok(r)) => reports.extend(r),
                Some(Err(join)) => {
                    for id in &ids {
                        self.buckets[id].state.lock().refreshing = false;
                        reports.push(RefreshReport::failed(
                            *id,
                            0,
                            format!("the refresh task failed: {join}"),
                            started.elapsed().as_millis() as u64,
                        ));
                    }
                }
                None => {
                    let w = wait.unwrap_or_default();
                    for id in &ids {
                        let why = format!(
                            "no answer from the {} workbook within {:.1}s; still trying in the background",
                            id.workbook().as_str(),
                            w.as_secs_f64()
                        );
                        reports.push(RefreshReport {
                            pending: true,
                            ..RefreshReport::failed(
                                *id,
                                0,
                                why,
                                started.elapsed().as_millis() as u64,
                            )
                        });
                    }
                }
            }
        }
        reports.sort_by_key(|r| r.bucket);
        reports
    }

    async fn refresh_group(
        &self,
        wb: Workbook,
        ids: &[BucketId],
        trigger: RefreshTrigger,
        actor: &str,
        trace: &str,
    ) -> Vec<RefreshReport> {
        let cfg = self.config.get();
        let mut tabs: Vec<String> = ids.iter().map(|id| id.tab(&cfg)).collect();
        tabs.sort();
        tabs.dedup();
        let t0 = Instant::now();
        let read = self.sources.get(wb).read_tabs(&tabs).await;
        let ms = t0.elapsed().as_millis() as u64;
        let mut reports = Vec::new();
        // `clans` and `clan_tags` read the same tab: parse it once per refresh.
        let mut clans_parsed: Option<Arc<ClanList>> = None;
        for id in ids {
            let report = match &read {
                Ok(r) => {
                    let parsed = match (id, &clans_parsed) {
                        (BucketId::ClanTags, Some(list)) => Ok(tags_of(list)),
                        _ => parse_bucket(*id, r, &cfg),
                    };
                    match parsed {
                        Ok(data) => {
                            if let Data::Clans(list) = &data {
                                clans_parsed = Some(list.clone());
                            }
                            let items = self.install(*id, data);
                            RefreshReport::fresh(*id, r.retries, items, ms)
                        }
                        Err(e) => {
                            self.alert_bad_tab(*id, &e).await;
                            RefreshReport::failed(*id, r.retries, e, ms)
                        }
                    }
                }
                Err(e) => {
                    if trigger == RefreshTrigger::Schedule {
                        self.alert_read_failure(*id, &e.to_string()).await;
                    }
                    RefreshReport::failed(*id, 0, e.to_string(), ms)
                }
            };
            self.record(&report, trigger, actor, trace).await;
            reports.push(report);
        }
        drop(read);
        crate::util::memory::release_freed();
        reports
    }

    /// Swaps fresh data in (a Clans list with the overlay laid over it); returns how
    /// many items it holds.
    fn install(&self, id: BucketId, data: Data) -> usize {
        let data = match (data, self.overlay.load_full()) {
            (Data::Clans(list), Some(overlay)) => {
                let mut next = (*list).clone();
                overlay.apply(&mut next);
                Data::Clans(Arc::new(next))
            }
            (other, _) => other,
        };
        let items = data.items();
        let warnings = data.warnings();
        self.buckets[&id].data.store(Some(Arc::new(data)));
        let mut s = self.buckets[&id].state.lock();
        s.data_at = Some(self.clock.utc());
        s.warnings = warnings;
        items
    }

    /// Records one bucket's refresh: its state, metrics, telemetry, the log line, and a
    /// "recovered" post when it had been failing.
    async fn record(&self, r: &RefreshReport, trigger: RefreshTrigger, actor: &str, trace: &str) {
        let id = r.bucket;
        let previous = self.buckets[&id].state.lock().last_result;
        if previous.is_some_and(RefreshOutcome::failed) && !r.result.failed() {
            self.post_recovered(id, trigger, actor).await;
        }
        {
            let mut s = self.buckets[&id].state.lock();
            s.refreshing = false;
            s.last_refresh_at = Some(self.clock.utc());
            s.last_result = Some(r.result);
            s.retries = r.retries;
            s.last_actor = Some(actor.to_owned());
            s.last_trigger = Some(trigger);
            s.last_error = r.error.clone();
            s.latency = Some(Duration::from_millis(r.ms));
        }
        self.metrics
            .refreshes
            .get_or_create(&BucketResultLabels {
                bucket: id.as_str(),
                result: r.result.as_str(),
            })
            .inc();
        let kept = self.data(id).map(|d| d.items());
        self.telemetry.emit(
            "cache_refresh",
            trace,
            serde_json::json!({
                "bucket": id.as_str(),
                "trigger": trigger.as_str(),
                "actor": actor,
                "result": r.result,
                "retries": r.retries,
                "ms": r.ms,
                "items": r.items,
                "kept_items": if r.items.is_none() { kept } else { None },
                "error": r.error,
            }),
        );
        if r.result.failed() {
            tracing::warn!(
                bucket = id.as_str(),
                trigger = trigger.as_str(),
                actor,
                retries = r.retries,
                ms = r.ms,
                error = r.error.as_deref().unwrap_or(""),
                kept_items = kept,
                "cache refresh failed; last good data kept"
            );
        } else {
            tracing::info!(
                bucket = id.as_str(),
                trigger = trigger.as_str(),
                actor,
                result = r.result.as_str(),
                retries = r.retries,
                ms = r.ms,
                items = r.items,
                "cache refreshed"
            );
        }
    }

    async fn alert(
        &self,
        severity: Severity,
        id: BucketId,
        key: &str,
        title: String,
        detail: String,
    ) {
        let alerts = self.alerts.load_full();
        alerts
            .send(Alert::new(
                severity,
                format!("refresh:{}:{key}", id.as_str()),
                title,
                detail,
            ))
            .await;
    }

    /// What readers get meanwhile, for failure alerts.
    fn kept_note(&self, id: BucketId) -> String {
        match self.data(id).map(|d| d.items()) {
            Some(n) => format!("The last good data ({n} items) stays in use"),
            None => "There is no earlier data for this bucket".into(),
        }
    }

    /// A scheduled refresh could not read its workbook (manual ones answer the caller,
    /// the startup preload posts its own summary).
    async fn alert_read_failure(&self, id: BucketId, error: &str) {
        let detail = format!(
            "{error}. {}; the next scheduled refresh retries, or run `!ops refresh {}`.",
            self.kept_note(id),
            id.as_str()
        );
        let title = format!("Scheduled refresh of {} failed", id.as_str());
        self.alert(Severity::Warning, id, "read", title, detail)
            .await;
    }

    async fn post_recovered(&self, id: BucketId, trigger: RefreshTrigger, actor: &str) {
        let title = format!("Refresh of {} recovered", id.as_str());
        let detail = format!(
            "Fresh data again ({} refresh by {actor}).",
            trigger.as_str()
        );
        self.alert(Severity::Info, id, "recovered", title, detail)
            .await;
    }

    /// A tab that fails validation: one alert per bucket and problem (the sink
    /// deduplicates).
    async fn alert_bad_tab(&self, id: BucketId, error: &str) {
        let detail = format!(
            "{error}. {}; fix the tab, then `!ops refresh {}`.",
            self.kept_note(id),
            id.as_str()
        );
        let title = format!("Refresh of {} failed", id.as_str());
        self.alert(Severity::Warning, id, "tab", title, detail)
            .await;
    }
}

/// The caches as a health component: degraded while a bucket's last refresh failed.
pub(crate) struct CacheHealth {
    pub cache: Arc<Cache>,
    pub scheduler: Arc<crate::scheduler::Scheduler>,
}

/// Fills each view's next scheduled refresh from the scheduler's jobs.
pub(crate) fn with_next_runs(
    mut views: Vec<BucketView>,
    jobs: &[crate::scheduler::JobView],
) -> Vec<BucketView> {
    for v in &mut views {
        let id = v.bucket.job_id();
        v.next_refresh_at = jobs.iter().find(|j| j.id == id).and_then(|j| j.next_run);
    }
    views
}

impl crate::runtime::ComponentCheck for CacheHealth {
    fn name(&self) -> &'static str {
        "caches"
    }

    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        let views = with_next_runs(self.cache.views(), &self.scheduler.views());
        let failed: Vec<String> = views
            .iter()
            .filter(|v| v.last_result.is_some_and(RefreshOutcome::failed))
            .map(|v| {
                format!(
                    "{}: {}",
                    v.bucket.as_str(),
                    v.last_error.clone().unwrap_or_default()
                )
            })
            .collect();
        let h = if failed.is_empty() {
            ComponentHealth::new(Level::Ok, format!("{} buckets", views.len()))
        } else {
            ComponentHealth::new(
                Level::Degraded,
                format!("last refresh failed for {}", failed.join("; ")),
            )
        };
        h.with("buckets", views)
    }
}

/// The job that refreshes one bucket on its schedule.
pub(crate) fn refresh_job(
    cache: Arc<Cache>,
    id: BucketId,
    schedule: Schedule,
) -> crate::scheduler::JobSpec {
    crate::scheduler::JobSpec::new(
        &id.job_id(),
        &format!("Refreshes the {} cache bucket", id.as_str()),
        schedule,
        Duration::from_secs(120),
        move |_ctx| {
            let cache = cache.clone();
            async move {
                let reports = cache
                    .refresh(&[id], RefreshTrigger::Schedule, "scheduler", None)
                    .await;
                let Some(r) = reports.into_iter().next() else {
                    return Err(JobError::Incomplete(format!(
                        "the refresh of {} reported nothing",
                        id.as_str()
                    )));
                };
                if r.result.failed() {
                    return Err(JobError::Incomplete(
                        r.error.unwrap_or_else(|| "refresh failed".into()),
                    ));
                }
                Ok(serde_json::json!({"result": r.result, "retries": r.retries, "items": r.items}))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_schedules_and_ttls() {
        assert_eq!(BucketId::parse("Clan-Tags"), Some(BucketId::ClanTags));
        assert_eq!(BucketId::parse("nope"), None);
        let mut cfg = ConfigSnapshot::default();
        assert_eq!(
            BucketId::Clans.schedule(&cfg),
            Schedule::every(Duration::from_secs(3 * 3600))
        );
        cfg.refresh.insert("clans".into(), "0 */2 * * *".into());
        let now = Utc::now();
        assert_eq!(
            ttl_of(&BucketId::Clans.schedule(&cfg), now),
            Duration::from_secs(7200)
        );
        assert_eq!(
            BucketId::Templates.schedule(&cfg),
            Schedule::every(Duration::from_secs(86_400))
        );
        assert_eq!(
            BucketId::OnboardingQuestions.workbook(),
            Workbook::Onboarding
        );
    }

    #[test]
    fn every_bucket_has_a_default_cadence_in_the_config() {
        for id in BucketId::ALL {
            assert!(
                crate::config::snapshot::default_cadence(id.as_str()).is_some(),
                "{} has no default cadence in config::snapshot::REFRESH_CADENCES",
                id.as_str()
            );
        }
        assert_eq!(
            crate::config::snapshot::REFRESH_CADENCES.len(),
            BucketId::ALL.len()
        );
    }
}
