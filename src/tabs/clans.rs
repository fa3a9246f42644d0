//! The Clans tab, by header name (DESIGN §5). A missing required header fails the read
//! (the caller keeps its last good data); a bad row is skipped with a warning naming the
//! row and the cell, never guessed at.
//!
//! A cluster may list tens of thousands of clans, so a row is kept small: values that
//! repeat from clan to clan (difficulty cells, playstyles, brackets) are shared, one copy
//! per distinct value, and each difficulty is also parsed once into a [`Tier`] for
//! matching.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::sheets::{MissingHeaders, Table};

/// Headers a Clans tab must have.
pub(crate) const REQUIRED: &[&str] = &[
    "tag",
    "name",
    "level",
    "spots",
    "lead",
    "playstyle",
    "cb",
    "hydra",
    "chimera",
    "cvc",
    "siege",
];
/// Headers read when present.
pub(crate) const OPTIONAL: &[&str] = &[
    "rank",
    "inactives",
    "deputies",
    "requirements",
    "notes",
    "open_spots",
    "reserved",
    "reserved_by",
    "lead_ids",
    "bracket",
];

/// A clan's difficulty tier in a boss mode, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum Tier {
    Easy,
    Normal,
    Hard,
    Brutal,
    Nm,
    Unm,
}

impl Tier {
    pub const ALL: [Tier; 6] = [
        Tier::Easy,
        Tier::Normal,
        Tier::Hard,
        Tier::Brutal,
        Tier::Nm,
        Tier::Unm,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Tier::Easy => "Easy",
            Tier::Normal => "Normal",
            Tier::Hard => "Hard",
            Tier::Brutal => "Brutal",
            Tier::Nm => "NM",
            Tier::Unm => "UNM",
        }
    }

    /// One word as staff write it: the names, the predecessor's short codes
    /// (`ESY`, `NML`, `HRD`, `BTL`), `Nightmare`, `Ultra`.
    pub fn parse(word: &str) -> Option<Tier> {
        Some(match word.to_ascii_lowercase().as_str() {
            "easy" | "esy" => Tier::Easy,
            "normal" | "nml" | "norm" => Tier::Normal,
            "hard" | "hrd" => Tier::Hard,
            "brutal" | "btl" => Tier::Brutal,
            "nm" | "nightmare" => Tier::Nm,
            "unm" | "ultra" | "ultranightmare" => Tier::Unm,
            _ => return None,
        })
    }

    /// The highest tier a cell names (`Hard/Brutal` → Brutal, `Ultra Nightmare` → UNM).
    pub fn highest_in(cell: &str) -> Option<Tier> {
        cell.split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(Tier::parse)
            .max()
    }
}

/// A cell value shared by every row that holds the same text.
pub(crate) type Shared = Arc<str>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Clan {
    /// 1-based sheet row (header = 1), for writes that locate the row by tag.
    pub row: usize,
    pub tag: String,
    pub name: String,
    pub level: u32,
    pub rank: Option<u32>,
    /// Seats open in game (staff-edited).
    pub spots: u32,
    pub inactives: u32,
    pub lead: String,
    pub deputies: String,
    pub playstyle: Arc<[Shared]>,
    /// The difficulty cells as written, and the highest tier each names.
    pub cb: Shared,
    pub hydra: Shared,
    pub chimera: Shared,
    pub cb_tier: Option<Tier>,
    pub hydra_tier: Option<Tier>,
    pub chimera_tier: Option<Tier>,
    pub cvc: bool,
    pub siege: bool,
    pub requirements: String,
    pub notes: String,
    /// The optional `bracket` column (the daily report groups by it); `""` when blank.
    pub bracket: Shared,
    /// Bot-written availability columns, as last written.
    pub open_spots: Option<u32>,
    pub reserved: Option<u32>,
    pub reserved_by: String,
    /// The clan's leads (user ids), from the optional `lead_ids` column.
    pub lead_ids: Vec<u64>,
}

impl Clan {
    /// Seats a recruit can take now: the bot's live `open_spots` when known, else the
    /// staff's `spots`.
    pub fn open_seats(&self) -> u32 {
        self.open_spots.unwrap_or(self.spots)
    }
}

/// One shared copy per distinct cell value, for the duration of a parse.
#[derive(Default)]
struct Interner {
    seen: HashMap<String, Shared>,
    lists: HashMap<String, Arc<[Shared]>>,
}

impl Interner {
    fn text(&mut self, v: &str) -> Shared {
        if let Some(s) = self.seen.get(v) {
            return s.clone();
        }
        let s: Shared = Arc::from(v);
        self.seen.insert(v.to_owned(), s.clone());
        s
    }

    /// A `a, b | c` list cell, split and shared.
    fn list(&mut self, v: &str) -> Arc<[Shared]> {
        if let Some(l) = self.lists.get(v) {
            return l.clone();
        }
        let items: Vec<Shared> = v
            .split([',', '|', '/'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| self.text(s))
            .collect();
        let l: Arc<[Shared]> = Arc::from(items);
        self.lists.insert(v.to_owned(), l.clone());
        l
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClanList {
    /// One contiguous run of rows: matching walks them all, and a row per allocation
    /// (tried: `Arc<Clan>` to share rows between copies) cost 400 bytes a row and twice
    /// the match time.
    pub clans: Vec<Clan>,
    /// Whether the tab has a `lead_ids` column (DESIGN.md §10.4): without it, every user
    /// in `CLAN_LEAD_IDS` leads every clan.
    pub has_lead_ids: bool,
    /// Rows skipped or cells ignored, one line each.
    pub warnings: Vec<String>,
}

impl ClanList {
    pub fn iter(&self) -> impl Iterator<Item = &Clan> {
        self.clans.iter()
    }

    /// The clan `tag` names, in any case and with any stray punctuation (`c1-ca`).
    pub fn find(&self, tag: &str) -> Option<&Clan> {
        let want = normalize_tag(tag);
        self.iter().find(|c| c.tag == want)
    }

    /// Up to `n` tags nearest to `tag` by edit distance (ties in tag order), only those
    /// within `max` edits when given: what an unknown tag is answered with.
    pub fn closest(&self, tag: &str, n: usize, max: Option<usize>) -> Vec<&str> {
        let want = normalize_tag(tag);
        let mut scored: Vec<(usize, &str)> = self
            .iter()
            .map(|c| (strsim::levenshtein(&c.tag, &want), c.tag.as_str()))
            .filter(|(d, _)| max.is_none_or(|m| *d <= m))
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(n).map(|(_, t)| t).collect()
    }

    #[cfg(test)]
    pub(crate) fn of(clans: impl IntoIterator<Item = Clan>) -> ClanList {
        ClanList {
            clans: clans.into_iter().collect(),
            ..ClanList::default()
        }
    }
}

/// A tag as used everywhere: upper case, letters and digits only.
pub(crate) fn normalize_tag(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn flag(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "x" => Some(true),
        "0" | "no" | "n" | "false" | "" => Some(false),
        _ => None,
    }
}

pub fn parse(table: &Table) -> Result<ClanList, MissingHeaders> {
    let cols = table.columns(REQUIRED, OPTIONAL)?;
    // Positions resolved once: normalising header names per cell dominated large tabs.
    let at: std::collections::HashMap<&str, Option<usize>> = REQUIRED
        .iter()
        .chain(OPTIONAL)
        .map(|h| (*h, cols.get(h)))
        .collect();
    let c = |h: &str| at.get(h).copied().flatten();
    let mut out = ClanList {
        has_lead_ids: c("lead_ids").is_some(),
        ..ClanList::default()
    };
    let mut seen = std::collections::HashSet::with_capacity(table.rows.len());
    let mut shared = Interner::default();
    for (i, row) in table.rows.iter().enumerate() {
        let sheet_row = table.line(i);
        let cell = |h: &str| table.cell(row, c(h));
        let raw_tag = cell("tag");
        let name = cell("name");
        if raw_tag.is_empty() && name.is_empty() {
            continue;
        }
        let tag = normalize_tag(raw_tag);
        if !(2..=10).contains(&tag.len()) {
            out.warnings.push(format!(
                "row {sheet_row}: tag {raw_tag:?} is not 2-10 letters or digits; row skipped"
            ));
            continue;
        }
        if name.is_empty() {
            out.warnings.push(format!(
                "row {sheet_row} ({tag}): name is empty; row skipped"
            ));
            continue;
        }
        if !seen.insert(tag.clone()) {
            out.warnings.push(format!(
                "row {sheet_row}: tag {tag} appears twice; the first row is used"
            ));
            continue;
        }
        let mut num = |h: &str, required: bool| -> Option<u32> {
            let v = cell(h);
            if v.is_empty() {
                if required {
                    out.warnings
                        .push(format!("row {sheet_row} ({tag}): {h} is empty; read as 0"));
                }
                return None;
            }
            match v.replace([',', ' '], "").parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    out.warnings.push(format!(
                        "row {sheet_row} ({tag}): {h} {v:?} is not a whole number; ignored"
                    ));
                    None
                }
            }
        };
        let level = num("level", true).unwrap_or(0);
        let spots = num("spots", true).unwrap_or(0);
        let rank = num("rank", false);
        let inactives = num("inactives", false).unwrap_or(0);
        let open_spots = num("open_spots", false);
        let reserved = num("reserved", false);
        let mut boolean = |h: &str| match flag(cell(h)) {
            Some(b) => b,
            None => {
                out.warnings.push(format!(
                    "row {sheet_row} ({tag}): {h} {:?} is not 1/0 or yes/no; read as no",
                    cell(h)
                ));
                false
            }
        };
        let cvc = boolean("cvc");
        let siege = boolean("siege");
        out.clans.push(Clan {
            row: sheet_row,
            tag,
            name: name.to_owned(),
            level,
            rank,
            spots,
            inactives,
            lead: cell("lead").to_owned(),
            deputies: cell("deputies").to_owned(),
            playstyle: shared.list(cell("playstyle")),
            cb: shared.text(cell("cb")),
            hydra: shared.text(cell("hydra")),
            chimera: shared.text(cell("chimera")),
            cb_tier: Tier::highest_in(cell("cb")),
            hydra_tier: Tier::highest_in(cell("hydra")),
            chimera_tier: Tier::highest_in(cell("chimera")),
            cvc,
            siege,
            requirements: cell("requirements").to_owned(),
            notes: cell("notes").to_owned(),
            bracket: shared.text(cell("bracket")),
            open_spots,
            reserved,
            reserved_by: cell("reserved_by").to_owned(),
            lead_ids: cell("lead_ids")
                .split([',', ' ', ';'])
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Table {
        let headers = [
            "Tag",
            "Name",
            "Level",
            "Rank",
            "Spots",
            "Inactives",
            "Lead",
            "Deputies",
            "Playstyle",
            "CB",
            "Hydra",
            "Chimera",
            "CvC",
            "Siege",
            "Notes",
        ];
        let mut raw = vec![headers.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        raw.extend(
            rows.iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect()),
        );
        Table::from_rows("Clans", raw)
    }

    #[test]
    fn parses_rows_by_header() {
        let t = table(&[&[
            "alp",
            "Alpha Wolves",
            "42",
            "120",
            "3",
            "1",
            "Ada",
            "Sam, Rio",
            "Competitive, Semi-competitive",
            "UNM",
            "NM",
            "Hard",
            "1",
            "0",
            "tight",
        ]]);
        let list = parse(&t).unwrap();
        assert!(list.warnings.is_empty(), "{:?}", list.warnings);
        let c = &list.clans[0];
        assert_eq!(
            (c.row, c.tag.as_str(), c.level, c.rank, c.spots, c.inactives),
            (2, "ALP", 42, Some(120), 3, 1)
        );
        let styles: Vec<&str> = c.playstyle.iter().map(|s| &**s).collect();
        assert_eq!(styles, ["Competitive", "Semi-competitive"]);
        assert_eq!(
            (c.cb_tier, c.hydra_tier, c.chimera_tier),
            (Some(Tier::Unm), Some(Tier::Nm), Some(Tier::Hard))
        );
        assert!(c.cvc && !c.siege);
        assert_eq!(c.open_spots, None);
    }

    #[test]
    fn bad_rows_are_skipped_with_warnings_naming_row_and_cell() {
        let t = table(&[
            &[
                "ALP", "Alpha", "42", "", "3", "", "Ada", "", "Casual", "", "", "", "", "", "",
            ],
            &[
                "?", "No tag", "1", "", "1", "", "", "", "", "", "", "", "", "", "",
            ],
            &[
                "ALP",
                "Alpha again",
                "1",
                "",
                "1",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "BET", "Beta", "lots", "", "2", "", "", "", "", "", "", "", "maybe", "", "",
            ],
            &["", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ]);
        let list = parse(&t).unwrap();
        assert_eq!(
            list.clans
                .iter()
                .map(|c| c.tag.as_str())
                .collect::<Vec<_>>(),
            ["ALP", "BET"]
        );
        assert_eq!(
            list.warnings,
            [
                "row 3: tag \"?\" is not 2-10 letters or digits; row skipped",
                "row 4: tag ALP appears twice; the first row is used",
                "row 5 (BET): level \"lots\" is not a whole number; ignored",
                "row 5 (BET): cvc \"maybe\" is not 1/0 or yes/no; read as no",
            ]
        );
        assert_eq!(list.clans[1].row, 5);
    }

    #[test]
    fn tiers_are_read_from_names_codes_and_mixed_cells() {
        assert_eq!(Tier::highest_in("Hard/Brutal"), Some(Tier::Brutal));
        assert_eq!(Tier::highest_in("Ultra Nightmare"), Some(Tier::Unm));
        assert_eq!(Tier::highest_in("ultra-nightmare"), Some(Tier::Unm));
        assert_eq!(Tier::highest_in("NML"), Some(Tier::Normal));
        assert_eq!(Tier::highest_in("BTL 2 keys"), Some(Tier::Brutal));
        assert_eq!(Tier::highest_in(""), None);
        assert_eq!(Tier::highest_in("soon"), None);
        assert!(Tier::Easy < Tier::Normal && Tier::Nm < Tier::Unm);
    }

    #[test]
    fn repeated_cells_share_one_copy() {
        let row = |tag: &'static str| {
            vec![
                tag, "Name", "1", "", "1", "", "", "", "Casual", "UNM", "NM", "Hard", "", "", "",
            ]
        };
        let (a, b) = (row("AAA"), row("BBB"));
        let list = parse(&table(&[&a, &b])).unwrap();
        let (x, y) = (&list.clans[0], &list.clans[1]);
        assert!(Arc::ptr_eq(&x.cb, &y.cb) && Arc::ptr_eq(&x.playstyle, &y.playstyle));
    }

    #[test]
    fn a_renamed_required_header_fails_naming_it() {
        let t = Table::from_rows(
            "Clans",
            vec![vec![
                "tag".into(),
                "name".into(),
                "level".into(),
                "open seats".into(),
            ]],
        );
        let e = parse(&t).unwrap_err();
        assert!(e.missing.contains(&"spots".to_owned()), "{e}");
        assert!(
            e.to_string()
                .starts_with("tab \"Clans\" is missing the headers spots"),
            "{e}"
        );
    }

    #[test]
    fn tags_are_found_in_any_case_and_the_closest_are_nearest_first() {
        let clan = |tag: &str| Clan {
            tag: tag.into(),
            ..Default::default()
        };
        let list = ClanList::of([clan("C1CA"), clan("C1CB"), clan("MARTYRS"), clan("C2CA")]);
        assert_eq!(list.find("c1-ca").map(|c| c.tag.as_str()), Some("C1CA"));
        assert!(list.find("C1CZ").is_none());
        assert_eq!(list.closest("c1cz", 3, None), ["C1CA", "C1CB", "C2CA"]);
        assert_eq!(list.closest("c1cz", 2, Some(1)), ["C1CA", "C1CB"]);
        assert!(list.closest("XYZXYZ", 3, Some(2)).is_empty());
        assert_eq!(
            list.closest("XYZXYZ", 1, None).len(),
            1,
            "always some without a bound"
        );
    }
}
