//! The recruitment commands: `clanmatch`, `clansearch`, `clan <tag>`, `welcome`,
//! `welcome-refresh` and `report recruiters`. Each parses, asks the pure parts
//! (`matching`, `cards`, `panel`, `welcome`, `report`) and applies the result; the
//! report's posting is shared with its job in `jobs`.

use std::sync::Arc;

use serenity::all::{ButtonStyle, ChannelId, CreateActionRow, CreateButton, Http, MessageId, User};

use super::panel::{self, Kind};
use super::welcome::{self, WelcomeAsk};
use super::{TOGGLE_PANELS, TOGGLE_PROFILE, TOGGLE_REPORTS, TOGGLE_WELCOME};
use crate::cache::{BucketId, RefreshTrigger};
use crate::discord::components::custom_id;
use crate::discord::outbound::retry_429;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{CommandError, Ctx};
use crate::message::alert::{Alert, Severity};
use crate::tabs::clans::{Clan, ClanList};

/// The clan `tag` names (any case), or an error naming the three closest tags: someone
/// asking for a profile wants a clan, so the nearest are always offered.
pub(crate) fn clan_named<'a>(list: &'a ClanList, tag: &str) -> Result<&'a Clan, CommandError> {
    if let Some(c) = list.find(tag) {
        return Ok(c);
    }
    let closest: Vec<String> = list
        .closest(tag, 3, None)
        .into_iter()
        .map(crate::util::text::code)
        .collect();
    let asked = crate::util::text::code(tag.trim());
    Err(CommandError::user(if closest.is_empty() {
        format!("There is no clan {asked}: the Clans tab lists none yet.")
    } else {
        format!(
            "There is no clan {asked}. Closest tags: {}.",
            closest.join(", ")
        )
    }))
}

/// Edits a message the bot posted, through 429s.
pub(crate) async fn edit(
    http: &Arc<Http>,
    channel: u64,
    message: u64,
    reply: &Reply,
) -> Result<(), crate::discord::outbound::SendError> {
    let edit = reply.to_edit();
    retry_429("PATCH panel message", || {
        let (http, edit) = (http.clone(), edit.clone());
        async move {
            ChannelId::new(channel)
                .edit_message(&http, MessageId::new(message), edit)
                .await
                .map(|_| ())
        }
    })
    .await
}

fn jump(guild: Option<u64>, channel: u64, message: u64) -> String {
    let g = guild.map_or_else(|| "@me".to_owned(), |g| g.to_string());
    format!("https://discord.com/channels/{g}/{channel}/{message}")
}

/// Opens the caller's panel in this channel, or brings the live one up to date and
/// points them to it (one live panel per owner per channel).
async fn open_panel(ctx: Ctx<'_>, kind: Kind, text: Option<String>) -> Result<(), CommandError> {
    let data = ctx.data();
    let list = data.clans()?;
    let owner = ctx.author().id.get();
    let owner_name = ctx.author().name.clone();
    let channel = ctx.channel_id().get();
    let guild = ctx.guild_id().map(|g| g.get());
    let http = ctx.serenity_context().http.clone();
    let now = data.status.clock.utc();
    let existing = data
        .store
        .read(move |c| panel::find(c, kind, owner, channel))
        .await?;
    if let Some(mut p) = existing
        && let (Some(pm), Some(rm)) = (p.panel_message_id, p.results_message_id)
    {
        if let Some(t) = &text {
            p.filters.text = t.trim().chars().take(100).collect();
            p.page = 0;
            p.flipped.clear();
        }
        let live = edit(
            &http,
            channel,
            pm,
            &panel::panel_reply(&p, &list, &owner_name),
        )
        .await
        .is_ok()
            && edit(&http, channel, rm, &panel::results_reply(&p, &list))
                .await
                .is_ok();
        if live {
            let saved = p.clone();
            data.store
                .transaction(move |tx| panel::save(tx, &saved, now))
                .await?;
            return reply::send(
                ctx,
                Reply::text(format!(
                    "Your {} panel in this channel is here: {}",
                    kind.command(),
                    jump(guild, channel, pm)
                ))
                .ephemeral(),
            )
            .await;
        }
    }
    let filters = super::matching::Filters {
        text: text.unwrap_or_default().trim().chars().take(100).collect(),
        ..Default::default()
    };
    let mut p = data
        .store
        .transaction(move |tx| panel::create(tx, kind, owner, channel, &filters, now))
        .await?;
    let out = &data.outbound;
    let posted = out
        .post(
            ChannelId::new(channel),
            panel::panel_reply(&p, &list, &owner_name).to_message(),
        )
        .await;
    let results = match posted {
        Ok(m) => {
            p.panel_message_id = Some(m.id.get());
            out.post(
                ChannelId::new(channel),
                panel::results_reply(&p, &list).to_message(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match results {
        Ok(m) => {
            p.results_message_id = Some(m.id.get());
            let saved = p.clone();
            data.store
                .transaction(move |tx| panel::save(tx, &saved, now))
                .await?;
        }
        Err(e) => {
            let id = p.id;
            data.store
                .transaction(move |tx| panel::delete(tx, id))
                .await?;
            return Err(e.into());
        }
    }
    if ctx.prefix() == "/" {
        reply::send(ctx, Reply::text("Your panel is below.").ephemeral()).await?;
    }
    Ok(())
}

/// Match clans to a recruit: filter panel and paged results (recruiters)
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::recruiter().toggle(TOGGLE_PANELS)
)]
pub(crate) async fn clanmatch(
    ctx: Ctx<'_>,
    #[description = "Words of a clan's name or tag"]
    #[rest]
    text: Option<String>,
) -> Result<(), CommandError> {
    open_panel(ctx, Kind::Match, text).await
}

/// Browse the clans: filters and clan cards with their entry criteria
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::member().toggle(TOGGLE_PANELS)
)]
pub(crate) async fn clansearch(
    ctx: Ctx<'_>,
    #[description = "Words of a clan's name or tag"]
    #[rest]
    text: Option<String>,
) -> Result<(), CommandError> {
    open_panel(ctx, Kind::Search, text).await
}

/// The profile card or the entry criteria of `tag`, with the button to flip.
pub(crate) fn profile_reply(c: &Clan, criteria: bool) -> Reply {
    let (embed, to, label) = if criteria {
        (super::cards::criteria(c), "profile", "Profile")
    } else {
        (super::cards::profile(c), "criteria", "Entry criteria")
    };
    let mut reply = Reply::embed(embed);
    if let Some(id) = custom_id(&["clan", &c.tag, to]) {
        reply.components = vec![CreateActionRow::Buttons(vec![
            CreateButton::new(id)
                .label(label)
                .style(ButtonStyle::Secondary),
        ])];
    }
    reply
}

/// A clan's profile, with a button to its entry criteria
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::member().toggle(TOGGLE_PROFILE)
)]
pub(crate) async fn clan(
    ctx: Ctx<'_>,
    #[description = "Clan tag"] tag: String,
) -> Result<(), CommandError> {
    let list = ctx.data().clans()?;
    let c = clan_named(&list, &tag)?;
    reply::send(ctx, profile_reply(c, false)).await
}

async fn display_name(ctx: Ctx<'_>, u: &User) -> String {
    if let Some(g) = ctx.guild_id()
        && let Ok(m) = g.member(ctx, u.id).await
    {
        return m.display_name().to_owned();
    }
    u.global_name.clone().unwrap_or_else(|| u.name.clone())
}

async fn guild_name(ctx: Ctx<'_>) -> String {
    let Some(g) = ctx.guild_id() else {
        return "this server".into();
    };
    if let Some(name) = ctx
        .serenity_context()
        .cache
        .guild(g)
        .map(|g| g.name.clone())
    {
        return name;
    }
    match g.to_partial_guild(ctx).await {
        Ok(pg) => pg.name,
        Err(_) => "this server".into(),
    }
}

/// Post a clan's welcome (WelcomeTemplates) for a member
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::staff().toggle(TOGGLE_WELCOME)
)]
pub(crate) async fn welcome(
    ctx: Ctx<'_>,
    #[description = "Clan tag"] tag: String,
    #[description = "The member to welcome"] member: Option<User>,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let list = data.clans()?;
    let c = clan_named(&list, &tag)?;
    let templates = data.cache.templates().ok_or_else(|| {
        CommandError::user(
            "The WelcomeTemplates tab has not been read yet; `!welcome-refresh` reads it now.",
        )
    })?;
    let named = match &member {
        Some(u) => Some((u.id.get(), display_name(ctx, u).await)),
        None => None,
    };
    let inviter = display_name(ctx, ctx.author()).await;
    let ask = WelcomeAsk {
        clan: c,
        member: named.clone(),
        inviter: inviter.clone(),
        guild: guild_name(ctx).await,
        now: data.status.clock.utc(),
    };
    let w = welcome::render(&templates, &ask).map_err(|e| CommandError::user(e.to_string()))?;
    let here = ctx.channel_id().get();
    let target = w.channel.unwrap_or(here);
    let post = Reply {
        content: w.content.clone(),
        embeds: vec![w.embed.clone()],
        pings: w.ping.into_iter().collect(),
        ..Default::default()
    };
    let posted = data
        .outbound
        .post(ChannelId::new(target), post.to_message())
        .await;
    let who = named
        .as_ref()
        .map_or_else(|| "no one in particular".to_owned(), |(_, n)| n.clone());
    let note = welcome::unknown_note(&w);
    let (result, answer) = match &posted {
        Ok(_) => (
            "posted".to_owned(),
            format!(
                "✅ Welcome to {} for {who} posted in <#{target}> (row {}).",
                c.tag, w.row
            ),
        ),
        Err(e) => (
            format!("not posted: {e}"),
            format!(
                "The welcome could not be posted in <#{target}>: {e}. Check the bot may post there (target_channel_id of row {}).",
                w.row
            ),
        ),
    };
    data.alerts
        .send(Alert::new(
            Severity::Info,
            format!("welcome:{}:{}", c.tag, ctx.id()),
            "Welcome",
            format!(
                "{inviter} welcomed {who} to {} in <#{target}>: {result}.{}",
                c.tag,
                note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
            ),
        ))
        .await;
    let mut text = answer;
    if let Some(n) = note {
        text.push('\n');
        text.push_str(&n);
    }
    if target != here || posted.is_err() || !w.unknown.is_empty() || ctx.prefix() == "/" {
        reply::send(ctx, Reply::text(text).ephemeral()).await?;
    }
    Ok(())
}

/// Re-read the WelcomeTemplates tab now
#[poise::command(
    prefix_command,
    slash_command,
    rename = "welcome-refresh",
    custom_data = Meta::admin().toggle(TOGGLE_WELCOME)
)]
pub(crate) async fn welcome_refresh(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let data = ctx.data();
    let actor = ctx.author().name.clone();
    let reports = data
        .cache
        .refresh(
            &[BucketId::Templates],
            RefreshTrigger::Manual,
            &actor,
            Some(std::time::Duration::from_secs(10)),
        )
        .await;
    let text = match reports.first() {
        Some(r) if !r.result.failed() => {
            let t = data.cache.templates();
            let warnings = t.as_ref().map(|t| t.warnings.clone()).unwrap_or_default();
            let mut s = format!(
                "✅ WelcomeTemplates re-read: {} (plus DEFAULT: {}).",
                crate::util::text::count(r.items.unwrap_or(0), "clan template"),
                if t.as_ref().is_some_and(|t| t.default.is_some()) {
                    "yes"
                } else {
                    "no"
                }
            );
            for w in warnings {
                s.push_str(&format!("\n⚠️ {w}"));
            }
            s
        }
        Some(r) => format!(
            "The WelcomeTemplates tab could not be read: {}. The templates read before stay in use.",
            r.error.clone().unwrap_or_default()
        ),
        None => "Nothing was refreshed.".into(),
    };
    reply::send(ctx, Reply::text(text)).await
}

/// The daily recruiter report
#[poise::command(
    prefix_command,
    slash_command,
    subcommands("recruiters"),
    custom_data = Meta::admin().toggle(TOGGLE_REPORTS)
)]
pub(crate) async fn report(ctx: Ctx<'_>) -> Result<(), CommandError> {
    reply::send(
        ctx,
        Reply::text("`!report recruiters` posts the daily recruiter update now."),
    )
    .await
}

/// Post the daily recruiter update now
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn recruiters(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let data = ctx.data();
    let sink = super::jobs::ReportSink {
        store: data.store.clone(),
        config: data.config.clone(),
        cache: data.cache.clone(),
        outbound: data.outbound.clone(),
    };
    let now = data.status.clock.utc();
    match sink.post(super::jobs::Trigger::Manual, now).await {
        Ok(super::jobs::Posted::Done { channel, .. }) => {
            reply::send(
                ctx,
                Reply::text(format!("✅ Recruiter update posted in <#{channel}>.")),
            )
            .await
        }
        // Only the scheduled report is held to once a day, but no path stays silent.
        Ok(super::jobs::Posted::AlreadyToday) => {
            reply::send(ctx, Reply::text("Today's recruiter update is already out.")).await
        }
        Err(e) => Err(e.into()),
    }
}
