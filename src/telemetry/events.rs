//! The telemetry file: one JSON object per line at `TELEMETRY_LOG_PATH` with `ts`,
//! `event`, `trace` and the event's fields (`command`, `cache_refresh`, `job_run`,
//! `watchdog`, `retention`; each feature adds its own type). Operators tail and grep it, and
//! `clanhall export` turns it into NDJSON files per event type.
//!
//! Emitting never blocks: events go through a bounded channel to one writer task, and
//! when the channel is full the event is dropped and counted (`/metrics`). The file is
//! rotated by size: `telemetry_log.jsonl` → `.1` → `.2` ... up to [`KEEP`] files.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::redact::redact_json;

/// Rotate when the live file would grow past this.
pub(crate) const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept (`.1` ... `.KEEP`).
pub(crate) const KEEP: usize = 5;
/// Events buffered before new ones are dropped.
pub(crate) const CAPACITY: usize = 10_000;

enum Msg {
    Line(String),
    Stop,
}

pub struct Telemetry {
    tx: mpsc::Sender<Msg>,
    dropped: AtomicU64,
    written: Arc<AtomicU64>,
    pub path: PathBuf,
}

fn now_ts() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Builds one line: reserved keys first, then the event's fields (redacted).
pub(crate) fn line(event: &str, trace: &str, fields: Value) -> String {
    let mut fields = match fields {
        Value::Object(m) => Value::Object(m),
        Value::Null => Value::Object(Map::new()),
        other => serde_json::json!({ "value": other }),
    };
    redact_json(&mut fields);
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = format!(
        "{{\"ts\":{},\"event\":{},\"trace\":{}",
        q(&now_ts()),
        q(event),
        q(trace)
    );
    if let Value::Object(m) = fields {
        for (k, v) in m {
            if matches!(k.as_str(), "ts" | "event" | "trace") {
                continue;
            }
            out.push(',');
            out.push_str(&q(&k));
            out.push(':');
            out.push_str(&v.to_string());
        }
    }
    out.push('}');
    out
}

fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    let numbered = |n: usize| PathBuf::from(format!("{}.{n}", path.display()));
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        if numbered(n).exists() {
            std::fs::rename(numbered(n), numbered(n + 1))?;
        }
    }
    if path.exists() {
        std::fs::rename(path, numbered(1))?;
    }
    Ok(())
}

struct Writer {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    size: u64,
    max_bytes: u64,
    keep: usize,
}

impl Writer {
    fn open(&mut self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(std::io::BufWriter::new(f));
        Ok(())
    }

    fn write(&mut self, line: &str) -> std::io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.file.is_none() {
            self.open()?;
        }
        if self.size > 0 && self.size + len > self.max_bytes {
            self.flush();
            self.file = None;
            rotate(&self.path, self.keep)?;
            self.open()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(line.as_bytes())?;
            f.write_all(b"\n")?;
            self.size += len;
        }
        Ok(())
    }

    fn flush(&mut self) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.flush();
        }
    }
}

impl Telemetry {
    /// Starts the writer task; it drains what is queued and stops when `stop` fires.
    pub fn start(
        path: PathBuf,
        stop: CancellationToken,
    ) -> (Arc<Telemetry>, tokio::task::JoinHandle<()>) {
        Self::start_with(path, MAX_BYTES, KEEP, CAPACITY, stop)
    }

    pub fn start_with(
        path: PathBuf,
        max_bytes: u64,
        keep: usize,
        capacity: usize,
        stop: CancellationToken,
    ) -> (Arc<Telemetry>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Msg>(capacity);
        let written = Arc::new(AtomicU64::new(0));
        let telemetry = Arc::new(Telemetry {
            tx: tx.clone(),
            dropped: AtomicU64::new(0),
            written: written.clone(),
            path: path.clone(),
        });
        let mut writer = Writer {
            path,
            file: None,
            size: 0,
            max_bytes,
            keep,
        };
        // Shutdown: queued after whatever is already waiting, so nothing emitted before
        // it is lost.
        tokio::spawn(async move {
            stop.cancelled().await;
            let _ = tx.send(Msg::Stop).await;
        });
        let handle = tokio::task::spawn_blocking(move || {
            let mut failing = false;
            while let Some(Msg::Line(line)) = rx.blocking_recv() {
                match writer.write(&line) {
                    Ok(()) => {
                        written.fetch_add(1, Ordering::Relaxed);
                        failing = false;
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::error!(path = %writer.path.display(), error = %e, "cannot write telemetry; events are lost until it works again");
                    }
                    Err(_) => {}
                }
                if rx.is_empty() {
                    writer.flush();
                }
            }
            writer.flush();
        });
        (telemetry, handle)
    }

    /// Queues one event. Never blocks; a full queue drops the event and counts it.
    pub fn emit(&self, event: &str, trace: &str, fields: Value) {
        if self
            .tx
            .try_send(Msg::Line(line(event, trace, fields)))
            .is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// The live file and its rotated predecessors, oldest first.
pub(crate) fn files(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = (1..=KEEP * 4)
        .rev()
        .map(|n| PathBuf::from(format!("{}.{n}", path.display())))
        .filter(|p| p.exists())
        .collect();
    if path.exists() {
        out.push(path.to_path_buf());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_ts_event_trace_first_and_redact() {
        let l = line(
            "command",
            "abc",
            serde_json::json!({"command": "ping", "token": "sekrit-value", "event": "shadow"}),
        );
        assert!(l.starts_with("{\"ts\":\""), "{l}");
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["event"], "command");
        assert_eq!(v["trace"], "abc");
        assert_eq!(v["command"], "ping");
        assert_eq!(v["token"], "[redacted]");
        assert!(chrono::DateTime::parse_from_rfc3339(v["ts"].as_str().unwrap()).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_rotates_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/t.jsonl");
        let stop = CancellationToken::new();
        let (t, handle) = Telemetry::start_with(path.clone(), 2_000, 2, 10_000, stop.clone());
        for i in 0..200 {
            t.emit("job_run", "trace", serde_json::json!({"i": i}));
        }
        stop.cancel();
        handle.await.unwrap();
        let all = files(&path);
        assert_eq!(all.len(), 3, "live file plus two rotated: {all:?}");
        for f in &all {
            assert!(std::fs::metadata(f).unwrap().len() <= 2_000);
            for l in std::fs::read_to_string(f).unwrap().lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                assert!(v["ts"].is_string() && v["event"] == "job_run" && v["trace"] == "trace");
            }
        }
        // Older events were rotated away (keep = 2); the newest survive.
        let last: Value = serde_json::from_str(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(last["i"], 199);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let (t, handle) =
            Telemetry::start_with(dir.path().join("t.jsonl"), MAX_BYTES, KEEP, 1, stop.clone());
        for _ in 0..1000 {
            t.emit("x", "", Value::Null);
        }
        assert!(t.dropped() > 0);
        stop.cancel();
        handle.await.unwrap();
        assert_eq!(t.dropped() + t.written(), 1000);
    }
}
