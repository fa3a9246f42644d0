//! Every command the bot registers, in one list, with the feature state those commands
//! read from `BotData::features` and the channel gate the dispatcher asks. A new feature
//! adds its commands and its state here.

use std::sync::Arc;

use crate::discord::{ChannelGate, Command, Features};
use crate::message::alert::{Alert, AlertSink, Severity};
use crate::runtime::RuntimeStatus;
use crate::settings::Settings;

/// The commands and what they need, ready for the Discord client.
pub(crate) struct Wired {
    pub commands: Vec<Command>,
    pub features: Features,
    pub gate: Arc<dyn ChannelGate>,
}

/// Every command, with its metadata.
pub(crate) fn all() -> Vec<Command> {
    vec![
        crate::discord::commands::ping(),
        crate::discord::help::help(),
        crate::ops::commands::ops(),
        crate::ops::commands::cfg(),
        crate::ops::perms::perm(),
        crate::placement::commands::reserve(),
        crate::placement::commands::reservations(),
        crate::onboarding::commands::onb(),
        crate::recruitment::commands::clanmatch(),
        crate::recruitment::commands::clansearch(),
        crate::recruitment::commands::clan(),
        crate::recruitment::commands::welcome(),
        crate::recruitment::commands::welcome_refresh(),
        crate::recruitment::commands::report(),
    ]
}

/// Every component handler (buttons, selects), by the custom-id prefix it owns.
pub(crate) fn components() -> crate::discord::components::Components {
    crate::discord::components::Components::default()
        .with(Arc::new(crate::placement::commands::Pages))
        .with(Arc::new(crate::onboarding::components::Wizard))
        .with(Arc::new(crate::onboarding::components::SummaryRetry))
        .with(Arc::new(crate::recruitment::components::PanelClicks(
            crate::recruitment::panel::Kind::Match,
        )))
        .with(Arc::new(crate::recruitment::components::PanelClicks(
            crate::recruitment::panel::Kind::Search,
        )))
        .with(Arc::new(crate::recruitment::components::ProfileFlip))
        .with(Arc::new(crate::recruitment::components::ReportViews))
}

/// Every gateway listener (tickets, greetings, typed answers, renames).
pub(crate) fn listeners() -> crate::discord::events::Listeners {
    crate::discord::events::Listeners::default().with(Arc::new(crate::onboarding::events::Watcher))
}

/// The commands and the feature state they need: the bot access lists from `DATA_DIR`
/// (also the dispatcher's gate, and a health component) and the `ops refresh all`
/// cooldowns. Unreadable access lists are announced to the log channel.
pub(crate) async fn wire(
    settings: &Settings,
    status: &RuntimeStatus,
    alerts: &dyn AlertSink,
    holds: Arc<crate::placement::state::Holds>,
) -> Wired {
    let access = Arc::new(crate::ops::perms::Access::load(&settings.data_dir).await);
    status.add_component(access.clone());
    if let Some(why) = access.unreadable() {
        alerts
            .send(Alert::new(
                Severity::Critical,
                "access-lists:unreadable",
                "Bot access lists unreadable",
                format!(
                    "{why}. Until an admin writes new lists with `!perm bot allow|deny|remove …`, the bot answers only ops, perm and cfg."
                ),
            ))
            .await;
    }
    let features = Features::default()
        .with(access.clone())
        .with(Arc::new(crate::ops::refresh::Cooldowns::default()))
        .with(holds)
        .with(Arc::new(components()))
        .with(Arc::new(crate::onboarding::apply::Onboarding::default()))
        .with(Arc::new(listeners()));
    Wired {
        commands: all(),
        features,
        gate: access,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::tiers::Meta;

    #[test]
    fn every_command_declares_its_tier() {
        fn walk(cmds: &[Command]) {
            for c in cmds {
                assert!(
                    c.custom_data.downcast_ref::<Meta>().is_some(),
                    "{} has no Meta (custom_data)",
                    c.name
                );
                assert!(
                    c.description.is_some(),
                    "{} has no description (doc comment)",
                    c.name
                );
                walk(&c.subcommands);
            }
        }
        walk(&all());
    }

    #[test]
    fn commands_work_as_prefix_and_slash() {
        fn walk(cmds: &[Command]) {
            for c in cmds {
                assert!(
                    c.prefix_action.is_some() || !c.subcommands.is_empty(),
                    "{} has no prefix form",
                    c.name
                );
                assert!(
                    c.slash_action.is_some() || !c.subcommands.is_empty(),
                    "{} has no slash form",
                    c.name
                );
                walk(&c.subcommands);
            }
        }
        walk(&all());
    }

    #[test]
    fn platform_commands_are_the_ones_that_repair_access() {
        let platform: Vec<String> = all()
            .iter()
            .filter(|c| crate::discord::tiers::meta_of(c).platform)
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(platform, ["ops", "cfg", "perm"]);
    }
}
