//! Seat reservations (issue 12): a recruiter holds a seat in a clan for a recruit while
//! the ticket is open. The ledger in SQLite is the source of truth (`ledger`); what a
//! command asks is decided purely (`decide`), then applied in one transaction with its
//! audit row and outbox entries (`apply`); `availability` computes the Clans tab's
//! bot-written cells; `commands` is the Discord surface.

pub(crate) mod apply;
pub(crate) mod availability;
pub(crate) mod commands;
pub(crate) mod decide;
pub(crate) mod jobs;
pub(crate) mod ledger;
pub(crate) mod mirror;
pub(crate) mod restore;
pub(crate) mod state;
