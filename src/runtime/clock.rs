//! Time as a dependency, so the watchdog and health decisions can be tested with a clock
//! the test moves by hand instead of by sleeping.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    /// Monotonic time, for ages and deadlines.
    fn now(&self) -> Instant;
    /// Wall time, for anything persisted across restarts.
    fn utc(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    base_utc: DateTime<Utc>,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new(start_utc: DateTime<Utc>) -> Self {
        Self {
            base: Instant::now(),
            base_utc: start_utc,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock() += by;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.offset()
    }
    fn utc(&self) -> DateTime<Utc> {
        self.base_utc + chrono::Duration::from_std(self.offset()).unwrap_or_default()
    }
}
