//! The reservations ledger: the queries of the `reservations` table. The store owns the
//! connection and the transaction; these run inside it, so a change, its audit row and
//! its outbox entries commit together or not at all.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::store::{StoreError, ts};

/// Where a hold stands. Only `Active` counts against a clan's seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Active,
    Released,
    Expired,
    Cancelled,
    ClosedSameClan,
    ClosedOtherClan,
}

impl Status {
    pub(crate) const ALL: [Status; 6] = [
        Status::Active,
        Status::Released,
        Status::Expired,
        Status::Cancelled,
        Status::ClosedSameClan,
        Status::ClosedOtherClan,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Released => "released",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::ClosedSameClan => "closed_same_clan",
            Status::ClosedOtherClan => "closed_other_clan",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// One hold, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Reservation {
    pub id: i64,
    pub thread_id: u64,
    pub ticket_user_id: u64,
    pub recruiter_id: u64,
    pub clan_tag: String,
    pub reserved_until: NaiveDate,
    pub created_at: String,
    pub updated_at: String,
    pub status: Status,
    pub notes: String,
    pub username_snapshot: String,
}

/// A hold about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewHold {
    pub thread_id: u64,
    pub ticket_user_id: u64,
    pub recruiter_id: u64,
    pub clan_tag: String,
    pub reserved_until: NaiveDate,
    pub notes: String,
    pub username_snapshot: String,
}

const COLUMNS: &str = "id, thread_id, ticket_user_id, recruiter_id, clan_tag, reserved_until, created_at, updated_at, status, notes, username_snapshot";

fn id_of(s: String) -> u64 {
    s.parse().unwrap_or(0)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Reservation> {
    let until: String = r.get(5)?;
    let status: String = r.get(8)?;
    Ok(Reservation {
        id: r.get(0)?,
        thread_id: id_of(r.get(1)?),
        ticket_user_id: id_of(r.get(2)?),
        recruiter_id: id_of(r.get(3)?),
        clan_tag: r.get(4)?,
        // The table's CHECK and our writers only ever store these shapes.
        reserved_until: NaiveDate::parse_from_str(&until, "%Y-%m-%d").unwrap_or_default(),
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        status: Status::parse(&status).unwrap_or(Status::Cancelled),
        notes: r.get(9)?,
        username_snapshot: r.get(10)?,
    })
}

/// Inserts an active hold. `Ok(None)` when the recruit already holds one: the partial
/// unique index refuses it, whatever raced with this transaction.
pub(crate) fn insert_active(
    tx: &Transaction<'_>,
    hold: &NewHold,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let at = ts(now);
    let result = tx.execute(
        "INSERT INTO reservations (thread_id, ticket_user_id, recruiter_id, clan_tag, reserved_until, created_at, updated_at, status, notes, username_snapshot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'active', ?7, ?8)",
        params![
            hold.thread_id.to_string(),
            hold.ticket_user_id.to_string(),
            hold.recruiter_id.to_string(),
            hold.clan_tag,
            hold.reserved_until.format("%Y-%m-%d").to_string(),
            at,
            hold.notes,
            hold.username_snapshot,
        ],
    );
    match result {
        Ok(_) => Ok(Some(tx.last_insert_rowid())),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The recruit's active hold, if any.
pub(crate) fn active_for(c: &Connection, user: u64) -> Result<Option<Reservation>, StoreError> {
    Ok(c.query_row(
        &format!(
            "SELECT {COLUMNS} FROM reservations WHERE ticket_user_id = ?1 AND status = 'active'"
        ),
        params![user.to_string()],
        row,
    )
    .optional()?)
}

/// Every active hold in `tag` (case-insensitive), oldest first.
pub(crate) fn active_in(c: &Connection, tag: &str) -> Result<Vec<Reservation>, StoreError> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM reservations WHERE status = 'active' AND clan_tag = ?1 COLLATE NOCASE ORDER BY id"
        ),
        params![tag],
    )
}

/// Every active hold, oldest first.
pub(crate) fn all_active(c: &Connection) -> Result<Vec<Reservation>, StoreError> {
    query(
        c,
        &format!("SELECT {COLUMNS} FROM reservations WHERE status = 'active' ORDER BY id"),
        [],
    )
}

/// Holds changed since `since`, newest first.
pub(crate) fn changed_since(
    c: &Connection,
    since: DateTime<Utc>,
) -> Result<Vec<Reservation>, StoreError> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM reservations WHERE updated_at >= ?1 ORDER BY updated_at DESC, id DESC"
        ),
        params![ts(since)],
    )
}

/// Every hold, in insertion order (the mirror tab).
pub(crate) fn all(c: &Connection) -> Result<Vec<Reservation>, StoreError> {
    query(
        c,
        &format!("SELECT {COLUMNS} FROM reservations ORDER BY id"),
        [],
    )
}

/// Active holds whose last day is `day` or earlier.
pub(crate) fn ending_by(c: &Connection, day: NaiveDate) -> Result<Vec<Reservation>, StoreError> {
    query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM reservations WHERE status = 'active' AND reserved_until <= ?1 ORDER BY id"
        ),
        params![day.format("%Y-%m-%d").to_string()],
    )
}

fn query(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<Reservation>, StoreError> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(p, row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ends an active hold with `status`. Whether a row changed: a hold that was no longer
/// active (a second click, a race) changes nothing.
pub(crate) fn finish(
    tx: &Transaction<'_>,
    id: i64,
    status: Status,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE reservations SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'active'",
        params![id, status.as_str(), ts(now)],
    )?;
    Ok(n == 1)
}

/// Moves an active hold's last day.
pub(crate) fn extend(
    tx: &Transaction<'_>,
    id: i64,
    until: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE reservations SET reserved_until = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'active'",
        params![id, until.format("%Y-%m-%d").to_string(), ts(now)],
    )?;
    Ok(n == 1)
}

/// Writes a hold as it was (restored from the mirror tab), keeping its status and times.
pub(crate) fn insert_restored(tx: &Transaction<'_>, r: &Reservation) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO reservations (thread_id, ticket_user_id, recruiter_id, clan_tag, reserved_until, created_at, updated_at, status, notes, username_snapshot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            r.thread_id.to_string(),
            r.ticket_user_id.to_string(),
            r.recruiter_id.to_string(),
            r.clan_tag,
            r.reserved_until.format("%Y-%m-%d").to_string(),
            r.created_at,
            r.updated_at,
            r.status.as_str(),
            r.notes,
            r.username_snapshot,
        ],
    )?;
    Ok(())
}
