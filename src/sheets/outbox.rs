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
    /// The whole WelcomeTickets tab, rewritten from the tickets table.
    TicketsTab,
    /// The whole OnboardingSessions tab, rewritten from the sessions table.
    SessionsTab,
}

impl Target {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Target::ReservationsTab => ("reservations_tab", ""),
            Target::ClanAvailability(tag) => ("clan_availability", tag),
            Target::TicketsTab => ("tickets_tab", ""),
            Target::SessionsTab => ("sessions_tab", ""),
        }
    }

    fn from_parts(kind: &str, target: String) -> Option<Target> {
        match kind {
            "reservations_tab" => Some(Target::ReservationsTab),
            "clan_availability" => Some(Target::ClanAvailability(target)),
            "tickets_tab" => Some(Target::TicketsTab),
            "sessions_tab" => Some(Target::SessionsTab),
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

/// One feature's part of the sheet mirror: the targets it owns, the tabs they need and
/// the writes that bring those tabs up to date. Mirrors only plan; [`flush`] reads each
/// spreadsheet once for every mirror that uses it and writes it once
/// (`values:batchUpdate` on Google), however many targets are queued.
#[async_trait::async_trait]
pub(crate) trait Mirror: Send + Sync {
    /// A short name for logs and the flush summary (`reservations`, `onboarding`).
    fn name(&self) -> &'static str;
    fn owns(&self, target: &Target) -> bool;
    fn workbook(&self) -> super::Workbook;
    /// The tabs `due` needs read, by their configured names.
    fn tabs(&self, names: &super::TabNames) -> Vec<String>;
    /// The writes for `due` (this mirror's targets) from `read` (one fresh read of its
    /// spreadsheet) and the store as it is now, with what it will write for the job's
    /// summary; or why these targets cannot be written (they stay queued).
    async fn plan(
        &self,
        due: &[Pending],
        read: &super::TabsRead,
        names: &super::TabNames,
    ) -> Result<Planned, String>;
}

/// What a mirror will write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Planned {
    pub writes: Vec<super::RangeWrite>,
    pub summary: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FlushError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Those targets stay in the outbox with a backoff; the others were written.
    #[error("{0}")]
    Sheets(String),
}

/// A mirror with its due targets.
type MirrorDue<'a> = (&'a std::sync::Arc<dyn Mirror>, Vec<Pending>);

/// Writes what the outbox holds that is due at `now`: per spreadsheet, one read of every
/// tab its mirrors need and one write of everything they planned. A mirror that cannot
/// plan (a tab missing) keeps its own targets queued; a failed read or write keeps the
/// spreadsheet's. Failed targets get a backoff and the error. The summary per mirror,
/// or the first failure.
pub(crate) async fn flush(
    store: &crate::store::Store,
    sources: &super::Sources,
    names: &super::TabNames,
    mirrors: &[std::sync::Arc<dyn Mirror>],
    now: DateTime<Utc>,
) -> Result<serde_json::Map<String, serde_json::Value>, FlushError> {
    let due = store.read(move |c| self::due(c, now)).await?;
    let mut by_sheet: std::collections::BTreeMap<super::Workbook, Vec<MirrorDue<'_>>> =
        Default::default();
    for m in mirrors {
        let mine: Vec<Pending> = due.iter().filter(|p| m.owns(&p.target)).cloned().collect();
        if !mine.is_empty() {
            by_sheet
                .entry(sources.read_key(m.workbook()))
                .or_default()
                .push((m, mine));
        }
    }
    let mut summary = serde_json::Map::new();
    // Targets that stay queued, with why.
    let mut kept: Vec<(Vec<Pending>, String)> = Vec::new();
    for (sheet, group) in by_sheet {
        let mut tabs: Vec<String> = group.iter().flat_map(|(m, _)| m.tabs(names)).collect();
        tabs.sort();
        tabs.dedup();
        let source = sources.get(sheet);
        let read = match source.read_tabs(&tabs).await {
            Ok(r) => r,
            Err(e) => {
                for (m, mine) in group {
                    kept.push((mine, format!("{}: {e}", m.name())));
                }
                continue;
            }
        };
        let mut writes = Vec::new();
        let mut planned: Vec<(&'static str, Vec<Pending>, serde_json::Value)> = Vec::new();
        for (m, mine) in group {
            match m.plan(&mine, &read, names).await {
                Ok(p) => {
                    writes.extend(p.writes);
                    planned.push((m.name(), mine, p.summary));
                }
                Err(why) => kept.push((mine, format!("{}: {why}", m.name()))),
            }
        }
        if planned.is_empty() {
            continue;
        }
        match source.write_ranges(writes).await {
            Ok(()) => {
                let done: Vec<Pending> = planned.iter().flat_map(|(_, p, _)| p.clone()).collect();
                store.transaction(move |tx| written(tx, &done)).await?;
                for (name, _, s) in planned {
                    summary.insert(name.to_owned(), s);
                }
            }
            Err(e) => {
                for (name, mine, _) in planned {
                    kept.push((mine, format!("{name}: {e}")));
                }
            }
        }
    }
    let failure = kept.first().map(|(_, why)| why.clone());
    for (pending, why) in kept {
        tracing::warn!(error = %why, pending = pending.len(), "mirror flush failed; kept in the outbox");
        store
            .transaction(move |tx| failed(tx, &pending, &why, now))
            .await?;
    }
    match failure {
        Some(why) => Err(FlushError::Sheets(why)),
        None => Ok(summary),
    }
}

pub(crate) const FLUSH_JOB: &str = "mirror:flush";

/// `mirror:flush`: every minute while the outbox holds something, and once at start
/// (what the last process left queued); an empty outbox costs one query and records no
/// run. `after` runs after every flush (the outbox changed either way).
pub(crate) fn flush_job(
    store: crate::store::Store,
    sources: super::Sources,
    names: std::sync::Arc<dyn Fn() -> super::TabNames + Send + Sync>,
    mirrors: Vec<std::sync::Arc<dyn Mirror>>,
    after: std::sync::Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>,
) -> crate::scheduler::JobSpec {
    use crate::scheduler::{JobError, JobSpec, Schedule};
    let idle_store = store.clone();
    JobSpec::new(
        FLUSH_JOB,
        "Writes queued changes to the mirror tabs (Reservations, Clans availability, WelcomeTickets, OnboardingSessions)",
        Schedule::Every(std::time::Duration::from_secs(60)),
        std::time::Duration::from_secs(120),
        move |ctx| {
            let (store, sources, mirrors, after) =
                (store.clone(), sources.clone(), mirrors.clone(), after.clone());
            let names = names();
            async move {
                let result = flush(&store, &sources, &names, &mirrors, ctx.started).await;
                after().await;
                match result {
                    Ok(summary) => Ok(serde_json::Value::Object(summary)),
                    Err(FlushError::Store(e)) => Err(JobError::Store(e)),
                    Err(FlushError::Sheets(why)) => Err(JobError::Incomplete(format!(
                        "the sheet was not written ({why}); the changes stay queued"
                    ))),
                }
            }
        },
    )
    .at_start()
    .idle_when(move || {
        let store = idle_store.clone();
        async move {
            // Nothing queued (or unreadable: the run would fail the same way and say so).
            store
                .read(|c| Ok(depth(c)?.pending == 0))
                .await
                .unwrap_or(false)
        }
    })
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
