//! One cancellation token for the whole process and the reason it was cancelled, which
//! decides the exit code.
//!
//! Exit codes: 0 after SIGTERM/SIGINT; 1 after a watchdog stall or a fatal error (Render
//! restarts the service); 2 for invalid settings (set in `main`); 75 after an operator
//! asked for a reboot.

use parking_lot::Mutex;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownReason {
    Signal(&'static str),
    Watchdog(String),
    Reboot {
        actor: String,
    },
    Fatal(String),
    /// The work is done (a sandbox script ran to its end, the console was closed).
    Finished(String),
}

impl ShutdownReason {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Signal(_) | Self::Finished(_) => 0,
            Self::Watchdog(_) | Self::Fatal(_) => 1,
            Self::Reboot { .. } => 75,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Signal(s) => format!("received {s}"),
            Self::Watchdog(r) => format!("watchdog: {r}"),
            Self::Reboot { actor } => format!("reboot requested by {actor}"),
            Self::Fatal(r) => format!("fatal: {r}"),
            Self::Finished(r) => format!("finished: {r}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    reason: Arc<Mutex<Option<ShutdownReason>>>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown. The first reason wins: a SIGTERM that arrives while the
    /// watchdog is already restarting does not turn exit 1 into exit 0.
    pub fn trigger(&self, reason: ShutdownReason) {
        {
            let mut slot = self.reason.lock();
            if slot.is_some() {
                return;
            }
            tracing::info!(reason = %reason.describe(), exit_code = reason.exit_code(), "shutdown requested");
            *slot = Some(reason);
        }
        self.token.cancel();
    }

    pub fn reason(&self) -> Option<ShutdownReason> {
        self.reason.lock().clone()
    }

    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }
}

/// Turns the first SIGTERM or SIGINT into a graceful shutdown; a second one while
/// shutting down exits at once (an operator pressing Ctrl-C twice means it).
pub(crate) fn spawn_signal_listener(shutdown: Shutdown) -> Result<(), std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        shutdown.trigger(ShutdownReason::Signal(first));
        let second = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!(
            signal = second,
            "second signal during shutdown: exiting now"
        );
        std::process::exit(130);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins_and_decides_the_exit_code() {
        let s = Shutdown::new();
        assert!(!s.is_triggered());
        s.trigger(ShutdownReason::Watchdog("no ACK".into()));
        s.trigger(ShutdownReason::Signal("SIGTERM"));
        assert!(s.is_triggered());
        assert_eq!(s.reason().unwrap().exit_code(), 1);
        assert_eq!(ShutdownReason::Signal("SIGINT").exit_code(), 0);
        assert_eq!(ShutdownReason::Reboot { actor: "a".into() }.exit_code(), 75);
    }
}
