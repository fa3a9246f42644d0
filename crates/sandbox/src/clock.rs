//! The sandbox's idea of "now" for everything a bot can read as a date: snowflakes (and
//! so message and thread creation times), `timestamp`, `edited_timestamp`, `joined_at`,
//! thread `create_timestamp` and `join_timestamp`. A test hands the sandbox the same
//! clock as the bot, so "36 hours after the ticket opened" is one number on both sides.
//!
//! Protocol timers stay on real time, as the clients' own do: heartbeats, the 3-second
//! interaction window, rate-limit windows and OAuth token lifetimes.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A shared clock handle (Debug without asking every clock to be Debug).
#[derive(Clone)]
pub struct SharedClock(pub Arc<dyn Clock>);

impl SharedClock {
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock(Arc::new(SystemClock))
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedClock({})", self.now().to_rfc3339())
    }
}
