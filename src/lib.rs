//! # clanhall
//!
//! A Discord bot that runs a cluster of gaming clans: recruitment, onboarding, seat
//! reservations and placement, with operations built in. Each domain feature is its own
//! module (`docs/architecture.md`).
//!
//! How it fits together (DESIGN.md §2), from the leaves up; no module depends on one
//! above it, and `tests/it/architecture.rs` fails when a cycle between top-level
//! modules comes back:
//! - Leaves: `redact` (the one function every sink passes text through, so secrets
//!   never print), `atomic_file` (state files reach the disk whole or not at all),
//!   `util` (durations, Discord ids), `message` (embeds within Discord's limits, alerts
//!   for staff), `settings` (the environment, parsed once).
//! - The process: `runtime` (phases, liveness, gateway, the clock, component health),
//!   `telemetry` (JSON logs with trace ids, JSONL events, Prometheus metrics).
//! - State and data: `store` (SQLite, migrations, transactions), `sheets` (Google or
//!   local workbooks, read by header), `tabs` (what each tab means), `config` (the
//!   Config and FeatureToggles tabs as one snapshot), `cache` (buckets refreshed on a
//!   schedule), `scheduler` (every periodic job).
//! - Serving: `health` (the HTTP probes), `watchdog` (restarts on a stalled gateway,
//!   within a budget), `discord` (poise: dispatch, tiers, replies; knows no feature).
//! - Features: `ops` (ops/cfg/perm commands, the ops API, retention), `placement` (seat
//!   reservations: the ledger, `reserve`/`reservations`, the sheet mirror's flush and the
//!   auto-release job), `onboarding` (welcome tickets and the questionnaire),
//!   `recruitment` (`clanmatch`/`clansearch` panels, clan profiles, welcomes, the daily
//!   recruiter report). Each feature owns its commands, decisions, state and queries.
//! - Wiring: `app` (startup phases; the lists of commands and jobs), `cli` (the command
//!   line), `check` (`clanhall check`) and, with the `sandbox` feature, `sandbox` (the
//!   console and scripts over the `clanhall-sandbox` crate).
//!
//! Everything is crate-private except the command line ([`cli::main`]) and [`testing`],
//! the surface the integration tests and benchmarks drive.

mod app;
mod atomic_file;
mod cache;
mod check;
pub mod cli;
mod config;
mod discord;
mod health;
mod message;
mod onboarding;
mod ops;
mod placement;
mod recruitment;
mod redact;
mod runtime;
#[cfg(feature = "sandbox")]
mod sandbox;
mod scheduler;
mod settings;
mod sheets;
mod store;
mod tabs;
mod telemetry;
mod util;
mod watchdog;

/// The version of this build, shown by `--version`, `ops health` and `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the integration tests (`tests/it`) and the benchmarks (`benches/`) drive: the
/// real app and the parts they build on their own (the health router, the log capture),
/// re-exported here deliberately. Not a stable API.
pub mod testing {
    pub use crate::app::{App, PHASES};
    pub use crate::cache::{BucketId, RefreshOutcome, RefreshTrigger};
    pub use crate::config::toggles::KNOWN as KNOWN_TOGGLES;
    pub use crate::discord::{
        http as discord_http, http_for as discord_http_for, intents as discord_intents,
    };
    pub use crate::message::alert::{Alert, AlertSink, Severity};
    pub use crate::message::embed::Embed;
    pub use crate::redact::register_secret;
    pub use crate::runtime::gateway::{GatewayStage, GatewayTracker};
    pub use crate::runtime::{
        Clock, ComponentCheck, ComponentHealth, Level, ManualClock, RuntimeStatus, Shutdown,
        ShutdownReason, SystemClock,
    };
    pub use crate::settings::{
        DiscordRoute, DiscordTunnel, LogFormat, Mode, Secret, Settings, WatchdogSettings,
        log_filter_directive, parse_ip_or_cidr,
    };
    pub use crate::sheets::local::read_csv;
    pub use crate::sheets::table::Table;
    pub use crate::tabs::clans::parse as parse_clans;
    pub use crate::telemetry::metrics::Metrics;

    /// The health server, built directly by the health tests and the `/healthz` bench.
    pub mod onboarding {
        /// A synthetic flow's path computation (the rules benchmark).
        pub fn synthetic_path(n: usize) -> Box<dyn Fn() -> usize + Send + Sync> {
            crate::onboarding::flow::synthetic_path(n)
        }
    }

    pub mod recruitment {
        /// A match over `table` with every filter set (CB, Hydra and Chimera at least
        /// Hard, CvC no, Siege any, playstyle Competitive, open rosters, a text word);
        /// returns how many clans matched (the matching benchmark).
        pub fn match_all_filters(
            list: &crate::tabs::clans::ClanList,
        ) -> Box<dyn Fn() -> usize + '_> {
            use crate::recruitment::matching::{Choice, Filters, Roster, matches};
            use crate::tabs::clans::Tier;
            let filters = Filters {
                cb: Some(Tier::Hard),
                hydra: Some(Tier::Hard),
                chimera: Some(Tier::Hard),
                cvc: Choice::No,
                siege: Choice::Any,
                playstyle: Some("Competitive".into()),
                roster: Roster::Open,
                text: "clan".into(),
            };
            Box::new(move || matches(list, &filters).len())
        }
    }

    pub mod health {
        pub use crate::health::access::AccessPolicy;
        pub use crate::health::assess::assess;
        pub use crate::health::{BuildInfo, HealthContext, bind, router, serve};
    }

    /// Log capture and sinks.
    pub mod logging {
        pub use crate::telemetry::logging::{
            CaptureSink, LineSink, capture_subscriber, init, init_with, install_panic_hook,
        };
    }

    /// `clanhall sandbox` as the script tests run it, and the bot pointed at a sandbox.
    #[cfg(feature = "sandbox")]
    pub mod sandbox {
        pub use crate::sandbox::run::{
            EXIT_NOT_READY, Frontend, bot_settings, run_with, with_tunnel,
        };
    }
}
