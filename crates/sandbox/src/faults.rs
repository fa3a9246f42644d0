//! Fault injection: make a route or the gateway misbehave on purpose, so tests can
//! prove the bot copes (a 429 with `retry_after`, a 500, a slow or hanging endpoint, a
//! write that is applied but whose answer is lost, a dropped gateway socket, a refused RESUME, heartbeats that are never acknowledged).

use parking_lot::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub enum HttpFault {
    /// Answer with this status and the API's error body.
    Status(u16),
    /// 429 with `retry_after` (seconds) in the body and `Retry-After` header.
    RateLimited { retry_after: f64 },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Never answer (the client's timeout decides).
    Hang,
    /// Do the request (the message is posted, the rows are written), then answer this
    /// status with the API's error body instead of the result: the answer was lost, not
    /// the write. A client that retries blindly writes twice.
    ApplyThenStatus(u16),
    /// Do the request, then never answer.
    ApplyThenHang,
    /// Do the request, then answer normally after this long: the write is visible to
    /// everyone (a message in the channel) before its author hears back.
    ApplyThenDelay(Duration),
}

#[derive(Debug, Clone)]
struct HttpRule {
    method: Option<String>,
    path_contains: String,
    fault: HttpFault,
    /// `None`: every matching request; `Some(n)`: the next n.
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct GatewayFaults {
    refuse_until: Option<Instant>,
    refuse_resume: u32,
    stop_acks: bool,
    /// On the next RESUME, resend this many dispatches the client already had.
    replay_on_resume: u32,
}

#[derive(Debug, Default)]
pub struct Faults {
    http: Mutex<Vec<HttpRule>>,
    gateway: Mutex<GatewayFaults>,
}

impl Faults {
    /// Adds a rule for requests whose path contains `path_contains` (and whose method
    /// is `method`, when given). Rules are checked in the order they were added.
    pub fn add_http(
        &self,
        method: Option<&str>,
        path_contains: &str,
        fault: HttpFault,
        times: Option<u32>,
    ) {
        self.http.lock().push(HttpRule {
            method: method.map(|m| m.to_ascii_uppercase()),
            path_contains: path_contains.to_owned(),
            fault,
            remaining: times,
        });
    }

    /// The fault to apply to this request, consuming one use of the rule.
    pub fn take_http(&self, method: &str, path: &str) -> Option<HttpFault> {
        let mut rules = self.http.lock();
        let i = rules.iter().position(|r| {
            r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path.contains(&r.path_contains)
        })?;
        let fault = rules[i].fault.clone();
        match &mut rules[i].remaining {
            Some(1) => {
                rules.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }

    pub fn clear(&self) {
        self.http.lock().clear();
        *self.gateway.lock() = GatewayFaults::default();
    }

    pub fn refuse_gateway_for(&self, d: Duration) {
        self.gateway.lock().refuse_until = Some(Instant::now() + d);
    }

    pub fn gateway_refused(&self) -> bool {
        self.gateway
            .lock()
            .refuse_until
            .is_some_and(|t| Instant::now() < t)
    }

    pub fn refuse_resume(&self, times: u32) {
        self.gateway.lock().refuse_resume = times;
    }

    /// Whether this RESUME must be refused (consumes one).
    pub fn take_refuse_resume(&self) -> bool {
        let mut g = self.gateway.lock();
        if g.refuse_resume > 0 {
            g.refuse_resume -= 1;
            true
        } else {
            false
        }
    }

    /// On the next RESUME, resend the last `n` dispatches the client had already
    /// received, so a handler meets the same event twice (Discord promises at-least-once
    /// delivery across a resume, not exactly-once).
    pub fn replay_on_resume(&self, n: u32) {
        self.gateway.lock().replay_on_resume = n;
    }

    /// How many already-delivered dispatches this RESUME resends (consumes the fault).
    pub fn take_replay_on_resume(&self) -> u32 {
        std::mem::take(&mut self.gateway.lock().replay_on_resume)
    }

    pub fn set_stop_acks(&self, stop: bool) {
        self.gateway.lock().stop_acks = stop;
    }

    pub fn acks_stopped(&self) -> bool {
        self.gateway.lock().stop_acks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_method_and_path_and_run_out() {
        let f = Faults::default();
        f.add_http(Some("post"), "/messages", HttpFault::Status(500), Some(2));
        assert_eq!(f.take_http("GET", "/api/v10/channels/1/messages"), None);
        assert_eq!(
            f.take_http("POST", "/api/v10/channels/1/messages"),
            Some(HttpFault::Status(500))
        );
        assert_eq!(
            f.take_http("POST", "/api/v10/channels/1/messages"),
            Some(HttpFault::Status(500))
        );
        assert_eq!(f.take_http("POST", "/api/v10/channels/1/messages"), None);
        f.add_http(
            None,
            "values:batchGet",
            HttpFault::RateLimited { retry_after: 0.1 },
            None,
        );
        for _ in 0..3 {
            assert!(
                f.take_http("GET", "/v4/spreadsheets/x/values:batchGet")
                    .is_some()
            );
        }
        f.clear();
        assert!(
            f.take_http("GET", "/v4/spreadsheets/x/values:batchGet")
                .is_none()
        );
    }
}
