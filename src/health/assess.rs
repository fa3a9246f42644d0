//! The health verdict, as a pure function of what the runtime knows.
//!
//! States and what each endpoint answers:
//!
//! | state     | meaning                                               | /healthz | /ready | /health |
//! |-----------|-------------------------------------------------------|----------|--------|---------|
//! | starting  | a startup phase is still pending                      | 200      | 503    | 503 `down` |
//! | ready     | every phase done, gateway connected with a recent ACK | 200      | 200    | 200 `ok` |
//! | degraded  | serving, but something needs attention                | 200      | 200/503 | 200 `degraded` |
//! | down      | cannot serve: a phase failed, gateway lost past grace, ACKs stalled | 200 | 503 | 503 `down` |
//!
//! `/healthz` only turns 503 when the runtime's own loop stops ticking: liveness is the
//! process, readiness is Discord (DESIGN §1.6). A gateway that is reconnecting within
//! its grace period is `degraded` with `/ready` 503.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::runtime::{
    ComponentHealth, GatewaySnapshot, GatewayStage, Level, Liveness, PhaseState, PhaseView,
    RuntimeStatus,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Starting,
    Ready,
    Degraded,
    Down,
}

#[derive(Debug, Clone)]
pub(crate) struct Inputs {
    pub now: Instant,
    pub phases: Vec<PhaseView>,
    pub liveness_age: Duration,
    pub uptime: Duration,
    pub gateway: Option<GatewaySnapshot>,
    pub stall: Duration,
    pub disconnect_grace: Duration,
    pub watchdog_degraded: Option<String>,
    pub components: Vec<(&'static str, ComponentHealth)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub state: State,
    pub status: Level,
    pub ready: bool,
    /// The first phase not yet done, while starting.
    pub pending: Option<&'static str>,
    /// Why the status is not `ok`, one line each.
    pub reasons: Vec<String>,
    #[serde(skip)]
    pub components: Vec<(&'static str, ComponentHealth)>,
}

impl Assessment {
    pub fn http_status(&self) -> u16 {
        if self.status == Level::Down { 503 } else { 200 }
    }
}

fn discord_component(
    g: &GatewaySnapshot,
    now: Instant,
    stall: Duration,
    grace: Duration,
) -> ComponentHealth {
    let ack_age = g.ack_age(now);
    let down_for = g.down_for(now);
    let (status, summary) = match (ack_age, down_for) {
        _ if g.stage == GatewayStage::TokenRejected => (
            Level::Down,
            "Discord rejected the bot token; set a valid DISCORD_TOKEN and redeploy".to_owned(),
        ),
        (Some(age), _) if age > stall => (
            Level::Down,
            format!("connected but no heartbeat ACK for {}s", age.as_secs()),
        ),
        (Some(_), _) => (Level::Ok, "connected".to_owned()),
        (None, Some(down)) if g.sessions == 0 && g.stage == GatewayStage::NotStarted => {
            (Level::Down, format!("not started ({}s)", down.as_secs()))
        }
        (None, Some(down)) if down > grace => (
            Level::Down,
            format!(
                "{} for {}s, past the {}s grace",
                g.stage.as_str(),
                down.as_secs(),
                grace.as_secs()
            ),
        ),
        (None, down) => (
            Level::Degraded,
            format!(
                "{} for {}s",
                g.stage.as_str(),
                down.unwrap_or_default().as_secs()
            ),
        ),
    };
    ComponentHealth::new(status, summary)
        .with("stage", g.stage)
        .with("heartbeat_ack_age_sec", ack_age.map(|a| a.as_secs_f64()))
        .with("latency_ms", g.latency.map(|l| l.as_millis() as u64))
        .with("down_for_sec", down_for.map(|d| d.as_secs()))
        .with("sessions", g.sessions)
}

/// The verdict. Pure: the same inputs always give the same answer.
pub(crate) fn evaluate(inputs: Inputs) -> Assessment {
    let mut reasons = Vec::new();
    let failed: Vec<&PhaseView> = inputs
        .phases
        .iter()
        .filter(|p| p.state == PhaseState::Failed)
        .collect();
    let pending = inputs
        .phases
        .iter()
        .find(|p| matches!(p.state, PhaseState::Pending | PhaseState::Running))
        .map(|p| p.name);
    for p in &failed {
        reasons.push(format!(
            "startup phase {} failed: {}",
            p.name,
            p.note.as_deref().unwrap_or("no detail")
        ));
    }

    let live = inputs.liveness_age <= Liveness::STALE_AFTER;
    let runtime = if !live {
        ComponentHealth::new(
            Level::Down,
            format!("runtime loop has not ticked for {}s", inputs.liveness_age.as_secs()),
        )
    } else if !failed.is_empty() {
        ComponentHealth::new(Level::Down, "a startup phase failed")
    } else if let Some(p) = pending {
        ComponentHealth::new(Level::Degraded, format!("starting: {p}"))
    } else {
        ComponentHealth::new(Level::Ok, "running")
    }
    .with("uptime_sec", inputs.uptime.as_secs())
    .with(
        "phases",
        inputs
            .phases
            .iter()
            .map(|p| serde_json::json!({"name": p.name, "state": p.state, "ms": p.ms, "note": p.note}))
            .collect::<Vec<_>>(),
    );

    let mut components: Vec<(&'static str, ComponentHealth)> = vec![("runtime", runtime)];
    let mut gateway_ready = true;
    if let Some(g) = &inputs.gateway {
        let d = discord_component(g, inputs.now, inputs.stall, inputs.disconnect_grace);
        gateway_ready = d.status == Level::Ok;
        components.push(("discord", d));
    }
    components.extend(inputs.components);

    let mut status = Level::Ok;
    for (name, c) in &components {
        // While starting, a component that has not come up yet is expected.
        let stalled_loop = *name == "runtime" && c.status == Level::Down;
        if pending.is_some() && failed.is_empty() && c.status != Level::Ok && !stalled_loop {
            continue;
        }
        if c.status != Level::Ok {
            reasons.push(format!("{name}: {}", c.summary));
        }
        status = status.max(c.status);
    }
    if let Some(why) = &inputs.watchdog_degraded {
        reasons.push(format!("watchdog: {why}"));
        status = status.max(Level::Degraded);
    }
    if pending.is_some() || !failed.is_empty() {
        status = Level::Down;
    }
    let ready = pending.is_none() && failed.is_empty() && live && gateway_ready;
    let state = if !failed.is_empty() || !live {
        State::Down
    } else if pending.is_some() {
        State::Starting
    } else {
        match status {
            Level::Ok => State::Ready,
            Level::Degraded => State::Degraded,
            Level::Down => State::Down,
        }
    };
    if let (State::Starting, Some(p)) = (state, pending) {
        reasons.insert(0, format!("starting: waiting for phase {p}"));
    }
    Assessment {
        state,
        status,
        ready,
        pending,
        reasons,
        components,
    }
}

/// Gathers the inputs from the live runtime and evaluates them.
pub fn assess(status: &RuntimeStatus) -> Assessment {
    let now = status.now();
    evaluate(Inputs {
        now,
        phases: status.phases.views(),
        liveness_age: status.liveness.age(now),
        uptime: status.uptime(),
        gateway: status.gateway(),
        stall: status.thresholds.stall,
        disconnect_grace: status.thresholds.disconnect_grace,
        watchdog_degraded: status.watchdog.degraded_reason(),
        components: status.component_reports(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::GatewayProbe as _;
    use crate::runtime::GatewayTracker;

    fn phase(name: &'static str, state: PhaseState) -> PhaseView {
        PhaseView {
            name,
            state,
            ms: Some(1),
            note: None,
        }
    }

    fn base(now: Instant) -> Inputs {
        Inputs {
            now,
            phases: vec![
                phase("settings", PhaseState::Done),
                phase("http", PhaseState::Done),
                phase("discord", PhaseState::Done),
            ],
            liveness_age: Duration::from_secs(1),
            uptime: Duration::from_secs(100),
            gateway: None,
            stall: Duration::from_secs(180),
            disconnect_grace: Duration::from_secs(300),
            watchdog_degraded: None,
            components: vec![],
        }
    }

    fn connected(now: Instant, ack_ago: u64) -> GatewaySnapshot {
        let t0 = now - Duration::from_secs(1000);
        let g = GatewayTracker::new(t0);
        g.set_stage(GatewayStage::Connected, t0);
        g.heartbeat_ack(now - Duration::from_secs(ack_ago), None);
        g.snapshot()
    }

    #[test]
    fn ready_when_everything_is_done_and_acks_are_fresh() {
        let now = Instant::now();
        let a = evaluate(Inputs {
            gateway: Some(connected(now, 30)),
            ..base(now)
        });
        assert_eq!(
            (a.state, a.status, a.ready),
            (State::Ready, Level::Ok, true)
        );
        assert!(a.reasons.is_empty(), "{:?}", a.reasons);
    }

    #[test]
    fn starting_names_the_pending_phase() {
        let now = Instant::now();
        let mut i = base(now);
        i.phases[2].state = PhaseState::Running;
        i.gateway = Some(GatewayTracker::new(now).snapshot());
        let a = evaluate(i);
        assert_eq!(
            (a.state, a.status, a.ready, a.pending),
            (State::Starting, Level::Down, false, Some("discord"))
        );
        assert_eq!(a.http_status(), 503);
        assert_eq!(
            a.reasons,
            vec!["starting: waiting for phase discord".to_owned()]
        );
    }

    #[test]
    fn degraded_component_keeps_ready_but_reports() {
        let now = Instant::now();
        let a = evaluate(Inputs {
            gateway: Some(connected(now, 5)),
            components: vec![(
                "sheets",
                ComponentHealth::new(Level::Degraded, "circuit open: 500 from Sheets"),
            )],
            ..base(now)
        });
        assert_eq!(
            (a.state, a.status, a.ready),
            (State::Degraded, Level::Degraded, true)
        );
        assert_eq!(a.http_status(), 200);
        assert_eq!(
            a.reasons,
            vec!["sheets: circuit open: 500 from Sheets".to_owned()]
        );
    }

    #[test]
    fn reconnecting_within_grace_is_degraded_and_not_ready() {
        let now = Instant::now();
        let t0 = now - Duration::from_secs(1000);
        let g = GatewayTracker::new(t0);
        g.set_stage(GatewayStage::Connected, t0);
        g.set_stage(GatewayStage::Resuming, now - Duration::from_secs(20));
        let a = evaluate(Inputs {
            gateway: Some(g.snapshot()),
            ..base(now)
        });
        assert_eq!(
            (a.state, a.status, a.ready),
            (State::Degraded, Level::Degraded, false)
        );
    }

    #[test]
    fn stale_acks_or_long_disconnects_are_down() {
        let now = Instant::now();
        let a = evaluate(Inputs {
            gateway: Some(connected(now, 200)),
            ..base(now)
        });
        assert_eq!(
            (a.state, a.status, a.ready),
            (State::Down, Level::Down, false)
        );
        assert!(a.reasons[0].contains("no heartbeat ACK for 200s"));
        let t0 = now - Duration::from_secs(1000);
        let g = GatewayTracker::new(t0);
        g.set_stage(GatewayStage::Connected, t0);
        g.set_stage(GatewayStage::Disconnected, now - Duration::from_secs(301));
        let a = evaluate(Inputs {
            gateway: Some(g.snapshot()),
            ..base(now)
        });
        assert_eq!(a.state, State::Down);
        assert!(
            a.reasons[0].contains("past the 300s grace"),
            "{:?}",
            a.reasons
        );
    }

    #[test]
    fn watchdog_budget_exhausted_is_degraded() {
        let now = Instant::now();
        let a = evaluate(Inputs {
            gateway: Some(connected(now, 5)),
            watchdog_degraded: Some("restart budget exhausted".into()),
            ..base(now)
        });
        assert_eq!((a.state, a.status), (State::Degraded, Level::Degraded));
        assert_eq!(
            a.reasons,
            vec!["watchdog: restart budget exhausted".to_owned()]
        );
    }

    #[test]
    fn failed_phase_or_stalled_loop_is_down() {
        let now = Instant::now();
        let mut i = base(now);
        i.phases[1] = PhaseView {
            name: "http",
            state: PhaseState::Failed,
            ms: None,
            note: Some("port in use".into()),
        };
        let a = evaluate(i);
        assert_eq!(
            (a.state, a.status, a.ready),
            (State::Down, Level::Down, false)
        );
        assert!(
            a.reasons
                .iter()
                .any(|r| r == "startup phase http failed: port in use")
        );
        let a = evaluate(Inputs {
            liveness_age: Duration::from_secs(20),
            ..base(now)
        });
        assert_eq!(a.state, State::Down);
    }

    #[test]
    fn without_a_gateway_readiness_depends_on_phases_only() {
        let now = Instant::now();
        let a = evaluate(base(now));
        assert_eq!((a.state, a.ready), (State::Ready, true));
    }
}
