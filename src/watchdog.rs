//! The watchdog: every `WATCHDOG_CHECK_SEC` it reads the gateway's stage and the age of
//! the last heartbeat ACK. Connected without an ACK for `WATCHDOG_STALL_SEC`, or not
//! connected for `WATCHDOG_DISCONNECT_GRACE_SEC`, it alerts ops and shuts the process
//! down gracefully with exit code 1 so Render starts a fresh one.
//!
//! Restarts are rate-limited across boots by a budget persisted in `DATA_DIR`: each
//! restart identifies to Discord again, and Discord allows 1,000 identifies a day. Past
//! the budget the process stays up, reports itself degraded in `/health` and says why,
//! and restarts once the window has room again (or never, if nothing is wrong by then).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, FileError};
use crate::message::alert::{Alert, AlertSink, Severity};
use crate::runtime::{
    Clock, GatewayProbe, GatewaySnapshot, Shutdown, ShutdownReason, WatchdogState,
};
use crate::settings::WatchdogSettings;

/// The budget file in `DATA_DIR`.
pub(crate) const BUDGET_FILE: &str = "watchdog_restarts.json";

/// What one look at the gateway concludes, before the budget is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Healthy {
        ack_age: Duration,
    },
    /// Not connected, but within the grace period.
    Waiting(String),
    Stall(String),
}

/// The pure rule; everything else in this module is bookkeeping around it.
pub(crate) fn decide(cfg: &WatchdogSettings, snap: &GatewaySnapshot, now: Instant) -> Decision {
    if snap.stage == crate::runtime::GatewayStage::TokenRejected {
        // A restart would present the same token; the operator has to change it.
        return Decision::Waiting(
            "Discord rejected the bot token; a restart would not help".into(),
        );
    }
    match snap.ack_age(now) {
        Some(age) if age > cfg.stall => Decision::Stall(format!(
            "connected but no heartbeat ACK for {}s (WATCHDOG_STALL_SEC={})",
            age.as_secs(),
            cfg.stall.as_secs()
        )),
        Some(ack_age) => Decision::Healthy { ack_age },
        None => {
            let down = snap.down_for(now).unwrap_or_default();
            let stage = snap.stage.as_str();
            if down > cfg.disconnect_grace {
                Decision::Stall(format!(
                    "gateway {stage} for {}s (WATCHDOG_DISCONNECT_GRACE_SEC={})",
                    down.as_secs(),
                    cfg.disconnect_grace.as_secs()
                ))
            } else {
                Decision::Waiting(format!(
                    "gateway {stage} for {}s, within the {}s grace",
                    down.as_secs(),
                    cfg.disconnect_grace.as_secs()
                ))
            }
        }
    }
}

/// The budget file as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct BudgetFile {
    version: u32,
    exits: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BudgetError {
    Exhausted {
        used: u32,
        next_allowed: DateTime<Utc>,
    },
    /// The restart could not be recorded; restarting anyway could loop without limit.
    Unrecordable(String),
}

/// Watchdog restarts allowed per window, persisted across restarts.
#[derive(Debug, Clone)]
pub(crate) struct RestartBudget {
    path: PathBuf,
    limit: u32,
    window: Duration,
}

impl RestartBudget {
    pub(crate) fn new(data_dir: &Path, limit: u32, window: Duration) -> Self {
        Self {
            path: data_dir.join(BUDGET_FILE),
            limit,
            window,
        }
    }

    fn load(&self) -> Result<Vec<DateTime<Utc>>, FileError> {
        match atomic_file::read_json::<BudgetFile>(&self.path) {
            Ok(f) => Ok(f.map(|f| f.exits).unwrap_or_default()),
            Err(e @ FileError::Corrupt { .. }) => {
                // Moved aside by read_json; an unreadable history must not block restarts
                // forever, so start a new one and say so.
                tracing::warn!(error = %e, "watchdog restart history unreadable; starting a new one");
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    fn in_window(&self, exits: Vec<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        exits
            .into_iter()
            .filter(|t| now - *t < window && *t <= now)
            .collect()
    }

    /// Restarts recorded inside the window ending `now`.
    pub(crate) fn used(&self, now: DateTime<Utc>) -> u32 {
        self.load()
            .map(|e| self.in_window(e, now).len() as u32)
            .unwrap_or(0)
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// [`RestartBudget::try_consume`] on the blocking pool: the file is fsync'd.
    async fn consume(&self, now: DateTime<Utc>) -> Result<u32, BudgetError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.try_consume(now))
            .await
            .unwrap_or_else(|e| Err(BudgetError::Unrecordable(e.to_string())))
    }

    /// [`RestartBudget::used`] on the blocking pool.
    async fn used_now(&self, now: DateTime<Utc>) -> u32 {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.used(now))
            .await
            .unwrap_or(0)
    }

    /// Records a restart at `now` if the budget allows one; returns how many the window
    /// now holds.
    pub(crate) fn try_consume(&self, now: DateTime<Utc>) -> Result<u32, BudgetError> {
        let exits = self
            .load()
            .map_err(|e| BudgetError::Unrecordable(e.to_string()))?;
        let mut exits = self.in_window(exits, now);
        exits.sort();
        if exits.len() as u32 >= self.limit {
            let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
            let oldest = exits[exits.len() - self.limit as usize];
            return Err(BudgetError::Exhausted {
                used: exits.len() as u32,
                next_allowed: oldest + window,
            });
        }
        exits.push(now);
        atomic_file::write_json(
            &self.path,
            &BudgetFile {
                version: 1,
                exits: exits.clone(),
            },
        )
        .map_err(|e| BudgetError::Unrecordable(e.to_string()))?;
        Ok(exits.len() as u32)
    }
}

/// The outcome of one check, after the budget was consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Healthy,
    Waiting(String),
    /// Shut down now (exit 1).
    Restart(String),
    /// A stall the budget does not allow a restart for; the process stays up, degraded.
    Held(String),
}

pub(crate) struct Watchdog {
    cfg: WatchdogSettings,
    clock: Arc<dyn Clock>,
    gateway: Arc<dyn GatewayProbe>,
    budget: RestartBudget,
    alerts: Arc<dyn AlertSink>,
    state: Arc<WatchdogState>,
    telemetry: Option<Arc<crate::telemetry::events::Telemetry>>,
}

impl Watchdog {
    /// Also records restarts and held restarts as `watchdog` telemetry events.
    pub(crate) fn with_telemetry(mut self, t: Arc<crate::telemetry::events::Telemetry>) -> Self {
        self.telemetry = Some(t);
        self
    }

    fn event(&self, action: &str, reason: &str) {
        if let Some(t) = &self.telemetry {
            t.emit("watchdog", "", serde_json::json!({"action": action, "reason": reason, "restarts_in_window": self.state.snapshot().restarts_in_window}));
        }
    }

    pub(crate) fn new(
        cfg: WatchdogSettings,
        clock: Arc<dyn Clock>,
        gateway: Arc<dyn GatewayProbe>,
        budget: RestartBudget,
        alerts: Arc<dyn AlertSink>,
        state: Arc<WatchdogState>,
    ) -> Self {
        Self {
            cfg,
            clock,
            gateway,
            budget,
            alerts,
            state,
            telemetry: None,
        }
    }

    /// One check: decide, consult the budget, alert. Does not shut anything down itself.
    pub(crate) async fn check(&self) -> Outcome {
        let now = self.clock.now();
        let utc = self.clock.utc();
        let decision = decide(&self.cfg, &self.gateway.snapshot(), now);
        let outcome = match decision {
            Decision::Healthy { ack_age } => {
                tracing::debug!(
                    ack_age_ms = ack_age.as_millis() as u64,
                    "[watchdog] heartbeat ok"
                );
                Outcome::Healthy
            }
            Decision::Waiting(why) => {
                tracing::info!(reason = %why, "[watchdog] gateway not connected");
                Outcome::Waiting(why)
            }
            Decision::Stall(reason) => match self.budget.consume(utc).await {
                Ok(used) => {
                    let detail = format!(
                        "{reason}. Restarting (watchdog restart {used} of {} allowed per {}s).",
                        self.budget.limit(),
                        self.cfg.restart_window.as_secs()
                    );
                    tracing::error!(reason = %reason, restarts_in_window = used, "[watchdog] stall: restarting");
                    self.alerts
                        .send(Alert::new(
                            Severity::Critical,
                            "watchdog:restart",
                            "Watchdog restart",
                            detail,
                        ))
                        .await;
                    self.state.update(|s| s.restarts_in_window = used);
                    self.event("restart", &reason);
                    Outcome::Restart(reason)
                }
                Err(err) => {
                    let why = match err {
                        BudgetError::Exhausted { used, next_allowed } => format!(
                            "{reason}; restart budget exhausted ({used} watchdog restarts in the last {}s, limit {}), next restart allowed after {}",
                            self.cfg.restart_window.as_secs(),
                            self.budget.limit(),
                            next_allowed.format("%Y-%m-%d %H:%M:%S UTC")
                        ),
                        BudgetError::Unrecordable(e) => format!(
                            "{reason}; the restart cannot be recorded in DATA_DIR ({e}), so the bot stays up rather than risk a restart loop"
                        ),
                    };
                    let first = self.state.degraded_reason().is_none();
                    if first {
                        self.event("held", &why);
                        tracing::warn!(reason = %why, "[watchdog] stall held back");
                        self.alerts
                            .send(Alert::new(
                                Severity::Critical,
                                "watchdog:held",
                                "Watchdog restart held back",
                                why.clone(),
                            ))
                            .await;
                    } else {
                        tracing::debug!(reason = %why, "[watchdog] stall still held back");
                    }
                    Outcome::Held(why)
                }
            },
        };
        let used = self.budget.used_now(utc).await;
        self.state.update(|s| {
            s.last_check = Some(utc);
            s.restarts_in_window = used;
            s.degraded = match &outcome {
                Outcome::Held(why) => Some(why.clone()),
                _ => None,
            };
            s.last_result = Some(match &outcome {
                Outcome::Healthy => "healthy".to_owned(),
                Outcome::Waiting(w) => format!("waiting: {w}"),
                Outcome::Restart(r) => format!("restart: {r}"),
                Outcome::Held(h) => format!("held: {h}"),
            });
        });
        outcome
    }

    /// Checks every `WATCHDOG_CHECK_SEC` until shutdown; a stall the budget allows
    /// triggers the shutdown with [`ShutdownReason::Watchdog`] (exit 1).
    pub(crate) async fn run(self, shutdown: Shutdown) {
        tracing::info!(
            check_sec = self.cfg.check.as_secs(),
            stall_sec = self.cfg.stall.as_secs(),
            disconnect_grace_sec = self.cfg.disconnect_grace.as_secs(),
            restart_budget = self.cfg.restart_budget,
            restart_window_sec = self.cfg.restart_window.as_secs(),
            "[watchdog] heartbeat monitor started"
        );
        // The restarts already in the window, before the first check: a restart count
        // of 0 would mislead until then.
        let used = self.budget.used_now(self.clock.utc()).await;
        self.state.update(|s| {
            s.running = true;
            s.restarts_in_window = used;
        });
        let mut tick = tokio::time::interval(self.cfg.check);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; the first check is one interval in
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Outcome::Restart(reason) = self.check().await {
                shutdown.trigger(ShutdownReason::Watchdog(reason));
                break;
            }
        }
        self.state.update(|s| s.running = false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{GatewayStage, GatewayTracker, ManualClock};
    use chrono::TimeZone;
    use parking_lot::Mutex;

    fn cfg() -> WatchdogSettings {
        WatchdogSettings {
            check: Duration::from_secs(60),
            stall: Duration::from_secs(180),
            disconnect_grace: Duration::from_secs(300),
            restart_budget: 5,
            restart_window: Duration::from_secs(3600),
        }
    }

    #[derive(Default)]
    struct RecordedAlerts(Mutex<Vec<Alert>>);

    #[async_trait::async_trait]
    impl AlertSink for RecordedAlerts {
        async fn send(&self, alert: Alert) {
            self.0.lock().push(alert);
        }
    }

    struct Rig {
        clock: Arc<ManualClock>,
        gateway: Arc<GatewayTracker>,
        alerts: Arc<RecordedAlerts>,
        state: Arc<WatchdogState>,
        dog: Watchdog,
        _dir: tempfile::TempDir,
        dir: PathBuf,
    }

    fn rig() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap(),
        ));
        let gateway = Arc::new(GatewayTracker::new(clock.now()));
        let alerts = Arc::new(RecordedAlerts::default());
        let state = Arc::new(WatchdogState::new(&cfg()));
        let dog = Watchdog::new(
            cfg(),
            clock.clone(),
            gateway.clone(),
            RestartBudget::new(&path, 5, Duration::from_secs(3600)),
            alerts.clone(),
            state.clone(),
        );
        Rig {
            clock,
            gateway,
            alerts,
            state,
            dog,
            _dir: dir,
            dir: path,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test]
    async fn healthy_when_connected_with_a_recent_ack() {
        let r = rig();
        r.gateway.set_stage(GatewayStage::Connected, r.clock.now());
        r.clock.advance(secs(100));
        r.gateway
            .heartbeat_ack(r.clock.now(), Some(Duration::from_millis(42)));
        r.clock.advance(secs(170));
        assert_eq!(r.dog.check().await, Outcome::Healthy);
        assert!(r.alerts.0.lock().is_empty());
        assert_eq!(r.state.snapshot().last_result.as_deref(), Some("healthy"));
    }

    #[tokio::test]
    async fn stale_ack_restarts_alerts_and_records_the_restart() {
        let r = rig();
        r.gateway.set_stage(GatewayStage::Connected, r.clock.now());
        r.gateway.heartbeat_ack(r.clock.now(), None);
        r.clock.advance(secs(181));
        let Outcome::Restart(reason) = r.dog.check().await else {
            panic!("expected a restart")
        };
        assert!(reason.contains("no heartbeat ACK for 181s"), "{reason}");
        let alerts = r.alerts.0.lock();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].severity, Severity::Critical);
        assert!(
            alerts[0].detail.contains("restart 1 of 5"),
            "{}",
            alerts[0].detail
        );
        let file: BudgetFile =
            serde_json::from_slice(&std::fs::read(r.dir.join(BUDGET_FILE)).unwrap()).unwrap();
        assert_eq!(file.exits, vec![r.clock.utc()]);
    }

    #[tokio::test]
    async fn disconnected_within_grace_waits_and_past_grace_restarts() {
        let r = rig();
        r.gateway.set_stage(GatewayStage::Connected, r.clock.now());
        r.clock.advance(secs(10));
        r.gateway
            .set_stage(GatewayStage::Disconnected, r.clock.now());
        r.clock.advance(secs(299));
        assert!(
            matches!(r.dog.check().await, Outcome::Waiting(w) if w.contains("within the 300s grace"))
        );
        // Reconnect attempts change the stage but not how long the bot has been down.
        r.gateway.set_stage(GatewayStage::Connecting, r.clock.now());
        r.clock.advance(secs(2));
        let Outcome::Restart(reason) = r.dog.check().await else {
            panic!("expected a restart")
        };
        assert!(reason.contains("gateway connecting for 301s"), "{reason}");
    }

    #[tokio::test]
    async fn never_connected_past_grace_restarts() {
        let r = rig();
        r.clock.advance(secs(301));
        assert!(matches!(r.dog.check().await, Outcome::Restart(_)));
    }

    #[tokio::test]
    async fn exhausted_budget_holds_the_restart_and_degrades_until_the_window_frees() {
        let r = rig();
        // Five restarts in the last hour, from earlier boots.
        let earlier: Vec<_> = (1..=5)
            .map(|m| r.clock.utc() - chrono::Duration::minutes(10 * m))
            .collect();
        atomic_file::write_json(
            &r.dir.join(BUDGET_FILE),
            &BudgetFile {
                version: 1,
                exits: earlier,
            },
        )
        .unwrap();
        r.clock.advance(secs(400)); // never connected, past grace
        let Outcome::Held(why) = r.dog.check().await else {
            panic!("expected the restart to be held")
        };
        assert!(
            why.contains("restart budget exhausted (5 watchdog restarts"),
            "{why}"
        );
        assert!(
            why.contains("next restart allowed after 2026-11-23 12:10:00 UTC"),
            "{why}"
        );
        assert_eq!(r.state.degraded_reason().as_deref(), Some(why.as_str()));
        assert_eq!(r.state.view()["restart_budget"]["exhausted"], true);
        // Held again: still degraded, alerted only once.
        r.clock.advance(secs(60));
        assert!(matches!(r.dog.check().await, Outcome::Held(_)));
        assert_eq!(r.alerts.0.lock().len(), 1);
        // The oldest restart leaves the window: the restart goes ahead.
        r.clock.advance(secs(600));
        assert!(matches!(r.dog.check().await, Outcome::Restart(_)));
        assert_eq!(r.state.degraded_reason(), None);
    }

    #[tokio::test]
    async fn a_budget_that_cannot_be_written_holds_the_restart() {
        let r = rig();
        // DATA_DIR is a file: nothing can be written under it.
        let blocker = r.dir.join("blocked");
        std::fs::write(&blocker, b"").unwrap();
        let dog = Watchdog::new(
            cfg(),
            r.clock.clone(),
            r.gateway.clone(),
            RestartBudget::new(&blocker, 5, secs(3600)),
            r.alerts.clone(),
            r.state.clone(),
        );
        r.clock.advance(secs(400));
        let Outcome::Held(why) = dog.check().await else {
            panic!("expected held")
        };
        assert!(why.contains("cannot be recorded"), "{why}");
    }

    #[tokio::test(start_paused = true)]
    async fn run_loop_triggers_a_watchdog_shutdown_with_exit_code_1() {
        let r = rig();
        r.clock.advance(secs(301));
        let shutdown = Shutdown::new();
        let handle = tokio::spawn(r.dog.run(shutdown.clone()));
        tokio::time::timeout(secs(120), handle)
            .await
            .unwrap()
            .unwrap();
        let reason = shutdown.reason().unwrap();
        assert!(matches!(reason, ShutdownReason::Watchdog(_)));
        assert_eq!(reason.exit_code(), 1);
    }

    #[tokio::test]
    async fn a_rejected_token_is_never_restarted_for() {
        let r = rig();
        r.gateway
            .set_stage(GatewayStage::TokenRejected, r.clock.now());
        r.clock.advance(secs(3600));
        let outcome = r.dog.check().await;
        assert!(
            matches!(&outcome, Outcome::Waiting(w) if w.contains("rejected")),
            "{outcome:?}"
        );
        assert!(r.alerts.0.lock().is_empty());
    }

    #[test]
    fn budget_counts_only_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let b = RestartBudget::new(dir.path(), 2, secs(3600));
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(b.try_consume(t), Ok(1));
        assert_eq!(b.try_consume(t + chrono::Duration::minutes(30)), Ok(2));
        assert!(matches!(
            b.try_consume(t + chrono::Duration::minutes(40)),
            Err(BudgetError::Exhausted { used: 2, .. })
        ));
        assert_eq!(b.try_consume(t + chrono::Duration::minutes(61)), Ok(2));
        assert_eq!(b.used(t + chrono::Duration::hours(3)), 0);
    }
}
