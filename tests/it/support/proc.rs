//! The `clanhall` binary run as a child process with a clean environment, its stdout
//! read line by line (JSON logs) so tests can wait for a line and assert on what it said.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

pub(crate) struct Proc {
    pub child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

/// Environment for a child that must not touch anything outside `dir`.
pub(crate) fn base_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        ("DATA_DIR".into(), dir.join("data").display().to_string()),
        (
            "TELEMETRY_LOG_PATH".into(),
            dir.join("logs/telemetry.jsonl").display().to_string(),
        ),
        ("WORKBOOK_DIR".into(), dir.display().to_string()),
        ("LOG_LEVEL".into(), "debug".into()),
    ]
}

/// [`base_env`] with `extra` set (replacing what base_env set for the same key).
pub(crate) fn env_with(dir: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base_env(dir);
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

impl Proc {
    pub(crate) fn spawn(args: &[&str], env: &[(String, String)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clanhall"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn clanhall");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a JSON log line whose `msg` contains `needle`; returns it parsed.
    pub(crate) async fn wait_for_msg(&mut self, needle: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no log line with {needle:?} within {within:?}; saw:\n{}",
                        self.seen.join("\n")
                    )
                })
                .unwrap_or_else(|| {
                    panic!(
                        "stdout closed before {needle:?}; saw:\n{}",
                        self.seen.join("\n")
                    )
                });
            self.seen.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["msg"].as_str().is_some_and(|m| m.contains(needle))
            {
                return v;
            }
        }
    }

    /// Reads the rest of stdout (until the process closes it).
    pub(crate) async fn drain(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.lines.recv()).await {
            self.seen.push(line);
        }
    }

    /// Waits for the listening line and returns the port.
    pub(crate) async fn port(&mut self) -> u16 {
        let line = self
            .wait_for_msg("web server listening", Duration::from_secs(20))
            .await;
        line["port"].as_u64().expect("port field") as u16
    }

    pub(crate) fn signal(&self, sig: i32) {
        let pid = self.child.id().expect("child running") as i32;
        // SAFETY: sending a signal to our own child process.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    pub(crate) async fn exit_code(&mut self, within: Duration) -> i32 {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("process did not exit within {within:?}"))
            .expect("wait");
        self.drain(Duration::from_secs(2)).await;
        status.code().expect("exit code (not killed by a signal)")
    }

    pub(crate) fn parsed(&self) -> Vec<Value> {
        self.seen
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Runs `clanhall sandbox --script -` on `workbook` with `script` on stdin, in a fresh
/// data directory; returns the exit code, stdout (the transcript) and stderr.
pub(crate) fn sandbox_script(workbook: &Path, script: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clanhall"))
        .args(["sandbox", "--script", "-"])
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATA_DIR", dir.path().join("data"))
        .env("TELEMETRY_LOG_PATH", dir.path().join("t.jsonl"))
        .env("WORKBOOK_DIR", workbook)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
