//! Operations: alerts to staff and the `ops` / `cfg` commands.

pub mod alerts;
pub mod api;
pub mod commands;
pub mod health_view;
pub mod jobs_view;
pub mod perms;
pub mod reload;
pub mod retention;
