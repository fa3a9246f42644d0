//! The `ops health` embed, built from a plain snapshot so it can be tested without
//! Discord.

use std::time::Duration;

use crate::cache::RefreshOutcome;
use crate::message::embed::{COLOR_ERROR, COLOR_OK, COLOR_WARN, Embed};
use crate::runtime::Level;
use crate::util::text::count;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthView {
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
    pub buckets: Vec<BucketAge>,
}

/// One cache bucket's freshness, as `ops health` shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BucketAge {
    pub name: String,
    /// Age of the data in use; `None` before the first good refresh.
    pub age: Option<Duration>,
    pub ttl: Duration,
    /// When its refresh job runs next, from now.
    pub next: Option<Duration>,
}

pub(crate) use crate::util::duration::human;

pub(crate) fn health_embed(v: &HealthView) -> Embed {
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
    for b in &v.buckets {
        let age = b.age.map(human).unwrap_or_else(|| "no data".into());
        let next = b
            .next
            .map(|n| format!("in {}", human(n)))
            .unwrap_or_else(|| "not scheduled".into());
        e = e.field(
            b.name.clone(),
            format!("age {age} • TTL {} • next {next}", human(b.ttl)),
            true,
        );
    }
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

/// One line per bucket for `ops digest`.
pub(crate) fn bucket_line(v: &crate::cache::BucketView, next: Option<Duration>) -> String {
    let icon = match v.last_result {
        Some(RefreshOutcome::Failed) => "❌",
        Some(_) if v.stale => "⚠️",
        Some(_) => "✅",
        None => "…",
    };
    let age = v
        .age_sec
        .map(|a| human(Duration::from_secs(a)))
        .unwrap_or_else(|| "no data".into());
    let next = next
        .map(|n| format!("next in {}", human(n)))
        .unwrap_or_else(|| "not scheduled".into());
    let mut line = format!(
        "{icon} **{}** {} • age {age} • {next} • retries {} • by {} ({})",
        v.bucket.as_str(),
        v.last_result
            .map_or("not refreshed", RefreshOutcome::as_str),
        v.retries,
        v.last_actor.as_deref().unwrap_or("-"),
        v.last_trigger.map(|t| t.as_str()).unwrap_or("-")
    );
    if let Some(n) = v.item_count {
        line.push_str(&format!(" • {n} items"));
    }
    if let Some(e) = &v.last_error {
        line.push_str(&format!("\n  ↳ {e}"));
    }
    if !v.warnings.is_empty() {
        line.push_str(&format!(
            "\n  ↳ {}, first: {}",
            count(v.warnings.len(), "row warning"),
            v.warnings[0]
        ));
    }
    line
}

/// One line per workbook source for `ops digest`.
pub(crate) fn source_line(
    wb: &str,
    s: &crate::sheets::SourceStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let last_ok = s
        .last_success
        .map(|t| {
            format!(
                "last success {} ago",
                human((now - t).to_std().unwrap_or_default())
            )
        })
        .unwrap_or_else(|| "no success yet".into());
    let mut line = format!("**{wb}** {} • {last_ok}", s.label);
    if let Some(c) = &s.circuit {
        line.push_str(&format!(" • circuit {}", c.state));
        if let Some(r) = c.retry_in_sec.filter(|_| c.state == "open") {
            line.push_str(&format!(" (retry in {r}s)"));
        }
        line.push_str(&format!(" • {} requests", s.requests));
    }
    if let Some(ms) = s.last_latency_ms {
        line.push_str(&format!(" • {ms} ms"));
    }
    if let Some(e) = &s.last_error {
        line.push_str(&format!("\n  ↳ last error: {e}"));
    }
    line
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
            buckets: vec![BucketAge {
                name: "clans".into(),
                age: Some(Duration::from_secs(300)),
                ttl: Duration::from_secs(10_800),
                next: Some(Duration::from_secs(9000)),
            }],
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
      "name": "clans",
      "value": "age 5m 0s • TTL 3h 0m • next in 2h 30m",
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

    fn view(result: Option<RefreshOutcome>, stale: bool) -> crate::cache::BucketView {
        crate::cache::BucketView {
            bucket: crate::cache::BucketId::Clans,
            tab: "Clans".into(),
            workbook: crate::sheets::Workbook::Recruitment,
            ttl_sec: 10_800,
            age_sec: Some(300),
            stale,
            last_refresh_at: None,
            last_result: result,
            retries: 2,
            last_actor: Some("ana (1)".into()),
            last_trigger: Some(crate::cache::RefreshTrigger::Manual),
            last_error: None,
            item_count: Some(30),
            latency_ms: Some(12),
            warnings: Vec::new(),
            refreshing: false,
            next_refresh_at: None,
        }
    }

    #[test]
    fn bucket_lines_carry_every_telemetry_field() {
        let line = bucket_line(
            &view(Some(RefreshOutcome::RetryOk), false),
            Some(Duration::from_secs(600)),
        );
        assert_eq!(
            line,
            "✅ **clans** retry_ok • age 5m 0s • next in 10m 0s • retries 2 • by ana (1) (manual) • 30 items"
        );
        let mut failed = view(Some(RefreshOutcome::Failed), false);
        failed.last_error = Some("tab \"Clans\" is missing the header spots".into());
        failed.warnings = vec!["row 7 (ALP): level \"x\" is not a whole number".into()];
        let line = bucket_line(&failed, None);
        assert!(line.starts_with("❌ **clans** fail"), "{line}");
        assert!(line.contains("not scheduled"), "{line}");
        assert!(line.contains("\n  ↳ tab \"Clans\" is missing"), "{line}");
        assert!(line.contains("1 row warning, first: row 7"), "{line}");
        assert!(bucket_line(&view(Some(RefreshOutcome::Ok), true), None).starts_with("⚠️"));
        assert!(bucket_line(&view(None, false), None).contains("not refreshed"));
    }

    #[test]
    fn source_lines_show_the_circuit_only_for_google() {
        let now = chrono::Utc::now();
        let mut s = crate::sheets::SourceStatus {
            kind: "google",
            label: "google:…abc123".into(),
            circuit: Some(crate::sheets::CircuitView {
                state: "open",
                consecutive_failures: 5,
                retry_in_sec: Some(42),
                last_error: Some("Google Sheets answered 500".into()),
            }),
            last_success: Some(now - chrono::Duration::seconds(90)),
            last_error: Some("Google Sheets answered 500: HTTP 500".into()),
            requests: 17,
            last_latency_ms: Some(80),
        };
        let line = source_line("recruitment", &s, now);
        assert_eq!(
            line,
            "**recruitment** google:…abc123 • last success 1m 30s ago • circuit open (retry in 42s) • 17 requests • 80 ms\n  ↳ last error: Google Sheets answered 500: HTTP 500"
        );
        s.kind = "local";
        s.circuit = None;
        s.last_error = None;
        s.last_latency_ms = None;
        s.label = "local:config/sample".into();
        assert_eq!(
            source_line("recruitment", &s, now),
            "**recruitment** local:config/sample • last success 1m 30s ago"
        );
    }
}
