//! The bot on the sandbox for the benches that drive it through the real clients.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use clanhall::testing::{App, Mode, Settings, Shutdown};
use clanhall_sandbox::Sandbox;

/// Copies the sample workbook into `dir` (the bot writes its mirror tabs there).
pub(crate) fn copy_sample(dir: &Path) {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample");
    std::fs::create_dir_all(dir).unwrap();
    for f in std::fs::read_dir(sample).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
}

/// A sandbox serving the workbook in `wb`, Discord's rate limits off (the benches
/// measure the bot, not Discord's limits).
pub(crate) async fn sandbox(wb: &Path) -> clanhall_sandbox::Sandbox {
    clanhall_sandbox::Sandbox::start(clanhall_sandbox::SandboxOptions {
        workbook_dir: Some(wb.to_path_buf()),
        rate_limits: false,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Starts the bot on `sandbox` with its state in `dir`, the workbook `wb` and `extra`
/// settings, and waits until it is ready.
pub(crate) async fn start(
    sandbox: &Sandbox,
    dir: &Path,
    wb: &Path,
    extra: &[(&'static str, String)],
) -> (App, Shutdown) {
    let mut env: HashMap<&str, String> = HashMap::from([
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        ("DATA_DIR", dir.join("data").display().to_string()),
        ("WORKBOOK_DIR", wb.display().to_string()),
        (
            "TELEMETRY_LOG_PATH",
            dir.join("t.jsonl").display().to_string(),
        ),
        ("LOG_LEVEL", "warn".into()),
    ]);
    env.extend(extra.iter().cloned());
    let settings = Settings::from_lookup(&|k| env.get(k).cloned()).unwrap();
    let shutdown = Shutdown::new();
    let app = App::start(
        clanhall::testing::sandbox::bot_settings(sandbox, settings),
        Mode::Sandbox,
        shutdown.clone(),
    )
    .await
    .unwrap();
    assert!(
        app.wait_ready(Duration::from_secs(30)).await,
        "bot not ready"
    );
    (app, shutdown)
}
