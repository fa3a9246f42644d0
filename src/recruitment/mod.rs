//! Recruitment: the clan roster and welcome templates (and, with later features, clan
//! matching and welcomes).

pub mod clans;
pub mod templates;
