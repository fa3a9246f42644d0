//! Onboarding: welcome tickets opened by Ticket Tool, the questionnaire wizard run from
//! the Questions tab inside the ticket thread, and the summary recruiters get
//! (DESIGN.md §5, §10.7–10.9; docs/onboarding.md).
//!
//! - `tickets` (pure): which thread is a ticket, its number and flow, its subject.
//! - `rules/` (pure): the visibility and navigation DSL.
//! - `flow` (pure): a flow compiled from the tab; visibility to a fixed point, the path.
//! - `validate` (pure): answers checked against their question, with precise hints.
//! - `wizard` (pure): session + flow + action → new session + what the card shows.
//! - `card`, `summary` (pure): what people see.
//! - `tables`: the queries of `tickets` and `onboarding_sessions`.
//! - `apply`: transactions and the Discord side effects.
//! - `events`, `components`, `commands`: how the gateway, clicks and commands reach it.
//! - `mirror`: the WelcomeTickets and OnboardingSessions tabs; `check`: `ops onb check`.

pub(crate) mod apply;
pub(crate) mod card;
pub(crate) mod check;
pub(crate) mod commands;
pub(crate) mod components;
pub(crate) mod events;
pub(crate) mod flow;
pub(crate) mod mirror;
pub(crate) mod rules;
pub(crate) mod summary;
pub(crate) mod tables;
pub(crate) mod tickets;
pub(crate) mod validate;
pub(crate) mod wizard;
