//! Wiring and lifecycle: runs the startup phases in order (DESIGN §2), one function per
//! phase, keeps every long-lived task on one tracker, and on shutdown cancels them all
//! and waits (bounded by `SHUTDOWN_TIMEOUT_SEC`) before flushing telemetry and returning
//! the exit code.
//!
//! This is the one module that knows every feature: [`commands`] lists every command
//! and the feature state they use, [`jobs`] every scheduled job.

pub(crate) mod commands;
pub(crate) mod jobs;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::VERSION;
use crate::cache::{BucketId, Cache, CacheDeps, CacheHealth, RefreshTrigger};
use crate::config::{ConfigHealth, ConfigRegistry};
use crate::discord::outbound::{Outbound, ProxyRest};
use crate::discord::{self, BotData, HandledEvents};
use crate::health::{self, AccessPolicy, BuildInfo, HealthContext};
use crate::message::alert::{AlertSink, LogAlerts};
use crate::runtime::data_lock::DataDirLock;
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
pub(crate) const PRELOAD_WAIT: Duration = Duration::from_secs(10);

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
    #[error(transparent)]
    DataDir(#[from] crate::runtime::data_lock::LockError),
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
    /// The gateway events the bot has finished handling (the sandbox console and tests
    /// wait on it for "the bot's answer is complete").
    pub handled: Arc<HandledEvents>,
    boot: Boot,
}

/// What every phase shares: the process's settings, clock, status, task tracker and
/// observability, and how a failed phase stops the start.
struct Boot {
    settings: Arc<Settings>,
    mode: Mode,
    shutdown: Shutdown,
    clock: Arc<dyn Clock>,
    status: Arc<RuntimeStatus>,
    tasks: TaskTracker,
    metrics: Arc<Metrics>,
    telemetry: Arc<Telemetry>,
    telemetry_stop: CancellationToken,
    telemetry_writer: tokio::task::JoinHandle<()>,
    /// Held from the store phase until the app is dropped.
    data_lock: Option<DataDirLock>,
}

impl Boot {
    /// The `settings` phase: settings already parsed; the liveness beat, metrics and the
    /// telemetry writer start.
    fn new(settings: Settings, mode: Mode, shutdown: Shutdown, clock: Arc<dyn Clock>) -> Boot {
        let settings = Arc::new(settings);
        let status = Arc::new(RuntimeStatus::new(
            clock.clone(),
            PHASES,
            settings.watchdog.clone(),
        ));
        status.phases.done("settings");
        let tasks = TaskTracker::new();
        let beat = status.spawn_liveness(&shutdown);
        tasks.spawn(async move {
            let _ = beat.await;
        });
        let metrics = Arc::new(Metrics::new(VERSION, &settings.env_name));
        let telemetry_stop = CancellationToken::new();
        let (telemetry, telemetry_writer) =
            Telemetry::start(settings.telemetry_log_path.clone(), telemetry_stop.clone());
        let t = telemetry.clone();
        metrics.add_sampler(Box::new(move |m| m.sync_telemetry_drops(t.dropped())));
        Boot {
            settings,
            mode,
            shutdown,
            clock,
            status,
            tasks,
            metrics,
            telemetry,
            telemetry_stop,
            telemetry_writer,
            data_lock: None,
        }
    }

    /// Marks `phase` failed and stops the start: the phase shows in `/ready`, the
    /// process shuts down with exit code 1.
    fn fail(&self, phase: &str, e: impl Into<StartError>) -> StartError {
        let e = e.into();
        self.status.phases.fail(phase, &e.to_string());
        tracing::error!(phase, error = %e, "startup phase failed");
        self.shutdown.trigger(ShutdownReason::Fatal(e.to_string()));
        self.telemetry_stop.cancel();
        e
    }
}

/// What the config phase produces.
struct Configured {
    sources: Sources,
    config: Arc<ConfigRegistry>,
    alerts: Arc<dyn AlertSink>,
    /// Where channel messages leave from; none without a token.
    outbound: Option<Arc<Outbound>>,
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

    /// [`App::start`] on a given clock: every time the bot reads comes from it.
    pub async fn start_with_clock(
        settings: Settings,
        mode: Mode,
        shutdown: Shutdown,
        clock: Arc<dyn Clock>,
    ) -> Result<App, StartError> {
        let mut boot = Boot::new(settings, mode, shutdown, clock);
        let (store, lock) = open_store(&boot).await?;
        boot.data_lock = Some(lock);
        let Configured {
            sources,
            config,
            alerts,
            outbound,
        } = load_config(&boot).await?;
        let cache = preload_caches(&boot, &sources, &config, &alerts).await;
        let scheduler = Scheduler::new(
            store.clone(),
            boot.clock.clone(),
            boot.telemetry.clone(),
            boot.metrics.clone(),
            boot.shutdown.token(),
            boot.tasks.clone(),
        );
        boot.status.add_component(Arc::new(CacheHealth {
            cache: cache.clone(),
            scheduler: scheduler.clone(),
        }));
        let holds = crate::placement::state::Holds::load(store.clone()).await;
        cache.set_clans_overlay(Box::new(holds.clone()));
        boot.status.add_component(holds.clone());
        crate::onboarding::apply::sync_session_metrics(&store, &boot.metrics).await;
        let http_addr = start_http(&boot, &scheduler, &store).await?;
        let handled = Arc::new(HandledEvents::default());
        let services = Services {
            store: store.clone(),
            config: config.clone(),
            cache: cache.clone(),
            scheduler: scheduler.clone(),
            alerts: alerts.clone(),
            outbound,
            holds,
        };
        connect_discord(&boot, &services, &handled).await?;
        start_scheduler(&boot, &services).await?;
        Ok(App {
            status: boot.status.clone(),
            http_addr,
            shutdown: boot.shutdown.clone(),
            config,
            sources,
            cache,
            alerts,
            store,
            scheduler,
            telemetry: boot.telemetry.clone(),
            metrics: boot.metrics.clone(),
            handled,
            boot,
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
        let boot = self.boot;
        boot.shutdown.cancelled().await;
        let reason = boot
            .shutdown
            .reason()
            .unwrap_or_else(|| ShutdownReason::Fatal("shutdown without a reason".into()));
        let started = std::time::Instant::now();
        boot.tasks.close();
        let timeout = boot.settings.shutdown_timeout;
        let drained = tokio::time::timeout(timeout, boot.tasks.wait())
            .await
            .is_ok();
        // Telemetry last, so events from the shutdown itself are written.
        boot.telemetry_stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), boot.telemetry_writer).await;
        if drained {
            tracing::info!(reason = %reason.describe(), exit_code = reason.exit_code(), took_ms = started.elapsed().as_millis() as u64, "shutdown complete");
        } else {
            tracing::warn!(
                reason = %reason.describe(),
                exit_code = reason.exit_code(),
                timeout_sec = timeout.as_secs(),
                tasks_left = boot.tasks.len(),
                "shutdown timed out; exiting with tasks still running"
            );
        }
        reason.exit_code()
    }
}

/// The platform services the features are wired to.
struct Services {
    store: Store,
    config: Arc<ConfigRegistry>,
    cache: Arc<Cache>,
    scheduler: Arc<Scheduler>,
    alerts: Arc<dyn AlertSink>,
    outbound: Option<Arc<Outbound>>,
    /// The reservations' in-memory state: laid over the clans cache, and the `mirror`
    /// health component.
    holds: Arc<crate::placement::state::Holds>,
}

/// Phase `store`: takes the `DATA_DIR` lock (one process per directory), then opens
/// (and migrates) the SQLite state store, off the async workers.
async fn open_store(boot: &Boot) -> Result<(Store, DataDirLock), StartError> {
    boot.status.phases.start("store");
    let lock = match DataDirLock::acquire(&boot.settings.data_dir) {
        Ok(l) => l,
        Err(e) => return Err(boot.fail("store", e)),
    };
    let data_dir = boot.settings.data_dir.clone();
    let clock = boot.clock.clone();
    let store = match tokio::task::spawn_blocking(move || Store::open(&data_dir, clock)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(boot.fail("store", e)),
        Err(e) => return Err(boot.fail("store", StoreError::Worker(e.to_string()))),
    };
    boot.status
        .add_component(Arc::new(StoreHealth(store.clone())));
    boot.status.phases.done("store");
    Ok((store, lock))
}

/// Phase `config`: the workbook sources, the Config and FeatureToggles tabs (or the last
/// good copy), and the log-channel alert sink. The log channel is reachable over REST
/// before the gateway connects, so startup problems are posted too.
async fn load_config(boot: &Boot) -> Result<Configured, StartError> {
    boot.status.phases.start("config");
    let settings = &boot.settings;
    let sources =
        match Sources::from_settings(settings, boot.clock.clone(), boot.metrics.clone()).await {
            Ok(s) => s,
            Err(e) => return Err(boot.fail("config", e)),
        };
    let keep = crate::config::LastGood::in_dir(&settings.data_dir);
    let snapshot = crate::config::load_initial(&sources, &keep, boot.clock.utc()).await;
    sources.set_tuning(snapshot.sheets);
    let config = Arc::new(ConfigRegistry::new(snapshot, boot.clock.clone()));
    let outbound = match &settings.discord_token {
        Some(token) => match discord::http_for(token.expose(), &settings.discord_route()) {
            Ok(http) => {
                let proxy = settings
                    .discord_tunnel
                    .is_none()
                    .then_some(settings.discord_proxy_url.as_deref())
                    .flatten()
                    .map(|base| ProxyRest::new(base, token.expose()));
                Some(Arc::new(Outbound::new(Arc::new(http), proxy)))
            }
            Err(e) => return Err(boot.fail("config", e)),
        },
        None => None,
    };
    let alerts: Arc<dyn AlertSink> = match &outbound {
        Some(outbound) => Arc::new(discord::alerts::DiscordAlerts::new(
            outbound.clone(),
            config.clone(),
            settings.bot_name.clone(),
            settings.env_name.clone(),
        )),
        None => Arc::new(LogAlerts),
    };
    crate::config::announce(&config.get(), alerts.as_ref()).await;
    boot.status
        .add_component(Arc::new(ConfigHealth(config.clone())));
    boot.status
        .add_component(Arc::new(SheetsHealth(sources.clone())));
    boot.status.phases.done("config");
    Ok(Configured {
        sources,
        config,
        alerts,
        outbound,
    })
}

/// Phase `caches`: the startup preload. A failure never blocks boot: it marks the bucket
/// failed, and staff get one summary in the log channel.
async fn preload_caches(
    boot: &Boot,
    sources: &Sources,
    config: &Arc<ConfigRegistry>,
    alerts: &Arc<dyn AlertSink>,
) -> Arc<Cache> {
    boot.status.phases.start("caches");
    let cache = Cache::new(CacheDeps {
        sources: sources.clone(),
        config: config.clone(),
        telemetry: boot.telemetry.clone(),
        metrics: boot.metrics.clone(),
        clock: boot.clock.clone(),
        tasks: boot.tasks.clone(),
    });
    cache.set_alerts(alerts.clone());
    let preload = cache
        .refresh(
            &BucketId::ALL,
            RefreshTrigger::Startup,
            "startup",
            Some(PRELOAD_WAIT),
        )
        .await;
    boot.status.phases.done("caches");
    let alerts = alerts.clone();
    boot.tasks.spawn(async move {
        let summary = crate::ops::refresh::summary_embed("Startup refresh", "startup", &preload);
        alerts.post("refresh:startup", summary).await;
    });
    cache
}

/// Phase `http`: the health server and the ops API.
async fn start_http(
    boot: &Boot,
    scheduler: &Arc<Scheduler>,
    store: &Store,
) -> Result<SocketAddr, StartError> {
    boot.status.phases.start("http");
    let settings = &boot.settings;
    let listener = match health::bind(settings.host, settings.port).await {
        Ok(l) => l,
        Err(e) => return Err(boot.fail("http", e)),
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
    if boot.mode == Mode::Sandbox {
        // The sandbox is local: whoever runs it may see the details.
        access.allowlist.extend(
            ["127.0.0.1/32", "::1/128"]
                .iter()
                .filter_map(|n| n.parse::<ipnet::IpNet>().ok()),
        );
    }
    let ctx = Arc::new(HealthContext {
        status: boot.status.clone(),
        access,
        metrics: boot.metrics.clone(),
        info: BuildInfo {
            version: VERSION,
            env: settings.env_name.clone(),
            bot: settings.bot_name.clone(),
        },
    });
    let metrics = ctx.metrics.clone();
    let router = health::router(ctx, ops_api);
    let shutdown = boot.shutdown.clone();
    boot.tasks.spawn(async move {
        if let Err(e) = health::serve(listener, router, metrics, shutdown.token()).await {
            tracing::error!(error = %e, "web server failed");
            shutdown.trigger(ShutdownReason::Fatal(format!("web server failed: {e}")));
        }
    });
    tracing::info!(addr = %http_addr, port = http_addr.port(), "web server listening");
    boot.status.phases.done("http");
    Ok(http_addr)
}

/// Phases `discord` and `commands` (they complete inside the client's setup, on READY),
/// and the watchdog. Skipped without a token.
async fn connect_discord(
    boot: &Boot,
    services: &Services,
    handled: &Arc<HandledEvents>,
) -> Result<(), StartError> {
    let settings = &boot.settings;
    let Some(outbound) = services.outbound.clone() else {
        boot.status.phases.skip("discord", "no DISCORD_TOKEN");
        boot.status.phases.skip("commands", "no DISCORD_TOKEN");
        return Ok(());
    };
    boot.status.phases.start("discord");
    let tracker = Arc::new(GatewayTracker::new(boot.clock.now()));
    boot.status.set_gateway(tracker.clone());
    let wired = commands::wire(
        settings,
        &boot.status,
        services.alerts.as_ref(),
        services.holds.clone(),
    )
    .await;
    let data = BotData {
        config: services.config.clone(),
        status: boot.status.clone(),
        shutdown: boot.shutdown.clone(),
        settings: settings.clone(),
        store: services.store.clone(),
        scheduler: services.scheduler.clone(),
        telemetry: boot.telemetry.clone(),
        metrics: boot.metrics.clone(),
        cache: services.cache.clone(),
        alerts: services.alerts.clone(),
        outbound,
        gate: wired.gate,
        features: wired.features,
    };
    let wiring = discord::Wiring {
        settings: settings.clone(),
        data,
        commands: wired.commands,
        tracker: tracker.clone(),
        clock: boot.clock.clone(),
        handled: handled.clone(),
    };
    if let Err(e) = discord::start(wiring, &boot.tasks).await {
        return Err(boot.fail("discord", e));
    }
    let budget = RestartBudget::new(
        &settings.data_dir,
        settings.watchdog.restart_budget,
        settings.watchdog.restart_window,
    );
    let watchdog = Watchdog::new(
        settings.watchdog.clone(),
        boot.clock.clone(),
        tracker,
        budget,
        services.alerts.clone(),
        boot.status.watchdog.clone(),
    )
    .with_telemetry(boot.telemetry.clone());
    boot.tasks.spawn(watchdog.run(boot.shutdown.clone()));
    Ok(())
}

/// Phase `scheduler`: every job registered (with its persisted pause and daily marker),
/// then the scheduling loop.
async fn start_scheduler(boot: &Boot, services: &Services) -> Result<(), StartError> {
    boot.status.phases.start("scheduler");
    let scheduler = &services.scheduler;
    for job in jobs::all(boot, services) {
        if let Err(e) = scheduler.register(job).await {
            return Err(boot.fail("scheduler", e));
        }
    }
    boot.status
        .add_component(Arc::new(SchedulerHealth(scheduler.clone())));
    boot.tasks.spawn(scheduler.clone().run());
    boot.status.phases.done("scheduler");
    Ok(())
}
