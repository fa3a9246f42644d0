//! The process's own view of itself: startup phases, liveness, the gateway connection,
//! the watchdog and the health of each component. `/healthz`, `/ready`, `/health`,
//! `/metrics`, `ops health` and the watchdog all read from one [`RuntimeStatus`].

pub(crate) mod clock;
pub(crate) mod data_lock;
pub(crate) mod gateway;
pub(crate) mod phases;
pub(crate) mod shutdown;
pub(crate) mod watchdog;

use parking_lot::RwLock;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use clock::{Clock, ManualClock, SystemClock};
pub(crate) use gateway::{GatewayProbe, GatewaySnapshot, GatewayStage, GatewayTracker};
pub(crate) use phases::{PhaseState, PhaseView, Phases};
pub use shutdown::{Shutdown, ShutdownReason};
pub(crate) use watchdog::WatchdogState;

use crate::settings::WatchdogSettings;

/// Health of one component, worst last so `max()` gives the overall level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentHealth {
    pub status: Level,
    /// One line for humans: what is wrong, or what is fine.
    pub summary: String,
    /// Component-specific figures (circuit state, last error, ages...).
    #[serde(flatten)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl ComponentHealth {
    pub fn new(status: Level, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            detail: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.detail.insert(
            key.to_owned(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }
}

/// A subsystem that reports its own health (sheets, store, scheduler...). Checks must be
/// cheap and non-blocking: they run on every `/health` request.
pub trait ComponentCheck: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn check(&self) -> ComponentHealth;
}

/// Proof that the runtime's event loop still runs: a task beats every second.
#[derive(Debug)]
pub struct Liveness {
    epoch: Instant,
    last_ms: AtomicU64,
}

impl Liveness {
    pub const INTERVAL: Duration = Duration::from_secs(1);
    /// Beats missed for this long mean the loop is wedged.
    pub const STALE_AFTER: Duration = Duration::from_secs(15);

    fn new(now: Instant) -> Self {
        Self {
            epoch: now,
            last_ms: AtomicU64::new(0),
        }
    }

    pub fn beat(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    pub fn age(&self, now: Instant) -> Duration {
        let last = self.epoch + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }
}

pub struct RuntimeStatus {
    pub clock: Arc<dyn Clock>,
    pub started: Instant,
    pub started_utc: DateTime<Utc>,
    pub phases: Phases,
    pub liveness: Liveness,
    pub thresholds: WatchdogSettings,
    pub watchdog: Arc<WatchdogState>,
    gateway: RwLock<Option<Arc<dyn GatewayProbe>>>,
    components: RwLock<Vec<Arc<dyn ComponentCheck>>>,
}

impl RuntimeStatus {
    pub fn new(
        clock: Arc<dyn Clock>,
        phases: &[&'static str],
        thresholds: WatchdogSettings,
    ) -> Self {
        let now = clock.now();
        Self {
            started: now,
            started_utc: clock.utc(),
            phases: Phases::new(phases),
            liveness: Liveness::new(now),
            watchdog: Arc::new(WatchdogState::new(&thresholds)),
            thresholds,
            gateway: RwLock::new(None),
            components: RwLock::new(Vec::new()),
            clock,
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    pub fn uptime(&self) -> Duration {
        self.now().saturating_duration_since(self.started)
    }

    /// Makes readiness depend on this gateway connection.
    pub fn set_gateway(&self, probe: Arc<dyn GatewayProbe>) {
        *self.gateway.write() = Some(probe);
    }

    pub fn gateway(&self) -> Option<GatewaySnapshot> {
        self.gateway.read().as_ref().map(|g| g.snapshot())
    }

    pub fn add_component(&self, check: Arc<dyn ComponentCheck>) {
        self.components.write().push(check);
    }

    pub fn component_reports(&self) -> Vec<(&'static str, ComponentHealth)> {
        let checks = self.components.read().clone();
        checks.iter().map(|c| (c.name(), c.check())).collect()
    }

    /// Spawns the liveness beat; it stops with the shutdown token.
    pub fn spawn_liveness(self: &Arc<Self>, shutdown: &Shutdown) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        let token = shutdown.token();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Liveness::INTERVAL);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => me.liveness.beat(me.clock.now()),
                }
            }
        })
    }
}
