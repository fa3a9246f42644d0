//! Operations: the `ops`, `cfg` and `perm` commands, the ops HTTP API, retention.

pub(crate) mod api;
pub(crate) mod commands;
pub(crate) mod health_view;
pub(crate) mod jobs_view;
pub(crate) mod perms;
pub(crate) mod refresh;
pub(crate) mod reload;
pub(crate) mod retention;
