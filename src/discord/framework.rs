//! The poise framework: prefix `!` and @mention, slash commands, the one tier check,
//! hooks that time and log every command, and error replies that say what to do.

use std::time::Instant;

use poise::FrameworkError;
use serenity::all::{Context as SerenityContext, FullEvent, Permissions};
use tracing::Instrument as _;

use super::errors::CommandError;
use super::reply::{self, Reply};
use super::tiers::{self, Tier, meta_of};
use super::{BotData, Ctx};
use crate::telemetry::{current_trace_id, new_trace_id};

/// How the command was invoked, as it is shown back to people (`!ops health`, `/ops health`).
pub(crate) fn invocation(ctx: Ctx<'_>) -> String {
    match ctx {
        poise::Context::Prefix(_) => format!("!{}", ctx.command().qualified_name),
        poise::Context::Application(_) => format!("/{}", ctx.command().qualified_name),
    }
}

/// Whether the member's roles grant Administrator, from the guild in the cache.
fn administrator_from_cache(ctx: Ctx<'_>, roles: &[serenity::all::RoleId]) -> bool {
    let Some(guild) = ctx.guild() else {
        return false;
    };
    if guild.owner_id == ctx.author().id {
        return true;
    }
    roles
        .iter()
        .chain(std::iter::once(&serenity::all::RoleId::new(guild.id.get())))
        .filter_map(|r| guild.roles.get(r))
        .any(|r| r.permissions.contains(Permissions::ADMINISTRATOR))
}

/// The caller's tier. Outside a guild nobody is elevated.
pub(crate) async fn caller_tier(ctx: Ctx<'_>) -> Tier {
    let cfg = ctx.data().config.get();
    let (roles, admin) = match ctx {
        poise::Context::Application(a) => match &a.interaction.member {
            Some(m) => (
                m.roles.clone(),
                m.permissions.is_some_and(|p| p.administrator()),
            ),
            None => return Tier::Member,
        },
        poise::Context::Prefix(p) => {
            let Some(_) = p.msg.guild_id else {
                return Tier::Member;
            };
            let roles = match &p.msg.member {
                Some(m) => m.roles.clone(),
                None => match ctx.author_member().await {
                    Some(m) => m.roles.clone(),
                    None => return Tier::Member,
                },
            };
            let admin = administrator_from_cache(ctx, &roles);
            (roles, admin)
        }
    };
    let ids: Vec<u64> = roles.iter().map(|r| r.get()).collect();
    tiers::resolve(&ids, admin, &cfg.roles)
}

/// How the caller got in: by tier, or (below the command's tier) as a clan lead in the
/// interact channel, which the command must then limit to the caller's clans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Tier,
    ClanLead,
}

pub(crate) async fn admission(ctx: Ctx<'_>) -> Admission {
    let meta = meta_of(ctx.command());
    let cfg = ctx.data().config.get();
    if caller_tier(ctx).await < meta.tier
        && tiers::lead_admitted(&meta, ctx.author().id.get(), ctx.channel_id().get(), &cfg)
    {
        Admission::ClanLead
    } else {
        Admission::Tier
    }
}

/// The channel and its ancestors from the cache: a thread's parent, the category.
fn channel_ancestry(ctx: Ctx<'_>) -> Vec<u64> {
    let mut ids = vec![ctx.channel_id().get()];
    if let Some(guild) = ctx.guild() {
        let parent_of = |id: u64| -> Option<u64> {
            let cid = serenity::all::ChannelId::new(id);
            guild
                .channels
                .get(&cid)
                .and_then(|c| c.parent_id)
                .or_else(|| {
                    guild
                        .threads
                        .iter()
                        .find(|t| t.id == cid)
                        .and_then(|t| t.parent_id)
                })
                .map(|p| p.get())
        };
        while let Some(p) = ids.last().copied().and_then(parent_of) {
            if ids.contains(&p) || ids.len() > 3 {
                break;
            }
            ids.push(p);
        }
    }
    ids
}

/// The words a command was given, for flag checks: the prefix arguments, or the values
/// of a slash command's string options.
fn argument_words(ctx: Ctx<'_>) -> Vec<String> {
    match ctx {
        poise::Context::Prefix(p) => p.args.split_whitespace().map(str::to_owned).collect(),
        poise::Context::Application(a) => a
            .args
            .iter()
            .filter_map(|o| match &o.value {
                serenity::all::ResolvedValue::String(s) => Some(*s),
                _ => None,
            })
            .flat_map(str::split_whitespace)
            .map(str::to_owned)
            .collect(),
    }
}

/// The framework-wide check, the only place tiers are enforced: the channel gate (unless
/// the command is a platform command), the command's tier, then the tiers of any flags
/// it was given, all from the command's metadata.
async fn check_tier(ctx: Ctx<'_>) -> Result<bool, CommandError> {
    let meta = meta_of(ctx.command());
    let platform = meta.platform || ctx.parent_commands().iter().any(|c| meta_of(c).platform);
    if ctx.guild_id().is_some() && !platform {
        let ids = channel_ancestry(ctx);
        if !ctx.data().gate.allows(&ids) {
            return Err(CommandError::OutsideAccessLists(ids[0]));
        }
    }
    let toggle = meta
        .toggle
        .or_else(|| ctx.parent_commands().iter().find_map(|c| meta_of(c).toggle));
    if let Some(t) = toggle
        && !ctx.data().config.enabled(t)
    {
        return Err(CommandError::FeatureOff(t));
    }
    if meta.tier == Tier::Member && meta.flags.is_empty() {
        return Ok(true);
    }
    let have = caller_tier(ctx).await;
    if have < meta.tier && admission(ctx).await == Admission::ClanLead {
        return Ok(true);
    }
    if have < meta.tier {
        return Err(CommandError::Denied {
            needed: meta.tier,
            have,
        });
    }
    let words = argument_words(ctx);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match meta.forbidden_flag(&words, have) {
        Some(flag) => Err(CommandError::FlagDenied {
            flag: flag.name,
            needed: flag.tier,
            have,
        }),
        None => Ok(true),
    }
}

struct Started(Instant);

async fn pre_command(ctx: Ctx<'_>) {
    ctx.set_invocation_data(Started(Instant::now())).await;
    tracing::debug!(command = %ctx.command().qualified_name, user_id = ctx.author().id.get(), channel_id = ctx.channel_id().get(), "command started");
    if meta_of(ctx.command()).slow
        && let poise::Context::Application(_) = ctx
        && let Err(e) = ctx.defer().await
    {
        tracing::warn!(command = %ctx.command().qualified_name, error = %e, "could not defer the interaction");
    }
}

async fn elapsed_ms(ctx: Ctx<'_>) -> f64 {
    ctx.invocation_data::<Started>()
        .await
        .map(|s| s.0.elapsed().as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Records a finished command: metrics, and one `command` telemetry event. No content.
async fn record(ctx: Ctx<'_>, outcome: &'static str, detail: Option<String>) {
    let ms = elapsed_ms(ctx).await;
    let name = ctx.command().qualified_name.to_string();
    let data = ctx.data();
    data.metrics.observe_command(&name, outcome, ms / 1000.0);
    data.telemetry.emit(
        "command",
        &current_trace_id().unwrap_or_default(),
        serde_json::json!({
            "command": name,
            "kind": if matches!(ctx, poise::Context::Prefix(_)) { "prefix" } else { "slash" },
            "outcome": outcome,
            "user_id": ctx.author().id.get().to_string(),
            "channel_id": ctx.channel_id().get().to_string(),
            "guild_id": ctx.guild_id().map(|g| g.get().to_string()),
            "ms": (ms * 1000.0).round() / 1000.0,
            "detail": detail,
        }),
    );
}

async fn post_command(ctx: Ctx<'_>) {
    record(ctx, "ok", None).await;
    let ms = elapsed_ms(ctx).await;
    tracing::info!(
        command = %ctx.command().qualified_name,
        kind = if matches!(ctx, poise::Context::Prefix(_)) { "prefix" } else { "slash" },
        user_id = ctx.author().id.get(),
        channel_id = ctx.channel_id().get(),
        outcome = "ok",
        ms = (ms * 1000.0).round() / 1000.0,
        "command finished"
    );
}

/// Replies on the error path; a failure to reply is logged, never raised.
async fn tell(ctx: Ctx<'_>, text: String) {
    if let Err(e) = reply::send(ctx, Reply::text(text).ephemeral()).await {
        tracing::warn!(command = %ctx.command().qualified_name, error = %e, "could not send the error reply");
    }
}

/// Says what was wrong with a command's arguments in the caller's terms: which ones are
/// missing, or which input could not be read (poise's own wording is for developers).
fn argument_problem(
    cmd: &super::Command,
    error: &(dyn std::error::Error + Send + Sync + 'static),
    input: Option<&str>,
    prefix: bool,
) -> String {
    let name = format!("{}{}", if prefix { "!" } else { "/" }, cmd.qualified_name);
    if error.is::<poise::TooFewArguments>() || input.is_some_and(|i| i.trim().is_empty()) {
        let required: Vec<String> = cmd
            .parameters
            .iter()
            .filter(|p| p.required)
            .map(|p| format!("`<{}>`", p.name))
            .collect();
        return match required.as_slice() {
            [] => format!("`{name}` needs more arguments."),
            [one] => format!("`{name}` needs {one}."),
            many => format!("`{name}` needs {}.", many.join(" ")),
        };
    }
    if error.is::<poise::TooManyArguments>() {
        return format!("`{name}` got more arguments than it takes.");
    }
    match input {
        Some(i) => format!("I could not read {}: {error}.", crate::util::text::code(i)),
        None => format!("The arguments could not be read: {error}."),
    }
}

/// A command that is also a group (`!ops jobs`) given a word it does not take: a
/// subcommand that does not exist, not a stray argument.
fn unknown_subcommand(
    cmd: &super::Command,
    error: &(dyn std::error::Error + Send + Sync + 'static),
    args: Option<&str>,
    prefix: bool,
) -> Option<String> {
    let word = args.and_then(|a| a.split_whitespace().next())?;
    (error.is::<poise::TooManyArguments>() && !cmd.subcommands.is_empty())
        .then(|| subcommand_problem(cmd, Some(word), prefix))
}

/// A group run without a subcommand it has: which word was not one (echoed inert), and
/// the subcommands it does have.
fn subcommand_problem(cmd: &super::Command, typed: Option<&str>, prefix: bool) -> String {
    let name = format!("{}{}", if prefix { "!" } else { "/" }, cmd.qualified_name);
    let subs: Vec<String> = cmd
        .subcommands
        .iter()
        .map(|s| format!("`{}`", s.name))
        .collect();
    let head = match typed {
        Some(word) => format!(
            "`{name}` has no subcommand {}; its subcommands are",
            crate::util::text::code(word)
        ),
        None => format!("`{name}` needs a subcommand:"),
    };
    format!(
        "{head} {}. See `!help {}`.",
        subs.join(", "),
        cmd.qualified_name
    )
}

/// What followed the command's name in a prefix message (`None` for slash commands,
/// whose options Discord has already checked).
fn prefix_args(ctx: Ctx<'_>) -> Option<&str> {
    match ctx {
        poise::Context::Prefix(p) => Some(p.args),
        poise::Context::Application(_) => None,
    }
}

async fn on_error(error: FrameworkError<'_, BotData, CommandError>) {
    let trace = current_trace_id().unwrap_or_default();
    match error {
        FrameworkError::Setup { error, .. } => {
            // setup() already made this fatal; this is only the record.
            tracing::error!(error = %error, "bot setup failed");
        }
        FrameworkError::Command { error, ctx, .. } => {
            let ms = elapsed_ms(ctx).await;
            let command = ctx.command().qualified_name.clone();
            let outcome = if error.is_internal() {
                "error"
            } else {
                "user_error"
            };
            // What went wrong on our side is recorded; a refusal's text quotes what the
            // user typed, so only the outcome is (the runbook promises no content).
            if error.is_internal() {
                record(ctx, outcome, Some(error.to_string())).await;
                tracing::error!(command = %command, user_id = ctx.author().id.get(), outcome = "error", ms, error = %error, "command failed");
            } else {
                record(ctx, outcome, None).await;
                tracing::info!(command = %command, user_id = ctx.author().id.get(), outcome = "user_error", ms, "command refused");
            }
            tell(ctx, error.public_message(&invocation(ctx), &trace)).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            record(ctx, "panic", payload.clone()).await;
            tracing::error!(command = %ctx.command().qualified_name, outcome = "panic", panic = payload.as_deref().unwrap_or("unknown"), "command panicked");
            tell(
                ctx,
                CommandError::Internal(String::new()).public_message(&invocation(ctx), &trace),
            )
            .await;
        }
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let prefix = matches!(ctx, poise::Context::Prefix(_));
            record(ctx, "bad_arguments", None).await;
            tracing::info!(command = %ctx.command().qualified_name, outcome = "bad_arguments", "command arguments did not parse");
            let cmd = ctx.command();
            let text = match unknown_subcommand(cmd, error.as_ref(), prefix_args(ctx), prefix) {
                Some(text) => text,
                None => format!(
                    "{}\nUsage: `{}` (see `!help {}`)",
                    argument_problem(cmd, error.as_ref(), input.as_deref(), prefix),
                    super::help::usage_line(cmd, prefix),
                    cmd.qualified_name
                ),
            };
            tell(ctx, text).await;
        }
        FrameworkError::CommandCheckFailed {
            error: Some(CommandError::OutsideAccessLists(channel)),
            ctx,
            ..
        } => {
            // Silent, as if the bot were not in the channel; the log says why.
            record(ctx, "outside_access_lists", None).await;
            tracing::info!(command = %ctx.command().qualified_name, channel_id = channel, outcome = "outside_access_lists", "command ignored: channel outside the bot access lists");
        }
        FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            let error = error.unwrap_or(CommandError::Denied {
                needed: meta_of(ctx.command()).tier,
                have: Tier::Member,
            });
            record(ctx, "denied", Some(error.to_string())).await;
            tracing::info!(command = %ctx.command().qualified_name, user_id = ctx.author().id.get(), outcome = "denied", reason = %error, "command denied");
            tell(ctx, error.public_message(&invocation(ctx), &trace)).await;
        }
        FrameworkError::SubcommandRequired { ctx } => {
            // poise reports this before running checks: deny first so a member does not
            // learn the subcommands of a staff command.
            let needed = meta_of(ctx.command()).tier;
            let have = caller_tier(ctx).await;
            if have < needed {
                tell(
                    ctx,
                    CommandError::Denied { needed, have }.public_message(&invocation(ctx), &trace),
                )
                .await;
                return;
            }
            let prefix = matches!(ctx, poise::Context::Prefix(_));
            let typed = prefix_args(ctx).and_then(|a| a.split_whitespace().next());
            tell(ctx, subcommand_problem(ctx.command(), typed, prefix)).await;
        }
        FrameworkError::CooldownHit {
            remaining_cooldown,
            ctx,
            ..
        } => {
            tell(
                ctx,
                format!(
                    "⏳ `{}` is cooling down; try again in {}s.",
                    invocation(ctx),
                    remaining_cooldown.as_secs().max(1)
                ),
            )
            .await;
        }
        FrameworkError::GuildOnly { ctx, .. } => {
            tell(
                ctx,
                "This command only works in the server, not in direct messages.".into(),
            )
            .await
        }
        FrameworkError::UnknownCommand { msg, .. } => {
            // Unknown commands are ignored silently (the predecessor posted each one to
            // the log channel); the content is not logged.
            tracing::debug!(channel_id = msg.channel_id.get(), "unknown command ignored");
        }
        FrameworkError::UnknownInteraction { interaction, .. } => {
            tracing::warn!(command = %interaction.data.name, "interaction for a command this build does not know");
        }
        other => tracing::warn!(error = %other, "framework error"),
    }
}

pub(crate) fn options(
    commands: Vec<super::Command>,
) -> poise::FrameworkOptions<BotData, CommandError> {
    poise::FrameworkOptions {
        commands,
        prefix_options: poise::PrefixFrameworkOptions {
            prefix: Some("!".into()),
            mention_as_prefix: true,
            ignore_bots: true,
            case_insensitive_commands: true,
            ..Default::default()
        },
        command_check: Some(|ctx| Box::pin(check_tier(ctx))),
        pre_command: |ctx| Box::pin(pre_command(ctx)),
        post_command: |ctx| Box::pin(post_command(ctx)),
        on_error: |error| Box::pin(on_error(error)),
        // Owners are not a tier here; skip poise's application lookup.
        initialize_owners: false,
        // Replies set their own (`reply::allowed_mentions`); this covers anything else
        // poise sends: nobody is pinged by default.
        allowed_mentions: Some(reply::allowed_mentions(&[])),
        ..Default::default()
    }
}

/// poise inside a span per gateway event, so every log line of a command (and any REST
/// call it makes) carries one trace id; each event is recorded as handled when poise
/// returns from it.
pub(crate) struct Traced {
    pub framework: poise::Framework<BotData, CommandError>,
    pub handled: std::sync::Arc<super::HandledEvents>,
    pub deliveries: super::handled::Deliveries,
}

/// What an event is about: a message, an interaction, a channel or thread.
fn handled_of(event: &FullEvent) -> super::Handled {
    let mut h = super::Handled {
        event: event.snake_case_name(),
        message_id: None,
        interaction_id: None,
        channel_id: None,
    };
    match event {
        FullEvent::Message { new_message } => {
            h.message_id = Some(new_message.id.get());
            h.channel_id = Some(new_message.channel_id.get());
        }
        FullEvent::InteractionCreate { interaction } => {
            h.interaction_id = Some(interaction.id().get());
        }
        FullEvent::ThreadCreate { thread } => h.channel_id = Some(thread.id.get()),
        FullEvent::ThreadUpdate { new, .. } => h.channel_id = Some(new.id.get()),
        FullEvent::ChannelCreate { channel } => h.channel_id = Some(channel.id.get()),
        _ => {}
    }
    h
}

#[serenity::async_trait]
impl serenity::framework::Framework for Traced {
    async fn init(&mut self, client: &serenity::all::Client) {
        self.framework.init(client).await;
    }

    async fn dispatch(&self, ctx: SerenityContext, event: FullEvent) {
        let handled = handled_of(&event);
        if let Some(id) = handled.message_id.or(handled.interaction_id)
            && !self.deliveries.first(id)
        {
            // Discord delivers at least once: a RESUME may replay a dispatch the bot has
            // handled (or is handling). Running it again would answer twice.
            tracing::info!(event = handled.event, id, "duplicate delivery ignored");
            return;
        }
        let trace = new_trace_id();
        let span = tracing::info_span!("event", trace = %trace, event = handled.event);
        let t0 = Instant::now();
        let work = async {
            // Components go to their feature's handler; poise sees only commands.
            use super::components::{Answering, answer};
            use serenity::all::Interaction;
            match &event {
                FullEvent::InteractionCreate {
                    interaction: Interaction::Component(c),
                } => {
                    let data = self.framework.user_data().await;
                    answer(&ctx, data, Answering::Component(c)).await;
                }
                FullEvent::InteractionCreate {
                    interaction: Interaction::Modal(m),
                } => {
                    let data = self.framework.user_data().await;
                    answer(&ctx, data, Answering::Modal(m)).await;
                }
                _ => {
                    if super::events::watched(&event) {
                        let data = self.framework.user_data().await;
                        if let Ok(listeners) = data.features.get::<super::events::Listeners>() {
                            listeners.dispatch(&ctx, data, &event).await;
                        }
                    }
                    self.framework.dispatch(ctx.clone(), event).await
                }
            }
        };
        crate::telemetry::with_trace(trace, work.instrument(span)).await;
        tracing::debug!(
            event = handled.event,
            message_id = handled.message_id,
            interaction_id = handled.interaction_id,
            channel_id = handled.channel_id,
            ms = t0.elapsed().as_millis() as u64,
            "gateway event handled"
        );
        self.handled.push(handled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Looks up one setting.
    #[poise::command(prefix_command, slash_command, custom_data = super::super::tiers::Meta::admin())]
    async fn cfg(
        _ctx: Ctx<'_>,
        #[description = "the key"] key: String,
    ) -> Result<(), CommandError> {
        let _ = key;
        Ok(())
    }

    /// Pauses one job.
    #[poise::command(prefix_command, slash_command, custom_data = super::super::tiers::Meta::admin())]
    async fn pause(
        _ctx: Ctx<'_>,
        #[description = "the job"] job: String,
    ) -> Result<(), CommandError> {
        let _ = job;
        Ok(())
    }

    /// Lists jobs; also the group of the job subcommands.
    #[poise::command(prefix_command, slash_command, subcommands("pause"), custom_data = super::super::tiers::Meta::admin())]
    async fn jobs(_ctx: Ctx<'_>) -> Result<(), CommandError> {
        Ok(())
    }

    #[test]
    fn a_word_that_is_not_a_subcommand_is_named_with_the_ones_there_are() {
        let jobs = command(jobs, "ops jobs");
        let too_many = poise::TooManyArguments::default();
        assert_eq!(
            unknown_subcommand(&jobs, &too_many, Some("frob x"), true).as_deref(),
            Some(
                "`!ops jobs` has no subcommand `frob`; its subcommands are `pause`. See `!help ops jobs`."
            )
        );
        let cfg = command(cfg, "cfg");
        assert_eq!(unknown_subcommand(&cfg, &too_many, Some("a b"), true), None);
        assert_eq!(
            subcommand_problem(&jobs, Some("<@1>`"), true),
            "`!ops jobs` has no subcommand `<@1>ˋ`; its subcommands are `pause`. See `!help ops jobs`."
        );
        assert_eq!(
            subcommand_problem(&jobs, None, true),
            "`!ops jobs` needs a subcommand: `pause`. See `!help ops jobs`."
        );
    }

    /// A test command as the framework names it (`ops jobs pause`).
    fn command(make: fn() -> super::super::Command, path: &str) -> super::super::Command {
        let mut c = make();
        c.qualified_name = path.to_owned().into();
        c
    }

    #[test]
    fn argument_problems_name_what_is_missing_or_unreadable() {
        let cfg = command(cfg, "cfg");
        assert_eq!(
            argument_problem(&cfg, &poise::TooFewArguments::default(), None, true),
            "`!cfg` needs `<key>`."
        );
        assert_eq!(
            argument_problem(
                &command(pause, "ops jobs pause"),
                &poise::TooFewArguments::default(),
                Some(""),
                false
            ),
            "`/ops jobs pause` needs `<job>`."
        );
        assert_eq!(
            argument_problem(&cfg, &poise::TooManyArguments::default(), None, true),
            "`!cfg` got more arguments than it takes."
        );
        let bad: Box<dyn std::error::Error + Send + Sync> = "not a number".into();
        assert_eq!(
            argument_problem(&cfg, bad.as_ref(), Some("a`b"), true),
            "I could not read `aˋb`: not a number."
        );
    }
}
