//! What the watchdog last saw and how it is configured, for `/health`, `ops health` and
//! metrics. The watchdog writes it after each check; readers never wait on one.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use crate::settings::WatchdogSettings;

#[derive(Debug)]
pub struct WatchdogState {
    pub check_sec: u64,
    pub stall_sec: u64,
    pub disconnect_grace_sec: u64,
    pub restart_budget: u32,
    pub restart_window_sec: u64,
    inner: Mutex<StateInner>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct StateInner {
    pub running: bool,
    pub last_check: Option<DateTime<Utc>>,
    pub last_result: Option<String>,
    pub restarts_in_window: u32,
    /// Set while a stall is held back by the budget.
    pub degraded: Option<String>,
}

impl WatchdogState {
    pub fn new(cfg: &WatchdogSettings) -> Self {
        Self {
            check_sec: cfg.check.as_secs(),
            stall_sec: cfg.stall.as_secs(),
            disconnect_grace_sec: cfg.disconnect_grace.as_secs(),
            restart_budget: cfg.restart_budget,
            restart_window_sec: cfg.restart_window.as_secs(),
            inner: Mutex::new(StateInner::default()),
        }
    }

    /// Records what a check saw.
    pub fn update(&self, f: impl FnOnce(&mut StateInner)) {
        f(&mut self.inner.lock())
    }

    pub fn snapshot(&self) -> StateInner {
        self.inner.lock().clone()
    }

    pub fn degraded_reason(&self) -> Option<String> {
        self.snapshot().degraded
    }

    pub fn view(&self) -> serde_json::Value {
        let s = self.snapshot();
        serde_json::json!({
            "check_sec": self.check_sec,
            "stall_sec": self.stall_sec,
            "disconnect_grace_sec": self.disconnect_grace_sec,
            "running": s.running,
            "last_check": s.last_check,
            "last_result": s.last_result,
            "restart_budget": {
                "limit": self.restart_budget,
                "window_sec": self.restart_window_sec,
                "used": s.restarts_in_window,
                "exhausted": s.degraded.is_some(),
            },
            "degraded": s.degraded,
        })
    }
}
