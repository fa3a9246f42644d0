//! # clanhall
//!
//! A Discord bot that runs a cluster of gaming clans: recruitment, onboarding, seat
//! reservations and placement, with operations built in.
//!
//! How it fits together (DESIGN.md §2):
//! - [`settings`] parses the environment once; [`app`] runs the startup phases in order
//!   and owns every task's lifecycle through one shutdown token ([`runtime::Shutdown`]).
//! - [`runtime`] is the process's view of itself (phases, liveness, gateway, components);
//!   [`health`] serves it over HTTP to Render's probes and operators; [`watchdog`] acts
//!   on it when the gateway stalls, within a restart budget that survives restarts.
//! - [`telemetry`] renders logs (JSON lines with trace ids) and metrics; [`redact`] is the
//!   one function every sink passes text through so secrets never print.
//! - [`atomic_file`] is how state files reach the disk: whole or not at all.
//! - [`ops`] carries alerts to staff.

pub mod app;
pub mod atomic_file;
pub mod cache;
pub mod check;
pub mod config;
pub mod discord;
pub mod health;
pub mod message;
pub mod ops;
pub mod redact;
pub mod runtime;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod scheduler;
pub mod settings;
pub mod sheets;
pub mod store;
pub mod tabs;
pub mod telemetry;
pub mod util;
pub mod watchdog;

/// The version of this build, shown by `--version`, `ops health` and `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
