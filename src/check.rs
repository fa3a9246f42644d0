//! `clanhall check`: validates everything that can be validated without starting, and
//! prints one JSON summary naming every problem, so a deploy can be checked before it
//! goes out (and CI can check `.env` files).

use std::path::Path;

use serde_json::{Value, json};

use crate::settings::{Mode, Problem, Settings};

pub struct Summary {
    pub ok: bool,
    pub json: Value,
}

/// Whether files can be created in `dir`, or (when it does not exist yet) in the nearest
/// existing parent, where the bot would create it. Leaves nothing behind.
fn writable(dir: &Path) -> Result<(), String> {
    let mut probe_dir = dir;
    while !probe_dir.exists() {
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p,
            _ => {
                probe_dir = Path::new(".");
                break;
            }
        }
    }
    if !probe_dir.is_dir() {
        return Err(format!("{} is not a directory", probe_dir.display()));
    }
    let probe = probe_dir.join(format!(".clanhall-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("cannot write in {}: {e}", probe_dir.display()))
}

fn problem(key: &str, value: &Path, expected: String) -> Problem {
    Problem {
        key: key.to_owned(),
        value: Some(value.display().to_string()),
        expected,
    }
}

pub fn run(mode: Mode, lookup: &dyn Fn(&str) -> Option<String>) -> Summary {
    let (problems, settings) = match Settings::from_lookup(lookup) {
        Ok(s) => {
            let mut problems = s.problems_for(mode);
            if let Err(e) = writable(&s.data_dir) {
                problems.push(problem(
                    "DATA_DIR",
                    &s.data_dir,
                    format!("a writable directory ({e})"),
                ));
            }
            if let Some(parent) = s
                .telemetry_log_path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                if let Err(e) = writable(parent) {
                    problems.push(problem(
                        "TELEMETRY_LOG_PATH",
                        &s.telemetry_log_path,
                        format!("a path in a writable directory ({e})"),
                    ));
                }
            }
            if s.google_service_account.is_none() && !s.workbook_dir.exists() {
                problems.push(problem(
                    "WORKBOOK_DIR",
                    &s.workbook_dir,
                    "an existing folder with one CSV per tab, or an .xlsx/.ods file (no Google credentials are set, so the local workbook is used)".into(),
                ));
            }
            let views = serde_json::to_value(s.views()).unwrap_or_default();
            (problems, views)
        }
        Err(e) => (e.problems, Value::Null),
    };
    let ok = problems.is_empty();
    Summary {
        ok,
        json: json!({
            "ok": ok,
            "mode": mode,
            "version": crate::app::VERSION,
            "problems": problems,
            "settings": settings,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(map: HashMap<&'static str, String>) -> impl Fn(&str) -> Option<String> {
        move |k| map.get(k).cloned()
    }

    #[test]
    fn valid_sandbox_settings_pass() {
        let dir = tempfile::tempdir().unwrap();
        let map = HashMap::from([
            ("DATA_DIR", dir.path().join("data").display().to_string()),
            ("WORKBOOK_DIR", dir.path().display().to_string()),
            (
                "TELEMETRY_LOG_PATH",
                dir.path().join("logs/t.jsonl").display().to_string(),
            ),
        ]);
        let s = run(Mode::Sandbox, &lookup(map));
        assert!(s.ok, "{}", s.json);
        assert_eq!(s.json["problems"], json!([]));
        assert_eq!(s.json["settings"]["PORT"]["source"], "default");
        assert!(
            !dir.path().join("data").exists(),
            "check must not create DATA_DIR"
        );
    }

    #[test]
    fn every_problem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let map = HashMap::from([
            ("DATA_DIR", file.join("sub").display().to_string()),
            (
                "WORKBOOK_DIR",
                dir.path().join("missing").display().to_string(),
            ),
        ]);
        let s = run(Mode::Run, &lookup(map));
        assert!(!s.ok);
        let keys: Vec<&str> = s.json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["DISCORD_TOKEN", "DATA_DIR", "WORKBOOK_DIR"]);
    }
}
