//! Recruitment: matching recruits to clans (`clanmatch` for recruiters, `clansearch` for
//! members), clan profiles (`clan <tag>`), welcome messages from the WelcomeTemplates tab
//! and the daily recruiter report.
//!
//! Pure parts: `matching` (filters), `cards` (embeds), `panel::click` (what a panel
//! click changes), `welcome::render`, `report::figures`. The commands and component
//! handlers apply them, and `jobs` posts the report (job and command); panel and report state lives in SQLite (`recruitment_panels`,
//! `recruiter_reports`), so every button works after a restart.

pub(crate) mod cards;
pub(crate) mod commands;
pub(crate) mod components;
pub(crate) mod jobs;
pub(crate) mod matching;
pub(crate) mod panel;
pub(crate) mod report;
pub(crate) mod welcome;

pub(crate) const TOGGLE_PANELS: &str = "recruitment_panels";
pub(crate) const TOGGLE_PROFILE: &str = "clan_profile";
pub(crate) const TOGGLE_WELCOME: &str = "recruitment_welcome";
pub(crate) const TOGGLE_REPORTS: &str = "recruitment_reports";
