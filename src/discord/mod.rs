//! Discord: the serenity client with the poise framework (prefix `!`, @mention, slash
//! commands), one tier check for every command, gateway tracking for readiness and the
//! watchdog, and the log-channel alert sink.
//!
//! With `DISCORD_PROXY_URL` every REST call goes to that base URL (the sandbox, or a
//! REST rate-limit proxy) and serenity's in-process rate limiter is off: serenity only
//! honours a proxy with it off, so the proxy must do the rate limiting. Without it the
//! rate limiter stays on and calls go to discord.com.

pub(crate) mod alerts;
pub(crate) mod commands;
pub(crate) mod components;
pub(crate) mod errors;
pub(crate) mod events;
pub(crate) mod features;
pub(crate) mod framework;
pub(crate) mod gate;
pub(crate) mod gateway_probe;
pub(crate) mod handled;
pub(crate) mod help;
pub(crate) mod outbound;
pub(crate) mod reply;
pub(crate) mod tiers;

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{ClientBuilder, GatewayIntents, GuildId, Http, HttpBuilder};
use tokio_util::task::TaskTracker;

use crate::config::ConfigRegistry;
use crate::runtime::{
    Clock, GatewayStage, GatewayTracker, RuntimeStatus, Shutdown, ShutdownReason,
};
use crate::settings::{DiscordRoute, Settings};

pub(crate) use errors::CommandError;
pub(crate) use features::Features;
pub(crate) use gate::ChannelGate;
pub(crate) use handled::{Handled, HandledEvents};

/// What every command can reach.
pub(crate) struct BotData {
    pub config: Arc<ConfigRegistry>,
    pub status: Arc<RuntimeStatus>,
    pub shutdown: Shutdown,
    pub settings: Arc<Settings>,
    pub store: crate::store::Store,
    pub scheduler: Arc<crate::scheduler::Scheduler>,
    pub telemetry: Arc<crate::telemetry::events::Telemetry>,
    pub metrics: Arc<crate::telemetry::metrics::Metrics>,
    pub cache: Arc<crate::cache::Cache>,
    pub alerts: Arc<dyn crate::message::alert::AlertSink>,
    /// Where every channel message the bot posts leaves from.
    pub outbound: Arc<outbound::Outbound>,
    /// Where the bot may act; asked by the dispatcher before every non-platform command.
    pub gate: Arc<dyn ChannelGate>,
    /// Each feature's own state, by type.
    pub features: Features,
}

impl BotData {
    /// The Clans list, or the refusal every clan command gives before the tab was read.
    pub(crate) fn clans(&self) -> Result<Arc<crate::tabs::clans::ClanList>, CommandError> {
        self.cache.clans().ok_or_else(|| {
            CommandError::user(
                "The Clans tab has not been read yet, so no clan can be looked up. Try again in a minute; `!ops digest` shows why it failed.",
            )
        })
    }
}

pub(crate) type Ctx<'a> = poise::Context<'a, BotData, CommandError>;
pub(crate) type Command = poise::Command<BotData, CommandError>;

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// Boxed: serenity's error is large, and this type travels in every `Result`.
    #[error("cannot build the Discord client: {0}")]
    Client(#[source] Box<serenity::Error>),
    #[error("cannot build the REST client for the tunnel: {0}")]
    Tunnel(String),
}

pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// A REST client straight to discord.com (limiter on) or through a REST proxy (limiter
/// off: serenity's limiter ignores a proxy).
pub fn http(token: &str, proxy: Option<&str>) -> Http {
    match proxy {
        Some(p) => HttpBuilder::new(token)
            .proxy(p)
            .ratelimiter_disabled(true)
            .build(),
        None => Http::new(token),
    }
}

/// A REST client for `route`. The tunnel keeps serenity's rate limiter on and its real
/// URLs; only the connection goes through the HTTPS proxy, which must present a
/// certificate signed by the given CA.
pub fn http_for(token: &str, route: &DiscordRoute) -> Result<Http, DiscordError> {
    Ok(match route {
        DiscordRoute::Direct => http(token, None),
        DiscordRoute::Proxy(p) => http(token, Some(p)),
        DiscordRoute::Tunnel(t) => {
            let bad = |e: reqwest::Error| DiscordError::Tunnel(e.to_string());
            let ca = reqwest::Certificate::from_pem(t.ca_pem.as_bytes()).map_err(bad)?;
            let client = reqwest::Client::builder()
                .use_rustls_tls()
                .add_root_certificate(ca)
                .proxy(reqwest::Proxy::https(&t.proxy_url).map_err(bad)?)
                .build()
                .map_err(bad)?;
            HttpBuilder::new(token).client(client).build()
        }
    })
}

/// Explains a failed gateway connection in terms of what to fix.
fn explain(e: &serenity::Error) -> String {
    use serenity::all::GatewayError;
    match e {
        serenity::Error::Gateway(GatewayError::InvalidAuthentication) => {
            "Discord rejected the bot token. Check DISCORD_TOKEN (Developer Portal > Bot > Reset Token).".into()
        }
        serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents) => {
            "Discord refused the gateway intents. Enable SERVER MEMBERS and MESSAGE CONTENT in Developer Portal > Bot > Privileged Gateway Intents.".into()
        }
        other => format!("the Discord connection failed: {other}"),
    }
}

/// What the Discord client is built from.
pub(crate) struct Wiring {
    pub settings: Arc<Settings>,
    pub data: BotData,
    /// Every command the bot registers (`app::commands`).
    pub commands: Vec<Command>,
    pub tracker: Arc<GatewayTracker>,
    pub clock: Arc<dyn Clock>,
    /// Where the framework records each event it finished handling.
    pub handled: Arc<HandledEvents>,
}

/// Starts the Discord client in the background. First the gateway URL is asked of the
/// REST base (the proxy, when `DISCORD_PROXY_URL` is set): a 401 means the token was
/// rejected, which is reported (phase `discord` failed, `/health` down, an error line)
/// and never retried, and no gateway is tried; other failures are retried with backoff,
/// never falling back to a host outside the proxy. The `discord` phase completes on
/// READY, the `commands` phase once commands are registered in every guild; a failed
/// registration shuts the process down (never a connected bot that answers nothing).
pub(crate) async fn start(wiring: Wiring, tasks: &TaskTracker) -> Result<(), DiscordError> {
    let Wiring {
        settings,
        data,
        commands,
        tracker,
        clock,
        handled,
    } = wiring;
    let token = settings
        .discord_token
        .as_ref()
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    let http = http_for(&token, &settings.discord_route())?;
    let outbound = data.outbound.clone();
    let status = data.status.clone();
    let shutdown = data.shutdown.clone();
    let guild_ids = settings.guild_ids.clone();
    let setup_status = status.clone();
    let setup_shutdown = shutdown.clone();
    let framework = poise::Framework::builder()
        .options(framework::options(commands))
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                setup_status.phases.done("discord");
                setup_status.phases.start("commands");
                let guilds: Vec<GuildId> = if guild_ids.is_empty() {
                    tracing::warn!("GUILD_IDS is empty: registering commands in every guild the bot is in");
                    ready.guilds.iter().map(|g| g.id).collect()
                } else {
                    guild_ids.iter().map(|g| GuildId::new(*g)).collect()
                };
                let commands = &framework.options().commands;
                for guild in guilds {
                    if let Err(e) = poise::builtins::register_in_guild(&ctx.http, commands, guild).await {
                        let why = format!("registering slash commands in guild {guild} failed: {e}");
                        tracing::error!(guild_id = guild.get(), error = %e, "command registration failed; shutting down");
                        setup_status.phases.fail("commands", &why);
                        setup_shutdown.trigger(ShutdownReason::Fatal(why.clone()));
                        return Err(CommandError::Internal(why));
                    }
                    tracing::info!(guild_id = guild.get(), commands = commands.len(), "slash commands registered");
                }
                setup_status.phases.done("commands");
                Ok(data)
            })
        })
        .build();
    let client_tasks = tasks.clone();
    tasks.spawn(async move {
        let Some(url) = discover_gateway(&http, &status, &tracker, &clock, &shutdown).await else {
            return;
        };
        let built = ClientBuilder::new_with_http(http, intents())
            .framework(framework::Traced {
                framework,
                handled,
                deliveries: Default::default(),
            })
            .event_handler(gateway_probe::StageEvents {
                tracker: tracker.clone(),
                clock: clock.clone(),
            })
            .await;
        let mut client = match built {
            Ok(c) => c,
            Err(e) => {
                let why = DiscordError::Client(Box::new(e)).to_string();
                tracing::error!(reason = %why, "Discord client could not be built");
                status.phases.fail("discord", &why);
                shutdown.trigger(ShutdownReason::Fatal(why));
                return;
            }
        };
        // The URL the REST base gave, whatever serenity's own lookup concluded: with a
        // proxy, nothing may go to a default host outside it.
        *client.ws_url.lock().await = url;
        // One REST client (and so one rate limiter) for commands and posts alike.
        outbound.adopt(client.http.clone());
        let manager = client.shard_manager.clone();
        client_tasks.spawn(gateway_probe::poll(
            manager.clone(),
            tracker,
            clock,
            shutdown.clone(),
        ));
        let start = client.start();
        tokio::pin!(start);
        tokio::select! {
            result = &mut start => {
                if shutdown.is_triggered() {
                    return;
                }
                let why = match result {
                    Ok(()) => "the Discord client stopped unexpectedly".to_owned(),
                    Err(e) => explain(&e),
                };
                tracing::error!(reason = %why, "Discord client stopped");
                status.phases.fail("discord", &why);
                shutdown.trigger(ShutdownReason::Fatal(why));
            }
            _ = shutdown.cancelled() => {
                manager.shutdown_all().await;
                let _ = tokio::time::timeout(Duration::from_secs(5), start).await;
                tracing::info!("Discord client closed");
            }
        }
    });
    Ok(())
}

/// Whether a REST failure is Discord refusing the token.
fn token_rejected(e: &serenity::Error) -> bool {
    matches!(
        e,
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 401
    )
}

/// The gateway URL from the REST base, retried with backoff (1 s doubling to 30 s) until
/// it answers or the process stops. `None` when the token was rejected (reported here)
/// or on shutdown.
async fn discover_gateway(
    http: &Http,
    status: &RuntimeStatus,
    tracker: &GatewayTracker,
    clock: &Arc<dyn Clock>,
    shutdown: &Shutdown,
) -> Option<String> {
    let mut wait = Duration::from_secs(1);
    loop {
        match http.get_gateway().await {
            Ok(g) => return Some(g.url),
            Err(e) if token_rejected(&e) => {
                let why = "Discord rejected the bot token (401). Check DISCORD_TOKEN (Developer Portal > Bot > Reset Token) and redeploy; the bot does not retry a rejected token";
                tracing::error!(reason = why, "Discord rejected the bot token");
                tracker.set_stage(GatewayStage::TokenRejected, clock.now());
                status.phases.fail("discord", why);
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_sec = wait.as_secs(), "could not get the gateway URL; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}
