//! Which clans fit a recruit: pure filters over the Clans bucket (with the placement
//! overlay's live seats), ordered by open seats, then rank.

use serde::{Deserialize, Serialize};

use crate::tabs::clans::{Clan, ClanList, Tier};

/// A yes / no / either filter (CvC, Siege).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Choice {
    #[default]
    Any,
    Yes,
    No,
}

impl Choice {
    fn admits(self, v: bool) -> bool {
        match self {
            Choice::Any => true,
            Choice::Yes => v,
            Choice::No => !v,
        }
    }

    /// The next value a cycling button shows.
    pub(crate) fn next(self) -> Choice {
        match self {
            Choice::Any => Choice::Yes,
            Choice::Yes => Choice::No,
            Choice::No => Choice::Any,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Choice::Any => "any",
            Choice::Yes => "yes",
            Choice::No => "no",
        }
    }
}

/// Which rosters to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Roster {
    /// Open seats > 0.
    #[default]
    Open,
    /// No open seat.
    Full,
    /// Inactives > 0 (seats a lead could free).
    Inactives,
    Any,
}

impl Roster {
    pub(crate) fn next(self) -> Roster {
        match self {
            Roster::Open => Roster::Full,
            Roster::Full => Roster::Inactives,
            Roster::Inactives => Roster::Any,
            Roster::Any => Roster::Open,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Roster::Open => "open",
            Roster::Full => "full",
            Roster::Inactives => "inactives",
            Roster::Any => "any",
        }
    }

    fn admits(self, c: &Clan) -> bool {
        match self {
            Roster::Open => c.open_seats() > 0,
            Roster::Full => c.open_seats() == 0,
            Roster::Inactives => c.inactives > 0,
            Roster::Any => true,
        }
    }
}

/// Every filter a panel can set; the default matches every clan with an open seat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Filters {
    pub cb: Option<Tier>,
    pub hydra: Option<Tier>,
    pub chimera: Option<Tier>,
    pub cvc: Choice,
    pub siege: Choice,
    /// One of the clan's playstyles, any case.
    pub playstyle: Option<String>,
    pub roster: Roster,
    /// Words that must all appear in the clan's name or tag, any case.
    pub text: String,
}

/// A clan runs at least the asked tier (a clan with no tier in that mode does not).
fn at_least(have: Option<Tier>, want: Option<Tier>) -> bool {
    match want {
        None => true,
        Some(w) => have.is_some_and(|h| h >= w),
    }
}

/// `needle` (already lower case) in `hay`, any case; no allocation for ASCII text, which
/// is what a match over thousands of clans mostly meets.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let n = needle.as_bytes();
        n.is_empty()
            || hay
                .as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

impl Filters {
    /// Whether `c` passes every filter; `words` are the text filter's words, lower case.
    fn admits(&self, c: &Clan, words: &[String]) -> bool {
        at_least(c.cb_tier, self.cb)
            && at_least(c.hydra_tier, self.hydra)
            && at_least(c.chimera_tier, self.chimera)
            && self.cvc.admits(c.cvc)
            && self.siege.admits(c.siege)
            && self.roster.admits(c)
            && self
                .playstyle
                .as_deref()
                .is_none_or(|p| c.playstyle.iter().any(|s| s.eq_ignore_ascii_case(p)))
            && words
                .iter()
                .all(|w| contains_ci(&c.name, w) || contains_ci(&c.tag, w))
    }

    /// The filters in force, for a footer: `CB ≥ NM · CvC yes · roster open`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, t) in [
            ("CB", self.cb),
            ("Hydra", self.hydra),
            ("Chimera", self.chimera),
        ] {
            if let Some(t) = t {
                parts.push(format!("{name} ≥ {}", t.label()));
            }
        }
        for (name, c) in [("CvC", self.cvc), ("Siege", self.siege)] {
            if c != Choice::Any {
                parts.push(format!("{name} {}", c.label()));
            }
        }
        if let Some(p) = &self.playstyle {
            parts.push(format!("playstyle {p}"));
        }
        parts.push(format!("roster {}", self.roster.label()));
        if !self.text.trim().is_empty() {
            parts.push(format!("text “{}”", self.text.trim()));
        }
        parts.join(" · ")
    }

    /// What to loosen when nothing matches: the filters that are set, by name.
    pub(crate) fn loosen_hint(&self) -> String {
        let mut set = Vec::new();
        if self.cb.is_some() || self.hydra.is_some() || self.chimera.is_some() {
            set.push("a difficulty");
        }
        if self.cvc != Choice::Any || self.siege != Choice::Any {
            set.push("CvC/Siege");
        }
        if self.playstyle.is_some() {
            set.push("the playstyle");
        }
        if self.roster != Roster::Any {
            set.push("the roster (try “any”)");
        }
        if !self.text.trim().is_empty() {
            set.push("the text");
        }
        if set.is_empty() {
            "The Clans tab lists no clan yet.".into()
        } else {
            format!("Loosen {}.", set.join(", "))
        }
    }
}

/// The clans `filters` admit: most open seats first, then best rank (unranked last),
/// then tag.
pub(crate) fn matches<'a>(list: &'a ClanList, filters: &Filters) -> Vec<&'a Clan> {
    let words: Vec<String> = filters
        .text
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let mut out: Vec<&Clan> = list.iter().filter(|c| filters.admits(c, &words)).collect();
    out.sort_by(|a, b| {
        b.open_seats()
            .cmp(&a.open_seats())
            .then_with(|| a.rank.unwrap_or(u32::MAX).cmp(&b.rank.unwrap_or(u32::MAX)))
            .then_with(|| a.tag.cmp(&b.tag))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn clan(tag: &str, open: u32, rank: Option<u32>) -> Clan {
        Clan {
            tag: tag.into(),
            name: format!("Clan {tag}"),
            spots: open,
            rank,
            ..Default::default()
        }
    }

    fn list(clans: Vec<Clan>) -> ClanList {
        ClanList::of(clans)
    }

    fn tags(list: &ClanList, f: &Filters) -> Vec<String> {
        matches(list, f).iter().map(|c| c.tag.clone()).collect()
    }

    #[test]
    fn the_default_shows_open_rosters_by_seats_then_rank() {
        let l = list(vec![
            clan("AAA", 1, Some(5)),
            clan("BBB", 3, Some(9)),
            clan("CCC", 0, Some(1)),
            clan("DDD", 1, Some(2)),
            clan("EEE", 1, None),
        ]);
        assert_eq!(tags(&l, &Filters::default()), ["BBB", "DDD", "AAA", "EEE"]);
    }

    #[test]
    fn a_tier_filter_admits_that_tier_and_above_only() {
        let mut a = clan("AAA", 1, None);
        a.cb_tier = Some(Tier::Nm);
        let mut b = clan("BBB", 1, None);
        b.cb_tier = Some(Tier::Unm);
        let mut c = clan("CCC", 1, None);
        c.cb_tier = Some(Tier::Brutal);
        let d = clan("DDD", 1, None);
        let l = list(vec![a, b, c, d]);
        let f = |t| Filters {
            cb: Some(t),
            ..Default::default()
        };
        assert_eq!(tags(&l, &f(Tier::Nm)), ["AAA", "BBB"]);
        assert_eq!(tags(&l, &f(Tier::Unm)), ["BBB"]);
        assert_eq!(tags(&l, &f(Tier::Easy)), ["AAA", "BBB", "CCC"]);
    }

    #[test]
    fn hydra_and_chimera_filter_on_their_own_tiers() {
        let mut a = clan("AAA", 1, None);
        a.hydra_tier = Some(Tier::Hard);
        a.chimera_tier = Some(Tier::Easy);
        let mut b = clan("BBB", 1, None);
        b.hydra_tier = Some(Tier::Normal);
        b.chimera_tier = Some(Tier::Nm);
        let l = list(vec![a, b]);
        let hydra = Filters {
            hydra: Some(Tier::Hard),
            ..Default::default()
        };
        let chimera = Filters {
            chimera: Some(Tier::Hard),
            ..Default::default()
        };
        assert_eq!(tags(&l, &hydra), ["AAA"]);
        assert_eq!(tags(&l, &chimera), ["BBB"]);
    }

    #[test]
    fn cvc_and_siege_take_yes_no_or_any() {
        let mut a = clan("AAA", 1, None);
        a.cvc = true;
        let mut b = clan("BBB", 1, None);
        b.siege = true;
        let l = list(vec![a, b]);
        let f = |cvc, siege| Filters {
            cvc,
            siege,
            ..Default::default()
        };
        assert_eq!(tags(&l, &f(Choice::Yes, Choice::Any)), ["AAA"]);
        assert_eq!(tags(&l, &f(Choice::No, Choice::Any)), ["BBB"]);
        assert_eq!(tags(&l, &f(Choice::Any, Choice::Yes)), ["BBB"]);
        assert_eq!(tags(&l, &f(Choice::Yes, Choice::Yes)), Vec::<String>::new());
        assert_eq!(tags(&l, &f(Choice::Any, Choice::Any)), ["AAA", "BBB"]);
    }

    #[test]
    fn playstyle_matches_one_of_the_clans_styles_in_any_case() {
        let mut a = clan("AAA", 1, None);
        a.playstyle = Arc::from(vec![Arc::from("Casual"), Arc::from("Social")]);
        let mut b = clan("BBB", 1, None);
        b.playstyle = Arc::from(vec![Arc::from("Competitive")]);
        let l = list(vec![a, b]);
        let f = Filters {
            playstyle: Some("social".into()),
            ..Default::default()
        };
        assert_eq!(tags(&l, &f), ["AAA"]);
    }

    #[test]
    fn roster_modes_use_live_seats_and_inactives() {
        let mut a = clan("AAA", 2, None);
        a.open_spots = Some(0); // both seats reserved
        let mut b = clan("BBB", 0, None);
        b.inactives = 3;
        let c = clan("CCC", 1, None);
        let l = list(vec![a, b, c]);
        let f = |roster| Filters {
            roster,
            ..Default::default()
        };
        assert_eq!(tags(&l, &f(Roster::Open)), ["CCC"]);
        assert_eq!(tags(&l, &f(Roster::Full)), ["AAA", "BBB"]);
        assert_eq!(tags(&l, &f(Roster::Inactives)), ["BBB"]);
        assert_eq!(tags(&l, &f(Roster::Any)).len(), 3);
    }

    #[test]
    fn text_needs_every_word_in_name_or_tag() {
        let mut a = clan("C1CA", 1, None);
        a.name = "Ashen Vanguard".into();
        let mut b = clan("C1CB", 1, None);
        b.name = "Blades of Dawn".into();
        let l = list(vec![a, b]);
        let f = |t: &str| Filters {
            text: t.into(),
            ..Default::default()
        };
        assert_eq!(tags(&l, &f("ashen")), ["C1CA"]);
        assert_eq!(tags(&l, &f("c1cb")), ["C1CB"]);
        assert_eq!(tags(&l, &f("dawn blades")), ["C1CB"]);
        assert_eq!(tags(&l, &f("dawn ashen")), Vec::<String>::new());
        assert_eq!(tags(&l, &f("  ")).len(), 2);
    }

    #[test]
    fn filters_combine_and_describe_themselves() {
        let mut a = clan("AAA", 2, Some(3));
        a.cb_tier = Some(Tier::Unm);
        a.cvc = true;
        a.playstyle = Arc::from(vec![Arc::from("Competitive")]);
        let mut b = a.clone();
        b.tag = "BBB".into();
        b.cvc = false;
        let mut c = a.clone();
        c.tag = "CCC".into();
        c.spots = 0;
        let l = list(vec![a, b, c]);
        let f = Filters {
            cb: Some(Tier::Nm),
            cvc: Choice::Yes,
            playstyle: Some("Competitive".into()),
            ..Default::default()
        };
        assert_eq!(tags(&l, &f), ["AAA"]);
        assert_eq!(
            f.describe(),
            "CB ≥ NM · CvC yes · playstyle Competitive · roster open"
        );
        assert!(
            f.loosen_hint().contains("a difficulty"),
            "{}",
            f.loosen_hint()
        );
    }
}
