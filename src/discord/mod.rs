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
pub(crate) mod errors;
pub(crate) mod features;
pub(crate) mod framework;
pub(crate) mod gate;
pub(crate) mod gateway_probe;
pub(crate) mod handled;
pub(crate) mod help;
pub(crate) mod reply;
pub(crate) mod tiers;

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{ClientBuilder, GatewayIntents, GuildId, Http, HttpBuilder};
use tokio_util::task::TaskTracker;

use crate::config::ConfigRegistry;
use crate::runtime::{Clock, GatewayTracker, RuntimeStatus, Shutdown, ShutdownReason};
use crate::settings::Settings;

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
    /// Where the bot may act; asked by the dispatcher before every non-platform command.
    pub gate: Arc<dyn ChannelGate>,
    /// Each feature's own state, by type.
    pub features: Features,
}

pub(crate) type Ctx<'a> = poise::Context<'a, BotData, CommandError>;
pub(crate) type Command = poise::Command<BotData, CommandError>;

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("cannot build the Discord client: {0}")]
    Client(#[source] serenity::Error),
}

pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

pub fn http(token: &str, proxy: Option<&str>) -> Http {
    match proxy {
        Some(p) => HttpBuilder::new(token)
            .proxy(p)
            .ratelimiter_disabled(true)
            .build(),
        None => Http::new(token),
    }
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

/// Builds the client and starts it in the background. The `discord` phase completes on
/// READY, the `commands` phase once commands are registered in every guild; a failed
/// registration shuts the process down (never a connected bot that answers nothing).
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
    let http = http(&token, settings.discord_proxy_url.as_deref());
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
    let mut client = ClientBuilder::new_with_http(http, intents())
        .framework(framework::Traced { framework, handled })
        .event_handler(gateway_probe::StageEvents {
            tracker: tracker.clone(),
            clock: clock.clone(),
        })
        .await
        .map_err(DiscordError::Client)?;
    let manager = client.shard_manager.clone();
    tasks.spawn(gateway_probe::poll(
        manager.clone(),
        tracker,
        clock,
        shutdown.clone(),
    ));
    let runner_manager = manager.clone();
    tasks.spawn(async move {
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
                runner_manager.shutdown_all().await;
                let _ = tokio::time::timeout(Duration::from_secs(5), start).await;
                tracing::info!("Discord client closed");
            }
        }
    });
    Ok(())
}
