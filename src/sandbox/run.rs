//! `clanhall sandbox`: starts the sandbox, points the bot at it, and hands the terminal
//! to the console, a script, or nobody (`--serve`).

use std::time::Duration;

use clanhall_sandbox::{Sandbox, SandboxOptions, world};

use super::console;
use crate::app::App;
use crate::runtime::{Shutdown, ShutdownReason};
use crate::settings::{DiscordTunnel, Mode, Secret, Settings};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frontend {
    /// Interactive, on stdin/stdout.
    Console,
    /// A script file, or `-` for stdin; the transcript goes to stdout.
    Script(String),
    /// No console: run until SIGTERM (probes, load tests).
    Serve,
}

/// Exit code when the bot never became ready.
pub const EXIT_NOT_READY: i32 = 3;
/// How long the bot has to become ready in the sandbox.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(30);

/// `settings` pointed at `sandbox`: its token, its REST base, its guild. The token is
/// registered with the redactor, as a real one from the environment would be.
pub fn bot_settings(sandbox: &Sandbox, mut settings: Settings) -> Settings {
    crate::redact::register_secret(sandbox.token());
    settings.discord_token = Some(Secret::new(sandbox.token()));
    settings.discord_proxy_url = Some(sandbox.base_url().to_owned());
    settings.guild_ids = vec![world::GUILD_ID];
    settings.record_override("DISCORD_TOKEN", sandbox.token());
    settings.record_override("DISCORD_PROXY_URL", sandbox.base_url());
    settings.record_override("GUILD_IDS", &world::GUILD_ID.to_string());
    settings
}

fn read_script(source: &str) -> Result<String, String> {
    if source == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read the script from stdin: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("cannot read the script {source}: {e}"))
    }
}

/// Runs the sandbox and the bot until the frontend is done; returns the exit code. With
/// `rate_limiter`, the bot reaches the sandbox on the production REST path (see
/// [`with_tunnel`]).
pub(crate) async fn run(
    settings: Settings,
    frontend: Frontend,
    rate_limiter: bool,
    shutdown: Shutdown,
) -> i32 {
    run_with(
        settings,
        frontend,
        shutdown,
        SandboxOptions::default(),
        READY_WITHIN,
        |_| (),
        rate_limiter,
    )
    .await
}

/// `settings` on the production REST path to `sandbox`: serenity's rate limiter on,
/// `https://discord.com` URLs, carried by the sandbox's HTTPS tunnel.
pub fn with_tunnel(sandbox: &Sandbox, mut settings: Settings) -> Settings {
    let (proxy_url, ca_pem) = sandbox.tunnel();
    settings.discord_tunnel = Some(DiscordTunnel {
        proxy_url: proxy_url.to_owned(),
        ca_pem: ca_pem.to_owned(),
    });
    settings
}

/// [`run`] with sandbox options, how long the bot has to become ready, and a hook that
/// may prepare the sandbox (inject faults) before the bot connects.
pub async fn run_with(
    settings: Settings,
    frontend: Frontend,
    shutdown: Shutdown,
    opts: SandboxOptions,
    ready_within: Duration,
    prepare: impl FnOnce(&Sandbox),
    rate_limiter: bool,
) -> i32 {
    // Read the script first: a missing file should fail before anything starts.
    let script = match &frontend {
        Frontend::Script(src) => match read_script(src) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "sandbox script");
                eprintln!("clanhall sandbox: {e}");
                return 2;
            }
        },
        _ => None,
    };
    let opts = SandboxOptions {
        workbook_dir: opts.workbook_dir.or_else(|| {
            settings
                .workbook_dir
                .is_dir()
                .then(|| settings.workbook_dir.clone())
        }),
        ..opts
    };
    let sandbox = match Sandbox::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "sandbox failed to start");
            eprintln!("clanhall sandbox: {e}");
            return 1;
        }
    };
    prepare(&sandbox);
    let mut settings = bot_settings(&sandbox, settings);
    if rate_limiter {
        settings = with_tunnel(&sandbox, settings);
    }
    let app = match App::start(settings, Mode::Sandbox, shutdown.clone()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            sandbox.stop().await;
            return 1;
        }
    };
    let mut code_override = None;
    if frontend != Frontend::Serve {
        if !app.wait_ready(ready_within).await {
            let pending = crate::health::assess(&app.status).reasons.join("; ");
            eprintln!(
                "clanhall sandbox: the bot did not become ready within {}s ({pending})",
                ready_within.as_secs()
            );
            code_override = Some(EXIT_NOT_READY);
            shutdown.trigger(ShutdownReason::Fatal("the bot never became ready".into()));
        } else {
            match (&frontend, script) {
                (Frontend::Script(_), Some(text)) => {
                    let mut out = std::io::stdout();
                    let failures = console::run_script(
                        &sandbox,
                        app.handled.clone(),
                        &shutdown,
                        &text,
                        &mut out,
                    )
                    .await;
                    if failures > 0 {
                        code_override = Some(1);
                    }
                    shutdown.trigger(ShutdownReason::Finished(format!(
                        "script ran ({})",
                        crate::util::text::count(failures, "failed line")
                    )));
                }
                _ => {
                    console::run_console(&sandbox, app.handled.clone(), &shutdown).await;
                    shutdown.trigger(ShutdownReason::Finished("console closed".into()));
                }
            }
        }
    }
    let code = app.wait().await;
    sandbox.stop().await;
    if let (Frontend::Serve, Some(reason @ ShutdownReason::Reboot { .. })) =
        (&frontend, shutdown.reason())
    {
        // The console and scripts print it in their transcript.
        eprintln!("clanhall sandbox: {}", console::stopped_note(&reason));
    }
    code_override.unwrap_or(code)
}
