//! Startup phases, in order. Each is visible in `/ready` until done, so an operator can
//! see where a slow or stuck boot is (the predecessor's `/ready` never said).

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Pending,
    Running,
    Done,
    /// Not needed in this mode (no Discord, say); counts as done.
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    pub name: &'static str,
    pub state: PhaseState,
    /// How long the phase took (or has been running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Why it failed or was skipped; shown only in detailed health.
    #[serde(skip)]
    pub note: Option<String>,
}

#[derive(Debug)]
struct Phase {
    name: &'static str,
    state: PhaseState,
    started: Option<Instant>,
    took: Option<Duration>,
    note: Option<String>,
}

#[derive(Debug)]
pub struct Phases {
    inner: Mutex<Vec<Phase>>,
}

impl Phases {
    pub fn new(names: &[&'static str]) -> Self {
        Self {
            inner: Mutex::new(
                names
                    .iter()
                    .map(|&name| Phase {
                        name,
                        state: PhaseState::Pending,
                        started: None,
                        took: None,
                        note: None,
                    })
                    .collect(),
            ),
        }
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut Phase)) {
        let mut phases = self.inner.lock();
        match phases.iter_mut().find(|p| p.name == name) {
            Some(p) => f(p),
            None => tracing::error!(phase = name, "unknown startup phase"),
        }
    }

    pub fn start(&self, name: &str) {
        self.update(name, |p| {
            p.state = PhaseState::Running;
            p.started = Some(Instant::now());
        });
        tracing::debug!(phase = name, "startup phase started");
    }

    pub fn done(&self, name: &str) {
        self.update(name, |p| {
            p.state = PhaseState::Done;
            p.took = p.started.map(|s| s.elapsed()).or(Some(Duration::ZERO));
        });
        tracing::info!(phase = name, "startup phase done");
    }

    pub fn skip(&self, name: &str, why: &str) {
        self.update(name, |p| {
            p.state = PhaseState::Skipped;
            p.note = Some(why.to_owned());
        });
        tracing::info!(phase = name, reason = why, "startup phase skipped");
    }

    pub fn fail(&self, name: &str, error: &str) {
        self.update(name, |p| {
            p.state = PhaseState::Failed;
            p.took = p.started.map(|s| s.elapsed());
            p.note = Some(error.to_owned());
        });
    }

    pub fn views(&self) -> Vec<PhaseView> {
        let phases = self.inner.lock();
        phases
            .iter()
            .map(|p| PhaseView {
                name: p.name,
                state: p.state.clone(),
                ms: p
                    .took
                    .or_else(|| p.started.map(|s| s.elapsed()))
                    .map(|d| d.as_millis() as u64),
                note: p.note.clone(),
            })
            .collect()
    }
}
