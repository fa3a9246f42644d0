//! The `ops` commands (staff) and `cfg` (admin).

use crate::discord::embed::{COLOR_INFO, Embed};
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{BotData, Ctx};
use crate::health::assess;

use super::health_view::{HealthView, health_embed};

/// Operations commands for staff.
#[poise::command(prefix_command, slash_command, subcommands("health", "jobs"), subcommand_required, custom_data = Meta::staff())]
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

/// Every job: schedule, next run, last run and result. Admins can run, pause or resume one.
#[poise::command(
    prefix_command,
    slash_command,
    subcommands("jobs_list", "jobs_run", "jobs_pause", "jobs_resume"),
    custom_data = Meta::staff()
)]
pub async fn jobs(ctx: Ctx<'_>) -> Result<(), CommandError> {
    list_jobs(ctx).await
}

async fn list_jobs(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let now = chrono::Utc::now();
    reply::send(
        ctx,
        Reply::embed(super::jobs_view::jobs_embed(
            &ctx.data().scheduler.views(),
            now,
        )),
    )
    .await
}

/// Every job: schedule, next run, last run and result.
#[poise::command(prefix_command, slash_command, rename = "list", custom_data = Meta::staff())]
pub async fn jobs_list(ctx: Ctx<'_>) -> Result<(), CommandError> {
    list_jobs(ctx).await
}

fn actor(ctx: Ctx<'_>) -> String {
    format!("{} ({})", ctx.author().name, ctx.author().id)
}

fn scheduler_error(e: crate::scheduler::SchedulerError) -> CommandError {
    use crate::scheduler::SchedulerError;
    match e {
        SchedulerError::UnknownJob(..) | SchedulerError::AlreadyRunning(_) => {
            CommandError::user(e.to_string())
        }
        SchedulerError::Store(e) => CommandError::Internal(e.to_string()),
    }
}

/// Runs a job now and reports how it went.
#[poise::command(prefix_command, slash_command, rename = "run", custom_data = Meta::admin().slow())]
pub async fn jobs_run(
    ctx: Ctx<'_>,
    #[description = "Job id, such as retention:sweep"] job: String,
) -> Result<(), CommandError> {
    let job = job.trim().to_owned();
    let handle = ctx
        .data()
        .scheduler
        .run_now(&job, &actor(ctx))
        .await
        .map_err(scheduler_error)?;
    let run_id = handle.run_id;
    // Wait a little for quick jobs; report "still running" for slow ones.
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), handle.wait()).await;
    let text = match outcome {
        Ok(Some(o)) if o.result == crate::store::RunResult::Ok => {
            format!(
                "✅ `{job}` ran (run {run_id}, {} ms).",
                o.duration.as_millis()
            )
        }
        Ok(Some(o)) => format!(
            "❌ `{job}` {} (run {run_id}): {}",
            o.result.as_str(),
            o.error.unwrap_or_default()
        ),
        _ => {
            format!("⏳ `{job}` started (run {run_id}); `!ops jobs` shows the result when it ends.")
        }
    };
    reply::send(ctx, Reply::text(text)).await
}

/// Pauses a job: it stops running on schedule (the pause survives restarts).
#[poise::command(prefix_command, slash_command, rename = "pause", custom_data = Meta::admin())]
pub async fn jobs_pause(
    ctx: Ctx<'_>,
    #[description = "Job id, such as retention:sweep"] job: String,
) -> Result<(), CommandError> {
    let job = job.trim();
    ctx.data()
        .scheduler
        .set_paused(job, true, &actor(ctx))
        .await
        .map_err(scheduler_error)?;
    reply::send(
        ctx,
        Reply::text(format!(
            "⏸️ `{job}` is paused; `!ops jobs resume {job}` starts it again."
        )),
    )
    .await
}

/// Resumes a paused job.
#[poise::command(prefix_command, slash_command, rename = "resume", custom_data = Meta::admin())]
pub async fn jobs_resume(
    ctx: Ctx<'_>,
    #[description = "Job id, such as retention:sweep"] job: String,
) -> Result<(), CommandError> {
    let job = job.trim();
    ctx.data()
        .scheduler
        .set_paused(job, false, &actor(ctx))
        .await
        .map_err(scheduler_error)?;
    reply::send(
        ctx,
        Reply::text(format!("▶️ `{job}` runs on its schedule again.")),
    )
    .await
}
