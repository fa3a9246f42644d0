//! Operations: the `ops`, `cfg` and `perm` commands, the ops HTTP API, retention.

pub mod api;
pub mod commands;
pub mod health_view;
pub mod jobs_view;
pub mod perms;
pub mod refresh;
pub mod reload;
pub mod retention;
