//! What the rest of the process knows about the Discord gateway connection: its stage,
//! when it last changed, and when the last heartbeat ACK arrived.
//!
//! Readiness, `/health` and the watchdog read it through [`GatewayProbe`]; the Discord
//! layer writes it through [`GatewayTracker`]. Liveness is judged from heartbeat ACKs,
//! never from user messages: the predecessor's "time since the last message" made quiet
//! servers look dead.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayStage {
    NotStarted,
    Connecting,
    Identifying,
    Resuming,
    Connected,
    Disconnected,
    /// Discord answered 401 to the bot's token: no connection will be tried (a restart
    /// would not help either; the operator must change `DISCORD_TOKEN`).
    TokenRejected,
}

impl GatewayStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Connecting => "connecting",
            Self::Identifying => "identifying",
            Self::Resuming => "resuming",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::TokenRejected => "token_rejected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySnapshot {
    pub stage: GatewayStage,
    /// When `stage` was entered.
    pub stage_since: Instant,
    /// When the connection was last lost (or the tracker created, before the first
    /// connection); `None` while connected.
    pub down_since: Option<Instant>,
    /// When the last heartbeat ACK arrived on the current connection.
    pub last_ack: Option<Instant>,
    /// Heartbeat round trip of the last ACK.
    pub latency: Option<Duration>,
    /// Sessions established since start (READY or RESUMED).
    pub sessions: u64,
}

impl GatewaySnapshot {
    /// Age of the last ACK, counting from the connection itself when no ACK has arrived
    /// yet; `None` when not connected.
    pub fn ack_age(&self, now: Instant) -> Option<Duration> {
        (self.stage == GatewayStage::Connected)
            .then(|| now.saturating_duration_since(self.last_ack.unwrap_or(self.stage_since)))
    }

    pub fn down_for(&self, now: Instant) -> Option<Duration> {
        self.down_since.map(|t| now.saturating_duration_since(t))
    }
}

/// Read side, implemented by whatever tracks the real connection.
pub trait GatewayProbe: Send + Sync + 'static {
    fn snapshot(&self) -> GatewaySnapshot;
}

/// Write side: the Discord layer reports transitions and ACKs; times are passed in so a
/// test can drive it from a manual clock.
#[derive(Debug)]
pub struct GatewayTracker {
    inner: Mutex<GatewaySnapshot>,
}

impl GatewayTracker {
    pub fn new(now: Instant) -> Self {
        Self {
            inner: Mutex::new(GatewaySnapshot {
                stage: GatewayStage::NotStarted,
                stage_since: now,
                down_since: Some(now),
                last_ack: None,
                latency: None,
                sessions: 0,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut GatewaySnapshot) -> R) -> R {
        f(&mut self.inner.lock())
    }

    pub fn set_stage(&self, stage: GatewayStage, now: Instant) {
        self.with(|s| {
            if s.stage == stage {
                return;
            }
            let was_connected = s.stage == GatewayStage::Connected;
            s.stage = stage;
            s.stage_since = now;
            if stage == GatewayStage::Connected {
                s.down_since = None;
                s.sessions += 1;
            } else if was_connected {
                s.down_since = Some(now);
                s.last_ack = None;
            }
        });
    }

    pub fn heartbeat_ack(&self, now: Instant, latency: Option<Duration>) {
        self.with(|s| {
            if s.stage == GatewayStage::Connected {
                s.last_ack = Some(now);
                if latency.is_some() {
                    s.latency = latency;
                }
            }
        });
    }
}

impl GatewayProbe for GatewayTracker {
    fn snapshot(&self) -> GatewaySnapshot {
        self.with(|s| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_since_tracks_the_loss_of_a_connection_not_every_stage() {
        let t0 = Instant::now();
        let g = GatewayTracker::new(t0);
        assert_eq!(g.snapshot().down_since, Some(t0));
        g.set_stage(GatewayStage::Connecting, t0 + Duration::from_secs(1));
        assert_eq!(
            g.snapshot().down_since,
            Some(t0),
            "still the boot-time outage"
        );
        g.set_stage(GatewayStage::Connected, t0 + Duration::from_secs(2));
        g.heartbeat_ack(t0 + Duration::from_secs(3), Some(Duration::from_millis(40)));
        let s = g.snapshot();
        assert_eq!(s.down_since, None);
        assert_eq!(s.sessions, 1);
        assert_eq!(
            s.ack_age(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(7))
        );
        g.set_stage(GatewayStage::Resuming, t0 + Duration::from_secs(20));
        g.set_stage(GatewayStage::Connecting, t0 + Duration::from_secs(21));
        let s = g.snapshot();
        assert_eq!(s.down_since, Some(t0 + Duration::from_secs(20)));
        assert_eq!(s.ack_age(t0 + Duration::from_secs(22)), None);
        assert_eq!(
            s.last_ack, None,
            "an ACK from the old connection says nothing about the new one"
        );
    }

    #[test]
    fn ack_age_counts_from_connection_until_the_first_ack() {
        let t0 = Instant::now();
        let g = GatewayTracker::new(t0);
        g.set_stage(GatewayStage::Connected, t0 + Duration::from_secs(5));
        assert_eq!(
            g.snapshot().ack_age(t0 + Duration::from_secs(8)),
            Some(Duration::from_secs(3))
        );
    }
}
