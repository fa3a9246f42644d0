//! The mirror outbox (`mirror_outbox`): what the sheet mirror still has to write. A
//! feature queues a target in the same transaction as the change it mirrors, so a change
//! and its pending sheet write commit together; the flush job writes targets from the
//! store's current state and removes them only once written. One row per target: a
//! second change to the same target bumps its version instead of adding a row, so the
//! flush writes it once however many changes queued, and a change made while a flush
//! was writing keeps its row for the next flush.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, Transaction, params};
use serde::Serialize;

use crate::store::{StoreError, ts};

/// What a row asks to be written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) enum Target {
    /// The whole Reservations tab, rewritten from the ledger.
    ReservationsTab,
    /// One clan's availability cells in the Clans tab.
    ClanAvailability(String),
}

impl Target {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Target::ReservationsTab => ("reservations_tab", ""),
            Target::ClanAvailability(tag) => ("clan_availability", tag),
        }
    }

    fn from_parts(kind: &str, target: String) -> Option<Target> {
        match kind {
            "reservations_tab" => Some(Target::ReservationsTab),
            "clan_availability" => Some(Target::ClanAvailability(target)),
            _ => None,
        }
    }
}

/// A queued target, as a flush saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub id: i64,
    pub target: Target,
    pub version: i64,
    pub enqueued_at: String,
    pub attempts: i64,
}

/// Queues `target` inside the caller's transaction.
pub(crate) fn enqueue_in(
    tx: &Transaction<'_>,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (kind, key) = target.parts();
    tx.execute(
        "INSERT INTO mirror_outbox (kind, target, enqueued_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, target) DO UPDATE SET version = version + 1",
        params![kind, key, ts(now)],
    )?;
    Ok(())
}

/// Targets due at `now` (never tried, or past their backoff), oldest first.
pub(crate) fn due(c: &Connection, now: DateTime<Utc>) -> Result<Vec<Pending>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, kind, target, version, enqueued_at, attempts FROM mirror_outbox
         WHERE next_attempt_at IS NULL OR next_attempt_at <= ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![ts(now)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, target, version, enqueued_at, attempts) = row?;
        if let Some(target) = Target::from_parts(&kind, target) {
            out.push(Pending {
                id,
                target,
                version,
                enqueued_at,
                attempts,
            });
        }
    }
    Ok(out)
}

/// Removes written targets, unless they changed since the flush read them.
pub(crate) fn written(tx: &Transaction<'_>, done: &[Pending]) -> Result<(), StoreError> {
    for p in done {
        tx.execute(
            "DELETE FROM mirror_outbox WHERE id = ?1 AND version = ?2",
            params![p.id, p.version],
        )?;
    }
    Ok(())
}

/// How long a target waits after its `attempts`-th failure: 1 minute doubling to 30.
pub(crate) fn backoff(attempts: i64) -> Duration {
    let minutes = 1i64 << attempts.clamp(0, 5);
    Duration::minutes(minutes.min(30))
}

/// Keeps failed targets for later, with the error and the next time to try.
pub(crate) fn failed(
    tx: &Transaction<'_>,
    pending: &[Pending],
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for p in pending {
        tx.execute(
            "UPDATE mirror_outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![p.id, error, ts(now + backoff(p.attempts))],
        )?;
    }
    Ok(())
}

/// What `/health` and `ops digest` show of the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Depth {
    pub pending: i64,
    /// When the oldest pending target was queued.
    pub oldest: Option<String>,
    pub last_error: Option<String>,
}

pub(crate) fn depth(c: &Connection) -> Result<Depth, StoreError> {
    let (pending, oldest): (i64, Option<String>) = c.query_row(
        "SELECT COUNT(*), MIN(enqueued_at) FROM mirror_outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let last_error = c
        .query_row(
            "SELECT last_error FROM mirror_outbox WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .unwrap_or(None);
    Ok(Depth {
        pending,
        oldest,
        last_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_half_an_hour() {
        assert_eq!(backoff(0), Duration::minutes(1));
        assert_eq!(backoff(1), Duration::minutes(2));
        assert_eq!(backoff(4), Duration::minutes(16));
        assert_eq!(backoff(5), Duration::minutes(30));
        assert_eq!(backoff(50), Duration::minutes(30));
    }
}
