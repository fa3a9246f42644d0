//! `reserve` (hold, release, extend) and `reservations`: parse, decide, apply, reply.

use chrono::Duration;
use serenity::all::{ChannelId, Context as SerenityContext, GuildId, User};

use super::apply::{self, Actor, Change, Held};
use super::decide::{self, HoldAsk, HoldSnapshot, Recruit, Refusal};
use super::ledger::{self, Reservation};
use super::state::Holds;
use crate::discord::components::{Answer, Click, ComponentHandler};
use crate::discord::framework::Admission;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{BotData, CommandError, Ctx};
use crate::message::alert::{Alert, Severity};
use crate::tabs::clans::ClanList;

/// The FeatureToggles row for everything here.
pub(crate) const TOGGLE: &str = "placement_reservations";

/// How far back `reservations` looks in the recruiters' thread.
const RECENT_DAYS: i64 = 28;

impl From<Refusal> for CommandError {
    fn from(r: Refusal) -> Self {
        CommandError::user(r.to_string())
    }
}

fn actor(ctx: Ctx<'_>) -> Actor {
    Actor {
        id: ctx.author().id.get(),
        name: ctx.author().name.clone(),
    }
}

fn recruit_of(u: &User) -> Recruit {
    Recruit {
        id: u.id.get(),
        name: u.global_name.clone().unwrap_or_else(|| u.name.clone()),
    }
}

/// The recruit with the name the server shows (nickname first), asked of Discord: the
/// gateway does not send members to a bot without the presences intent. The user's own
/// name when the member cannot be fetched (they left, Discord is slow).
async fn recruit_named(ctx: Ctx<'_>, u: &User) -> Recruit {
    let mut r = recruit_of(u);
    if let Some(g) = ctx.guild_id()
        && let Ok(m) = g.member(ctx, u.id).await
    {
        r.name = m.display_name().to_owned();
    }
    r
}

/// The ticket thread `here` is, if it is one: a thread whose parent is the welcome or
/// promo channel. Asked of the cache first, then of Discord (a thread the cache has not
/// seen, such as one from before a restart that Discord did not list).
async fn ticket_of(sctx: &SerenityContext, data: &BotData, here: Where) -> Option<u64> {
    let cfg = data.config.get();
    let parents: Vec<u64> = [cfg.channels.welcome, cfg.channels.promo]
        .into_iter()
        .flatten()
        .collect();
    let channel = here.channel;
    let cached = here.guild.and_then(|g| {
        sctx.cache.guild(g).and_then(|g| {
            g.threads
                .iter()
                .find(|t| t.id == channel)
                .map(|t| t.parent_id.map(|p| p.get()))
        })
    });
    let parent = match cached {
        Some(p) => p,
        None => channel
            .to_channel(sctx)
            .await
            .ok()
            .and_then(|c| c.guild())
            .filter(|c| c.thread_metadata.is_some())
            .and_then(|c| c.parent_id.map(|p| p.get())),
    };
    parent
        .filter(|p| parents.contains(p))
        .map(|_| channel.get())
}

async fn ticket_thread(ctx: Ctx<'_>) -> Option<u64> {
    let here = Where {
        guild: ctx.guild_id(),
        channel: ctx.channel_id(),
    };
    ticket_of(ctx.serenity_context(), ctx.data(), here).await
}

async fn log_line(data: &BotData, key: String, title: &str, body: String) {
    data.alerts
        .send(Alert::new(Severity::Info, key, title, body))
        .await;
}

fn emit(data: &BotData, action: &str, fields: serde_json::Value) {
    let mut f = fields;
    f["action"] = serde_json::json!(action);
    data.telemetry.emit(
        "reservation",
        &crate::telemetry::current_trace_id().unwrap_or_default(),
        f,
    );
}

/// Holds a seat in a clan for a recruit, inside their ticket thread.
#[poise::command(
    prefix_command,
    slash_command,
    subcommands("hold", "release", "extend"),
    custom_data = Meta::recruiter().toggle(TOGGLE)
)]
pub(crate) async fn reserve(
    ctx: Ctx<'_>,
    #[description = "Clan tag"] tag: Option<String>,
    #[description = "The recruit"] recruit: Option<User>,
    #[description = "Last day, YYYY-MM-DD (default: in 7 days)"] until: Option<String>,
    #[description = "Why, when the clan is full"]
    #[rest]
    reason: Option<String>,
) -> Result<(), CommandError> {
    let Some(tag) = tag else {
        return Err(CommandError::user(
            "`!reserve <tag> @recruit [YYYY-MM-DD] [reason]` in a ticket thread holds a seat; `!reserve release @recruit <tag>` and `!reserve extend @recruit <tag> <YYYY-MM-DD>` change one.",
        ));
    };
    hold_seat(ctx, tag, recruit, until, reason).await
}

/// Holds a seat in a clan for a recruit (inside their ticket thread).
#[poise::command(prefix_command, slash_command, custom_data = Meta::recruiter())]
pub(crate) async fn hold(
    ctx: Ctx<'_>,
    #[description = "Clan tag"] tag: String,
    #[description = "The recruit"] recruit: Option<User>,
    #[description = "Last day, YYYY-MM-DD (default: in 7 days)"] until: Option<String>,
    #[description = "Why, when the clan is full"]
    #[rest]
    reason: Option<String>,
) -> Result<(), CommandError> {
    hold_seat(ctx, tag, recruit, until, reason).await
}

async fn hold_seat(
    ctx: Ctx<'_>,
    tag: String,
    recruit: Option<User>,
    until: Option<String>,
    reason: Option<String>,
) -> Result<(), CommandError> {
    let named = match &recruit {
        Some(u) => Some(recruit_named(ctx, u).await),
        None => None,
    };
    let ask = HoldAsk {
        tag,
        recruit: named,
        until,
        reason,
    };
    let here = Where {
        guild: ctx.guild_id(),
        channel: ctx.channel_id(),
    };
    let out = hold_flow(ctx.serenity_context(), ctx.data(), here, actor(ctx), ask).await?;
    reply::send(ctx, out).await
}

/// Where a hold was asked.
#[derive(Debug, Clone, Copy)]
struct Where {
    guild: Option<GuildId>,
    channel: ChannelId,
}

/// Decides and applies a hold; the reply to show. A full clan without a reason is
/// answered with a "Give a reason" button that opens a form (its custom id carries
/// the clan, the recruit and the day, so it works after a restart).
async fn hold_flow(
    sctx: &SerenityContext,
    data: &BotData,
    here: Where,
    who: Actor,
    ask: HoldAsk,
) -> Result<Reply, CommandError> {
    let list = data.clans()?;
    let ticket = ticket_of(sctx, data, here).await;
    let (subject, existing, held) = {
        let tag = decide::find_clan(&list, &ask.tag)
            .map(|c| c.tag.clone())
            .unwrap_or_default();
        let named = ask.recruit.as_ref().map(|r| r.id);
        data.store
            .read(move |c| {
                // Not named: the ticket's applicant, as onboarding recorded it.
                let subject = match (named, ticket) {
                    (None, Some(t)) => crate::onboarding::tables::ticket(c, t)?.and_then(|t| {
                        t.subject_id.map(|id| Recruit {
                            id,
                            name: t.subject_name,
                        })
                    }),
                    _ => None,
                };
                let existing = match named.or(subject.as_ref().map(|s| s.id)) {
                    Some(id) => ledger::active_for(c, id)?,
                    None => None,
                };
                Ok((subject, existing, ledger::active_in(c, &tag)?.len() as u32))
            })
            .await?
    };
    let cfg = data.config.get();
    let today = data.status.clock.utc().date_naive();
    // Whom the "Give a reason" button holds for, when the refusal offers it.
    let asked_for = HoldAsk {
        recruit: ask.recruit.clone().or_else(|| subject.clone()),
        ..ask.clone()
    };
    let decided = decide::hold(
        &ask,
        &HoldSnapshot {
            clans: &list,
            ticket,
            subject,
            existing: existing.as_ref(),
            held,
            today,
            max_days: cfg.reservation_max_days,
        },
    );
    let applied = match decided {
        Ok(plan) => apply::hold(&data.store, plan.clone(), who.clone())
            .await?
            .map(|h| (plan, h)),
        Err(e) => Err(e),
    };
    let (plan, held): (_, Held) = match applied {
        Ok(x) => x,
        Err(r @ Refusal::NeedsReason { .. }) => return Ok(reason_button(&r, &asked_for, today)),
        Err(r) => return Err(r.into()),
    };
    changed(data).await;
    emit(
        data,
        "hold",
        serde_json::json!({"id": held.id, "clan": plan.tag, "recruit": plan.recruit.id.to_string(), "until": plan.until.to_string()}),
    );
    let over = if plan.reason.is_empty() {
        String::new()
    } else {
        format!(" Reason: {}.", crate::util::text::code(&plan.reason))
    };
    log_line(
        data,
        format!("reservation:{}", held.id),
        "Seat reserved",
        format!(
            "{} reserved a seat in {} for {} until {} (ticket <#{}>).{over}",
            who.name, plan.tag, plan.recruit.name, plan.until, plan.thread_id
        ),
    )
    .await;
    Ok(Reply::text(format!(
        "✅ Reserved 1 seat in {} for {} until {}. Reserved: {}. Open now: {}.",
        plan.tag, plan.recruit.name, plan.until, held.reserved, held.open
    )))
}

/// The "needs a reason" answer, with a button that opens the reason form.
fn reason_button(r: &Refusal, ask: &HoldAsk, today: chrono::NaiveDate) -> Reply {
    let mut reply = Reply::text(r.to_string());
    let (Refusal::NeedsReason { tag, .. }, Some(recruit)) = (r, &ask.recruit) else {
        return reply;
    };
    let until = ask
        .until
        .as_deref()
        .and_then(|u| chrono::NaiveDate::parse_from_str(u.trim(), "%Y-%m-%d").ok())
        .unwrap_or(today + Duration::days(decide::DEFAULT_DAYS));
    let (rid, day) = (recruit.id.to_string(), until.to_string());
    if let Some(id) = crate::discord::components::custom_id(&["res", "why", tag, &rid, &day]) {
        reply.components = vec![serenity::all::CreateActionRow::Buttons(vec![
            serenity::all::CreateButton::new(id).label("Give a reason"),
        ])];
    }
    reply
}

/// After a change: the in-memory holds and the cache's availability follow the ledger
/// at once (`clanmatch` and the profile see it before the sheet does).
async fn changed(data: &BotData) {
    match data.features.get::<Holds>() {
        Ok(holds) => {
            if let Err(e) = holds.reload().await {
                tracing::warn!(error = %e, "could not re-read the holds after a change");
            }
            data.cache.reapply_clans_overlay();
        }
        Err(e) => tracing::error!(error = %e, "placement state missing"),
    }
}

/// Releases a recruit's hold in a clan.
#[poise::command(prefix_command, slash_command, custom_data = Meta::recruiter())]
pub(crate) async fn release(
    ctx: Ctx<'_>,
    #[description = "The recruit"] recruit: User,
    #[description = "Clan tag"] tag: String,
) -> Result<(), CommandError> {
    let r = change(ctx, &recruit, tag, Change::Release).await?;
    reply::send(
        ctx,
        Reply::text(format!(
            "✅ Released {}'s seat in {} (was held until {}).",
            recruit_of(&recruit).name,
            r.clan_tag,
            r.reserved_until
        )),
    )
    .await
}

/// Moves the last day of a recruit's hold.
#[poise::command(prefix_command, slash_command, custom_data = Meta::recruiter())]
pub(crate) async fn extend(
    ctx: Ctx<'_>,
    #[description = "The recruit"] recruit: User,
    #[description = "Clan tag"] tag: String,
    #[description = "New last day, YYYY-MM-DD"] until: String,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let today = data.status.clock.utc().date_naive();
    let day = decide::parse_until(&until, today, data.config.get().reservation_max_days)?;
    let r = change(ctx, &recruit, tag, Change::Extend(day)).await?;
    reply::send(
        ctx,
        Reply::text(format!(
            "✅ {}'s seat in {} is now held until {} (was {}).",
            recruit_of(&recruit).name,
            r.clan_tag,
            day,
            r.reserved_until
        )),
    )
    .await
}

async fn change(
    ctx: Ctx<'_>,
    recruit: &User,
    tag: String,
    change: Change,
) -> Result<Reservation, CommandError> {
    let data = ctx.data();
    let list = data.clans()?;
    let clan = decide::find_clan(&list, &tag)?;
    let tag = clan.tag.clone();
    let who = actor(ctx);
    let r = recruit_of(recruit);
    let action = match &change {
        Change::Release => "release",
        Change::Extend(_) => "extend",
        Change::Expire => "expire",
    };
    let before = apply::change(
        &data.store,
        (r.id, r.name.clone()),
        tag.clone(),
        change,
        who.clone(),
    )
    .await??;
    changed(data).await;
    emit(
        data,
        action,
        serde_json::json!({"id": before.id, "clan": tag, "recruit": r.id.to_string()}),
    );
    log_line(
        data,
        format!("reservation:{}:{action}", before.id),
        "Reservation changed",
        format!("{} used {action} on {}'s seat in {tag}.", who.name, r.name),
    )
    .await;
    Ok(before)
}

/// Lists holds: a clan's, the ticket's, or (in the recruiters' thread) the last 28 days.
#[poise::command(
    prefix_command,
    slash_command,
    custom_data = Meta::recruiter().clan_leads().toggle(TOGGLE)
)]
pub(crate) async fn reservations(
    ctx: Ctx<'_>,
    #[description = "Clan tag"] tag: Option<String>,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let cfg = data.config.get();
    let here = ctx.channel_id().get();
    if crate::discord::framework::admission(ctx).await == Admission::ClanLead {
        let Some(t) = tag else {
            return Err(CommandError::user(
                "Name your clan: `!reservations TAG` shows its active holds.",
            ));
        };
        let list = data.clans()?;
        let tag = decide::find_clan(&list, &t)?.tag.clone();
        lead_may_see(&list, &tag, ctx.author().id.get())?;
        let scope = Scope::Clan(tag);
        let rows = scope.rows(data).await?;
        return reply::send(ctx, page(&scope, &rows, 0)).await;
    }
    let scope = match tag {
        Some(t) => {
            let list = data.clans()?;
            Scope::Clan(decide::find_clan(&list, &t)?.tag.clone())
        }
        None if cfg.channels.recruiters_thread == Some(here) => Scope::Recent,
        None if ticket_thread(ctx).await.is_some() => Scope::Ticket(here),
        None => Scope::All,
    };
    let rows = scope.rows(data).await?;
    reply::send(ctx, page(&scope, &rows, 0)).await
}

/// Which holds a `reservations` list shows; carried in its buttons' custom ids, so the
/// pages still turn after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    Clan(String),
    /// Changed in the last 28 days (the recruiters' thread).
    Recent,
    Ticket(u64),
    All,
}

impl Scope {
    fn encode(&self) -> String {
        match self {
            Scope::Clan(t) => format!("c.{t}"),
            Scope::Recent => "recent".into(),
            Scope::Ticket(t) => format!("t.{t}"),
            Scope::All => "all".into(),
        }
    }

    fn decode(s: &str) -> Option<Scope> {
        match s {
            "recent" => Some(Scope::Recent),
            "all" => Some(Scope::All),
            _ => match s.split_once('.')? {
                ("c", t) if !t.is_empty() => Some(Scope::Clan(t.to_owned())),
                ("t", t) => t.parse().ok().map(Scope::Ticket),
                _ => None,
            },
        }
    }

    fn title(&self) -> String {
        match self {
            Scope::Clan(t) => format!("Active holds in {t}"),
            Scope::Recent => format!("Holds changed in the last {RECENT_DAYS} days"),
            Scope::Ticket(_) => "Holds for this ticket".into(),
            Scope::All => "Active holds".into(),
        }
    }

    async fn rows(&self, data: &BotData) -> Result<Vec<Reservation>, CommandError> {
        let now = data.status.clock.utc();
        let scope = self.clone();
        data.store
            .read(move |c| match scope {
                Scope::Clan(tag) => ledger::active_in(c, &tag),
                Scope::Recent => ledger::changed_since(c, now - Duration::days(RECENT_DAYS)),
                Scope::Ticket(thread) => Ok(ledger::all_active(c)?
                    .into_iter()
                    .filter(|r| r.thread_id == thread)
                    .collect()),
                Scope::All => ledger::all_active(c),
            })
            .await
            .map_err(CommandError::from)
    }
}

/// A clan lead sees the holds of the clans whose `lead_ids` name them, or of every clan
/// when the Clans tab has no `lead_ids` column (DESIGN.md §10.4).
fn lead_may_see(list: &ClanList, tag: &str, user: u64) -> Result<(), CommandError> {
    let leads = !list.has_lead_ids
        || list
            .clans
            .iter()
            .any(|c| c.tag.eq_ignore_ascii_case(tag) && c.lead_ids.contains(&user));
    if leads {
        Ok(())
    } else {
        Err(CommandError::user(format!(
            "The Clans tab does not list you as a lead of {tag} (column `lead_ids`); a clan lead sees their own clans' holds."
        )))
    }
}

/// Holds per page of a `reservations` list.
const PAGE: usize = 10;

/// Page `n` (0-based, clamped) of a list, with Prev/Next buttons when there is more than
/// one page: every hold is reachable, none is cut.
pub(crate) fn page(scope: &Scope, rows: &[Reservation], n: usize) -> Reply {
    let pages = rows.len().div_ceil(PAGE).max(1);
    let n = n.min(pages - 1);
    let chunk = &rows[(n * PAGE).min(rows.len())..((n + 1) * PAGE).min(rows.len())];
    let mut text = render_list(&scope.title(), chunk);
    if pages > 1 {
        text = text.replacen(
            &format!("({})", chunk.len()),
            &format!(
                "({} of {}, page {}/{pages})",
                chunk.len(),
                rows.len(),
                n + 1
            ),
            1,
        );
    }
    let mut reply = Reply::text(text);
    let scope = scope.encode();
    if let Some(row) = crate::discord::components::pager(&["res", "list", &scope], n, pages) {
        reply.components = vec![row];
    }
    reply
}

/// The reservations' buttons and form: `res:list:<scope>:<page>` (a list's Prev/Next),
/// `res:why:<tag>:<recruit>:<until>` (opens the reason form for a full clan) and
/// `res:hold:<tag>:<recruit>:<until>` (the submitted form).
pub(crate) struct Pages;

#[serenity::async_trait]
impl ComponentHandler for Pages {
    fn prefix(&self) -> &'static str {
        "res"
    }

    fn meta(&self) -> Meta {
        Meta::recruiter().clan_leads().toggle(TOGGLE)
    }

    async fn handle(
        &self,
        sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let arg = |i: usize| click.args.get(i).map(String::as_str);
        match arg(0) {
            Some("list") => pages(data, &click).await,
            // The rest change holds: recruiters only, never a lead let in to read.
            Some(_) if click.as_lead.is_some() => Err(CommandError::Denied {
                needed: crate::discord::tiers::Tier::Recruiter,
                have: crate::discord::tiers::Tier::Member,
            }),
            Some("why") => {
                let (Some(tag), Some(recruit), Some(until)) = (arg(1), arg(2), arg(3)) else {
                    return Ok(unknown_button());
                };
                let Some(id) =
                    crate::discord::components::custom_id(&["res", "hold", tag, recruit, until])
                else {
                    return Ok(unknown_button());
                };
                let input = serenity::all::CreateInputText::new(
                    serenity::all::InputTextStyle::Paragraph,
                    "Why hold a seat in a full clan?",
                    "reason",
                )
                .max_length(300);
                Ok(Answer::Modal(
                    serenity::all::CreateModal::new(id, format!("Hold a seat in {tag}"))
                        .components(vec![serenity::all::CreateActionRow::InputText(input)]),
                ))
            }
            Some("hold") => {
                let (Some(tag), Some(recruit), Some(until)) =
                    (arg(1), arg(2).and_then(|r| r.parse::<u64>().ok()), arg(3))
                else {
                    return Ok(unknown_button());
                };
                let reason = click
                    .fields
                    .iter()
                    .find(|(k, _)| k == "reason")
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default();
                let user = serenity::all::UserId::new(recruit.max(1));
                let name = match click.guild_id {
                    Some(g) => g
                        .member(sctx, user)
                        .await
                        .ok()
                        .map(|m| m.display_name().to_owned()),
                    None => None,
                };
                let name = match name {
                    Some(n) => n,
                    None => user
                        .to_user(sctx)
                        .await
                        .map(|u| u.global_name.clone().unwrap_or(u.name))
                        .unwrap_or_else(|_| recruit.to_string()),
                };
                let ask = HoldAsk {
                    tag: tag.to_owned(),
                    recruit: Some(Recruit { id: recruit, name }),
                    until: Some(until.to_owned()),
                    reason: Some(reason),
                };
                let here = Where {
                    guild: click.guild_id,
                    channel: click.channel_id,
                };
                let who = Actor {
                    id: click.user_id,
                    name: click.user_name.clone(),
                };
                Ok(Answer::Message(
                    hold_flow(sctx, data, here, who, ask).await?,
                ))
            }
            _ => Ok(unknown_button()),
        }
    }
}

fn unknown_button() -> Answer {
    Answer::Ephemeral("This button is not one I know; run the command again.".into())
}

/// Turns a list's page.
async fn pages(data: &BotData, click: &Click) -> Result<Answer, CommandError> {
    let (Some(scope), Some(n)) = (
        click.args.get(1).and_then(|s| Scope::decode(s)),
        click.args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        return Ok(unknown_button());
    };
    if let Some(user) = click.as_lead {
        let Scope::Clan(tag) = &scope else {
            return Ok(Answer::Ephemeral(
                "As a clan lead you can page through your own clan's holds: `!reservations TAG`."
                    .into(),
            ));
        };
        let list = data.clans()?;
        lead_may_see(&list, tag, user)?;
    }
    let rows = scope.rows(data).await?;
    Ok(Answer::Update(page(&scope, &rows, n)))
}

/// One line per hold (a page of them).
pub(crate) fn render_list(title: &str, rows: &[Reservation]) -> String {
    if rows.is_empty() {
        return format!("**{title}**: none.");
    }
    let mut out = vec![format!("**{title}** ({})", rows.len())];
    for r in rows {
        let note = if r.notes.is_empty() {
            String::new()
        } else {
            format!(" — {}", crate::util::text::code(&r.notes))
        };
        out.push(format!(
            "• {} — {} until {} ({}, ticket <#{}>, by <@{}>){note}",
            r.clan_tag,
            r.username_snapshot,
            r.reserved_until,
            r.status.as_str(),
            r.thread_id,
            r.recruiter_id
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(i: i64) -> Reservation {
        Reservation {
            id: i,
            thread_id: 9,
            ticket_user_id: 200 + i as u64,
            recruiter_id: 203,
            clan_tag: "C1CA".into(),
            reserved_until: chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            created_at: String::new(),
            updated_at: String::new(),
            status: ledger::Status::Active,
            notes: String::new(),
            username_snapshot: format!("recruit{i}"),
        }
    }

    #[test]
    fn long_lists_page_by_ten_and_every_hold_is_on_a_page() {
        let rows: Vec<Reservation> = (1..=23).map(hold).collect();
        let scope = Scope::Clan("C1CA".into());
        let first = page(&scope, &rows, 0);
        assert!(
            first
                .content
                .starts_with("**Active holds in C1CA** (10 of 23, page 1/3)"),
            "{}",
            first.content
        );
        assert_eq!(first.components.len(), 1);
        let last = page(&scope, &rows, 9);
        assert!(
            last.content.contains("page 3/3") && last.content.contains("recruit23"),
            "{}",
            last.content
        );
        let mut seen = 0;
        for n in 0..3 {
            seen += page(&scope, &rows, n).content.matches("• ").count();
        }
        assert_eq!(seen, 23);
        assert!(
            page(&scope, &rows[..3], 0).components.is_empty(),
            "one page, no buttons"
        );
        for s in [
            Scope::Clan("C1CA".into()),
            Scope::Recent,
            Scope::Ticket(42),
            Scope::All,
        ] {
            assert_eq!(Scope::decode(&s.encode()), Some(s));
        }
        assert_eq!(Scope::decode("x.1"), None);
    }

    #[test]
    fn a_list_names_each_hold_and_an_empty_one_says_none() {
        assert_eq!(render_list("Active holds", &[]), "**Active holds**: none.");
        let r = Reservation {
            notes: "lead `asked`".into(),
            username_snapshot: "Rue".into(),
            ..hold(1)
        };
        let text = render_list("Active holds in C1CA", &[r]);
        assert!(text.starts_with("**Active holds in C1CA** (1)"));
        assert!(
            text.contains("• C1CA — Rue until 2026-12-08 (active, ticket <#9>, by <@203>)"),
            "{text}"
        );
    }
}
