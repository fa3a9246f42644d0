//! `onb resume [@member]` and `onb bind @member` (staff). `ops onb check` lives with the
//! ops commands and calls [`super::check`].

use serde_json::json;
use serenity::all::User;

use super::apply::{self, Deps, Onboarding};
use super::events::offer_panel;
use super::tables::{self, SessionStatus};
use super::wizard::Action;
use crate::discord::Ctx;
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;

/// Onboarding tickets and questionnaires (staff).
#[poise::command(
    prefix_command,
    slash_command,
    subcommands("resume", "bind"),
    subcommand_required,
    custom_data = Meta::staff()
)]
pub(crate) async fn onb(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

async fn display_name(ctx: Ctx<'_>, u: &User) -> String {
    if let Some(g) = ctx.guild_id()
        && let Ok(m) = g.member(ctx, u.id).await
    {
        return m.display_name().to_owned();
    }
    u.global_name.clone().unwrap_or_else(|| u.name.clone())
}

/// Re-posts the questionnaire card at the saved step, in the member's ticket or here.
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff().toggle("onboarding_wizard"))]
pub(crate) async fn resume(
    ctx: Ctx<'_>,
    #[description = "Whose questionnaire (default: this ticket's)"] member: Option<User>,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let here = ctx.channel_id().get();
    let who = member.as_ref().map(|u| u.id.get());
    let ticket = data
        .store
        .read(move |c| match who {
            Some(u) => tables::open_ticket_of(c, u),
            None => tables::ticket(c, here),
        })
        .await?;
    let Some(ticket) = ticket else {
        return Err(CommandError::user(match &member {
            Some(u) => format!("{} has no open ticket the bot knows. Run `!onb resume` inside their ticket thread instead.", crate::util::text::code(&u.name)),
            None => "This is not a ticket thread. Run it in the ticket, or name the member: `!onb resume @member`.".into(),
        }));
    };
    let thread = ticket.thread_id;
    let session = data.store.read(move |c| tables::session(c, thread)).await?;
    let Some(session) = session else {
        return Err(CommandError::user(format!(
            "No questionnaire has started in <#{thread}> yet: the applicant starts it with **Open questions** on the panel."
        )));
    };
    if session.status == SessionStatus::Completed {
        return reply::send(
            ctx,
            Reply::text(format!(
                "The questions in <#{thread}> are done; the summary is in the thread."
            )),
        )
        .await;
    }
    let flows = data.features.get::<Onboarding>()?.flows(data);
    let Some(flow) = flows.get(&ticket.flow).cloned() else {
        return Err(CommandError::user(format!(
            "The Questions tab has no `{}` questions right now; `!ops onb check` says what is wrong.",
            ticket.flow
        )));
    };
    let out = apply::act(&data.store, flow.clone(), thread, Action::Show)
        .await?
        .ok_or_else(|| CommandError::Internal("the session vanished".into()))?;
    let deps = Deps::of(data, &ctx.serenity_context().http);
    let card = apply::card_for(&flow, &out, &ticket.subject_name);
    let posted = apply::post_card(&deps, thread, card).await;
    deps.emit("resumed", json!({"thread_id": thread.to_string(), "step": out.session.step, "by": ctx.author().id.get().to_string()}));
    match posted {
        Some(_) => reply::send(
            ctx,
            Reply::text(format!(
                "Re-posted {}'s questions in <#{thread}> at question {}/{} ({} answered so far).",
                ticket.subject_name,
                out.view.position,
                out.view.total,
                out.session.answers.len()
            )),
        )
        .await,
        None => Err(CommandError::user(format!(
            "Discord refused the card in <#{thread}>; try again in a minute."
        ))),
    }
}

/// Sets a ticket's applicant when Ticket Tool's greeting named nobody.
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff().toggle("welcome_enabled"))]
pub(crate) async fn bind(
    ctx: Ctx<'_>,
    #[description = "The applicant"] member: User,
) -> Result<(), CommandError> {
    let data = ctx.data();
    let thread = ctx.channel_id().get();
    let (ticket, session) = data
        .store
        .read(move |c| Ok((tables::ticket(c, thread)?, tables::session(c, thread)?)))
        .await?;
    let Some(ticket) = ticket else {
        return Err(CommandError::user(
            "Run `!onb bind @member` inside the ticket thread.",
        ));
    };
    if member.bot {
        return Err(CommandError::user(
            "A bot cannot be a ticket's applicant; name the member the ticket is for.",
        ));
    }
    if let (Some(current), Some(_)) = (ticket.subject_id, &session)
        && current != member.id.get()
    {
        return Err(CommandError::user(format!(
            "Ticket {} belongs to {} and their questions have started; it cannot change hands. Open a new ticket for the other member.",
            ticket.number, ticket.subject_name
        )));
    }
    let name = display_name(ctx, &member).await;
    let actor = format!("{} ({})", ctx.author().name, ctx.author().id);
    apply::bind(
        &data.store,
        thread,
        member.id.get(),
        name.clone(),
        actor,
        false,
    )
    .await?;
    let deps = Deps::of(data, &ctx.serenity_context().http);
    deps.emit("subject_bound", json!({"thread_id": thread.to_string(), "user_id": member.id.get().to_string(), "by": "staff"}));
    offer_panel(data, &deps, thread).await;
    reply::send(
        ctx,
        Reply::text(format!(
            "Ticket {} is {name}'s now; their questions panel is in the thread.",
            ticket.number
        )),
    )
    .await
}
