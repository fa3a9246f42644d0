//! `clanhall check`: validates everything that can be validated without starting, and
//! prints one JSON summary naming every problem, so a deploy can be checked before it
//! goes out (and CI can check `.env` files).

use std::path::Path;

use serde_json::{Value, json};

use crate::settings::{Mode, Problem, Settings};

pub(crate) struct Summary {
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

/// What is wrong with the state in `DATA_DIR`, one problem per file: the database (opens,
/// passes the integrity check, holds clanhall's schema) and the JSON state files. Reads
/// only; a broken file is left exactly as it is.
fn data_dir_problems(data_dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let db = data_dir.join(crate::store::DB_FILE);
    if let Err(e) = crate::store::Store::inspect(data_dir) {
        problems.push(problem(
            "DATA_DIR",
            &db,
            format!("a usable clanhall database or no file ({e})"),
        ));
    }
    let mut file = |name: &str, result: Result<(), String>| {
        if let Err(why) = result {
            let path = data_dir.join(name);
            problems.push(problem(
                "DATA_DIR",
                &path,
                format!("a valid {name} or no file ({why}); fix it or move it aside"),
            ));
        }
    };
    let access = crate::ops::perms::FILE;
    file(
        access,
        crate::atomic_file::peek_json::<crate::ops::perms::AccessLists>(&data_dir.join(access))
            .and_then(|l| l.map_or(Ok(()), |l| l.validate())),
    );
    let budget = crate::watchdog::BUDGET_FILE;
    file(
        budget,
        crate::atomic_file::peek_json::<crate::watchdog::BudgetFile>(&data_dir.join(budget))
            .map(|_| ()),
    );
    let kept = crate::config::last_good::FILE;
    file(
        kept,
        crate::atomic_file::peek_json::<crate::config::last_good::Saved>(&data_dir.join(kept))
            .map(|_| ()),
    );
    problems
}

pub(crate) fn run(mode: Mode, lookup: &dyn Fn(&str) -> Option<String>) -> Summary {
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
            // The state in it, when there is a directory to look in.
            if s.data_dir.is_dir() {
                problems.extend(data_dir_problems(&s.data_dir));
            }
            if let Some(parent) = s
                .telemetry_log_path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                && let Err(e) = writable(parent)
            {
                problems.push(problem(
                    "TELEMETRY_LOG_PATH",
                    &s.telemetry_log_path,
                    format!("a path in a writable directory ({e})"),
                ));
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
            "version": crate::VERSION,
            "problems": problems,
            "settings": settings,
        }),
    }
}

/// One tab's verdict in the workbook check.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TabCheck {
    pub tab: String,
    pub workbook: crate::sheets::Workbook,
    /// What reads or writes it: `config`, `toggles`, a bucket name, or `mirror`.
    pub used_by: String,
    /// `ok`, `warnings`, `missing` (no such tab) or `invalid` (headers or config keys).
    pub status: &'static str,
    pub rows: usize,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

fn verdict(problems: &[String], warnings: &[String]) -> &'static str {
    if !problems.is_empty() {
        "invalid"
    } else if !warnings.is_empty() {
        "warnings"
    } else {
        "ok"
    }
}

/// Reads every tab the bot uses (one read per workbook, plus the Config read) and
/// validates its headers exactly as a refresh would. A tab that is missing or lacks a
/// required header is a problem; row-level oddities (a bad number, an unknown toggle)
/// are warnings, since the bot runs with them.
pub(crate) async fn workbook(
    sources: &crate::sheets::Sources,
) -> Result<Vec<TabCheck>, crate::sheets::SheetsError> {
    use crate::cache::{BucketId, parse_bucket};
    use crate::config::CONFIG_TAB;
    use crate::sheets::{Workbook, mirror};

    let now = crate::runtime::Clock::utc(&crate::runtime::SystemClock);
    let cfg = crate::config::read(sources, None, now).await?;
    let mut out = Vec::new();
    let config_problems: Vec<String> = cfg
        .issues
        .iter()
        .map(|i| {
            if i.value.is_empty() {
                format!("{}: expected {}", i.key, i.expected)
            } else {
                format!("{}: {:?} is not {}", i.key, i.value, i.expected)
            }
        })
        .collect();
    let config_warnings: Vec<String> = cfg
        .unknown_keys
        .iter()
        .map(|k| format!("unknown key {k} (ignored)"))
        .collect();
    out.push(TabCheck {
        tab: CONFIG_TAB.into(),
        workbook: Workbook::Recruitment,
        used_by: "config".into(),
        status: verdict(&config_problems, &config_warnings),
        rows: cfg.entries.len(),
        problems: config_problems,
        warnings: config_warnings,
    });
    let toggle_problems: Vec<String> = cfg.toggles.failure.iter().cloned().collect();
    let toggle_warnings = cfg.toggles.warnings();
    out.push(TabCheck {
        tab: cfg.tabs.feature_toggles.clone(),
        workbook: Workbook::Recruitment,
        used_by: "toggles".into(),
        status: if toggle_problems.is_empty() {
            verdict(&[], &toggle_warnings)
        } else {
            "invalid"
        },
        rows: cfg.toggles.values.len(),
        problems: toggle_problems,
        warnings: toggle_warnings,
    });

    // Which tabs each workbook holds; a shared spreadsheet is read once.
    let buckets = [
        BucketId::Clans,
        BucketId::Templates,
        BucketId::OnboardingQuestions,
    ];
    let mut wanted: std::collections::BTreeMap<Workbook, Vec<String>> = Default::default();
    for b in buckets {
        wanted
            .entry(sources.read_key(b.workbook()))
            .or_default()
            .push(b.tab(&cfg));
    }
    for m in mirror::ALL {
        wanted
            .entry(sources.read_key(m.workbook))
            .or_default()
            .push(m.tab(&cfg.tabs));
    }
    let mut read = crate::sheets::TabsRead::default();
    for (wb, names) in wanted {
        let r = sources.get(wb).read_tabs(&names).await?;
        read.tabs.extend(r.tabs);
        read.unreadable.extend(r.unreadable);
    }
    let tabs = &read.tabs;
    let missing = |tab: &str| format!("the workbook has no tab named {tab:?}");
    for b in buckets {
        let tab = b.tab(&cfg);
        let rows = tabs
            .get(&tab)
            .cloned()
            .flatten()
            .map(|t| t.rows.len())
            .unwrap_or(0);
        let (status, problems, warnings) = match parse_bucket(b, &read, &cfg) {
            Ok(data) => {
                let w = data.warnings();
                // Rules, specs and cycles too (what `ops onb check` reports).
                let p = match &data {
                    crate::cache::Data::Questions(q) => crate::onboarding::check::problems(q),
                    _ => Vec::new(),
                };
                if p.is_empty() {
                    (verdict(&[], &w), Vec::new(), w)
                } else {
                    ("invalid", p, w)
                }
            }
            Err(e) if read.unreadable.contains_key(&tab) => ("unreadable", vec![e], Vec::new()),
            Err(e) if !tabs.get(&tab).is_some_and(Option::is_some) => {
                ("missing", vec![e], Vec::new())
            }
            Err(e) => ("invalid", vec![e], Vec::new()),
        };
        out.push(TabCheck {
            tab,
            workbook: b.workbook(),
            used_by: b.as_str().into(),
            status,
            rows,
            problems,
            warnings,
        });
    }
    for m in mirror::ALL {
        let tab = m.tab(&cfg.tabs);
        let (status, rows, problems) = match tabs.get(&tab).cloned().flatten() {
            None => ("missing", 0, vec![missing(&tab)]),
            Some(t) => match m.validate(&t) {
                Ok(()) => ("ok", t.rows.len(), Vec::new()),
                Err(e) => ("invalid", t.rows.len(), vec![e.to_string()]),
            },
        };
        out.push(TabCheck {
            tab,
            workbook: m.workbook,
            used_by: "mirror".into(),
            status,
            rows,
            problems,
            warnings: Vec::new(),
        });
    }
    Ok(out)
}

/// The workbook check for the sources `settings` select (Google or local).
pub(crate) async fn check_workbook(summary: Summary, settings: &Settings) -> Summary {
    let clock: std::sync::Arc<dyn crate::runtime::Clock> =
        std::sync::Arc::new(crate::runtime::SystemClock);
    let metrics = std::sync::Arc::new(crate::telemetry::metrics::Metrics::new(
        crate::VERSION,
        &settings.env_name,
    ));
    let sources = match crate::sheets::Sources::from_settings(settings, clock, metrics).await {
        Ok(s) => s,
        Err(e) => return with_workbook(summary, "unavailable", Err(e.to_string())),
    };
    let label = sources.recruitment.label();
    let result = workbook(&sources).await.map_err(|e| e.to_string());
    with_workbook(summary, &label, result)
}

/// Adds the workbook check to a settings summary: `workbook` holds the source and one
/// entry per tab; any tab problem (or an unreadable workbook) makes the check fail.
pub(crate) fn with_workbook(
    mut summary: Summary,
    source: &str,
    result: Result<Vec<TabCheck>, String>,
) -> Summary {
    match result {
        Ok(tabs) => {
            let bad = tabs.iter().any(|t| !t.problems.is_empty());
            summary.ok &= !bad;
            summary.json["workbook"] = json!({"source": source, "ok": !bad, "tabs": tabs});
        }
        Err(e) => {
            summary.ok = false;
            summary.json["workbook"] = json!({"source": source, "ok": false, "error": e});
        }
    }
    summary.json["ok"] = json!(summary.ok);
    summary
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
            s.json["settings"]["PORT"]["help"]
                .as_str()
                .is_some_and(|h| h.contains("Health server port")),
            "each setting says what it is for: {}",
            s.json["settings"]["PORT"]
        );
        assert!(
            !dir.path().join("data").exists(),
            "check must not create DATA_DIR"
        );
    }

    fn sample_copy() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample");
        for f in std::fs::read_dir(sample).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
        }
        dir
    }

    fn tab<'a>(tabs: &'a [TabCheck], name: &str) -> &'a TabCheck {
        tabs.iter()
            .find(|t| t.tab == name)
            .unwrap_or_else(|| panic!("no check for {name}"))
    }

    #[tokio::test]
    async fn the_sample_workbook_passes_every_tab() {
        let dir = sample_copy();
        let tabs = workbook(&crate::sheets::Sources::local(
            dir.path(),
            None,
            std::sync::Arc::new(crate::runtime::SystemClock),
        ))
        .await
        .unwrap();
        let names: Vec<&str> = tabs.iter().map(|t| t.tab.as_str()).collect();
        assert_eq!(
            names,
            [
                "Config",
                "FeatureToggles",
                "Clans",
                "WelcomeTemplates",
                "Questions",
                "Reservations",
                "WelcomeTickets",
                "OnboardingSessions"
            ]
        );
        for t in &tabs {
            assert!(t.problems.is_empty(), "{t:?}");
        }
        assert_eq!(tab(&tabs, "Clans").rows, 30);
    }

    #[tokio::test]
    async fn a_renamed_header_and_a_missing_tab_are_named() {
        let dir = sample_copy();
        let clans = std::fs::read_to_string(dir.path().join("Clans.csv")).unwrap();
        std::fs::write(
            dir.path().join("Clans.csv"),
            clans.replacen("spots,", "seats,", 1),
        )
        .unwrap();
        std::fs::remove_file(dir.path().join("WelcomeTickets.csv")).unwrap();
        let tabs = workbook(&crate::sheets::Sources::local(
            dir.path(),
            None,
            std::sync::Arc::new(crate::runtime::SystemClock),
        ))
        .await
        .unwrap();
        let c = tab(&tabs, "Clans");
        assert_eq!(c.status, "invalid");
        assert!(
            c.problems[0].contains("spots") && c.problems[0].contains("Clans"),
            "{c:?}"
        );
        assert_eq!(tab(&tabs, "WelcomeTickets").status, "missing");
        assert_eq!(tab(&tabs, "Reservations").status, "ok");
        let s = with_workbook(
            Summary {
                ok: true,
                json: json!({"ok": true}),
            },
            "local:x",
            Ok(tabs),
        );
        assert!(!s.ok);
        assert_eq!(s.json["ok"], false);
        assert_eq!(s.json["workbook"]["tabs"][2]["status"], "invalid");
    }

    #[tokio::test]
    async fn an_unreadable_workbook_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let err = workbook(&crate::sheets::Sources::local(
            &dir.path().join("nope"),
            None,
            std::sync::Arc::new(crate::runtime::SystemClock),
        ))
        .await
        .unwrap_err();
        let s = with_workbook(
            Summary {
                ok: true,
                json: json!({"ok": true}),
            },
            "local:nope",
            Err(err.to_string()),
        );
        assert!(!s.ok);
        assert!(
            s.json["workbook"]["error"]
                .as_str()
                .unwrap()
                .contains("WORKBOOK_DIR")
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
