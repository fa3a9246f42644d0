//! Wiring and lifecycle: runs the startup phases in order, keeps every long-lived task
//! on one tracker, and on shutdown cancels them all and waits (bounded by
//! `SHUTDOWN_TIMEOUT_SEC`) before returning the exit code.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::task::TaskTracker;

use crate::config::{ConfigHealth, ConfigRegistry};
use crate::discord::{self, BotData};
use crate::health::{self, AccessPolicy, BuildInfo, HealthContext};
use crate::ops::alerts::{AlertSink, LogAlerts};
use crate::runtime::{Clock, GatewayTracker, RuntimeStatus, Shutdown, ShutdownReason, SystemClock};
use crate::settings::{Mode, Settings};
use crate::telemetry::metrics::Metrics;
use crate::watchdog::{RestartBudget, Watchdog};

/// Startup phases in the order they run (DESIGN §2); `/ready` lists them.
pub const PHASES: &[&str] = &["settings", "config", "http", "discord", "commands"];

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Http(#[from] health::HealthError),
    #[error(transparent)]
    Discord(#[from] discord::DiscordError),
}

/// A started application.
pub struct App {
    pub status: Arc<RuntimeStatus>,
    pub http_addr: SocketAddr,
    pub shutdown: Shutdown,
    pub config: Arc<ConfigRegistry>,
    pub alerts: Arc<dyn AlertSink>,
    tasks: TaskTracker,
    settings: Arc<Settings>,
}

impl App {
    /// Runs the startup phases. Returns once the process is serving (Discord connects in
    /// the background; `/ready` follows it); [`App::wait`] then blocks until shutdown.
    pub async fn start(
        settings: Settings,
        mode: Mode,
        shutdown: Shutdown,
    ) -> Result<App, StartError> {
        Self::start_with_clock(settings, mode, shutdown, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(
        settings: Settings,
        mode: Mode,
        shutdown: Shutdown,
        clock: Arc<dyn Clock>,
    ) -> Result<App, StartError> {
        let settings = Arc::new(settings);
        let status = Arc::new(RuntimeStatus::new(
            clock.clone(),
            PHASES,
            settings.watchdog.clone(),
        ));
        status.phases.done("settings");
        let tasks = TaskTracker::new();
        {
            let handle = status.spawn_liveness(&shutdown);
            tasks.spawn(async move {
                let _ = handle.await;
            });
        }

        status.phases.start("config");
        let snapshot = crate::config::load_local(&settings.workbook_dir);
        for issue in &snapshot.issues {
            tracing::warn!(key = %issue.key, value = %issue.value, expected = %issue.expected, "config problem");
        }
        tracing::info!(source = %snapshot.source, keys = snapshot.entries.len(), issues = snapshot.issues.len(), "config loaded");
        let config = Arc::new(ConfigRegistry::new(snapshot));
        status.add_component(Arc::new(ConfigHealth(config.clone())));
        status.phases.done("config");

        status.phases.start("http");
        let listener = match health::bind(settings.host, settings.port).await {
            Ok(l) => l,
            Err(e) => {
                status.phases.fail("http", &e.to_string());
                shutdown.trigger(ShutdownReason::Fatal(e.to_string()));
                return Err(e.into());
            }
        };
        let http_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(settings.host, settings.port));
        let mut access = AccessPolicy {
            token: settings.ops_api_token.clone(),
            allowlist: settings.health_allowlist.clone(),
            trusted_hops: settings.trusted_proxy_hops,
        };
        if mode == Mode::Sandbox {
            // The sandbox is local: whoever runs it may see the details.
            access.allowlist.extend(
                ["127.0.0.1/32", "::1/128"]
                    .iter()
                    .filter_map(|n| n.parse::<ipnet::IpNet>().ok()),
            );
        }
        let ctx = Arc::new(HealthContext {
            status: status.clone(),
            access,
            metrics: Arc::new(Metrics::new(VERSION, &settings.env_name)),
            info: BuildInfo {
                version: VERSION,
                env: settings.env_name.clone(),
                bot: settings.bot_name.clone(),
            },
        });
        let router = health::router(ctx, axum::Router::new());
        {
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) = health::serve(listener, router, shutdown.token()).await {
                    tracing::error!(error = %e, "web server failed");
                    shutdown.trigger(ShutdownReason::Fatal(format!("web server failed: {e}")));
                }
            });
        }
        tracing::info!(addr = %http_addr, port = http_addr.port(), "web server listening");
        status.phases.done("http");

        let mut alerts: Arc<dyn AlertSink> = Arc::new(LogAlerts);
        if settings.discord_token.is_some() {
            status.phases.start("discord");
            let tracker = Arc::new(GatewayTracker::new(clock.now()));
            status.set_gateway(tracker.clone());
            let data = BotData {
                config: config.clone(),
                status: status.clone(),
                shutdown: shutdown.clone(),
                settings: settings.clone(),
            };
            let started = match discord::start(
                settings.clone(),
                data,
                tracker.clone(),
                clock.clone(),
                &tasks,
            )
            .await
            {
                Ok(s) => s,
                Err(e) => {
                    status.phases.fail("discord", &e.to_string());
                    shutdown.trigger(ShutdownReason::Fatal(e.to_string()));
                    return Err(e.into());
                }
            };
            alerts = Arc::new(discord::alerts::DiscordAlerts::new(
                started.http.clone(),
                config.clone(),
                settings.bot_name.clone(),
                settings.env_name.clone(),
            ));
            let watchdog = Watchdog::new(
                settings.watchdog.clone(),
                clock.clone(),
                tracker,
                RestartBudget::new(
                    &settings.data_dir,
                    settings.watchdog.restart_budget,
                    settings.watchdog.restart_window,
                ),
                alerts.clone(),
                status.watchdog.clone(),
            );
            tasks.spawn(watchdog.run(shutdown.clone()));
        } else {
            status.phases.skip("discord", "no DISCORD_TOKEN");
            status.phases.skip("commands", "no DISCORD_TOKEN");
        }

        Ok(App {
            status,
            http_addr,
            shutdown,
            config,
            alerts,
            tasks,
            settings,
        })
    }

    /// Waits until `/ready` would answer 200, or `within` passes. Returns whether it did.
    pub async fn wait_ready(&self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if health::assess(&self.status).ready {
                return true;
            }
            if tokio::time::Instant::now() >= deadline || self.shutdown.is_triggered() {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits for shutdown, lets every task finish its current step, returns the exit code.
    pub async fn wait(self) -> i32 {
        self.shutdown.cancelled().await;
        let reason = self
            .shutdown
            .reason()
            .unwrap_or_else(|| ShutdownReason::Fatal("shutdown without a reason".into()));
        let started = std::time::Instant::now();
        self.tasks.close();
        let timeout = self.settings.shutdown_timeout;
        match tokio::time::timeout(timeout, self.tasks.wait()).await {
            Ok(()) => tracing::info!(
                reason = %reason.describe(),
                exit_code = reason.exit_code(),
                took_ms = started.elapsed().as_millis() as u64,
                "shutdown complete"
            ),
            Err(_) => tracing::warn!(
                reason = %reason.describe(),
                exit_code = reason.exit_code(),
                timeout_sec = timeout.as_secs(),
                tasks_left = self.tasks.len(),
                "shutdown timed out; exiting with tasks still running"
            ),
        }
        reason.exit_code()
    }
}
