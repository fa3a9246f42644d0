//! The command line: `run`, `sandbox`, `check`, `report`, `export` (clap), each handed
//! to the part of the crate that does it. The `clanhall` binary is [`main`] and nothing
//! else.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::VERSION;
use crate::app::App;
use crate::runtime::{Shutdown, shutdown::spawn_signal_listener};
#[cfg(feature = "sandbox")]
use crate::sandbox::{self, run::Frontend};
use crate::settings::{self, Mode, Problem, Settings};
use crate::telemetry::logging;

const EXAMPLES: &str = "\
Examples:
  clanhall sandbox                  Try the bot locally against the built-in Discord sandbox
  clanhall sandbox --script demo.txt   Run `user: text` lines and print the transcript
  clanhall sandbox --serve          Sandbox without a console, until SIGTERM
  clanhall check                    Validate the environment and every workbook tab; prints JSON
  clanhall check --for sandbox      Validate for the sandbox (no Discord token needed)
  clanhall report retention         Print the latest retention report from DATA_DIR
  clanhall restore                  Rebuild an empty database's reservations from the sheet
  clanhall export --since 2026-11-01 --out exports/
                                    Telemetry events as one NDJSON file per event type
  DISCORD_TOKEN=... clanhall run    Run in production

Configuration comes from environment variables; see .env.example and docs/configuration.md.";

#[derive(Debug, Parser)]
#[command(name = "clanhall", version, about = "Discord bot for a cluster of gaming clans", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run in production: connect to Discord with DISCORD_TOKEN.
    Run,
    /// Run locally against the built-in sandbox (no Discord account needed).
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Validate the settings (and the workbook) and print one JSON summary; exit 1 on problems.
    Check(CheckArgs),
    /// Print a stored report.
    #[command(subcommand)]
    Report(ReportKind),
    /// Write the telemetry events since a date as one NDJSON file per event type.
    Export(ExportArgs),
    /// Rebuild the reservations of an empty database from the Reservations tab; prints
    /// what was imported and every row skipped, with why.
    Restore,
}

#[derive(Debug, Subcommand)]
enum ReportKind {
    /// The latest retention report (written daily by the retention:sweep job).
    Retention {
        /// A day's report instead of the latest (YYYY-MM-DD).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Events at or after this time: YYYY-MM-DD (UTC midnight) or RFC 3339.
    #[arg(long)]
    since: String,
    /// Directory for the NDJSON files (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
struct SandboxArgs {
    /// Run a script (`user: text` per line; `-` reads stdin) and print the transcript.
    #[arg(long, value_name = "FILE", conflicts_with = "serve")]
    script: Option<String>,
    /// No console: serve until SIGTERM (for probes and load tests).
    #[arg(long)]
    serve: bool,
    /// Reach the sandbox on the production REST path: serenity's own rate limiter on,
    /// calling https://discord.com through the sandbox's HTTPS tunnel (instead of the
    /// sandbox as a REST proxy with the limiter off).
    #[arg(long)]
    rate_limiter: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Which command the settings are checked for.
    #[arg(long = "for", value_enum, default_value = "run")]
    mode: CheckMode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CheckMode {
    Run,
    Sandbox,
}

/// Exit code for settings that do not parse.
const EXIT_INVALID_SETTINGS: u8 = 2;

/// Runs the command line; the exit code says how it went (see the README).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    settings::register_env_secrets(&|k| std::env::var(k).ok());
    match cli.command {
        Command::Run => serve(Launch::Bot),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => serve(Launch::Sandbox(
            match (args.script, args.serve) {
                (Some(s), _) => Frontend::Script(s),
                (None, true) => Frontend::Serve,
                (None, false) => Frontend::Console,
            },
            args.rate_limiter,
        )),
        Command::Report(ReportKind::Retention { day }) => report_retention(day),
        Command::Export(args) => export(args),
        Command::Restore => restore(),
        Command::Check(args) => check(match args.mode {
            CheckMode::Run => Mode::Run,
            CheckMode::Sandbox => Mode::Sandbox,
        }),
    }
}

fn report_problems(problems: &[Problem]) {
    for p in problems {
        let value = p.value.as_deref().unwrap_or("(unset)");
        tracing::error!(key = %p.key, value, expected = %p.expected, "invalid setting: {p}");
    }
    tracing::error!(
        problems = problems.len(),
        "startup aborted: fix the settings above and start again"
    );
}

/// What `serve` starts: the bot on its settings, or the sandbox with the bot pointed at it.
enum Launch {
    Bot,
    #[cfg(feature = "sandbox")]
    /// The frontend, and whether the bot keeps serenity's rate limiter on.
    Sandbox(Frontend, bool),
}

impl Launch {
    fn mode(&self) -> Mode {
        match self {
            Launch::Bot => Mode::Run,
            #[cfg(feature = "sandbox")]
            Launch::Sandbox(..) => Mode::Sandbox,
        }
    }

    /// The console and script transcripts own stdout.
    fn interactive(&self) -> bool {
        match self {
            Launch::Bot => false,
            #[cfg(feature = "sandbox")]
            Launch::Sandbox(f, _) => matches!(f, Frontend::Console | Frontend::Script(_)),
        }
    }
}

fn serve(launch: Launch) -> ExitCode {
    let mode = launch.mode();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            let _ = logging::init("info", settings::LogFormat::Json);
            report_problems(&e.problems);
            return ExitCode::from(EXIT_INVALID_SETTINGS);
        }
    };
    // The console and script transcripts own stdout: logs go to stderr, and only
    // warnings unless LOG_LEVEL was set.
    let interactive = launch.interactive();
    let explicit_level = settings
        .views()
        .get("LOG_LEVEL")
        .is_some_and(|v| v.source == settings::Source::Env);
    let filter = if interactive && !explicit_level {
        settings::log_filter_directive("warn")
    } else {
        settings.log_filter()
    };
    let init = if interactive {
        logging::init_with(&filter, settings.log_format, logging::StderrSink)
    } else {
        logging::init(&filter, settings.log_format)
    };
    if let Err(e) = init {
        eprintln!("clanhall: {e}");
        return ExitCode::from(EXIT_INVALID_SETTINGS);
    }
    let problems = settings.problems_for(mode);
    if !problems.is_empty() {
        report_problems(&problems);
        return ExitCode::from(EXIT_INVALID_SETTINGS);
    }
    tracing::info!(version = VERSION, mode = ?mode, env = %settings.env_name, pid = std::process::id(), "clanhall starting");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let shutdown = Shutdown::new();
        if let Err(e) = spawn_signal_listener(shutdown.clone()) {
            tracing::error!(error = %e, "cannot listen for signals");
            return 1;
        }
        #[cfg(feature = "sandbox")]
        if let Launch::Sandbox(frontend, rate_limiter) = launch {
            return sandbox::run::run(settings, frontend, rate_limiter, shutdown).await;
        }
        match App::start(settings, mode, shutdown).await {
            Ok(app) => app.wait().await,
            Err(e) => {
                tracing::error!(error = %e, "startup failed");
                1
            }
        }
    });
    // Tasks that ignored cancellation must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn check(mode: Mode) -> ExitCode {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut summary = crate::check::run(mode, &lookup);
    // With usable settings, read the workbook too and validate every tab's headers.
    if let Ok(settings) = Settings::from_lookup(&lookup) {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => {
                summary = rt.block_on(crate::check::check_workbook(summary, &settings));
            }
            Err(e) => eprintln!("clanhall: cannot start the runtime to read the workbook: {e}"),
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&summary.json).unwrap_or_default()
    );
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Settings for the offline subcommands; invalid ones are printed to stderr.
fn offline_settings() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        for p in &e.problems {
            eprintln!("clanhall: {p}");
        }
        ExitCode::from(EXIT_INVALID_SETTINGS)
    })
}

/// An offline subcommand's result: the JSON on stdout (exit 0), or the error on stderr
/// (exit 1).
fn print_outcome<T: serde::Serialize, E: std::fmt::Display>(r: Result<T, E>) -> ExitCode {
    match r {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clanhall: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report_retention(day: Option<chrono::NaiveDate>) -> ExitCode {
    let settings = match offline_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    print_outcome(crate::ops::retention::read_report(&settings.data_dir, day))
}

fn restore() -> ExitCode {
    let settings = match offline_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clanhall: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_outcome(rt.block_on(crate::placement::restore::run(&settings)))
}

fn export(args: ExportArgs) -> ExitCode {
    let settings = match offline_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let since = match crate::telemetry::export::parse_since(&args.since) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clanhall: {e}");
            return ExitCode::from(EXIT_INVALID_SETTINGS);
        }
    };
    print_outcome(crate::telemetry::export::export(
        &settings.telemetry_log_path,
        since,
        &args.out,
    ))
}
