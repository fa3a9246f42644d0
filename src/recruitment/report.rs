//! The daily recruiter report: open seats, inactives and reserved seats, overall, for
//! the top 10 and top 5 clans by rank, and per bracket. The figures are computed once
//! ([`figures`], pure), stored with the post, and the Summary / Bracket details buttons
//! redraw from the stored figures, so they show that day's numbers after a restart.

use serde::{Deserialize, Serialize};
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

use crate::discord::components::custom_id;
use crate::message::embed::{COLOR_INFO, Embed};
use crate::tabs::clans::{Clan, ClanList};

pub(crate) const JOB: &str = "report:recruiters";
pub(crate) const UNBRACKETED: &str = "Unbracketed";
/// Clans listed per bracket in the details view; the rest are counted, not dropped.
const CLANS_PER_BRACKET: usize = 12;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Line {
    pub label: String,
    pub open: u32,
    pub inactives: u32,
    pub reserved: u32,
}

impl Line {
    fn of<'a>(label: &str, clans: impl Iterator<Item = &'a Clan>) -> Line {
        let mut l = Line {
            label: label.to_owned(),
            ..Line::default()
        };
        for c in clans {
            l.open += c.open_seats();
            l.inactives += c.inactives;
            l.reserved += c.reserved.unwrap_or(0);
        }
        l
    }

    fn text(&self) -> String {
        format!(
            "🔹 **{}:** open {} | inactives {} | reserved {}",
            self.label, self.open, self.inactives, self.reserved
        )
    }

    fn any(&self) -> bool {
        self.open + self.inactives + self.reserved > 0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bracket {
    pub total: Line,
    /// Its clans with anything to report, best rank first.
    pub clans: Vec<Line>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Figures {
    pub day: String,
    pub overall: Line,
    pub top10: Line,
    pub top5: Line,
    pub brackets: Vec<Bracket>,
    pub clans: usize,
}

fn by_rank(a: &&Clan, b: &&Clan) -> std::cmp::Ordering {
    a.rank
        .unwrap_or(u32::MAX)
        .cmp(&b.rank.unwrap_or(u32::MAX))
        .then_with(|| a.tag.cmp(&b.tag))
}

pub(crate) fn figures(list: &ClanList, day: chrono::NaiveDate) -> Figures {
    let mut ranked: Vec<&Clan> = list.iter().filter(|c| c.rank.is_some()).collect();
    ranked.sort_by(by_rank);
    // Brackets in the order the tab first lists them; clans without one last.
    let mut names: Vec<String> = Vec::new();
    for c in list.iter() {
        let b = c.bracket.trim();
        if !b.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(b)) {
            names.push(b.to_owned());
        }
    }
    let has_unbracketed = list.iter().any(|c| c.bracket.trim().is_empty());
    let mut brackets = Vec::new();
    let groups = names
        .iter()
        .map(|n| Some(n.as_str()))
        .chain(has_unbracketed.then_some(None));
    for group in groups {
        let mut members: Vec<&Clan> = list
            .iter()
            .filter(|c| match group {
                Some(name) => c.bracket.trim().eq_ignore_ascii_case(name),
                None => c.bracket.trim().is_empty(),
            })
            .collect();
        members.sort_by(by_rank);
        brackets.push(Bracket {
            total: Line::of(group.unwrap_or(UNBRACKETED), members.iter().copied()),
            clans: members
                .iter()
                .map(|c| Line::of(&format!("{} ({})", c.name, c.tag), std::iter::once(*c)))
                .filter(Line::any)
                .collect(),
        });
    }
    Figures {
        day: day.to_string(),
        overall: Line::of("Overall", list.iter()),
        top10: Line::of("Top 10", ranked.iter().take(10).copied()),
        top5: Line::of("Top 5", ranked.iter().take(5).copied()),
        brackets,
        clans: list.clans.len(),
    }
}

/// Which view of the report a message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Summary,
    Brackets,
}

impl View {
    pub(crate) fn parse(s: &str) -> View {
        if s == "brackets" {
            View::Brackets
        } else {
            View::Summary
        }
    }
}

fn footer(f: &Figures) -> String {
    format!("{} clans · daily UTC snapshot of {}", f.clans, f.day)
}

pub(crate) fn summary(f: &Figures) -> Embed {
    let overview = [&f.overall, &f.top10, &f.top5]
        .iter()
        .map(|l| l.text())
        .collect::<Vec<_>>()
        .join("\n");
    let per = f
        .brackets
        .iter()
        .map(|b| b.total.text())
        .collect::<Vec<_>>()
        .join("\n");
    let mut e = Embed::new("Summary Open Spots").color(COLOR_INFO).field(
        "General Overview",
        overview,
        false,
    );
    if !per.is_empty() {
        e = e.field("Per Bracket", per, false);
    }
    e.footer(footer(f))
}

pub(crate) fn brackets(f: &Figures) -> Embed {
    let mut e = Embed::new("Bracket Details").color(COLOR_INFO);
    for b in &f.brackets {
        let mut lines: Vec<String> = b
            .clans
            .iter()
            .take(CLANS_PER_BRACKET)
            .map(|l| {
                format!(
                    "• {}: open {} | inactives {} | reserved {}",
                    l.label, l.open, l.inactives, l.reserved
                )
            })
            .collect();
        if b.clans.len() > CLANS_PER_BRACKET {
            lines.push(format!(
                "… and {} more clans",
                b.clans.len() - CLANS_PER_BRACKET
            ));
        }
        if lines.is_empty() {
            lines.push("nothing open, inactive or reserved".into());
        }
        e = e.field(b.total.text(), lines.join("\n"), false);
    }
    e.footer(footer(f))
}

/// The two view buttons for report `id`, the shown one marked.
pub(crate) fn buttons(id: i64, view: View) -> Vec<CreateActionRow> {
    let id = id.to_string();
    let b = |v: View, action: &str, label: &str| {
        custom_id(&["rpt", &id, action]).map(|cid| {
            CreateButton::new(cid)
                .label(label)
                .style(if v == view {
                    ButtonStyle::Primary
                } else {
                    ButtonStyle::Secondary
                })
                .disabled(v == view)
        })
    };
    vec![CreateActionRow::Buttons(
        [
            b(View::Summary, "summary", "Summary"),
            b(View::Brackets, "brackets", "Bracket Details"),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )]
}

/// The message's text: the day's headline and the recruiter roles.
pub(crate) fn headline(day: &str, roles: &[u64]) -> String {
    let pings: Vec<String> = roles.iter().map(|r| format!("<@&{r}>")).collect();
    format!("# Update {day}\n{}", pings.join(" "))
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn clan(tag: &str, rank: Option<u32>, open: u32, bracket: &str) -> Clan {
        Clan {
            tag: tag.into(),
            name: format!("N{tag}"),
            rank,
            spots: open,
            inactives: 1,
            reserved: Some(u32::from(open > 1)),
            bracket: Arc::from(bracket),
            ..Default::default()
        }
    }

    #[test]
    fn figures_overall_top_and_brackets() {
        let mut clans: Vec<Clan> = (1..=12)
            .map(|i| {
                clan(
                    &format!("C{i:02}"),
                    Some(i),
                    2,
                    if i <= 6 { "Elite" } else { "Core" },
                )
            })
            .collect();
        clans.push(clan("ZZZ", None, 3, ""));
        let list = ClanList::of(clans);
        let f = figures(&list, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(
            (f.overall.open, f.overall.inactives, f.overall.reserved),
            (27, 13, 13)
        );
        assert_eq!((f.top10.open, f.top5.open), (20, 10));
        let names: Vec<&str> = f.brackets.iter().map(|b| b.total.label.as_str()).collect();
        assert_eq!(names, ["Elite", "Core", "Unbracketed"]);
        assert_eq!(f.brackets[2].total.open, 3);
        assert_eq!(f.brackets[0].clans[0].label, "NC01 (C01)");
        let s = summary(&f);
        assert_eq!(
            s.fields[0].value,
            "🔹 **Overall:** open 27 | inactives 13 | reserved 13\n🔹 **Top 10:** open 20 | inactives 10 | reserved 10\n🔹 **Top 5:** open 10 | inactives 5 | reserved 5"
        );
        assert_eq!(brackets(&f).fields.len(), 3);
        assert_eq!(
            headline("2026-12-01", &[103]),
            "# Update 2026-12-01\n<@&103>"
        );
    }

    #[test]
    fn a_long_bracket_is_counted_not_cut() {
        let list = ClanList::of((1..=20).map(|i| clan(&format!("C{i:02}"), Some(i), 1, "Core")));
        let f = figures(&list, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert!(brackets(&f).fields[0].value.ends_with("… and 8 more clans"));
    }
}
