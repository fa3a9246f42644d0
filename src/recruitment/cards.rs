//! The embeds recruitment shows, as pure functions of a clan (or a page of clans), so
//! each is snapshot-tested.

use crate::message::embed::{COLOR_INFO, Embed};
use crate::tabs::clans::Clan;

use super::matching::Filters;

/// Clans per page in a `clanmatch` result list.
pub(crate) const MATCH_PAGE: usize = 10;
/// Cards per page in `clansearch` (one embed each; each card has a flip button).
pub(crate) const SEARCH_PAGE: usize = 5;

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() { "—" } else { s }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn rank(c: &Clan) -> String {
    c.rank
        .map_or_else(|| "unranked".to_owned(), |r| format!("#{r}"))
}

fn title(c: &Clan) -> String {
    format!("{} | {}", c.name, c.tag)
}

/// The clan's profile: who leads it, what it runs, and its seats right now.
pub(crate) fn profile(c: &Clan) -> Embed {
    let styles: Vec<&str> = c.playstyle.iter().map(|s| &**s).collect();
    let mut e = Embed::new(title(c))
        .description(format!("**Level** {} · **Rank** {}", c.level, rank(c)))
        .color(COLOR_INFO)
        .field("Lead", or_dash(&c.lead), true)
        .field("Deputies", or_dash(&c.deputies), true)
        .field("Playstyle", or_dash(&styles.join(", ")), true)
        .field("CB", or_dash(&c.cb), true)
        .field("Hydra", or_dash(&c.hydra), true)
        .field("Chimera", or_dash(&c.chimera), true)
        .field("CvC", yes_no(c.cvc), true)
        .field("Siege", yes_no(c.siege), true)
        .field(
            "Open seats",
            format!(
                "{} open · {} reserved · {} inactive",
                c.open_seats(),
                c.reserved.unwrap_or(0),
                c.inactives
            ),
            true,
        );
    if !c.notes.trim().is_empty() {
        e = e.field("Notes", c.notes.clone(), false);
    }
    e.footer("Entry criteria: the button below")
}

/// What the clan asks of a recruit (`requirements`).
pub(crate) fn criteria(c: &Clan) -> Embed {
    let text = if c.requirements.trim().is_empty() {
        "No entry criteria listed in the Clans tab (column `requirements`).".to_owned()
    } else {
        c.requirements.clone()
    };
    Embed::new(format!("{} — entry criteria", title(c)))
        .description(text)
        .color(COLOR_INFO)
        .footer("Profile: the button below")
}

/// One `clanmatch` line per clan: seats first (what a recruiter decides on), then the
/// modes.
fn match_line(i: usize, c: &Clan) -> String {
    format!(
        "**{i}. {}** `{}` · **{} open** ({} reserved, {} inactive) · L{} · {}\n    CB {} · Hydra {} · Chimera {} · CvC {} · Siege {}",
        c.name,
        c.tag,
        c.open_seats(),
        c.reserved.unwrap_or(0),
        c.inactives,
        c.level,
        rank(c),
        or_dash(&c.cb),
        or_dash(&c.hydra),
        or_dash(&c.chimera),
        yes_no(c.cvc),
        yes_no(c.siege),
    )
}

/// Pages needed for `n` results of `per` each (at least one, for the empty page).
pub(crate) fn pages(n: usize, per: usize) -> usize {
    n.div_ceil(per).max(1)
}

/// Page `page` (0-based, clamped) of the `clanmatch` results.
pub(crate) fn match_page(found: &[&Clan], page: usize, filters: &Filters) -> Embed {
    let total = pages(found.len(), MATCH_PAGE);
    let page = page.min(total - 1);
    let footer = format!(
        "Filters: {} · page {}/{total}",
        filters.describe(),
        page + 1
    );
    if found.is_empty() {
        return Embed::new("No clan matches")
            .description(format!(
                "No clan fits these filters. {}",
                filters.loosen_hint()
            ))
            .footer(footer);
    }
    let lines: Vec<String> = found
        .iter()
        .enumerate()
        .skip(page * MATCH_PAGE)
        .take(MATCH_PAGE)
        .map(|(i, c)| match_line(i + 1, c))
        .collect();
    Embed::new(format!(
        "{} matching",
        crate::util::text::count(found.len(), "clan")
    ))
    .description(lines.join("\n"))
    .color(COLOR_INFO)
    .footer(footer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn c1ca() -> Clan {
        Clan {
            row: 3,
            tag: "C1CA".into(),
            name: "Ashen Vanguard".into(),
            level: 80,
            rank: Some(57),
            spots: 2,
            inactives: 1,
            lead: "Brannoc".into(),
            deputies: "Kestrel".into(),
            playstyle: Arc::from(vec![Arc::from("Competitive")]),
            cb: Arc::from("UNM"),
            hydra: Arc::from("NM"),
            chimera: Arc::from("NM"),
            cvc: true,
            siege: true,
            requirements: "UNM 2 keys, Hydra NM 200M+".into(),
            open_spots: Some(1),
            reserved: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn profile_snapshot() {
        let e = profile(&c1ca());
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| format!("{}={}", f.name, f.value))
            .collect();
        assert_eq!(e.title, "Ashen Vanguard | C1CA");
        assert_eq!(e.description, "**Level** 80 · **Rank** #57");
        assert_eq!(
            fields,
            [
                "Lead=Brannoc",
                "Deputies=Kestrel",
                "Playstyle=Competitive",
                "CB=UNM",
                "Hydra=NM",
                "Chimera=NM",
                "CvC=yes",
                "Siege=yes",
                "Open seats=1 open · 1 reserved · 1 inactive",
            ]
        );
    }

    #[test]
    fn criteria_snapshot_and_blank_requirements() {
        let e = criteria(&c1ca());
        assert_eq!(e.title, "Ashen Vanguard | C1CA — entry criteria");
        assert_eq!(e.description, "UNM 2 keys, Hydra NM 200M+");
        let mut blank = c1ca();
        blank.requirements.clear();
        assert!(criteria(&blank).description.contains("No entry criteria"));
    }

    #[test]
    fn match_page_snapshot_and_the_empty_page() {
        let c = c1ca();
        let found = vec![&c];
        let e = match_page(&found, 0, &Filters::default());
        assert_eq!(e.title, "1 clan matching");
        assert_eq!(
            e.description,
            "**1. Ashen Vanguard** `C1CA` · **1 open** (1 reserved, 1 inactive) · L80 · #57\n    CB UNM · Hydra NM · Chimera NM · CvC yes · Siege yes"
        );
        assert_eq!(e.footer, "Filters: roster open · page 1/1");
        let none = match_page(&[], 3, &Filters::default());
        assert_eq!(none.title, "No clan matches");
        assert!(
            none.description.contains("Loosen the roster"),
            "{}",
            none.description
        );
    }

    #[test]
    fn pages_count_and_clamp() {
        assert_eq!(pages(0, 10), 1);
        assert_eq!(pages(10, 10), 1);
        assert_eq!(pages(22, 10), 3);
    }
}
