//! The tabs the bot reads, parsed by header name into typed rows (DESIGN.md §5): the
//! Clans roster, the WelcomeTemplates and the onboarding Questions. Parsing is pure and
//! fails with the tab and the missing headers named; the cache buckets hold the results
//! and the features read them from there.

pub(crate) mod clans;
pub(crate) mod questions;
pub(crate) mod templates;
