//! The `ops` group (staff; some subcommands admin) and `cfg` (admin): health, digest,
//! config and jobs here; `refresh` and `reload` have their own modules.

use std::time::Duration;

use crate::cache::{BucketId, RefreshOutcome};
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{BotData, Ctx};
use crate::health::assess;
use crate::message::embed::{COLOR_INFO, COLOR_OK, COLOR_WARN, Embed};
use crate::util::text::count;

use super::health_view::{BucketAge, HealthView, bucket_line, health_embed, human, source_line};

/// Operations commands for staff.
#[poise::command(
    prefix_command,
    slash_command,
    subcommands(
        "health",
        "digest",
        "super::refresh::refresh",
        "super::reload::reload",
        "config",
        "jobs",
        "onb"
    ),
    subcommand_required,
    custom_data = Meta::staff().platform()
)]
pub(crate) async fn ops(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

/// Onboarding checks (staff).
#[poise::command(
    prefix_command,
    slash_command,
    subcommands("onb_check"),
    subcommand_required,
    custom_data = Meta::staff()
)]
pub(crate) async fn onb(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

/// Checks the Questions tab (types, options, specs, rules, qids, cycles) and onboarding mirror tabs.
#[poise::command(prefix_command, slash_command, rename = "check", custom_data = Meta::staff().slow())]
pub(crate) async fn onb_check(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let data = ctx.data();
    let cfg = data.config.get();
    let source = data.cache.sources().onboarding.clone();
    let names = vec![cfg.tabs.tickets.clone(), cfg.tabs.sessions.clone()];
    let mut mirror = Vec::new();
    match source.read_tabs(&names).await {
        Ok(read) => {
            for m in [
                crate::sheets::mirror::WELCOME_TICKETS,
                crate::sheets::mirror::ONBOARDING_SESSIONS,
            ] {
                let tab = m.tab(&cfg.tabs);
                match read.tabs.get(&tab).cloned().flatten() {
                    None => mirror.push(format!(
                        "{tab}: the workbook has no tab named {tab:?} (the bot writes it)"
                    )),
                    Some(t) => {
                        if let Err(e) = m.validate(&t) {
                            mirror.push(format!("{tab}: {e}"));
                        }
                    }
                }
            }
        }
        Err(e) => mirror.push(format!("the onboarding workbook could not be read: {e}")),
    }
    let set = data.cache.questions();
    let report = crate::onboarding::check::report(set.as_deref(), mirror);
    reply::send(ctx, Reply::embed(crate::onboarding::check::embed(&report))).await
}

/// When each bucket's refresh job runs next, from now.
fn next_refreshes(data: &BotData) -> std::collections::BTreeMap<String, Option<Duration>> {
    let now = data.status.clock.utc();
    data.scheduler
        .views()
        .into_iter()
        .filter_map(|j| {
            let bucket = j.id.strip_prefix("refresh:")?.to_owned();
            Some((bucket, j.next_run.and_then(|n| (n - now).to_std().ok())))
        })
        .collect()
}

pub(crate) fn health_view(data: &BotData) -> HealthView {
    let status = &data.status;
    let a = assess(status);
    let now = status.now();
    let g = status.gateway();
    let wd = status.watchdog.snapshot();
    let next = next_refreshes(data);
    HealthView {
        bot: data.settings.bot_name.clone(),
        env: data.settings.env_name.clone(),
        version: crate::VERSION.to_owned(),
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
        buckets: data
            .cache
            .views()
            .into_iter()
            .map(|v| {
                let name = v.bucket.as_str().to_owned();
                BucketAge {
                    next: next.get(&name).copied().flatten(),
                    name,
                    age: v.age_sec.map(Duration::from_secs),
                    ttl: Duration::from_secs(v.ttl_sec),
                }
            })
            .collect(),
    }
}

/// Status, uptime, gateway, heartbeat, watchdog, and each bucket's age, TTL and next refresh.
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff())]
pub(crate) async fn health(ctx: Ctx<'_>) -> Result<(), CommandError> {
    reply::send(ctx, Reply::embed(health_embed(&health_view(ctx.data())))).await
}

pub(crate) fn digest_embed(data: &BotData) -> Embed {
    let v = health_view(data);
    let now = data.status.clock.utc();
    let next = next_refreshes(data);
    let latency = v
        .latency
        .map(|l| format!("{} ms", l.as_millis()))
        .unwrap_or_else(|| "-".into());
    let mut e = Embed::new(format!("{} · digest", v.bot)).description(format!(
        "{} • up {} • latency {latency} • gateway {}",
        v.env,
        human(v.uptime),
        v.gateway_stage.as_deref().unwrap_or("not configured")
    ));
    let views = data.cache.views();
    let any_failed = views
        .iter()
        .any(|b| b.last_result.is_some_and(RefreshOutcome::failed));
    let buckets: Vec<String> = views
        .iter()
        .map(|b| bucket_line(b, next.get(b.bucket.as_str()).copied().flatten()))
        .collect();
    e = e.field("Caches", buckets.join("\n"), false);
    let sources: Vec<String> = data
        .cache
        .sources()
        .distinct()
        .iter()
        .map(|(wb, s)| source_line(wb.as_str(), &s.status(), now))
        .collect();
    e = e.field("Sheets", sources.join("\n"), false);
    let failing: Vec<String> = data
        .scheduler
        .views()
        .into_iter()
        .filter(|j| j.consecutive_failures > 0)
        .map(|j| {
            format!(
                "`{}` {}: {}",
                j.id,
                count(j.consecutive_failures as usize, "failure"),
                j.last_error.unwrap_or_default()
            )
        })
        .collect();
    e = e.field(
        "Jobs",
        if failing.is_empty() {
            "no failing jobs".to_owned()
        } else {
            failing.join("\n")
        },
        false,
    );
    e.color(if any_failed || !failing.is_empty() {
        COLOR_WARN
    } else {
        COLOR_OK
    })
}

/// Cache buckets, the Sheets client and failing jobs at a glance.
///
/// One line per bucket: status, age, next run, retries, last actor and last error.
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff())]
pub(crate) async fn digest(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let data = ctx.data();
    let outbox = data
        .store
        .read(crate::sheets::outbox::depth)
        .await
        .map(|d| {
            let oldest = d
                .oldest
                .map(|o| format!(", oldest queued {o}"))
                .unwrap_or_default();
            let error = d
                .last_error
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default();
            format!("{} pending{oldest}{error}", d.pending)
        })
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    let embed = digest_embed(data).field("Sheet mirror outbox", outbox, false);
    reply::send(ctx, Reply::embed(embed)).await
}

fn actor(ctx: Ctx<'_>) -> String {
    format!("{} ({})", ctx.author().name, ctx.author().id)
}

fn list_or_none(ids: &[u64], prefix: &str) -> String {
    if ids.is_empty() {
        "—".into()
    } else {
        ids.iter()
            .map(|i| format!("{prefix}{i}>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(crate) fn config_embed(data: &BotData) -> Embed {
    let s = data.config.get();
    let mut e = Embed::new("Config")
        .description(format!(
            "source: {} • loaded {} UTC",
            s.source,
            data.config.loaded_at().format("%Y-%m-%d %H:%M:%S")
        ))
        .color(COLOR_INFO);
    let t = &s.tabs;
    e = e.field(
        "Tabs",
        format!("clans {} • templates {} • toggles {} • questions {} • reservations {} • tickets {} • sessions {}", t.clans, t.templates, t.feature_toggles, t.questions, t.reservations, t.tickets, t.sessions),
        false,
    );
    e = e.field(
        "Roles",
        format!(
            "admin {}\nstaff {}\nrecruiter {}\nclan leads {}",
            list_or_none(&s.roles.admin, "<@&"),
            list_or_none(&s.roles.staff, "<@&"),
            list_or_none(&s.roles.recruiter, "<@&"),
            list_or_none(&s.roles.clan_leads, "<@")
        ),
        false,
    );
    let ch = |c: Option<u64>| c.map(|c| format!("<#{c}>")).unwrap_or_else(|| "—".into());
    let c = &s.channels;
    e = e.field(
        "Channels",
        format!(
            "log {} • recruiters {} • welcome {} • interact {} • live queue {}",
            ch(c.log),
            ch(c.recruiters),
            ch(c.welcome),
            ch(c.interact),
            ch(c.live_queue)
        ),
        false,
    );
    let cadences: Vec<String> = BucketId::ALL
        .iter()
        .map(|b| format!("{} {}", b.as_str(), b.schedule(&s).describe()))
        .collect();
    e = e.field("Refresh cadences", cadences.join("\n"), false);
    let toggles = match &s.toggles.failure {
        Some(why) => format!("⚠️ all off: {why}"),
        None => {
            let on: Vec<&str> = s
                .toggles
                .values
                .iter()
                .filter(|(_, v)| **v)
                .map(|(k, _)| k.as_str())
                .collect();
            let off: Vec<&str> = crate::config::toggles::KNOWN
                .iter()
                .copied()
                .filter(|k| !on.contains(k))
                .collect();
            format!(
                "on: {}\noff: {}",
                if on.is_empty() {
                    "—".into()
                } else {
                    on.join(", ")
                },
                if off.is_empty() {
                    "—".into()
                } else {
                    off.join(", ")
                }
            )
        }
    };
    e = e.field("Feature toggles", toggles, false);
    let mut problems: Vec<String> = s.issues.iter().map(|i| format!("• {i}")).collect();
    problems.extend(s.toggles.warnings().into_iter().map(|w| format!("• {w}")));
    if !s.unknown_keys.is_empty() {
        problems.push(format!(
            "• unknown keys (ignored): {}",
            s.unknown_keys.join(", ")
        ));
    }
    e.field(
        "Problems",
        if problems.is_empty() {
            "none".into()
        } else {
            problems.join("\n")
        },
        false,
    )
}

/// The config in effect: source, tabs, roles, channels, cadences, toggles, problems (secrets masked).
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn config(ctx: Ctx<'_>) -> Result<(), CommandError> {
    reply::send(ctx, Reply::embed(config_embed(ctx.data())).ephemeral()).await
}

/// One setting's value (secrets masked) and where it comes from: env, Config tab or FeatureToggles tab.
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin().platform())]
pub(crate) async fn cfg(
    ctx: Ctx<'_>,
    #[description = "Setting or toggle name, such as LOG_CHANNEL_ID or recruitment_panels"]
    key: String,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let snapshot = data.config.get();
    let upper = key.trim().to_ascii_uppercase();
    let lower = key.trim().to_ascii_lowercase();
    let (name, value, source) = if let Some(v) = data.settings.views().get(upper.as_str()) {
        let shown = if v.value.is_empty() {
            "(unset)".to_owned()
        } else {
            v.value.clone()
        };
        let src = serde_json::to_value(v.source)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_default();
        (upper, shown, format!("environment ({src})"))
    } else if let Some(entry) = snapshot.entries.get(&upper) {
        let value = if crate::redact::is_sensitive_key(&upper) {
            crate::redact::mask_secret(&entry.value)
        } else {
            entry.value.clone()
        };
        (
            upper,
            value,
            format!(
                "{} tab, row {} ({})",
                snapshot.tab, entry.row, snapshot.source
            ),
        )
    } else if crate::config::toggles::KNOWN.contains(&lower.as_str())
        || snapshot.toggles.unknown.contains(&lower)
    {
        let on = snapshot.toggles.enabled(&lower);
        let why = match (
            &snapshot.toggles.failure,
            snapshot.toggles.unknown.contains(&lower),
            snapshot.toggles.values.contains_key(&lower),
        ) {
            (Some(f), _, _) => format!(" (every toggle is off: {f})"),
            (None, true, _) => " (not a toggle this build knows)".into(),
            (None, false, false) => " (not in the tab)".into(),
            _ => String::new(),
        };
        (
            lower,
            format!("{}{why}", if on { "on" } else { "off" }),
            format!(
                "{} tab ({})",
                snapshot.tabs.feature_toggles, snapshot.source
            ),
        )
    } else {
        return Err(CommandError::user(format!(
            "There is no setting {}. Environment keys are listed in .env.example; sheet keys are the Key column of the {} tab; toggles the feature_name column of {}.",
            crate::util::text::code(key.trim()),
            snapshot.tab,
            snapshot.tabs.feature_toggles
        )));
    };
    let e = Embed::new(format!("cfg · {name}"))
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
pub(crate) async fn jobs(ctx: Ctx<'_>) -> Result<(), CommandError> {
    list_jobs(ctx).await
}

async fn list_jobs(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let now = ctx.data().status.clock.utc();
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
pub(crate) async fn jobs_list(ctx: Ctx<'_>) -> Result<(), CommandError> {
    list_jobs(ctx).await
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
pub(crate) async fn jobs_run(
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
    let outcome = tokio::time::timeout(Duration::from_secs(10), handle.wait()).await;
    let text = match outcome {
        Ok(Some(o)) if o.result == crate::store::RunResult::Ok => format!(
            "✅ `{job}` ran (run {run_id}, {} ms).",
            o.duration.as_millis()
        ),
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

async fn set_paused(ctx: Ctx<'_>, job: &str, paused: bool) -> Result<(), CommandError> {
    let job = job.trim();
    ctx.data()
        .scheduler
        .set_paused(job, paused, &actor(ctx))
        .await
        .map_err(scheduler_error)?;
    let text = if paused {
        format!("⏸️ `{job}` is paused; `!ops jobs resume {job}` starts it again.")
    } else {
        format!("▶️ `{job}` runs on its schedule again.")
    };
    reply::send(ctx, Reply::text(text)).await
}

/// Pauses a job: it stops running on schedule (the pause survives restarts).
#[poise::command(prefix_command, slash_command, rename = "pause", custom_data = Meta::admin())]
pub(crate) async fn jobs_pause(
    ctx: Ctx<'_>,
    #[description = "Job id, such as retention:sweep"] job: String,
) -> Result<(), CommandError> {
    set_paused(ctx, &job, true).await
}

/// Resumes a paused job.
#[poise::command(prefix_command, slash_command, rename = "resume", custom_data = Meta::admin())]
pub(crate) async fn jobs_resume(
    ctx: Ctx<'_>,
    #[description = "Job id, such as retention:sweep"] job: String,
) -> Result<(), CommandError> {
    set_paused(ctx, &job, false).await
}
