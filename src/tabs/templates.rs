//! The WelcomeTemplates tab: one template per clan tag, with a `DEFAULT` row whose
//! values fill any blank cell of the others.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sheets::{MissingHeaders, Table};

pub(crate) const REQUIRED: &[&str] = &["tag", "title", "body"];
pub(crate) const OPTIONAL: &[&str] = &[
    "footer",
    "target_channel_id",
    "crest_url",
    "ping_user",
    "active",
];
pub(crate) const DEFAULT_TAG: &str = "DEFAULT";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Template {
    pub tag: String,
    pub title: String,
    pub body: String,
    pub footer: String,
    pub target_channel_id: Option<u64>,
    pub crest_url: String,
    pub ping_user: bool,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Templates {
    /// By upper-case tag, DEFAULT blanks already filled in.
    pub by_tag: BTreeMap<String, Template>,
    pub default: Option<Template>,
    pub warnings: Vec<String>,
}

impl Templates {
    pub fn get(&self, tag: &str) -> Option<&Template> {
        self.by_tag.get(&crate::tabs::clans::normalize_tag(tag))
    }
}

fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "y" | "yes" | "true" | "1" | "on"
    )
}

pub(crate) fn parse(table: &Table) -> Result<Templates, MissingHeaders> {
    let cols = table.columns(REQUIRED, OPTIONAL)?;
    let mut out = Templates::default();
    let mut raw: Vec<(usize, BTreeMap<&'static str, String>)> = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let mut m = BTreeMap::new();
        for h in REQUIRED.iter().chain(OPTIONAL) {
            m.insert(*h, table.cell(row, cols.get(h)).to_owned());
        }
        if m["tag"].is_empty() {
            continue;
        }
        raw.push((i + 2, m));
    }
    let default = raw
        .iter()
        .find(|(_, m)| m["tag"].eq_ignore_ascii_case(DEFAULT_TAG))
        .map(|(_, m)| m.clone());
    if default.is_none() {
        out.warnings
            .push(format!("no {DEFAULT_TAG} row: blank cells stay blank"));
    }
    let build = |row: usize, m: &BTreeMap<&'static str, String>, warnings: &mut Vec<String>| {
        let get = |h: &str| {
            let v = m.get(h).cloned().unwrap_or_default();
            if v.is_empty() {
                default
                    .as_ref()
                    .and_then(|d| d.get(h).cloned())
                    .unwrap_or_default()
            } else {
                v
            }
        };
        let channel = get("target_channel_id");
        let target_channel_id = if channel.is_empty() {
            None
        } else {
            let id = crate::util::ids::parse_snowflake(&channel);
            if id.is_none() {
                warnings.push(format!("row {row} ({}): target_channel_id {channel:?} is not a channel id; the invoking channel is used", m["tag"]));
            }
            id
        };
        Template {
            tag: crate::tabs::clans::normalize_tag(&m["tag"]),
            title: get("title"),
            body: get("body"),
            footer: get("footer"),
            target_channel_id,
            crest_url: get("crest_url"),
            ping_user: yes(&get("ping_user")),
            active: yes(&get("active")),
        }
    };
    for (row, m) in &raw {
        let t = build(*row, m, &mut out.warnings);
        if t.tag == DEFAULT_TAG {
            out.default = Some(t);
        } else if out.by_tag.contains_key(&t.tag) {
            out.warnings.push(format!(
                "row {row}: tag {} appears twice; the first row is used",
                t.tag
            ));
        } else {
            out.by_tag.insert(t.tag.clone(), t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_row_fills_blanks() {
        let t = Table::from_rows(
            "WelcomeTemplates",
            vec![
                vec![
                    "TAG".into(),
                    "TITLE".into(),
                    "BODY".into(),
                    "FOOTER".into(),
                    "ACTIVE".into(),
                    "TARGET_CHANNEL_ID".into(),
                ],
                vec![
                    "DEFAULT".into(),
                    "Welcome!".into(),
                    "Hi {MENTION}".into(),
                    "C1C".into(),
                    "Y".into(),
                    "".into(),
                ],
                vec![
                    "alp".into(),
                    "".into(),
                    "Welcome to {CLAN}".into(),
                    "".into(),
                    "".into(),
                    "nope".into(),
                ],
            ],
        );
        let ts = parse(&t).unwrap();
        let a = ts.get("ALP").unwrap();
        assert_eq!(
            (
                a.title.as_str(),
                a.body.as_str(),
                a.footer.as_str(),
                a.active
            ),
            ("Welcome!", "Welcome to {CLAN}", "C1C", true)
        );
        assert_eq!(a.target_channel_id, None);
        assert_eq!(
            ts.warnings,
            vec![
                "row 3 (alp): target_channel_id \"nope\" is not a channel id; the invoking channel is used"
            ]
        );
        assert!(ts.default.is_some());
    }
}
