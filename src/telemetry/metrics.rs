//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! Names follow Prometheus conventions: `clanhall_` prefix, base units in the name
//! (`_seconds`, `_bytes`), `_total` on counters. Figures that describe the present
//! (uptime, gateway ACK age, memory) are sampled when the endpoint is scraped.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PathLabels {
    pub path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    pub command: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabel {
    pub name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketLabels {
    pub bucket: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketResultLabels {
    pub bucket: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobResultLabels {
    pub job: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkbookLabels {
    pub workbook: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkbookErrorLabels {
    pub workbook: &'static str,
    pub kind: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Figures sampled at scrape time.
#[derive(Debug, Clone, Default)]
pub struct RuntimeFigures {
    pub uptime_seconds: f64,
    pub ready: bool,
    /// `ok`, `degraded` or `down`.
    pub status: &'static str,
    pub gateway_connected: Option<bool>,
    pub heartbeat_ack_age_seconds: Option<f64>,
    pub gateway_latency_seconds: Option<f64>,
    pub watchdog_restarts_in_window: u32,
}

/// Samples present-tense figures (bucket ages, circuit states) just before a scrape.
pub(crate) type Sampler = Box<dyn Fn(&Metrics) + Send + Sync>;

pub struct Metrics {
    registry: Registry,
    samplers: parking_lot::Mutex<Vec<Sampler>>,
    pub commands: Family<CommandLabels, Counter>,
    pub command_duration: Family<NameLabel, Histogram>,
    pub refreshes: Family<BucketResultLabels, Counter>,
    pub cache_age: Family<BucketLabels, FloatGauge>,
    pub cache_items: Family<BucketLabels, Gauge>,
    pub job_runs: Family<JobResultLabels, Counter>,
    pub job_duration: Family<JobLabels, Histogram>,
    pub job_failures: Family<JobLabels, Gauge>,
    pub sheets_requests: Family<WorkbookLabels, Counter>,
    pub sheets_errors: Family<WorkbookErrorLabels, Counter>,
    pub circuit_state: Family<WorkbookLabels, Gauge>,
    telemetry_dropped: Counter,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<PathLabels, Histogram>,
    uptime: FloatGauge,
    ready: Gauge,
    health: Family<StatusLabels, Gauge>,
    gateway_connected: Gauge,
    ack_age: FloatGauge,
    gateway_latency: FloatGauge,
    resident_memory: Gauge,
    watchdog_restarts: Gauge,
    onboarding_sessions: Family<StatusLabels, Gauge>,
}

impl Metrics {
    pub fn new(version: &str, env_name: &str) -> Self {
        let mut registry = Registry::with_prefix("clanhall");
        registry.register(
            "build",
            "Build and environment of this process",
            Info::new(vec![
                ("version".to_owned(), version.to_owned()),
                ("env".to_owned(), env_name.to_owned()),
            ]),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by method, route and status",
            http_requests.clone(),
        );
        let http_duration = Family::<PathLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 4.0, 10))
        });
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request handling time, by route",
            Unit::Seconds,
            http_duration.clone(),
        );
        let uptime = FloatGauge::default();
        registry.register_with_unit(
            "uptime",
            "Time since the process started",
            Unit::Seconds,
            uptime.clone(),
        );
        let ready = Gauge::default();
        registry.register("ready", "1 when /ready answers 200", ready.clone());
        let health = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "health_status",
            "1 for the current /health status (ok, degraded, down)",
            health.clone(),
        );
        let gateway_connected = Gauge::default();
        registry.register(
            "gateway_connected",
            "1 while the Discord gateway is connected",
            gateway_connected.clone(),
        );
        let ack_age = FloatGauge::default();
        registry.register_with_unit(
            "gateway_heartbeat_ack_age",
            "Age of the last gateway heartbeat ACK",
            Unit::Seconds,
            ack_age.clone(),
        );
        let gateway_latency = FloatGauge::default();
        registry.register_with_unit(
            "gateway_latency",
            "Round trip of the last gateway heartbeat",
            Unit::Seconds,
            gateway_latency.clone(),
        );
        let resident_memory = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            resident_memory.clone(),
        );
        let watchdog_restarts = Gauge::default();
        registry.register(
            "watchdog_restarts_in_window",
            "Watchdog restarts inside the restart-budget window",
            watchdog_restarts.clone(),
        );
        let latency_buckets = || Histogram::new(exponential_buckets(0.001, 2.5, 12));
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register("commands", "Commands run, by command and outcome (ok, user_error, denied, error, panic, bad_arguments)", commands.clone());
        let command_duration =
            Family::<NameLabel, Histogram>::new_with_constructor(latency_buckets);
        registry.register_with_unit(
            "command_duration",
            "Command handling time, by command",
            Unit::Seconds,
            command_duration.clone(),
        );
        let refreshes = Family::<BucketResultLabels, Counter>::default();
        registry.register(
            "cache_refreshes",
            "Cache refreshes, by bucket and result (ok, retry_ok, fail)",
            refreshes.clone(),
        );
        let cache_age = Family::<BucketLabels, FloatGauge>::default();
        registry.register_with_unit(
            "cache_age",
            "Age of each cache bucket's data",
            Unit::Seconds,
            cache_age.clone(),
        );
        let cache_items = Family::<BucketLabels, Gauge>::default();
        registry.register(
            "cache_items",
            "Items in each cache bucket",
            cache_items.clone(),
        );
        let job_runs = Family::<JobResultLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Job runs, by job and result (ok, error, timeout, panic)",
            job_runs.clone(),
        );
        let job_duration = Family::<JobLabels, Histogram>::new_with_constructor(latency_buckets);
        registry.register_with_unit(
            "job_duration",
            "Job run time, by job",
            Unit::Seconds,
            job_duration.clone(),
        );
        let job_failures = Family::<JobLabels, Gauge>::default();
        registry.register(
            "job_consecutive_failures",
            "Consecutive failed runs, by job",
            job_failures.clone(),
        );
        let sheets_requests = Family::<WorkbookLabels, Counter>::default();
        registry.register(
            "sheets_requests",
            "HTTP requests to Google Sheets, by workbook",
            sheets_requests.clone(),
        );
        let sheets_errors = Family::<WorkbookErrorLabels, Counter>::default();
        registry.register("sheets_request_errors", "Failed Google Sheets requests, by workbook and kind (rate_limited, server, timeout, client, circuit_open)", sheets_errors.clone());
        let circuit_state = Family::<WorkbookLabels, Gauge>::default();
        registry.register(
            "sheets_circuit_state",
            "Circuit breaker per workbook: 0 closed, 1 half-open, 2 open",
            circuit_state.clone(),
        );
        let telemetry_dropped = Counter::default();
        registry.register(
            "telemetry_dropped_events",
            "Telemetry events dropped because the writer could not keep up",
            telemetry_dropped.clone(),
        );
        let onboarding_sessions = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "onboarding_sessions",
            "Onboarding questionnaires by state (active, paused, completed)",
            onboarding_sessions.clone(),
        );
        Self {
            registry,
            samplers: parking_lot::Mutex::new(Vec::new()),
            commands,
            command_duration,
            refreshes,
            cache_age,
            cache_items,
            job_runs,
            job_duration,
            job_failures,
            sheets_requests,
            sheets_errors,
            circuit_state,
            telemetry_dropped,
            http_requests,
            http_duration,
            uptime,
            ready,
            health,
            gateway_connected,
            ack_age,
            gateway_latency,
            resident_memory,
            watchdog_restarts,
            onboarding_sessions,
        }
    }

    /// Sets how many onboarding sessions are in `state`.
    pub(crate) fn set_onboarding_sessions(&self, state: &str, n: i64) {
        self.onboarding_sessions
            .get_or_create(&StatusLabels {
                status: state.to_owned(),
            })
            .set(n);
    }

    /// Counts one HTTP request. `path` must be a route pattern, never the raw path, so
    /// a scanner cannot blow up the label set.
    pub fn observe_http(
        &self,
        method: &'static str,
        path: &'static str,
        status: u16,
        seconds: f64,
    ) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method,
                path,
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&PathLabels { path })
            .observe(seconds);
    }

    /// Adds a function run before every scrape.
    pub fn add_sampler(&self, f: Sampler) {
        self.samplers.lock().push(f);
    }

    /// Counts a finished command.
    pub fn observe_command(&self, command: &str, outcome: &'static str, seconds: f64) {
        let command = crate::telemetry::intern(command);
        self.commands
            .get_or_create(&CommandLabels { command, outcome })
            .inc();
        self.command_duration
            .get_or_create(&NameLabel { name: command })
            .observe(seconds);
    }

    /// Counts a finished job run.
    pub fn observe_job(
        &self,
        job: &str,
        result: &'static str,
        seconds: f64,
        consecutive_failures: u32,
    ) {
        let job = crate::telemetry::intern(job);
        self.job_runs
            .get_or_create(&JobResultLabels { job, result })
            .inc();
        self.job_duration
            .get_or_create(&JobLabels { job })
            .observe(seconds);
        self.job_failures
            .get_or_create(&JobLabels { job })
            .set(consecutive_failures as i64);
    }

    /// Brings the dropped-events counter up to the telemetry writer's count.
    pub fn sync_telemetry_drops(&self, total: u64) {
        let seen = self.telemetry_dropped.get();
        if total > seen {
            self.telemetry_dropped.inc_by(total - seen);
        }
    }

    /// Renders every metric, after sampling the present-tense figures.
    pub fn render(&self, figures: &RuntimeFigures) -> String {
        for sample in self.samplers.lock().iter() {
            sample(self);
        }
        self.uptime.set(figures.uptime_seconds);
        self.ready.set(figures.ready as i64);
        for s in ["ok", "degraded", "down"] {
            self.health
                .get_or_create(&StatusLabels {
                    status: s.to_owned(),
                })
                .set((s == figures.status) as i64);
        }
        self.gateway_connected
            .set(figures.gateway_connected.unwrap_or(false) as i64);
        self.ack_age
            .set(figures.heartbeat_ack_age_seconds.unwrap_or(0.0));
        self.gateway_latency
            .set(figures.gateway_latency_seconds.unwrap_or(0.0));
        self.resident_memory
            .set(resident_memory_bytes().unwrap_or(0) as i64);
        self.watchdog_restarts
            .set(figures.watchdog_restarts_in_window as i64);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Resident set size from `/proc/self/statm` (Linux; `None` elsewhere).
pub(crate) fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    (page > 0).then(|| pages * page as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_conventional_names_and_values() {
        let m = Metrics::new("1.2.3", "test");
        m.observe_http("GET", "/healthz", 200, 0.0004);
        m.observe_http("GET", "/healthz", 200, 0.0004);
        let text = m.render(&RuntimeFigures {
            uptime_seconds: 12.5,
            ready: true,
            status: "degraded",
            gateway_connected: Some(true),
            ..Default::default()
        });
        for needle in [
            "clanhall_build_info{version=\"1.2.3\",env=\"test\"} 1",
            "clanhall_http_requests_total{method=\"GET\",path=\"/healthz\",status=\"200\"} 2",
            "clanhall_http_request_duration_seconds_count{path=\"/healthz\"} 2",
            "clanhall_uptime_seconds 12.5",
            "clanhall_ready 1",
            "clanhall_health_status{status=\"degraded\"} 1",
            "clanhall_health_status{status=\"ok\"} 0",
            "clanhall_gateway_connected 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn resident_memory_is_read_on_linux() {
        let rss = resident_memory_bytes().unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
    }
}
