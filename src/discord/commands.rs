//! Every command the bot registers, in one list, and the general ones that belong to no
//! feature (`ping`).

use super::errors::CommandError;
use super::reply::{self, Reply};
use super::tiers::Meta;
use super::{Command, Ctx};

/// Checks that the bot is alive and shows the gateway latency.
#[poise::command(prefix_command, slash_command, custom_data = Meta::member())]
pub async fn ping(ctx: Ctx<'_>) -> Result<(), CommandError> {
    let latency = ctx.ping().await;
    let text = if latency.is_zero() {
        "🏓 Pong! (no heartbeat measured yet)".to_owned()
    } else {
        format!("🏓 Pong! Gateway latency {} ms.", latency.as_millis())
    };
    reply::send(ctx, Reply::text(text)).await
}

/// Every command, with its metadata.
pub fn all() -> Vec<Command> {
    vec![
        ping(),
        super::help::help(),
        crate::ops::commands::ops(),
        crate::ops::commands::cfg(),
        crate::ops::perms::perm(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
