//! The general commands that belong to no feature (`ping`; `help` has its own module).
//! The list of every command the bot registers is `app::commands`.

use super::Ctx;
use super::errors::CommandError;
use super::reply::{self, Reply};
use super::tiers::Meta;

/// Checks that the bot is alive and shows the gateway latency.
#[poise::command(prefix_command, slash_command, custom_data = Meta::member())]
pub(crate) async fn ping(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let latency = ctx.ping().await;
    let text = if latency.is_zero() {
        "🏓 Pong! (no heartbeat measured yet)".to_owned()
    } else {
        format!("🏓 Pong! Gateway latency {} ms.", latency.as_millis())
    };
    reply::send(ctx, Reply::text(text)).await
}
