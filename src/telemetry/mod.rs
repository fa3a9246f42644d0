//! Observability: structured logs ([`logging`]), Prometheus metrics ([`metrics`]) and
//! trace ids that tie a command, job run or HTTP request to every line it logs.

pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod logging;
pub(crate) mod metrics;

use tracing_subscriber::registry::LookupSpan as _;

/// A new trace id: 16 lowercase hex characters (64 random bits), short enough to grep
/// and paste, unique enough for one bot's lifetime of requests.
///
/// Drawn from a per-thread SplitMix64 stream seeded once from the OS: trace ids need to
/// be unique, not secret, and a system call per HTTP request showed in the probe benchmark.
pub(crate) fn new_trace_id() -> String {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(uuid::Uuid::new_v4().as_u128() as u64);
    }
    let bits = STATE.with(|s| {
        let next = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    });
    format!("{bits:016x}")
}

/// Interns a label value from a small, fixed vocabulary (route patterns, command names)
/// so hot paths can label metrics without allocating. Each distinct value is leaked
/// once; callers must only pass values from a bounded set.
pub(crate) fn intern(value: &str) -> &'static str {
    use parking_lot::RwLock;
    use std::collections::HashSet;
    use std::sync::OnceLock;
    static SET: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let set = SET.get_or_init(Default::default);
    if let Some(v) = set.read().get(value) {
        return v;
    }
    let mut w = set.write();
    if let Some(v) = w.get(value) {
        return v;
    }
    let leaked: &'static str = Box::leak(value.to_owned().into_boxed_str());
    w.insert(leaked);
    leaked
}

tokio::task_local! {
    /// The trace id of the gateway event or job run this task works for. Kept apart from
    /// the tracing span, which a log level above `info` disables: the reference a user is
    /// given and the telemetry `trace` must exist whatever the level.
    static TRACE: String;
}

/// Runs `f` with `trace` as its [`current_trace_id`].
pub(crate) async fn with_trace<F: std::future::Future>(trace: String, f: F) -> F::Output {
    TRACE.scope(trace, f).await
}

/// The trace id of the work in progress: the one set with [`with_trace`], else the
/// innermost enclosing span's. Replies use it so a user can quote it to staff, and the
/// panic hook puts it on the panic line.
pub(crate) fn current_trace_id() -> Option<String> {
    if let Ok(t) = TRACE.try_with(Clone::clone) {
        return Some(t);
    }
    tracing::Span::current()
        .with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
            let span = registry.span(id)?;
            span.scope()
                .find_map(|s| logging::span_trace(&s.extensions()))
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_hex_and_unique() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_trace_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|i| i.len() == 16 && i.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn trace_ids_from_many_threads_do_not_collide() {
        let handles: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| (0..2000).map(|_| new_trace_id()).collect::<Vec<_>>()))
            .collect();
        let mut all = std::collections::HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(all.insert(id));
            }
        }
    }

    #[test]
    fn intern_returns_one_copy_per_value() {
        let a = intern("/ops/jobs/{id}/run");
        let b = intern(&String::from("/ops/jobs/{id}/run"));
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn current_trace_id_reads_the_innermost_span() {
        let (sub, _sink) = logging::capture_subscriber("trace", crate::settings::LogFormat::Json);
        tracing::subscriber::with_default(sub, || {
            assert_eq!(current_trace_id(), None);
            let _outer = tracing::info_span!("outer", trace = "aaaa").entered();
            assert_eq!(current_trace_id().as_deref(), Some("aaaa"));
            let _inner = tracing::info_span!("inner", trace = "bbbb").entered();
            assert_eq!(current_trace_id().as_deref(), Some("bbbb"));
        });
    }
}
