//! Log lines: one JSON object per line with exactly `ts`, `level`, `logger`, `msg`,
//! `trace` first, then the structured fields of the enclosing spans and of the event
//! (`LOG_FORMAT=pretty` renders the same data as aligned text for humans).
//!
//! Written as a `tracing` layer of our own rather than `tracing-subscriber`'s JSON
//! formatter because the shape is a contract operators grep and parse: reserved keys
//! always come first, the trace id is lifted from whichever span carries it, field names
//! can never collide with the reserved keys (a collision once killed the predecessor's
//! jobs), and every string passes through [`crate::redact`] before it is written.

use parking_lot::Mutex;
use std::io::Write as _;
use std::sync::Arc;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::redact::{is_sensitive_key, redact};
use crate::settings::LogFormat;

const RESERVED: [&str; 5] = ["ts", "level", "logger", "msg", "trace"];

/// Where finished lines go.
pub trait LineSink: Send + Sync + 'static {
    fn write_line(&self, line: &str);
}

/// Standard output, one `write_all` per line so concurrent lines never interleave.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StdoutSink;

impl LineSink for StdoutSink {
    fn write_line(&self, line: &str) {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(buf.as_bytes());
        let _ = out.flush();
    }
}

/// Standard error: where `clanhall sandbox` logs while stdout shows the console or a
/// script's transcript.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StderrSink;

impl LineSink for StderrSink {
    fn write_line(&self, line: &str) {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(buf.as_bytes());
    }
}

/// Keeps lines in memory; tests install it to assert on what was logged.
#[derive(Debug, Clone, Default)]
pub struct CaptureSink(Arc<Mutex<Vec<String>>>);

impl CaptureSink {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().clone()
    }
}

impl LineSink for CaptureSink {
    fn write_line(&self, line: &str) {
        self.0.lock().push(line.to_owned());
    }
}

/// Structured fields of a span or event, in the order they were recorded.
#[derive(Debug, Default, Clone)]
struct Fields {
    message: Option<String>,
    values: Vec<(String, Value)>,
}

impl Fields {
    fn put(&mut self, name: &str, value: Value) {
        if name == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
            return;
        }
        if let Some(slot) = self.values.iter_mut().find(|(k, _)| k == name) {
            slot.1 = value;
        } else {
            self.values.push((name.to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), Value::String(value.to_owned()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field.name(), Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field.name(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field.name(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field.name(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            // thiserror messages often already include their source; don't repeat it.
            let part = s.to_string();
            if !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = s.source();
        }
        self.put(field.name(), Value::String(text));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field.name(), Value::String(format!("{value:?}")));
    }
}

/// A `tracing` layer that renders every event as one line into a [`LineSink`].
pub(crate) struct LogLayer<S> {
    sink: S,
    format: LogFormat,
}

impl<S: LineSink> LogLayer<S> {
    pub(crate) fn new(sink: S, format: LogFormat) -> Self {
        Self { sink, format }
    }
}

impl<S, Sub> Layer<Sub> for LogLayer<S>
where
    S: LineSink,
    Sub: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, Sub>,
    ) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, Sub>,
    ) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(fields) = ext.get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Sub>) {
        let mut merged = Fields::default();
        let mut trace = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<Fields>() {
                    for (k, v) in &f.values {
                        if k == "trace" {
                            trace = value_text(v);
                        } else {
                            merged.put(k, v.clone());
                        }
                    }
                }
            }
        }
        let mut own = Fields::default();
        event.record(&mut own);
        for (k, v) in own.values {
            if k == "trace" {
                trace = value_text(&v);
            } else {
                merged.put(&k, v);
            }
        }
        let meta = event.metadata();
        let record = Record {
            level: *meta.level(),
            logger: meta.target(),
            msg: own.message.as_deref().unwrap_or(""),
            trace: &trace,
            fields: &merged.values,
        };
        self.sink.write_line(&record.render(self.format));
    }
}

/// The `trace` field recorded on a span, if it has one.
pub(crate) fn span_trace(ext: &tracing_subscriber::registry::Extensions<'_>) -> Option<String> {
    ext.get::<Fields>()?
        .values
        .iter()
        .find(|(k, _)| k == "trace")
        .map(|(_, v)| value_text(v))
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One log line before rendering.
pub(crate) struct Record<'a> {
    pub level: Level,
    pub logger: &'a str,
    pub msg: &'a str,
    pub trace: &'a str,
    pub fields: &'a [(String, Value)],
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn now_ts() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn clean_value(name: &str, v: &Value) -> Value {
    if is_sensitive_key(name) && !matches!(v, Value::Bool(_) | Value::Null) {
        return Value::String("[redacted]".into());
    }
    match v {
        Value::String(s) => Value::String(redact(s).into_owned()),
        other => other.clone(),
    }
}

fn field_name(name: &str) -> String {
    if RESERVED.contains(&name) {
        format!("field_{name}")
    } else {
        name.to_owned()
    }
}

impl Record<'_> {
    pub(crate) fn render(&self, format: LogFormat) -> String {
        match format {
            LogFormat::Json => self.render_json(),
            LogFormat::Pretty => self.render_pretty(),
        }
    }

    fn render_json(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let mut out = String::with_capacity(160);
        out.push_str("{\"ts\":");
        out.push_str(&q(&now_ts()));
        out.push_str(",\"level\":");
        out.push_str(&q(level_name(self.level)));
        out.push_str(",\"logger\":");
        out.push_str(&q(self.logger));
        out.push_str(",\"msg\":");
        out.push_str(&q(&redact(self.msg)));
        out.push_str(",\"trace\":");
        out.push_str(&q(self.trace));
        for (k, v) in self.fields {
            out.push(',');
            out.push_str(&q(&field_name(k)));
            out.push(':');
            out.push_str(&clean_value(k, v).to_string());
        }
        out.push('}');
        out
    }

    fn render_pretty(&self) -> String {
        let mut out = format!(
            "{} {:>5} {}: {}",
            now_ts(),
            level_name(self.level).to_ascii_uppercase(),
            self.logger,
            redact(self.msg)
        );
        for (k, v) in self.fields {
            let shown = match clean_value(k, v) {
                Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => s,
                other => other.to_string(),
            };
            out.push_str(&format!(" {}={}", field_name(k), shown));
        }
        if !self.trace.is_empty() {
            out.push_str(&format!(" trace={}", self.trace));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogInitError {
    #[error("invalid log filter {filter:?}: {reason}")]
    Filter { filter: String, reason: String },
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Installs the process-wide logger writing to stdout, and the panic hook.
pub fn init(filter: &str, format: LogFormat) -> Result<(), LogInitError> {
    init_with(filter, format, StdoutSink)
}

/// Installs the process-wide logger writing to `sink`, and the panic hook.
pub fn init_with(filter: &str, format: LogFormat, sink: impl LineSink) -> Result<(), LogInitError> {
    let env_filter = tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .map_err(|e| LogInitError::Filter {
            filter: filter.to_owned(),
            reason: e.to_string(),
        })?;
    tracing_subscriber::registry()
        .with(env_filter)
        .with(LogLayer::new(sink, format))
        .try_init()
        .map_err(|_| LogInitError::AlreadyInstalled)?;
    install_panic_hook(format);
    Ok(())
}

/// A subscriber writing into a [`CaptureSink`], for tests (`tracing::subscriber::set_default`).
pub fn capture_subscriber(
    filter: &str,
    format: LogFormat,
) -> (impl Subscriber + Send + Sync + 'static, CaptureSink) {
    let sink = CaptureSink::default();
    let sub = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(filter))
        .with(LogLayer::new(sink.clone(), format));
    (sub, sink)
}

/// Logs a panic as one line (same shape as every other line) before the default
/// behaviour runs: the process exits when the main thread panics, a task's panic is
/// reported to whoever awaits it.
pub fn install_panic_hook(format: LogFormat) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        let mut fields = vec![(
            "thread".to_owned(),
            Value::String(
                std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_owned(),
            ),
        )];
        if let Some(loc) = info.location() {
            fields.push((
                "location".to_owned(),
                Value::String(format!("{}:{}", loc.file(), loc.line())),
            ));
        }
        let trace = super::current_trace_id().unwrap_or_default();
        let msg = format!("panic: {payload}");
        let line = Record {
            level: Level::ERROR,
            logger: "panic",
            msg: &msg,
            trace: &trace,
            fields: &fields,
        }
        .render(format);
        StdoutSink.write_line(&line);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::{info, info_span, warn};

    fn parse_lines(sink: &CaptureSink) -> Vec<serde_json::Map<String, Value>> {
        sink.lines()
            .iter()
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::Object(m)) => m,
                other => panic!("line is not a JSON object: {l} ({other:?})"),
            })
            .collect()
    }

    #[test]
    fn json_lines_have_the_reserved_keys_first_then_fields() {
        let (sub, sink) = capture_subscriber("trace", LogFormat::Json);
        tracing::subscriber::with_default(sub, || {
            let span = info_span!("command", trace = "abc123def4567890", command = "ping");
            let _g = span.enter();
            info!(latency_ms = 12u64, ok = true, "command finished");
        });
        let raw = &sink.lines()[0];
        assert!(raw.starts_with("{\"ts\":\""), "{raw}");
        let lines = parse_lines(&sink);
        let keys: Vec<&str> = lines[0].keys().map(String::as_str).collect();
        // serde_json's map sorts keys; the raw line order is checked above and here.
        let order: Vec<usize> = ["\"ts\"", "\"level\"", "\"logger\"", "\"msg\"", "\"trace\""]
            .iter()
            .map(|k| raw.find(k).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{raw}");
        for k in [
            "ts",
            "level",
            "logger",
            "msg",
            "trace",
            "command",
            "latency_ms",
            "ok",
        ] {
            assert!(keys.contains(&k), "missing {k} in {raw}");
        }
        let l = &lines[0];
        assert_eq!(l["level"], "info");
        assert_eq!(l["logger"], "clanhall::telemetry::logging::tests");
        assert_eq!(l["msg"], "command finished");
        assert_eq!(l["trace"], "abc123def4567890");
        assert_eq!(l["command"], "ping");
        assert_eq!(l["latency_ms"], 12);
        assert_eq!(l["ok"], true);
        let ts = l["ts"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert!(
            ts.ends_with('Z') && ts.len() == 24,
            "millisecond UTC timestamp: {ts}"
        );
    }

    #[test]
    fn trace_is_empty_outside_spans_and_fields_cannot_shadow_reserved_keys() {
        let (sub, sink) = capture_subscriber("trace", LogFormat::Json);
        tracing::subscriber::with_default(sub, || {
            warn!(level = "custom", msg = "shadow", "plain event");
        });
        let l = &parse_lines(&sink)[0];
        assert_eq!(l["trace"], "");
        assert_eq!(l["level"], "warn");
        assert_eq!(l["msg"], "plain event");
        assert_eq!(l["field_level"], "custom");
        assert_eq!(l["field_msg"], "shadow");
    }

    #[test]
    fn secrets_are_redacted_in_messages_and_fields() {
        let token = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhR2xk.pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP";
        let (sub, sink) = capture_subscriber("trace", LogFormat::Json);
        tracing::subscriber::with_default(sub, || {
            info!(discord_token = token, detail = %format!("sent {token}"), "login with {token}");
        });
        let raw = sink.lines().join("\n");
        assert!(!raw.contains(token), "{raw}");
        let l = &parse_lines(&sink)[0];
        assert_eq!(l["discord_token"], "[redacted]");
    }

    #[test]
    fn pretty_format_is_one_human_line() {
        let (sub, sink) = capture_subscriber("trace", LogFormat::Pretty);
        tracing::subscriber::with_default(sub, || {
            let _g = info_span!("http", trace = "t1").entered();
            info!(path = "/ready", status = 503u64, "http request");
        });
        let line = &sink.lines()[0];
        assert!(line.contains(" INFO clanhall::telemetry::logging::tests: http request path=/ready status=503 trace=t1"), "{line}");
    }

    #[test]
    fn error_fields_include_their_sources() {
        let (sub, sink) = capture_subscriber("trace", LogFormat::Json);
        let inner = std::io::Error::other("connection reset");
        let outer = crate::atomic_file::FileError::Read {
            path: "x.json".into(),
            source: inner,
        };
        tracing::subscriber::with_default(sub, || {
            tracing::error!(error = &outer as &dyn std::error::Error, "read failed");
        });
        let l = &parse_lines(&sink)[0];
        assert_eq!(l["error"], "cannot read x.json: connection reset");
    }
}
