//! The recruitment buttons and selects: panel clicks (`cm:` recruiters, `cs:` members),
//! the profile flip (`clan:`) and the report views (`rpt:`). Each finds its state in the
//! custom id or the store, never in memory.

use serenity::all::{
    Context as SerenityContext, CreateActionRow, CreateInputText, CreateModal, InputTextStyle,
};

use super::commands::{clan_named, edit, profile_reply};
use super::jobs::stored_figures;
use super::panel::{self, Kind, Step};
use super::report;
use super::{TOGGLE_PANELS, TOGGLE_PROFILE, TOGGLE_REPORTS};
use crate::discord::components::{Answer, Click, ComponentHandler, custom_id};
use crate::discord::reply::Reply;
use crate::discord::tiers::Meta;
use crate::discord::{BotData, CommandError};

/// Clicks on a `clanmatch` or `clansearch` panel.
pub(crate) struct PanelClicks(pub Kind);

#[serenity::async_trait]
impl ComponentHandler for PanelClicks {
    fn prefix(&self) -> &'static str {
        self.0.prefix()
    }

    fn meta(&self) -> Meta {
        match self.0 {
            Kind::Match => Meta::recruiter().toggle(TOGGLE_PANELS),
            Kind::Search => Meta::member().toggle(TOGGLE_PANELS),
        }
    }

    async fn handle(
        &self,
        sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let command = self.0.command();
        let Some((first, rest)) = click.args.split_first() else {
            return Ok(Answer::Acknowledge);
        };
        if first == "noop" {
            return Ok(Answer::Acknowledge);
        }
        let gone = || {
            Answer::Ephemeral(format!(
                "This panel is no longer known; type `!{command}` for a new one."
            ))
        };
        let Ok(id) = first.parse::<i64>() else {
            return Ok(gone());
        };
        let Some(p) = data.store.read(move |c| panel::get(c, id)).await? else {
            return Ok(gone());
        };
        if p.owner_id != click.user_id {
            return Ok(Answer::Ephemeral(format!(
                "Not your panel — type `!{command}` for your own."
            )));
        }
        let text = click
            .fields
            .iter()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.as_str());
        let list = data.clans()?;
        let now = data.status.clock.utc();
        match panel::click(&p, rest, &click.values, text) {
            Step::Nothing => Ok(Answer::Acknowledge),
            Step::AskText => {
                let Some(form) = custom_id(&[self.0.prefix(), first, "textm"]) else {
                    return Ok(Answer::Acknowledge);
                };
                let field = CreateInputText::new(
                    InputTextStyle::Short,
                    "Name or tag words (empty clears)",
                    "q",
                )
                .required(false)
                .max_length(100)
                .value(p.filters.text.clone());
                Ok(Answer::Modal(
                    CreateModal::new(form, "Search clans by name or tag")
                        .components(vec![CreateActionRow::InputText(field)]),
                ))
            }
            Step::Results(next) => {
                let saved = next.clone();
                data.store
                    .transaction(move |tx| panel::save(tx, &saved, now))
                    .await?;
                Ok(Answer::Update(panel::results_reply(&next, &list)))
            }
            Step::Filters(mut next) => {
                let results = panel::results_reply(&next, &list);
                let http = sctx.http.clone();
                let edited = match next.results_message_id {
                    Some(m) => edit(&http, next.channel_id, m, &results).await.is_ok(),
                    None => false,
                };
                if !edited {
                    // The results message is gone (deleted by someone): post it again.
                    let m = data
                        .outbound
                        .post(
                            serenity::all::ChannelId::new(next.channel_id),
                            results.to_message(),
                        )
                        .await?;
                    next.results_message_id = Some(m.id.get());
                }
                let saved = next.clone();
                data.store
                    .transaction(move |tx| panel::save(tx, &saved, now))
                    .await?;
                Ok(Answer::Update(panel::panel_reply(
                    &next,
                    &list,
                    &click.user_name,
                )))
            }
        }
    }
}

/// `clan:<TAG>:criteria|profile`: flips a profile card.
pub(crate) struct ProfileFlip;

#[serenity::async_trait]
impl ComponentHandler for ProfileFlip {
    fn prefix(&self) -> &'static str {
        "clan"
    }

    fn meta(&self) -> Meta {
        Meta::member().toggle(TOGGLE_PROFILE)
    }

    async fn handle(
        &self,
        _sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let tag = click.args.first().cloned().unwrap_or_default();
        let to_criteria = click.args.get(1).is_some_and(|a| a == "criteria");
        let list = data.clans()?;
        match clan_named(&list, &tag) {
            Ok(c) => Ok(Answer::Update(profile_reply(c, to_criteria))),
            Err(e) => Ok(Answer::Ephemeral(format!(
                "{} (The Clans tab no longer lists it.)",
                e
            ))),
        }
    }
}

/// `rpt:<id>:summary|brackets`: switches a posted report's view.
pub(crate) struct ReportViews;

#[serenity::async_trait]
impl ComponentHandler for ReportViews {
    fn prefix(&self) -> &'static str {
        "rpt"
    }

    fn meta(&self) -> Meta {
        Meta::member().toggle(TOGGLE_REPORTS)
    }

    async fn handle(
        &self,
        _sctx: &SerenityContext,
        data: &BotData,
        click: Click,
    ) -> Result<Answer, CommandError> {
        let Some(id) = click.args.first().and_then(|a| a.parse::<i64>().ok()) else {
            return Ok(Answer::Ephemeral(
                "This button does not name a report; `!report recruiters` posts a fresh one."
                    .into(),
            ));
        };
        let view = report::View::parse(click.args.get(1).map(String::as_str).unwrap_or_default());
        let Some(f) = data.store.read(move |c| stored_figures(c, id)).await? else {
            return Ok(Answer::Ephemeral(
                "This report's figures are no longer stored; `!report recruiters` posts a fresh one.".into(),
            ));
        };
        let embed = match view {
            report::View::Summary => report::summary(&f),
            report::View::Brackets => report::brackets(&f),
        };
        let cfg = data.config.get();
        let mut reply = Reply::embed(embed);
        reply.content = report::headline(&f.day, &cfg.roles.recruiter);
        reply.components = report::buttons(id, view);
        Ok(Answer::Update(reply))
    }
}
