//! What can go wrong in a command, and what the user is told: what to do, never
//! internals. Internal failures are logged with the trace id; the user gets the id to
//! quote to staff.

use super::tiers::Tier;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// Something the caller can fix (a bad argument, a missing clan). Shown as is.
    #[error("{0}")]
    User(String),
    #[error("needs the {needed} tier (caller is {have})")]
    Denied { needed: Tier, have: Tier },
    /// The command is allowed, one of its flags is not.
    #[error("{flag} needs the {needed} tier (caller is {have})")]
    FlagDenied {
        flag: &'static str,
        needed: Tier,
        have: Tier,
    },
    /// The command's feature toggle is off (or missing from FeatureToggles).
    #[error("this feature is switched off (FeatureToggles row {0})")]
    FeatureOff(&'static str),
    /// The channel is outside the bot access lists: the bot stays silent there.
    #[error("channel {0} is outside the bot access lists")]
    OutsideAccessLists(u64),
    /// Boxed: serenity's error is large, and every command returns this type.
    #[error("Discord API error: {0}")]
    Discord(Box<serenity::Error>),
    /// A bug or an outage on our side. Never shown.
    #[error("{0}")]
    Internal(String),
}

impl From<serenity::Error> for CommandError {
    fn from(e: serenity::Error) -> Self {
        CommandError::Discord(Box::new(e))
    }
}

impl From<super::outbound::SendError> for CommandError {
    fn from(e: super::outbound::SendError) -> Self {
        match e {
            super::outbound::SendError::Discord(e) => CommandError::Discord(Box::new(e)),
            other => CommandError::Internal(other.to_string()),
        }
    }
}

/// The state store failing is ours to fix, never the caller's: an internal error (the
/// reply carries a trace id, the log the cause).
impl From<crate::store::StoreError> for CommandError {
    fn from(e: crate::store::StoreError) -> Self {
        CommandError::Internal(format!("state store: {e}"))
    }
}

impl CommandError {
    pub(crate) fn user(msg: impl Into<String>) -> Self {
        CommandError::User(msg.into())
    }

    /// Whether this is the caller's doing (logged at info) or ours (logged as an error).
    pub(crate) fn is_internal(&self) -> bool {
        matches!(self, CommandError::Discord(_) | CommandError::Internal(_))
    }

    /// The reply for the user.
    pub(crate) fn public_message(&self, command: &str, trace: &str) -> String {
        match self {
            CommandError::User(m) => m.clone(),
            CommandError::Denied { needed, have } => format!(
                "🔒 `{command}` needs the **{needed}** tier; you are **{have}**. Ask an admin if you need access."
            ),
            CommandError::FlagDenied { flag, needed, have } => format!(
                "🔒 `{command} {flag}` needs the **{needed}** tier; you are **{have}**. Without `{flag}` the command is yours to run."
            ),
            CommandError::FeatureOff(t) => format!(
                "⏸️ `{command}` is switched off here. An admin turns it on with the FeatureToggles row `{t}` (enabled = TRUE), then `!ops reload`."
            ),
            // Never sent: the framework stays silent outside the lists.
            CommandError::OutsideAccessLists(_) => String::new(),
            CommandError::Discord(_) | CommandError::Internal(_) => format!(
                "⚠️ Something went wrong on my side and `{command}` did not finish. Try again in a moment; if it keeps failing, give staff this reference: `{trace}`."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_user() {
        let e = CommandError::Internal("sqlite: disk I/O error at /var/data/clanhall.db".into());
        let msg = e.public_message("!ops digest", "0123456789abcdef");
        assert!(!msg.contains("sqlite") && !msg.contains("/var/data"));
        assert!(msg.contains("0123456789abcdef"));
        let d = CommandError::Denied {
            needed: Tier::Staff,
            have: Tier::Member,
        };
        assert_eq!(
            d.public_message("!ops health", "x"),
            "🔒 `!ops health` needs the **staff** tier; you are **member**. Ask an admin if you need access."
        );
        let f = CommandError::FlagDenied {
            flag: "--reboot",
            needed: Tier::Admin,
            have: Tier::Staff,
        };
        assert_eq!(
            f.public_message("!ops reload", "x"),
            "🔒 `!ops reload --reboot` needs the **admin** tier; you are **staff**. Without `--reboot` the command is yours to run."
        );
    }
}
