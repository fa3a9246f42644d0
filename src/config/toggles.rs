//! The FeatureToggles tab (`feature_name`, `enabled`). Fails closed: a missing tab,
//! missing headers or an unreadable sheet turn every toggle off (with one ops alert); an
//! unknown toggle name reads as off, with a warning. Only `true`, `1`, `yes`, `on`
//! enable (any case); blank or anything else is off, with a warning.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sheets::Table;

/// Every toggle the bot knows (DESIGN §4).
pub const KNOWN: &[&str] = &[
    "recruitment_panels",
    "clan_profile",
    "recruitment_welcome",
    "recruitment_reports",
    "placement_reservations",
    "placement_target_select",
    "welcome_enabled",
    "enable_welcome_hook",
    "enable_promo_watcher",
    "onboarding_wizard",
    "live_queue",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Toggles {
    /// Known toggles as read (off when absent).
    pub values: BTreeMap<String, bool>,
    /// Why every toggle is off, when the tab could not be used.
    pub failure: Option<String>,
    /// Names in the tab the bot does not know (they read as off).
    pub unknown: Vec<String>,
    /// (name, value) whose value is neither on nor off-like; they read as off.
    pub invalid: Vec<(String, String)>,
    /// Known toggles not in the tab (off).
    pub missing: Vec<String>,
}

impl Toggles {
    /// Every toggle off, for `reason`.
    pub fn failed(reason: impl Into<String>) -> Toggles {
        Toggles {
            failure: Some(reason.into()),
            missing: KNOWN.iter().map(|k| (*k).to_owned()).collect(),
            ..Default::default()
        }
    }

    /// Whether a feature is on. Unknown names and a failed tab are off.
    pub fn enabled(&self, name: &str) -> bool {
        self.failure.is_none()
            && self
                .values
                .get(&name.trim().to_ascii_lowercase())
                .copied()
                .unwrap_or(false)
    }

    /// Warnings worth a log line (and the `ops config` embed).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for u in &self.unknown {
            w.push(format!(
                "unknown toggle {u:?} reads as off (known: {})",
                KNOWN.join(", ")
            ));
        }
        for (name, value) in &self.invalid {
            w.push(format!(
                "toggle {name} has {value:?}: only true/1/yes/on enable; it is off"
            ));
        }
        w
    }
}

fn truthy(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses the tab (`None` when it does not exist).
pub(crate) fn parse(table: Option<&Table>, tab: &str) -> Toggles {
    let Some(table) = table else {
        return Toggles::failed(format!("the {tab} tab is missing"));
    };
    let cols = match table.columns(&["feature_name", "enabled"], &[]) {
        Ok(c) => c,
        Err(e) => return Toggles::failed(e.to_string()),
    };
    let (nc, ec) = (cols.get("feature_name"), cols.get("enabled"));
    let mut t = Toggles::default();
    for row in &table.rows {
        let name = table.cell(row, nc).to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        let raw = table.cell(row, ec);
        let on = match truthy(raw) {
            Some(b) => b,
            None => {
                t.invalid.push((name.clone(), raw.to_owned()));
                false
            }
        };
        if KNOWN.contains(&name.as_str()) {
            t.values.insert(name, on);
        } else if !t.unknown.contains(&name) {
            t.unknown.push(name);
        }
    }
    t.missing = KNOWN
        .iter()
        .filter(|k| !t.values.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(&str, &str)]) -> Table {
        let mut raw = vec![vec!["Feature_Name".to_owned(), "Enabled".to_owned()]];
        raw.extend(rows.iter().map(|(k, v)| vec![k.to_string(), v.to_string()]));
        Table::from_rows("FeatureToggles", raw)
    }

    #[test]
    fn only_on_words_enable_and_names_are_case_insensitive() {
        let t = parse(
            Some(&table(&[
                ("Recruitment_Panels", "TRUE"),
                ("clan_profile", "1"),
                ("live_queue", "yes"),
                ("onboarding_wizard", "on"),
                ("recruitment_welcome", "no"),
                ("placement_reservations", ""),
                ("recruitment_reports", "maybe"),
            ])),
            "FeatureToggles",
        );
        assert!(
            t.enabled("recruitment_panels")
                && t.enabled("CLAN_PROFILE")
                && t.enabled("live_queue")
                && t.enabled("onboarding_wizard")
        );
        assert!(
            !t.enabled("recruitment_welcome")
                && !t.enabled("placement_reservations")
                && !t.enabled("recruitment_reports")
        );
        assert_eq!(
            t.invalid,
            vec![
                ("placement_reservations".to_owned(), String::new()),
                ("recruitment_reports".to_owned(), "maybe".to_owned())
            ]
        );
        assert!(t.missing.contains(&"welcome_enabled".to_owned()));
        assert_eq!(t.failure, None);
    }

    #[test]
    fn unknown_names_read_as_off_with_a_warning() {
        let t = parse(Some(&table(&[("member_panel", "true")])), "FeatureToggles");
        assert!(!t.enabled("member_panel"));
        assert_eq!(t.unknown, vec!["member_panel"]);
        assert!(t.warnings()[0].contains("unknown toggle \"member_panel\""));
    }

    #[test]
    fn missing_tab_or_headers_turn_everything_off() {
        let t = parse(None, "FeatureToggles");
        assert_eq!(
            t.failure.as_deref(),
            Some("the FeatureToggles tab is missing")
        );
        assert!(KNOWN.iter().all(|k| !t.enabled(k)));
        let bad = Table::from_rows(
            "FeatureToggles",
            vec![
                vec!["name".into(), "on".into()],
                vec!["live_queue".into(), "true".into()],
            ],
        );
        let t = parse(Some(&bad), "FeatureToggles");
        assert!(
            t.failure
                .as_deref()
                .unwrap()
                .contains("missing the headers feature_name, enabled")
        );
        assert!(!t.enabled("live_queue"));
    }
}
