//! Onboarding: the questionnaire flows (and, with later features, tickets and the
//! wizard).

pub mod questions;
