//! The Questions tab: onboarding flows as rows (DESIGN §5). Rules are kept as written;
//! `ops onb check` parses them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sheets::{MissingHeaders, Table};

pub(crate) const REQUIRED: &[&str] = &["flow", "order", "qid", "label", "type"];
pub(crate) const OPTIONAL: &[&str] = &[
    "required",
    "maxlen",
    "validate",
    "help",
    "options",
    "visibility_rules",
    "nav_rules",
    "section",
];
/// Longest qid: the card's custom ids carry it (`onb:pick:<thread>:<qid>:<page>` within
/// Discord's 100 characters).
pub(crate) const QID_MAX: usize = 40;
pub(crate) const FLOWS: &[&str] = &["welcome", "promo.r", "promo.m", "promo.l"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum QuestionType {
    Short,
    Paragraph,
    Number,
    Bool,
    SingleSelect,
    /// With an optional maximum number of choices (`multi-select-3`).
    MultiSelect(Option<u32>),
}

impl QuestionType {
    pub fn parse(s: &str) -> Option<QuestionType> {
        let t = s.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "short" => QuestionType::Short,
            "paragraph" => QuestionType::Paragraph,
            "number" => QuestionType::Number,
            "bool" => QuestionType::Bool,
            "single-select" => QuestionType::SingleSelect,
            "multi-select" => QuestionType::MultiSelect(None),
            other => QuestionType::MultiSelect(Some(
                other
                    .strip_prefix("multi-select-")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)?,
            )),
        })
    }

    pub fn is_select(&self) -> bool {
        matches!(
            self,
            QuestionType::SingleSelect | QuestionType::MultiSelect(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub row: usize,
    pub flow: String,
    pub order: u32,
    pub qid: String,
    pub label: String,
    pub kind: QuestionType,
    pub required: bool,
    pub maxlen: Option<u32>,
    pub validate: String,
    pub help: String,
    pub options: Vec<String>,
    pub visibility_rules: String,
    pub nav_rules: String,
    /// Where the summary shows the answer (`identity`, `progress`, `war`, `notes`);
    /// blank: guessed from the qid.
    pub section: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QuestionSet {
    /// Per flow, in `order`.
    pub flows: BTreeMap<String, Vec<Question>>,
    pub warnings: Vec<String>,
}

impl QuestionSet {
    pub fn count(&self) -> usize {
        self.flows.values().map(Vec::len).sum()
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn parse(table: &Table) -> Result<QuestionSet, MissingHeaders> {
    let cols = table.columns(REQUIRED, OPTIONAL)?;
    let mut out = QuestionSet::default();
    for (i, row) in table.rows.iter().enumerate() {
        let r = i + 2;
        let cell = |h: &str| table.cell(row, cols.get(h)).to_owned();
        let (flow, qid) = (cell("flow").to_ascii_lowercase(), cell("qid"));
        if flow.is_empty() && qid.is_empty() {
            continue;
        }
        if !FLOWS.contains(&flow.as_str()) {
            out.warnings.push(format!(
                "row {r}: flow {flow:?} is not one of {}; row skipped",
                FLOWS.join(", ")
            ));
            continue;
        }
        if qid.len() > QID_MAX {
            out.warnings.push(format!("row {r}: qid {qid:?} is over {QID_MAX} characters (buttons carry it, and Discord's custom ids are short); row skipped"));
            continue;
        }
        if !is_ident(&qid) {
            out.warnings.push(format!("row {r}: qid {qid:?} must be letters, digits and _ (not starting with a digit); row skipped"));
            continue;
        }
        let Some(kind) = QuestionType::parse(&cell("type")) else {
            out.warnings.push(format!("row {r} ({qid}): type {:?} is not short, paragraph, number, bool, single-select or multi-select[-N]; row skipped", cell("type")));
            continue;
        };
        let Ok(order) = cell("order").parse::<u32>() else {
            out.warnings.push(format!(
                "row {r} ({qid}): order {:?} is not a whole number; row skipped",
                cell("order")
            ));
            continue;
        };
        let options: Vec<String> = cell("options")
            .split([';', '|', '\n'])
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        if kind.is_select() && options.is_empty() {
            out.warnings.push(format!(
                "row {r} ({qid}): a select question needs options (separated by ;)"
            ));
        }
        let list = out.flows.entry(flow.clone()).or_default();
        if list.iter().any(|q| q.qid == qid) {
            out.warnings.push(format!(
                "row {r}: qid {qid} appears twice in flow {flow}; the first row is used"
            ));
            continue;
        }
        let maxlen = cell("maxlen").parse::<u32>().ok();
        list.push(Question {
            row: r,
            flow,
            order,
            qid,
            label: cell("label"),
            kind,
            required: matches!(
                cell("required").to_ascii_lowercase().as_str(),
                "y" | "yes" | "true" | "1"
            ),
            maxlen,
            validate: cell("validate"),
            help: cell("help"),
            options,
            visibility_rules: cell("visibility_rules"),
            nav_rules: cell("nav_rules"),
            section: cell("section").to_ascii_lowercase(),
        });
    }
    for list in out.flows.values_mut() {
        list.sort_by_key(|q| (q.order, q.row));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flows_types_and_warns_on_bad_rows() {
        let rows = [
            vec![
                "flow", "order", "qid", "label", "type", "required", "options",
            ],
            vec![
                "welcome",
                "2",
                "power",
                "Account power?",
                "number",
                "yes",
                "",
            ],
            vec!["welcome", "1", "ign", "In-game name?", "short", "yes", ""],
            vec![
                "welcome",
                "3",
                "style",
                "Playstyle?",
                "single-select",
                "",
                "Casual; Competitive",
            ],
            vec![
                "welcome",
                "4",
                "modes",
                "Modes?",
                "multi-select-2",
                "",
                "CvC|Siege|Hydra",
            ],
            vec!["nowhere", "1", "x", "?", "short", "", ""],
            vec!["welcome", "5", "1bad", "?", "short", "", ""],
            vec!["welcome", "6", "ok", "?", "essay", "", ""],
        ];
        let t = Table::from_rows(
            "Questions",
            rows.iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        );
        let set = parse(&t).unwrap();
        let w = &set.flows["welcome"];
        assert_eq!(
            w.iter().map(|q| q.qid.as_str()).collect::<Vec<_>>(),
            ["ign", "power", "style", "modes"]
        );
        assert_eq!(w[3].kind, QuestionType::MultiSelect(Some(2)));
        assert_eq!(w[3].options, vec!["CvC", "Siege", "Hydra"]);
        assert!(w[0].required);
        assert_eq!(set.warnings.len(), 3, "{:?}", set.warnings);
        assert_eq!(set.count(), 4);
    }
}
