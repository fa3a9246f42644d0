//! The `clanmatch` / `clansearch` panel: a filter message (selects and buttons) and a
//! results message, both edited in place. Its state (filters, page, flipped cards) is a
//! `recruitment_panels` row whose id every component carries (`cm:<id>:…`), so a click
//! after a restart finds it. [`click`] is the pure decide step; the handler in
//! `components` applies it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};

use super::cards::{self, MATCH_PAGE, SEARCH_PAGE};
use super::matching::{self, Filters};
use crate::discord::components::{custom_id, pager};
use crate::discord::reply::Reply;
use crate::store::{StoreError, ts};
use crate::tabs::clans::{ClanList, Tier};

/// Which panel: the recruiters' list or the members' cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Match,
    Search,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Match => "match",
            Kind::Search => "search",
        }
    }

    /// The custom-id prefix its components carry.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Kind::Match => "cm",
            Kind::Search => "cs",
        }
    }

    pub(crate) fn command(self) -> &'static str {
        match self {
            Kind::Match => "clanmatch",
            Kind::Search => "clansearch",
        }
    }
}

/// A panel as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    pub id: i64,
    pub kind: Kind,
    pub owner_id: u64,
    pub channel_id: u64,
    pub panel_message_id: Option<u64>,
    pub results_message_id: Option<u64>,
    pub filters: Filters,
    pub page: usize,
    /// `clansearch` cards showing entry criteria instead of the profile.
    pub flipped: Vec<String>,
}

/// Playstyles offered in the select: Discord allows 25 options, one is "any".
const STYLE_OPTIONS: usize = 24;

/// The distinct playstyles of the list, in first-seen order.
fn playstyles(list: &ClanList) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &list.clans {
        for s in c.playstyle.iter() {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                out.push(s.to_string());
            }
        }
    }
    out
}

fn tier_select(p: &Panel, field: &str, label: &str, now: Option<Tier>) -> Option<CreateActionRow> {
    let id = custom_id(&[p.kind.prefix(), &p.id.to_string(), "f", field])?;
    let mut options = vec![
        CreateSelectMenuOption::new(format!("{label}: any"), "any")
            .default_selection(now.is_none()),
    ];
    options.extend(Tier::ALL.iter().map(|t| {
        CreateSelectMenuOption::new(format!("{label}: {}+", t.label()), t.label())
            .default_selection(now == Some(*t))
    }));
    Some(CreateActionRow::SelectMenu(CreateSelectMenu::new(
        id,
        CreateSelectMenuKind::String { options },
    )))
}

/// The filter message: four selects and a row of buttons (five rows, Discord's most).
pub(crate) fn panel_reply(p: &Panel, list: &ClanList, owner_name: &str) -> Reply {
    let f = &p.filters;
    let pid = p.id.to_string();
    let styles = playstyles(list);
    let mut content = format!(
        "**{}** for {owner_name}: pick filters; the results below follow. Filters: {}.",
        p.kind.command(),
        f.describe()
    );
    if styles.len() > STYLE_OPTIONS {
        content.push_str(&format!(
            "\n{} more playstyles than the menu can list; use **Text…** with a clan name for those.",
            styles.len() - STYLE_OPTIONS
        ));
    }
    let mut rows: Vec<CreateActionRow> = [
        tier_select(p, "cb", "CB", f.cb),
        tier_select(p, "hydra", "Hydra", f.hydra),
        tier_select(p, "chimera", "Chimera", f.chimera),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(id) = custom_id(&[p.kind.prefix(), &pid, "f", "style"]) {
        let mut options = vec![
            CreateSelectMenuOption::new("Playstyle: any", "any")
                .default_selection(f.playstyle.is_none()),
        ];
        options.extend(styles.iter().take(STYLE_OPTIONS).map(|s| {
            let label: String = format!("Playstyle: {s}").chars().take(100).collect();
            let value: String = s.chars().take(100).collect();
            let picked = f
                .playstyle
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(s));
            CreateSelectMenuOption::new(label, value).default_selection(picked)
        }));
        rows.push(CreateActionRow::SelectMenu(CreateSelectMenu::new(
            id,
            CreateSelectMenuKind::String { options },
        )));
    }
    let button = |action: &str, label: String| {
        custom_id(&[p.kind.prefix(), &pid, action]).map(|id| {
            CreateButton::new(id)
                .label(label)
                .style(ButtonStyle::Secondary)
        })
    };
    let buttons: Vec<CreateButton> = [
        button("cvc", format!("CvC: {}", f.cvc.label())),
        button("siege", format!("Siege: {}", f.siege.label())),
        button("roster", format!("Roster: {}", f.roster.label())),
        button("text", "Text…".into()),
        button("reset", "Reset".into()),
    ]
    .into_iter()
    .flatten()
    .collect();
    rows.push(CreateActionRow::Buttons(buttons));
    Reply {
        content,
        components: rows,
        ..Default::default()
    }
}

/// The results message for the panel's filters and page.
pub(crate) fn results_reply(p: &Panel, list: &ClanList) -> Reply {
    let found = matching::matches(list, &p.filters);
    let pid = p.id.to_string();
    match p.kind {
        Kind::Match => {
            let total = cards::pages(found.len(), MATCH_PAGE);
            let page = p.page.min(total - 1);
            let mut reply = Reply::embed(cards::match_page(&found, page, &p.filters));
            reply.components = pager(&[p.kind.prefix(), &pid, "page"], page, total)
                .into_iter()
                .collect();
            reply
        }
        Kind::Search => {
            let total = cards::pages(found.len(), SEARCH_PAGE);
            let page = p.page.min(total - 1);
            if found.is_empty() {
                return Reply::text(format!(
                    "No matching clans found. {} (Filters: {}.)",
                    p.filters.loosen_hint(),
                    p.filters.describe()
                ));
            }
            let shown: Vec<_> = found
                .iter()
                .skip(page * SEARCH_PAGE)
                .take(SEARCH_PAGE)
                .collect();
            let flipped = |tag: &str| p.flipped.iter().any(|t| t == tag);
            let embeds = shown
                .iter()
                .map(|c| {
                    if flipped(&c.tag) {
                        cards::criteria(c)
                    } else {
                        cards::profile(c)
                    }
                })
                .collect();
            let flips: Vec<CreateButton> = shown
                .iter()
                .filter_map(|c| {
                    let to = if flipped(&c.tag) {
                        "profile"
                    } else {
                        "entry criteria"
                    };
                    custom_id(&[p.kind.prefix(), &pid, "flip", &c.tag])
                        .map(|id| CreateButton::new(id).label(format!("{}: {to}", c.tag)))
                })
                .collect();
            let mut reply = Reply::embeds(embeds);
            reply.content = format!(
                "{} · page {}/{total} · Filters: {}",
                crate::util::text::count(found.len(), "clan"),
                page + 1,
                p.filters.describe()
            );
            reply.components = std::iter::once(CreateActionRow::Buttons(flips))
                .chain(pager(&[p.kind.prefix(), &pid, "page"], page, total))
                .collect();
            reply
        }
    }
}

/// What a click does to the panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// The filters changed: both messages are redrawn, from page 1.
    Filters(Panel),
    /// The page or a card changed: the results message is redrawn.
    Results(Panel),
    /// Opens the text form.
    AskText,
    /// A disabled button or nothing to change.
    Nothing,
}

/// Applies one click (`args` after the panel id, select `values`, form `text`).
pub(crate) fn click(p: &Panel, args: &[String], values: &[String], text: Option<&str>) -> Step {
    let mut next = p.clone();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let f = &mut next.filters;
    match arg(0) {
        "f" => {
            let v = values.first().map(String::as_str).unwrap_or("any");
            let tier = Tier::parse(v);
            match arg(1) {
                "cb" => f.cb = tier,
                "hydra" => f.hydra = tier,
                "chimera" => f.chimera = tier,
                "style" => f.playstyle = (v != "any").then(|| v.to_owned()),
                _ => return Step::Nothing,
            }
        }
        "cvc" => f.cvc = f.cvc.next(),
        "siege" => f.siege = f.siege.next(),
        "roster" => f.roster = f.roster.next(),
        "reset" => *f = Filters::default(),
        "text" => return Step::AskText,
        "textm" => f.text = text.unwrap_or_default().trim().chars().take(100).collect(),
        "page" => {
            next.page = arg(1).parse().unwrap_or(0);
            next.flipped.clear();
            return Step::Results(next);
        }
        "flip" => {
            let tag = arg(1).to_owned();
            if let Some(i) = next.flipped.iter().position(|t| *t == tag) {
                next.flipped.remove(i);
            } else {
                next.flipped.push(tag);
            }
            return Step::Results(next);
        }
        _ => return Step::Nothing,
    }
    next.page = 0;
    next.flipped.clear();
    Step::Filters(next)
}

// ---- queries (the store owns the connection and the transaction) ----

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Panel> {
    let kind: String = r.get("kind")?;
    let filters: String = r.get("filters")?;
    let flipped: String = r.get("flipped")?;
    Ok(Panel {
        id: r.get("id")?,
        kind: if kind == "search" {
            Kind::Search
        } else {
            Kind::Match
        },
        owner_id: r.get::<_, i64>("owner_id")? as u64,
        channel_id: r.get::<_, i64>("channel_id")? as u64,
        panel_message_id: r
            .get::<_, Option<i64>>("panel_message_id")?
            .map(|v| v as u64),
        results_message_id: r
            .get::<_, Option<i64>>("results_message_id")?
            .map(|v| v as u64),
        // A row this build cannot read starts from the default filters, not an error.
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        page: r.get::<_, i64>("page")?.max(0) as usize,
        flipped: flipped
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

pub(crate) fn get(c: &Connection, id: i64) -> Result<Option<Panel>, StoreError> {
    Ok(c.query_row(
        "SELECT * FROM recruitment_panels WHERE id = ?1",
        [id],
        from_row,
    )
    .optional()?)
}

pub(crate) fn find(
    c: &Connection,
    kind: Kind,
    owner: u64,
    channel: u64,
) -> Result<Option<Panel>, StoreError> {
    Ok(c.query_row(
        "SELECT * FROM recruitment_panels WHERE kind = ?1 AND owner_id = ?2 AND channel_id = ?3",
        params![kind.as_str(), owner as i64, channel as i64],
        from_row,
    )
    .optional()?)
}

/// A new panel for `owner` in `channel`, replacing a dead one there.
pub(crate) fn create(
    tx: &Transaction<'_>,
    kind: Kind,
    owner: u64,
    channel: u64,
    filters: &Filters,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Panel, StoreError> {
    tx.execute(
        "DELETE FROM recruitment_panels WHERE kind = ?1 AND owner_id = ?2 AND channel_id = ?3",
        params![kind.as_str(), owner as i64, channel as i64],
    )?;
    let json = serde_json::to_string(filters).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "INSERT INTO recruitment_panels (kind, owner_id, channel_id, filters, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![kind.as_str(), owner as i64, channel as i64, json, ts(now)],
    )?;
    let id = tx.last_insert_rowid();
    Ok(Panel {
        id,
        kind,
        owner_id: owner,
        channel_id: channel,
        panel_message_id: None,
        results_message_id: None,
        filters: filters.clone(),
        page: 0,
        flipped: Vec::new(),
    })
}

pub(crate) fn save(
    tx: &Transaction<'_>,
    p: &Panel,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(&p.filters).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "UPDATE recruitment_panels SET panel_message_id = ?2, results_message_id = ?3, filters = ?4, page = ?5, flipped = ?6, updated_at = ?7 WHERE id = ?1",
        params![
            p.id,
            p.panel_message_id.map(|v| v as i64),
            p.results_message_id.map(|v| v as i64),
            json,
            p.page as i64,
            p.flipped.join(","),
            ts(now)
        ],
    )?;
    Ok(())
}

pub(crate) fn delete(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    tx.execute("DELETE FROM recruitment_panels WHERE id = ?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(kind: Kind) -> Panel {
        Panel {
            id: 7,
            kind,
            owner_id: 1,
            channel_id: 2,
            panel_message_id: Some(3),
            results_message_id: Some(4),
            filters: Filters::default(),
            page: 2,
            flipped: vec!["C1CA".into()],
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_filter_pick_starts_again_from_page_one() {
        let p = panel(Kind::Search);
        let Step::Filters(n) = click(&p, &args(&["f", "cb"]), &["NM".into()], None) else {
            panic!("a select changes the filters")
        };
        assert_eq!(
            (n.filters.cb, n.page, n.flipped.len()),
            (Some(Tier::Nm), 0, 0)
        );
        let Step::Filters(any) = click(&n, &args(&["f", "cb"]), &["any".into()], None) else {
            panic!()
        };
        assert_eq!(any.filters.cb, None);
    }

    #[test]
    fn buttons_cycle_and_pages_keep_the_filters() {
        let p = panel(Kind::Match);
        let Step::Filters(n) = click(&p, &args(&["cvc"]), &[], None) else {
            panic!()
        };
        assert_eq!(n.filters.cvc, matching::Choice::Yes);
        let Step::Results(r) = click(&n, &args(&["page", "1"]), &[], None) else {
            panic!()
        };
        assert_eq!((r.page, r.filters.cvc), (1, matching::Choice::Yes));
        assert_eq!(click(&p, &args(&["text"]), &[], None), Step::AskText);
        let Step::Filters(t) = click(&p, &args(&["textm"]), &[], Some("  ashen  ")) else {
            panic!()
        };
        assert_eq!(t.filters.text, "ashen");
        assert_eq!(click(&p, &args(&["bogus"]), &[], None), Step::Nothing);
    }

    #[test]
    fn the_panel_keeps_to_five_rows_and_says_what_the_menu_cannot_list() {
        let clans = (0..30)
            .map(|i| crate::tabs::clans::Clan {
                tag: format!("T{i:02}"),
                playstyle: std::sync::Arc::from(vec![std::sync::Arc::from(format!("Style {i}"))]),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        let list = ClanList::of(clans);
        let r = panel_reply(&panel(Kind::Match), &list, "rio");
        assert_eq!(r.components.len(), 5);
        assert!(r.content.contains("6 more playstyles"), "{}", r.content);
        let ids: Vec<String> = serde_json::to_value(&r.components)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
            .collect();
        assert!(
            ids.iter().all(|i| i.len() <= 100 && i.starts_with("cm:7:")),
            "{ids:?}"
        );
        let style = serde_json::to_value(&r.components[3]).unwrap();
        assert_eq!(
            style["components"][0]["options"].as_array().unwrap().len(),
            25
        );
    }

    #[test]
    fn a_flip_toggles_one_card() {
        let p = panel(Kind::Search);
        let Step::Results(a) = click(&p, &args(&["flip", "C1CB"]), &[], None) else {
            panic!()
        };
        assert_eq!(a.flipped, ["C1CA", "C1CB"]);
        let Step::Results(b) = click(&a, &args(&["flip", "C1CA"]), &[], None) else {
            panic!()
        };
        assert_eq!(b.flipped, ["C1CB"]);
    }
}
