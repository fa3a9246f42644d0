//! Wiring and lifecycle: runs the startup phases in order (DESIGN §2), keeps every
//! long-lived task on one tracker, and on shutdown cancels them all and waits (bounded
//! by `SHUTDOWN_TIMEOUT_SEC`) before flushing telemetry and returning the exit code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::{BucketId, Cache, CacheHealth, RefreshTrigger};
use crate::config::{ConfigHealth, ConfigRegistry};
use crate::discord::{self, BotData};
use crate::health::{self, AccessPolicy, BuildInfo, HealthContext};
use crate::ops::alerts::{AlertSink, LogAlerts};
use crate::runtime::{Clock, GatewayTracker, RuntimeStatus, Shutdown, ShutdownReason, SystemClock};
use crate::scheduler::{Scheduler, SchedulerHealth};
use crate::settings::{Mode, Settings};
use crate::sheets::{SheetsHealth, Sources};
use crate::store::{Store, StoreError, StoreHealth};
use crate::telemetry::events::Telemetry;
use crate::telemetry::metrics::Metrics;
use crate::watchdog::{RestartBudget, Watchdog};

/// Startup phases in the order they run; `/ready` lists them.
pub const PHASES: &[&str] = &[
    "settings",
    "store",
    "config",
    "caches",
    "http",
    "discord",
    "commands",
    "scheduler",
];

/// The startup preload waits at most this long; slower buckets finish in the background.
pub const PRELOAD_WAIT: Duration = Duration::from_secs(10);

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sheets(#[from] crate::sheets::SheetsError),
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
    pub sources: Sources,
    pub cache: Arc<Cache>,
    pub alerts: Arc<dyn AlertSink>,
    pub store: Store,
    pub scheduler: Arc<Scheduler>,
    pub telemetry: Arc<Telemetry>,
    pub metrics: Arc<Metrics>,
    tasks: TaskTracker,
    settings: Arc<Settings>,
    telemetry_stop: CancellationToken,
    telemetry_writer: tokio::task::JoinHandle<()>,
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
        let metrics = Arc::new(Metrics::new(VERSION, &settings.env_name));
        let telemetry_stop = CancellationToken::new();
        let (telemetry, telemetry_writer) =
            Telemetry::start(settings.telemetry_log_path.clone(), telemetry_stop.clone());
        {
            let t = telemetry.clone();
            metrics.add_sampler(Box::new(move |m| m.sync_telemetry_drops(t.dropped())));
        }
        let fail = |phase: &str, e: &dyn std::fmt::Display| {
            status.phases.fail(phase, &e.to_string());
            tracing::error!(phase, error = %e, "startup phase failed");
            shutdown.trigger(ShutdownReason::Fatal(e.to_string()));
            telemetry_stop.cancel();
        };

        // --- store
        status.phases.start("store");
        let data_dir = settings.data_dir.clone();
        let store = match tokio::task::spawn_blocking(move || Store::open(&data_dir)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                fail("store", &e);
                return Err(e.into());
            }
            Err(e) => {
                let e = StoreError::Worker(e.to_string());
                fail("store", &e);
                return Err(e.into());
            }
        };
        status.add_component(Arc::new(StoreHealth(store.clone())));
        status.phases.done("store");

        // --- config: sources, Config + FeatureToggles, the log-channel sink
        status.phases.start("config");
        let sources = match Sources::from_settings(&settings, clock.clone(), metrics.clone()).await
        {
            Ok(s) => s,
            Err(e) => {
                fail("config", &e);
                return Err(e.into());
            }
        };
        let keep = crate::config::LastGood::in_dir(&settings.data_dir);
        let snapshot = crate::config::load_initial(&sources, &keep).await;
        sources.set_tuning(snapshot.sheets);
        let config = Arc::new(ConfigRegistry::new(snapshot));
        // The log channel is reachable over REST before the gateway connects, so startup
        // problems are posted too.
        let alerts: Arc<dyn AlertSink> = match &settings.discord_token {
            Some(token) => Arc::new(discord::alerts::DiscordAlerts::new(
                Arc::new(discord::http(
                    token.expose(),
                    settings.discord_proxy_url.as_deref(),
                )),
                config.clone(),
                settings.bot_name.clone(),
                settings.env_name.clone(),
            )),
            None => Arc::new(LogAlerts),
        };
        crate::config::announce(&config.get(), alerts.as_ref()).await;
        status.add_component(Arc::new(ConfigHealth(config.clone())));
        status.add_component(Arc::new(SheetsHealth(sources.clone())));
        status.phases.done("config");

        // --- caches: the startup preload never blocks boot on a failure
        status.phases.start("caches");
        let cache = Cache::new(
            sources.clone(),
            config.clone(),
            telemetry.clone(),
            metrics.clone(),
        );
        cache.set_alerts(alerts.clone());
        let preload = cache
            .refresh(
                &BucketId::ALL,
                RefreshTrigger::Startup,
                "startup",
                Some(PRELOAD_WAIT),
            )
            .await;
        status.phases.done("caches");
        {
            let alerts = alerts.clone();
            tokio::spawn(async move {
                alerts
                    .post(
                        "refresh:startup",
                        crate::cache::summary_embed("Startup refresh", "startup", &preload),
                    )
                    .await;
            });
        }

        let scheduler = Scheduler::new(
            store.clone(),
            clock.clone(),
            telemetry.clone(),
            metrics.clone(),
            shutdown.token(),
            tasks.clone(),
        );
        status.add_component(Arc::new(CacheHealth {
            cache: cache.clone(),
            scheduler: scheduler.clone(),
        }));

        // --- http
        status.phases.start("http");
        let listener = match health::bind(settings.host, settings.port).await {
            Ok(l) => l,
            Err(e) => {
                fail("http", &e);
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
        let ops_api = crate::ops::api::router(Arc::new(crate::ops::api::OpsApi {
            scheduler: scheduler.clone(),
            store: store.clone(),
            access: access.clone(),
        }));
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
            metrics: metrics.clone(),
            info: BuildInfo {
                version: VERSION,
                env: settings.env_name.clone(),
                bot: settings.bot_name.clone(),
            },
        });
        let router = health::router(ctx, ops_api);
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

        // --- discord and commands (commands complete inside the client's setup)
        if settings.discord_token.is_some() {
            status.phases.start("discord");
            let tracker = Arc::new(GatewayTracker::new(clock.now()));
            status.set_gateway(tracker.clone());
            let data = BotData {
                config: config.clone(),
                status: status.clone(),
                shutdown: shutdown.clone(),
                settings: settings.clone(),
                store: store.clone(),
                scheduler: scheduler.clone(),
                telemetry: telemetry.clone(),
                metrics: metrics.clone(),
                cache: cache.clone(),
                alerts: alerts.clone(),
                access: arc_swap::ArcSwap::from_pointee(crate::ops::perms::load_at_startup(
                    &settings.data_dir,
                )),
                cooldowns: Default::default(),
            };
            if let Err(e) = discord::start(
                settings.clone(),
                data,
                tracker.clone(),
                clock.clone(),
                &tasks,
            )
            .await
            {
                fail("discord", &e);
                return Err(e.into());
            }
            let budget = RestartBudget::new(
                &settings.data_dir,
                settings.watchdog.restart_budget,
                settings.watchdog.restart_window,
            );
            let watchdog = Watchdog::new(
                settings.watchdog.clone(),
                clock.clone(),
                tracker,
                budget,
                alerts.clone(),
                status.watchdog.clone(),
            )
            .with_telemetry(telemetry.clone());
            tasks.spawn(watchdog.run(shutdown.clone()));
        } else {
            status.phases.skip("discord", "no DISCORD_TOKEN");
            status.phases.skip("commands", "no DISCORD_TOKEN");
        }

        // --- scheduler: retention and one refresh job per bucket
        status.phases.start("scheduler");
        let retention = crate::ops::retention::job(
            store.clone(),
            config.clone(),
            telemetry.clone(),
            settings.data_dir.clone(),
        );
        let mut jobs = vec![retention];
        for id in BucketId::ALL {
            let (schedule, problem) = id.schedule(&config.get());
            if let Some(p) = problem {
                tracing::warn!(bucket = id.as_str(), problem = %p, "refresh cadence");
            }
            jobs.push(crate::cache::refresh_job(cache.clone(), id, schedule));
        }
        for job in jobs {
            if let Err(e) = scheduler.register(job).await {
                fail("scheduler", &e);
                return Err(e.into());
            }
        }
        status.add_component(Arc::new(SchedulerHealth(scheduler.clone())));
        tasks.spawn(scheduler.clone().run());
        status.phases.done("scheduler");

        Ok(App {
            status,
            http_addr,
            shutdown,
            config,
            sources,
            cache,
            alerts,
            store,
            scheduler,
            telemetry,
            metrics,
            tasks,
            settings,
            telemetry_stop,
            telemetry_writer,
        })
    }

    /// Waits until `/ready` would answer 200, or `within` passes. Returns whether it did.
    pub async fn wait_ready(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if health::assess(&self.status).ready {
                return true;
            }
            if tokio::time::Instant::now() >= deadline || self.shutdown.is_triggered() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for shutdown, lets every task finish its current step, flushes telemetry,
    /// returns the exit code.
    pub async fn wait(self) -> i32 {
        self.shutdown.cancelled().await;
        let reason = self
            .shutdown
            .reason()
            .unwrap_or_else(|| ShutdownReason::Fatal("shutdown without a reason".into()));
        let started = std::time::Instant::now();
        self.tasks.close();
        let timeout = self.settings.shutdown_timeout;
        let drained = tokio::time::timeout(timeout, self.tasks.wait())
            .await
            .is_ok();
        // Telemetry last, so events from the shutdown itself are written.
        self.telemetry_stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.telemetry_writer).await;
        if drained {
            tracing::info!(reason = %reason.describe(), exit_code = reason.exit_code(), took_ms = started.elapsed().as_millis() as u64, "shutdown complete");
        } else {
            tracing::warn!(
                reason = %reason.describe(),
                exit_code = reason.exit_code(),
                timeout_sec = timeout.as_secs(),
                tasks_left = self.tasks.len(),
                "shutdown timed out; exiting with tasks still running"
            );
        }
        reason.exit_code()
    }
}
