//! The reservations' sheet mirror: what the `mirror:flush` job writes for the targets in
//! the outbox (`sheets::outbox::flush` does the one read and the one write of the
//! spreadsheet). Every flush reads the Clans and Reservations tabs once, fresh, and locates
//! each cell by header name and each clan's row by its `tag` in that read, so a row or
//! column staff inserted since the last flush never shifts a write; then it sends every
//! write in one request (`values:batchUpdate` on Google). The contents come from the
//! ledger as it is at flush time, never from what was queued.

use std::collections::BTreeMap;

use super::availability;
use super::ledger::{self, Reservation};
use crate::sheets::mirror::RESERVATIONS;
use crate::sheets::outbox::{self, Pending, Target};
use crate::sheets::table::Table;
use crate::sheets::{RangeWrite, TabNames, TabsRead, Workbook};
use crate::store::Store;

/// The Clans tab's bot-written columns.
const AVAILABILITY: [&str; 3] = ["open_spots", "reserved", "reserved_by"];

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flushed {
    /// Targets written and removed from the outbox.
    pub targets: usize,
    /// Cells written.
    pub cells: usize,
    /// Clans queued for a write whose tag is no longer in the Clans tab (reported, not
    /// guessed; removed from the outbox).
    pub missing_tags: Vec<String>,
}

/// The writes for `due`, from one fresh read of the tabs and the ledger.
pub(crate) fn plan(
    due: &[Pending],
    clans: Option<&Table>,
    reservations: Option<&Table>,
    holds: &[Reservation],
    tabs: &TabNames,
) -> Result<(Vec<RangeWrite>, Flushed), String> {
    let mut writes = Vec::new();
    let mut done = Flushed::default();
    let active: BTreeMap<String, Vec<&Reservation>> = holds
        .iter()
        .filter(|r| r.status == ledger::Status::Active)
        .fold(BTreeMap::new(), |mut m, r| {
            m.entry(r.clan_tag.to_ascii_uppercase())
                .or_insert_with(Vec::new)
                .push(r);
            m
        });
    for p in due {
        match &p.target {
            Target::ReservationsTab => {
                let t = reservations
                    .ok_or_else(|| format!("the {} tab is missing", tabs.reservations))?;
                let cols = t
                    .columns(RESERVATIONS.headers, &[])
                    .map_err(|e| e.to_string())?;
                // Rows below the ledger's are blanked, so a shorter ledger leaves nothing
                // stale behind.
                let height = holds.len().max(t.rows.len());
                for h in RESERVATIONS.headers {
                    let Some(col) = cols.get(h) else { continue };
                    let mut column: Vec<Vec<String>> =
                        holds.iter().map(|r| vec![reservation_cell(r, h)]).collect();
                    column.resize(height, vec![String::new()]);
                    done.cells += column.len();
                    writes.push(RangeWrite {
                        tab: t.name.clone(),
                        row: 2,
                        col: col + 1,
                        rows: column,
                    });
                }
                done.targets += 1;
            }
            Target::TicketsTab | Target::SessionsTab => {}
            Target::ClanAvailability(tag) => {
                let t = clans.ok_or_else(|| format!("the {} tab is missing", tabs.clans))?;
                let mut required = vec!["tag", "spots"];
                required.extend(AVAILABILITY);
                let cols = t.columns(&required, &[]).map_err(|e| e.to_string())?;
                let tag_col = cols.get("tag");
                let found = t
                    .rows
                    .iter()
                    .enumerate()
                    .find(|(_, row)| t.cell(row, tag_col).eq_ignore_ascii_case(tag));
                let Some((i, row)) = found else {
                    done.missing_tags.push(tag.clone());
                    done.targets += 1;
                    continue;
                };
                let spots = t.cell(row, cols.get("spots")).parse::<u32>().unwrap_or(0);
                let names: Vec<String> = active
                    .get(&tag.to_ascii_uppercase())
                    .map(|v| v.iter().map(|r| r.username_snapshot.clone()).collect())
                    .unwrap_or_default();
                let a = availability::compute(spots, &names, 0);
                for (h, v) in AVAILABILITY.iter().zip([
                    a.open_spots.to_string(),
                    a.reserved.to_string(),
                    a.reserved_by,
                ]) {
                    if let Some(col) = cols.get(h) {
                        writes.push(RangeWrite {
                            tab: t.name.clone(),
                            row: t.line(i),
                            col: col + 1,
                            rows: vec![vec![v]],
                        });
                        done.cells += 1;
                    }
                }
                done.targets += 1;
            }
        }
    }
    Ok((writes, done))
}

fn reservation_cell(r: &Reservation, header: &str) -> String {
    match header {
        "thread_id" => r.thread_id.to_string(),
        "ticket_user_id" => r.ticket_user_id.to_string(),
        "recruiter_id" => r.recruiter_id.to_string(),
        "clan_tag" => r.clan_tag.clone(),
        "reserved_until" => r.reserved_until.to_string(),
        "created_at" => r.created_at.clone(),
        "status" => r.status.as_str().to_owned(),
        "notes" => r.notes.clone(),
        "username_snapshot" => r.username_snapshot.clone(),
        _ => String::new(),
    }
}

/// The reservations' part of the mirror: the Reservations tab and the clans'
/// availability cells, in the recruitment workbook.
pub(crate) struct ReservationsMirror {
    pub store: Store,
}

#[async_trait::async_trait]
impl outbox::Mirror for ReservationsMirror {
    fn name(&self) -> &'static str {
        "reservations"
    }

    fn owns(&self, target: &Target) -> bool {
        matches!(
            target,
            Target::ReservationsTab | Target::ClanAvailability(_)
        )
    }

    fn workbook(&self) -> Workbook {
        Workbook::Recruitment
    }

    fn tabs(&self, names: &TabNames) -> Vec<String> {
        vec![names.clans.clone(), names.reservations.clone()]
    }

    async fn plan(
        &self,
        due: &[Pending],
        read: &TabsRead,
        names: &TabNames,
    ) -> Result<outbox::Planned, String> {
        let holds = self
            .store
            .read(ledger::all)
            .await
            .map_err(|e| e.to_string())?;
        let clans = read.tabs.get(&names.clans).and_then(|t| t.as_ref());
        let reservations = read.tabs.get(&names.reservations).and_then(|t| t.as_ref());
        let (writes, done) = plan(due, clans, reservations, &holds, names)?;
        if !done.missing_tags.is_empty() {
            tracing::warn!(tags = ?done.missing_tags, "mirror: clans with holds are no longer in the Clans tab; their availability was not written");
        }
        Ok(outbox::Planned {
            writes,
            summary: serde_json::json!({
                "targets": done.targets,
                "cells": done.cells,
                "missing_tags": done.missing_tags,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn table(name: &str, rows: &[&[&str]]) -> Table {
        Table::from_rows(
            name,
            rows.iter()
                .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
                .collect(),
        )
    }

    fn hold(id: i64, tag: &str, name: &str) -> Reservation {
        Reservation {
            id,
            thread_id: 9,
            ticket_user_id: 200 + id as u64,
            recruiter_id: 203,
            clan_tag: tag.into(),
            reserved_until: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            created_at: "2026-12-01T10:00:00.000Z".into(),
            updated_at: "2026-12-01T10:00:00.000Z".into(),
            status: ledger::Status::Active,
            notes: String::new(),
            username_snapshot: name.into(),
        }
    }

    fn due(targets: &[Target]) -> Vec<Pending> {
        targets
            .iter()
            .enumerate()
            .map(|(i, t)| Pending {
                id: i as i64,
                target: t.clone(),
                version: 1,
                enqueued_at: String::new(),
                attempts: 0,
            })
            .collect()
    }

    #[test]
    fn a_clan_row_is_found_by_tag_and_its_cells_by_header_wherever_they_moved() {
        // A column inserted before `reserved`, a blank row and a row inserted above.
        let clans = table(
            "Clans",
            &[
                &[
                    "tag",
                    "spots",
                    "open_spots",
                    "staff note",
                    "reserved",
                    "reserved_by",
                ],
                &["NEW1", "5", "", "", "", ""],
                &[],
                &["C1CA", "2", "2", "x", "0", ""],
            ],
        );
        let (writes, done) = plan(
            &due(&[Target::ClanAvailability("c1ca".into())]),
            Some(&clans),
            None,
            &[hold(1, "C1CA", "Rue")],
            &TabNames::default(),
        )
        .unwrap();
        assert_eq!(done.targets, 1);
        let cells: Vec<(usize, usize, &str)> = writes
            .iter()
            .map(|w| (w.row, w.col, w.rows[0][0].as_str()))
            .collect();
        assert_eq!(cells, [(4, 3, "1"), (4, 5, "1"), (4, 6, "1 -> Rue")]);
    }

    #[test]
    fn a_tag_no_longer_in_the_tab_is_reported_and_missing_headers_fail() {
        let clans = table(
            "Clans",
            &[&["tag", "spots", "open_spots", "reserved", "reserved_by"]],
        );
        let (writes, done) = plan(
            &due(&[Target::ClanAvailability("GONE".into())]),
            Some(&clans),
            None,
            &[],
            &TabNames::default(),
        )
        .unwrap();
        assert!(writes.is_empty());
        assert_eq!(done.missing_tags, ["GONE"]);
        let bare = table("Clans", &[&["tag", "spots"]]);
        let err = plan(
            &due(&[Target::ClanAvailability("C1CA".into())]),
            Some(&bare),
            None,
            &[],
            &TabNames::default(),
        )
        .unwrap_err();
        assert!(err.contains("open_spots"), "{err}");
    }

    #[test]
    fn the_reservations_tab_is_rewritten_by_header_and_old_rows_blanked() {
        let mut headers: Vec<&str> = RESERVATIONS.headers.to_vec();
        headers.insert(2, "comment");
        let old: Vec<&str> = vec!["1"; headers.len()];
        let tab = table("Reservations", &[&headers, &old, &old]);
        let (writes, _) = plan(
            &due(&[Target::ReservationsTab]),
            None,
            Some(&tab),
            &[hold(1, "C1CA", "Rue")],
            &TabNames::default(),
        )
        .unwrap();
        assert_eq!(writes.len(), RESERVATIONS.headers.len());
        assert!(
            writes.iter().all(|w| w.col != 3),
            "staff's own column is left alone"
        );
        let status = writes.iter().find(|w| w.col == 8).unwrap();
        assert_eq!(
            status.rows,
            [vec!["active".to_owned()], vec![String::new()]]
        );
    }
}
