//! `clanhall export --since <date> --out <dir>`: the telemetry file (and its rotated
//! predecessors) as one NDJSON file per event type, for dashboards and BigQuery-style
//! loaders.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::events::files;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ExportSummary {
    pub since: String,
    pub out: String,
    /// Lines written, per `<event>.ndjson`.
    pub files: BTreeMap<String, usize>,
    pub invalid_lines: usize,
}

/// `2026-11-20` (midnight UTC) or an RFC 3339 time.
pub(crate) fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = s.parse::<NaiveDate>() {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("--since {s:?} is not a date: use YYYY-MM-DD (UTC) or an RFC 3339 time")
        })
}

/// An event name safe as a file name.
fn file_stem(event: &str) -> String {
    event
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(crate) fn export(
    telemetry: &Path,
    since: DateTime<Utc>,
    out: &Path,
) -> Result<ExportSummary, String> {
    let mut by_event: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut invalid = 0;
    let sources = files(telemetry);
    if sources.is_empty() {
        return Err(format!(
            "no telemetry at {} (TELEMETRY_LOG_PATH)",
            telemetry.display()
        ));
    }
    for f in sources {
        let text =
            std::fs::read_to_string(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                invalid += 1;
                continue;
            };
            let (Some(ts), Some(event)) = (
                v["ts"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
                v["event"].as_str(),
            ) else {
                invalid += 1;
                continue;
            };
            if ts.with_timezone(&Utc) >= since {
                by_event
                    .entry(file_stem(event))
                    .or_default()
                    .push(line.to_owned());
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut files_written = BTreeMap::new();
    for (event, lines) in by_event {
        let mut body = lines.join("\n");
        body.push('\n');
        crate::atomic_file::write_bytes(&out.join(format!("{event}.ndjson")), body.as_bytes())
            .map_err(|e| e.to_string())?;
        files_written.insert(format!("{event}.ndjson"), lines.len());
    }
    Ok(ExportSummary {
        since: since.to_rfc3339(),
        out: out.display().to_string(),
        files: files_written,
        invalid_lines: invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_event_filters_by_time_and_counts_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("t.jsonl");
        std::fs::write(format!("{}.1", live.display()), "{\"ts\":\"2026-11-19T10:00:00.000Z\",\"event\":\"job_run\",\"trace\":\"a\"}\n{\"ts\":\"2026-11-21T10:00:00.000Z\",\"event\":\"job_run\",\"trace\":\"b\"}\n").unwrap();
        std::fs::write(&live, "{\"ts\":\"2026-11-22T10:00:00.000Z\",\"event\":\"command\",\"trace\":\"c\"}\nnot json\n{\"ts\":\"2026-11-22T11:00:00.000Z\",\"event\":\"job_run\",\"trace\":\"d\"}\n").unwrap();
        let out = dir.path().join("out");
        let s = export(&live, parse_since("2026-11-20").unwrap(), &out).unwrap();
        assert_eq!(
            s.files,
            BTreeMap::from([
                ("command.ndjson".to_owned(), 1),
                ("job_run.ndjson".to_owned(), 2)
            ])
        );
        assert_eq!(s.invalid_lines, 1);
        let jobs = std::fs::read_to_string(out.join("job_run.ndjson")).unwrap();
        assert_eq!(
            jobs.lines()
                .map(
                    |l| serde_json::from_str::<serde_json::Value>(l).unwrap()["trace"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                )
                .collect::<Vec<_>>(),
            ["b", "d"]
        );
        assert!(parse_since("yesterday").is_err());
        assert!(
            export(
                &dir.path().join("none.jsonl"),
                parse_since("2026-01-01").unwrap(),
                &out
            )
            .unwrap_err()
            .contains("no telemetry")
        );
    }
}
