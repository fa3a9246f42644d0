//! The `ops health` embed, built from a plain snapshot so it can be tested without
//! Discord.

use std::time::Duration;

use crate::discord::embed::{COLOR_ERROR, COLOR_OK, COLOR_WARN, Embed};
use crate::runtime::Level;

#[derive(Debug, Clone, PartialEq)]
pub struct HealthView {
    pub bot: String,
    pub env: String,
    pub version: String,
    pub status: Level,
    pub reasons: Vec<String>,
    pub uptime: Duration,
    pub gateway_stage: Option<String>,
    pub latency: Option<Duration>,
    pub ack_age: Option<Duration>,
    pub watchdog_check: u64,
    pub watchdog_stall: u64,
    pub watchdog_grace: u64,
    pub restarts_in_window: u32,
    pub restart_budget: u32,
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

pub fn health_embed(v: &HealthView) -> Embed {
    let (word, color) = match v.status {
        Level::Ok => ("ok", COLOR_OK),
        Level::Degraded => ("degraded", COLOR_WARN),
        Level::Down => ("down", COLOR_ERROR),
    };
    let mut e = Embed::new(format!("{} · health", v.bot))
        .description(if v.reasons.is_empty() {
            format!("Status **{word}**.")
        } else {
            format!(
                "Status **{word}**:\n{}",
                v.reasons
                    .iter()
                    .map(|r| format!("• {r}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
        .color(color)
        .field("env", v.env.clone(), true)
        .field("version", v.version.clone(), true)
        .field("uptime", human(v.uptime), true);
    let gateway = match (&v.gateway_stage, v.latency) {
        (Some(stage), Some(l)) => format!("{stage} • latency {} ms", l.as_millis()),
        (Some(stage), None) => stage.clone(),
        (None, _) => "not configured".into(),
    };
    e = e.field("gateway", gateway, true).field(
        "heartbeat ACK",
        v.ack_age
            .map(|a| format!("{} ago", human(a)))
            .unwrap_or_else(|| "—".into()),
        true,
    );
    e.field(
        "watchdog",
        format!(
            "check every {}s • stall after {}s • disconnect grace {}s • restarts {}/{} this window",
            v.watchdog_check,
            v.watchdog_stall,
            v.watchdog_grace,
            v.restarts_in_window,
            v.restart_budget
        ),
        false,
    )
    .footer(format!("{} {}", v.bot, v.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_embed_snapshot() {
        let v = HealthView {
            bot: "clanhall".into(),
            env: "prod".into(),
            version: "0.1.0".into(),
            status: Level::Degraded,
            reasons: vec!["sheets: circuit open".into()],
            uptime: Duration::from_secs(3 * 3600 + 120),
            gateway_stage: Some("connected".into()),
            latency: Some(Duration::from_millis(42)),
            ack_age: Some(Duration::from_secs(12)),
            watchdog_check: 60,
            watchdog_stall: 180,
            watchdog_grace: 300,
            restarts_in_window: 1,
            restart_budget: 5,
        };
        let e = health_embed(&v);
        let text = serde_json::to_string_pretty(&e).unwrap();
        let expected = r#"{
  "title": "clanhall · health",
  "description": "Status **degraded**:\n• sheets: circuit open",
  "fields": [
    {
      "name": "env",
      "value": "prod",
      "inline": true
    },
    {
      "name": "version",
      "value": "0.1.0",
      "inline": true
    },
    {
      "name": "uptime",
      "value": "3h 2m",
      "inline": true
    },
    {
      "name": "gateway",
      "value": "connected • latency 42 ms",
      "inline": true
    },
    {
      "name": "heartbeat ACK",
      "value": "12s ago",
      "inline": true
    },
    {
      "name": "watchdog",
      "value": "check every 60s • stall after 180s • disconnect grace 300s • restarts 1/5 this window",
      "inline": false
    }
  ],
  "footer": "clanhall 0.1.0",
  "color": 15844367
}"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
        assert_eq!(human(Duration::from_secs(90_000)), "1d 1h");
    }
}
