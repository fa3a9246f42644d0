//! What the bot says, as plain data: embeds built within Discord's limits ([`embed`]) and
//! alerts for staff ([`alert`]). No Discord client lives here, so infrastructure (the
//! cache, the config registry, the watchdog) can compose messages without depending on
//! the Discord layer; `discord` sends them.

pub(crate) mod alert;
pub(crate) mod embed;
