//! `clanhall restore`: with an empty database, rebuilds the reservations ledger from the
//! Reservations mirror tab (DESIGN.md §6). Every row is validated; bad rows are listed
//! with the reason and not imported. A database that already holds reservations is
//! refused: the store is the source of truth, the tab only its copy.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::ledger::{self, Reservation, Status};
use crate::sheets::mirror::RESERVATIONS;
use crate::sheets::table::Table;
use crate::store::{Audit, Store, StoreError};

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BadRow {
    /// The sheet row (the header is row 1).
    pub row: usize,
    pub reason: String,
}

/// What a restore found in the tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Parsed {
    #[serde(skip)]
    pub holds: Vec<Reservation>,
    pub bad: Vec<BadRow>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RestoreError {
    #[error(
        "the database already holds {0} reservations; restore only fills an empty one. Move DATA_DIR/clanhall.db aside first if you mean to rebuild it from the sheet"
    )]
    NotEmpty(i64),
    #[error("{0}")]
    Tab(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn snowflake(v: &str) -> Option<u64> {
    v.parse::<u64>().ok().filter(|n| *n > 0)
}

/// Reads the tab's rows into holds, by header name. Pure.
pub(crate) fn parse(table: &Table) -> Result<Parsed, RestoreError> {
    let cols = table
        .columns(RESERVATIONS.headers, &[])
        .map_err(|e| RestoreError::Tab(e.to_string()))?;
    let mut out = Parsed::default();
    let mut active_for: std::collections::HashMap<u64, usize> = Default::default();
    for (i, row) in table.rows.iter().enumerate() {
        let line = table.line(i);
        let cell = |h: &str| table.cell(row, cols.get(h)).to_owned();
        let bad = |reason: String| BadRow { row: line, reason };
        let (Some(thread_id), Some(user), Some(recruiter)) = (
            snowflake(&cell("thread_id")),
            snowflake(&cell("ticket_user_id")),
            snowflake(&cell("recruiter_id")),
        ) else {
            out.bad.push(bad(
                "thread_id, ticket_user_id and recruiter_id must be Discord ids".into(),
            ));
            continue;
        };
        let tag = cell("clan_tag").to_ascii_uppercase();
        if tag.is_empty() {
            out.bad.push(bad("clan_tag is empty".into()));
            continue;
        }
        let Ok(until) = NaiveDate::parse_from_str(&cell("reserved_until"), "%Y-%m-%d") else {
            out.bad.push(bad(format!(
                "reserved_until {:?} is not YYYY-MM-DD",
                cell("reserved_until")
            )));
            continue;
        };
        let Some(status) = Status::parse(&cell("status")) else {
            out.bad.push(bad(format!(
                "status {:?} is not a reservation status",
                cell("status")
            )));
            continue;
        };
        let created = cell("created_at");
        if chrono::DateTime::parse_from_rfc3339(&created).is_err() {
            out.bad
                .push(bad(format!("created_at {created:?} is not a timestamp")));
            continue;
        }
        if status == Status::Active {
            if let Some(first) = active_for.get(&user) {
                out.bad.push(bad(format!(
                    "a second active hold for user {user} (the first is row {first})"
                )));
                continue;
            }
            active_for.insert(user, line);
        }
        out.holds.push(Reservation {
            id: 0,
            thread_id,
            ticket_user_id: user,
            recruiter_id: recruiter,
            clan_tag: tag,
            reserved_until: until,
            updated_at: created.clone(),
            created_at: created,
            status,
            notes: cell("notes"),
            username_snapshot: cell("username_snapshot"),
        });
    }
    Ok(out)
}

/// The whole command: takes the `DATA_DIR` lock, opens the store, reads the Config and
/// Reservations tabs from the workbook the settings select, imports. Prints nothing.
pub(crate) async fn run(settings: &crate::settings::Settings) -> Result<serde_json::Value, String> {
    let clock: std::sync::Arc<dyn crate::runtime::Clock> =
        std::sync::Arc::new(crate::runtime::SystemClock);
    let _lock = crate::runtime::data_lock::DataDirLock::acquire(&settings.data_dir)
        .map_err(|e| e.to_string())?;
    let store = Store::open(&settings.data_dir, clock.clone()).map_err(|e| e.to_string())?;
    let existing = store
        .read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM reservations", [], |r| {
                r.get::<_, i64>(0)
            })?)
        })
        .await
        .map_err(|e| e.to_string())?;
    if existing > 0 {
        return Err(RestoreError::NotEmpty(existing).to_string());
    }
    let metrics = std::sync::Arc::new(crate::telemetry::metrics::Metrics::new(
        crate::VERSION,
        &settings.env_name,
    ));
    let sources = crate::sheets::Sources::from_settings(settings, clock.clone(), metrics)
        .await
        .map_err(|e| e.to_string())?;
    let config = crate::config::load(&sources, None, clock.utc())
        .await
        .map_err(|e| format!("cannot read the Config tab: {e}"))?;
    let tab = RESERVATIONS.tab(&config.tabs);
    let source = sources.get(RESERVATIONS.workbook);
    let mut read = source
        .read_tabs(std::slice::from_ref(&tab))
        .await
        .map_err(|e| e.to_string())?;
    let table = read
        .tabs
        .remove(&tab)
        .flatten()
        .ok_or_else(|| format!("the workbook ({}) has no {tab} tab", source.label()))?;
    let parsed = parse(&table).map_err(|e| e.to_string())?;
    let bad = parsed.bad.clone();
    let imported = import(&store, parsed).await.map_err(|e| e.to_string())?;
    Ok(json!({
        "source": source.label(),
        "tab": tab,
        "imported": imported,
        "skipped": bad.len(),
        "bad_rows": bad,
    }))
}

/// Imports `parsed` into an empty ledger, in one transaction with an audit row.
pub(crate) async fn import(store: &Store, parsed: Parsed) -> Result<usize, RestoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM reservations", [], |r| r.get(0))?;
            if n > 0 {
                return Ok(Err(RestoreError::NotEmpty(n)));
            }
            for h in &parsed.holds {
                ledger::insert_restored(tx, h)?;
            }
            Store::audit_in(
                tx,
                now,
                &Audit {
                    actor: "cli:restore",
                    action: "reservation.restore",
                    target: None,
                    detail: Some(
                        json!({"imported": parsed.holds.len(), "skipped": parsed.bad.len()}),
                    ),
                },
            )?;
            Ok(Ok(parsed.holds.len()))
        })
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Table {
        let mut raw = vec![
            RESERVATIONS
                .headers
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
        ];
        raw.extend(
            rows.iter()
                .map(|r| r.iter().map(|c| (*c).to_owned()).collect()),
        );
        Table::from_rows("Reservations", raw)
    }

    #[test]
    fn rows_are_validated_and_bad_ones_listed_with_their_sheet_row() {
        let t = "2026-12-01T10:00:00.000Z";
        let parsed = parse(&table(&[
            &[
                "9",
                "205",
                "203",
                "c1ca",
                "2026-12-08",
                t,
                "active",
                "",
                "Rue",
            ],
            &["9", "x", "203", "C1CA", "2026-12-08", t, "active", "", ""],
            &["9", "206", "203", "C1CA", "08/12/2026", t, "active", "", ""],
            &["9", "207", "203", "C1CA", "2026-12-08", t, "held", "", ""],
            &[
                "9",
                "205",
                "203",
                "C1CB",
                "2026-12-08",
                t,
                "active",
                "",
                "Rue",
            ],
            &[
                "9",
                "205",
                "203",
                "C1CB",
                "2026-11-08",
                t,
                "released",
                "note",
                "Rue",
            ],
        ]))
        .unwrap();
        assert_eq!(parsed.holds.len(), 2);
        assert_eq!(parsed.holds[0].clan_tag, "C1CA");
        assert_eq!(parsed.holds[1].status, Status::Released);
        let rows: Vec<usize> = parsed.bad.iter().map(|b| b.row).collect();
        assert_eq!(rows, [3, 4, 5, 6]);
        assert!(
            parsed.bad[3].reason.contains("second active hold"),
            "{:?}",
            parsed.bad
        );
    }

    #[test]
    fn a_tab_without_its_headers_is_refused() {
        let t = Table::from_rows("Reservations", vec![vec!["thread_id".into()]]);
        assert!(matches!(parse(&t), Err(RestoreError::Tab(_))));
    }
}
