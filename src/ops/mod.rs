//! Operations: alerts to staff and the `ops` / `cfg` commands.

pub mod alerts;
pub mod commands;
pub mod health_view;
