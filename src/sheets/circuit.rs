//! A circuit breaker per workbook: after `threshold` failed reads in a row it opens and
//! requests fail at once (stale data is served meanwhile, and Google is not hammered);
//! after `cooldown` one trial request is let through (half-open); its success closes the
//! circuit, its failure opens it again.

use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

#[derive(Debug, Clone)]
pub(crate) struct Circuit {
    state: State,
    failures: u32,
    pub threshold: u32,
    pub cooldown: Duration,
    last_error: Option<String>,
}

/// What `/health` and `ops digest` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitView {
    /// `closed`, `open` or `half_open`.
    pub state: &'static str,
    pub consecutive_failures: u32,
    pub retry_in_sec: Option<u64>,
    pub last_error: Option<String>,
}

impl Circuit {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Circuit {
            state: State::Closed,
            failures: 0,
            threshold: threshold.max(1),
            cooldown,
            last_error: None,
        }
    }

    /// Whether a request may go out now; when open, how long until the next trial.
    pub(crate) fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            State::Closed => Ok(()),
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(())
            }
            State::Open { until } => Err(until - now),
            State::HalfOpen {
                trial_in_flight: false,
            } => {
                self.state = State::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(())
            }
            State::HalfOpen {
                trial_in_flight: true,
            } => Err(Duration::ZERO),
        }
    }

    pub(crate) fn success(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
        self.last_error = None;
    }

    pub(crate) fn failure(&mut self, now: Instant, error: String) {
        self.failures += 1;
        self.last_error = Some(error);
        let trial_failed = matches!(self.state, State::HalfOpen { .. });
        if trial_failed || self.failures >= self.threshold {
            self.state = State::Open {
                until: now + self.cooldown,
            };
        }
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed)
    }

    pub(crate) fn view(&self, now: Instant) -> CircuitView {
        let (state, retry_in) = match self.state {
            State::Closed => ("closed", None),
            State::Open { until } => ("open", Some(until.saturating_duration_since(now).as_secs())),
            State::HalfOpen { .. } => ("half_open", Some(0)),
        };
        CircuitView {
            state,
            consecutive_failures: self.failures,
            retry_in_sec: retry_in,
            last_error: self.last_error.clone(),
        }
    }

    /// For metrics: 0 closed, 1 half-open, 2 open.
    pub(crate) fn gauge(&self) -> i64 {
        match self.state {
            State::Closed => 0,
            State::HalfOpen { .. } => 1,
            State::Open { .. } => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_half_opens_after_cooldown_and_closes_on_success() {
        let t0 = Instant::now();
        let mut c = Circuit::new(3, Duration::from_secs(30));
        for i in 0..2 {
            assert!(c.allow(t0).is_ok());
            c.failure(t0, format!("500 #{i}"));
            assert!(!c.is_open());
        }
        c.failure(t0, "500 #3".into());
        assert!(c.is_open());
        assert_eq!(
            c.allow(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        let v = c.view(t0 + Duration::from_secs(10));
        assert_eq!(
            (v.state, v.consecutive_failures, v.retry_in_sec),
            ("open", 3, Some(20))
        );
        assert_eq!(v.last_error.as_deref(), Some("500 #3"));
        // Cooldown over: exactly one trial.
        let later = t0 + Duration::from_secs(31);
        assert!(c.allow(later).is_ok());
        assert!(c.allow(later).is_err(), "only one trial while half-open");
        c.success();
        assert_eq!(c.view(later).state, "closed");
        assert!(c.allow(later).is_ok());
    }

    #[test]
    fn a_failed_trial_reopens_for_another_cooldown() {
        let t0 = Instant::now();
        let mut c = Circuit::new(1, Duration::from_secs(5));
        c.failure(t0, "timeout".into());
        let t1 = t0 + Duration::from_secs(6);
        assert!(c.allow(t1).is_ok());
        c.failure(t1, "timeout again".into());
        assert_eq!(
            c.allow(t1 + Duration::from_secs(1)),
            Err(Duration::from_secs(4))
        );
        assert_eq!(c.gauge(), 2);
    }
}
