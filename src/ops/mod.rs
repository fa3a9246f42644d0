//! Operations: alerts to staff and (with later features) the `ops` commands.

pub mod alerts;
