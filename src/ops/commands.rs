//! The `ops` commands (staff) and `cfg` (admin).

use crate::discord::embed::{COLOR_INFO, Embed};
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{BotData, Ctx};
use crate::health::assess;

use super::health_view::{HealthView, health_embed};

/// Operations commands for staff.
#[poise::command(prefix_command, slash_command, subcommands("health"), subcommand_required, custom_data = Meta::staff())]
pub async fn ops(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

pub fn health_view(data: &BotData) -> HealthView {
    let status = &data.status;
    let a = assess(status);
    let now = status.now();
    let g = status.gateway();
    let wd = status.watchdog.snapshot();
    HealthView {
        bot: data.settings.bot_name.clone(),
        env: data.settings.env_name.clone(),
        version: crate::app::VERSION.to_owned(),
        status: a.status,
        reasons: a.reasons,
        uptime: status.uptime(),
        gateway_stage: g.map(|g| g.stage.as_str().to_owned()),
        latency: g.and_then(|g| g.latency),
        ack_age: g.and_then(|g| g.ack_age(now)),
        watchdog_check: status.watchdog.check_sec,
        watchdog_stall: status.watchdog.stall_sec,
        watchdog_grace: status.watchdog.disconnect_grace_sec,
        restarts_in_window: wd.restarts_in_window,
        restart_budget: status.watchdog.restart_budget,
    }
}

/// Runtime health: status, uptime, gateway, heartbeat, watchdog.
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff())]
pub async fn health(ctx: Ctx<'_>) -> Result<(), CommandError> {
    reply::send(ctx, Reply::embed(health_embed(&health_view(ctx.data())))).await
}

/// One setting's value (secrets masked) and where it comes from.
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub async fn cfg(
    ctx: Ctx<'_>,
    #[description = "Setting name, such as LOG_CHANNEL_ID or PORT"] key: String,
) -> Result<(), CommandError> {
    let key = key.trim().to_ascii_uppercase();
    let data = ctx.data();
    let snapshot = data.config.get();
    let (value, source) = if let Some(v) = data.settings.views().get(key.as_str()) {
        let shown = if v.value.is_empty() {
            "(unset)".to_owned()
        } else {
            v.value.clone()
        };
        (
            shown,
            format!(
                "environment ({})",
                serde_json::to_value(v.source)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        )
    } else if let Some(entry) = snapshot.entries.get(&key) {
        let value = if crate::redact::is_sensitive_key(&key) {
            crate::redact::mask_secret(&entry.value)
        } else {
            entry.value.clone()
        };
        (
            value,
            format!(
                "{} tab, row {} ({})",
                snapshot.tab, entry.row, snapshot.source
            ),
        )
    } else {
        return Err(CommandError::user(format!(
            "There is no setting `{key}`. Environment keys are listed in .env.example; sheet keys are the Key column of the {} tab.",
            snapshot.tab
        )));
    };
    let e = Embed::new(format!("cfg · {key}"))
        .color(COLOR_INFO)
        .field("value", format!("`{value}`"), false)
        .field("source", source, false);
    reply::send(ctx, Reply::embed(e).ephemeral()).await
}
