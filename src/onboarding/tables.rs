//! The queries of the `tickets` and `onboarding_sessions` tables. The store owns the
//! connection and the transaction; these run inside it, so a change, its audit row and
//! its mirror outbox entries commit together.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::Serialize;
use serde_json::Value as Json;

use crate::store::{StoreError, ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TicketStatus {
    /// The greeting named nobody yet: staff bind it with `onb bind`.
    AwaitingSubject,
    Open,
    Closed,
}

impl TicketStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TicketStatus::AwaitingSubject => "awaiting_subject",
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }

    fn parse(s: &str) -> TicketStatus {
        match s {
            "open" => TicketStatus::Open,
            "closed" => TicketStatus::Closed,
            _ => TicketStatus::AwaitingSubject,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Ticket {
    pub thread_id: u64,
    pub number: String,
    pub flow: String,
    pub subject_id: Option<u64>,
    pub subject_name: String,
    pub thread_name: String,
    pub status: TicketStatus,
    pub panel_message_id: Option<u64>,
    pub clantag: String,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

fn id(s: Option<String>) -> Option<u64> {
    s.and_then(|s| s.parse().ok())
}

const TICKET_COLUMNS: &str = "thread_id, ticket_number, flow, subject_id, subject_name, thread_name, status, panel_message_id, clantag, created_at, updated_at, closed_at";

fn ticket_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        thread_id: id(r.get(0)?).unwrap_or(0),
        number: r.get(1)?,
        flow: r.get(2)?,
        subject_id: id(r.get(3)?),
        subject_name: r.get(4)?,
        thread_name: r.get(5)?,
        status: TicketStatus::parse(&r.get::<_, String>(6)?),
        panel_message_id: id(r.get(7)?),
        clantag: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        closed_at: r.get(11)?,
    })
}

/// A ticket about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewTicket {
    pub thread_id: u64,
    pub number: String,
    pub flow: String,
    pub thread_name: String,
}

/// Inserts a ticket unless the thread already is one. Whether it was new.
pub(crate) fn insert_ticket(
    tx: &Transaction<'_>,
    t: &NewTicket,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "INSERT INTO tickets (thread_id, ticket_number, flow, thread_name, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'awaiting_subject', ?5, ?5) ON CONFLICT (thread_id) DO NOTHING",
        params![t.thread_id.to_string(), t.number, t.flow, t.thread_name, ts(now)],
    )?;
    Ok(n == 1)
}

pub(crate) fn ticket(c: &Connection, thread: u64) -> Result<Option<Ticket>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE thread_id = ?1"),
        params![thread.to_string()],
        ticket_row,
    )
    .optional()?)
}

/// The subject's most recent ticket that is not closed.
pub(crate) fn open_ticket_of(c: &Connection, user: u64) -> Result<Option<Ticket>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE subject_id = ?1 AND status != 'closed' ORDER BY created_at DESC LIMIT 1"),
        params![user.to_string()],
        ticket_row,
    )
    .optional()?)
}

pub(crate) fn all_tickets(c: &Connection) -> Result<Vec<Ticket>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets ORDER BY created_at, thread_id"
    ))?;
    let rows = stmt.query_map([], ticket_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets the subject; `only_unset` keeps an existing one (the greeting never overrides a
/// bind). Whether it changed.
pub(crate) fn set_subject(
    tx: &Transaction<'_>,
    thread: u64,
    user: u64,
    name: &str,
    only_unset: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let guard = if only_unset {
        " AND subject_id IS NULL"
    } else {
        ""
    };
    let n = tx.execute(
        &format!("UPDATE tickets SET subject_id = ?2, subject_name = ?3, status = CASE status WHEN 'closed' THEN 'closed' ELSE 'open' END, updated_at = ?4 WHERE thread_id = ?1{guard}"),
        params![thread.to_string(), user.to_string(), name, ts(now)],
    )?;
    Ok(n == 1)
}

/// Claims the right to post the panel: true for exactly one caller per ticket.
pub(crate) fn claim_panel(tx: &Transaction<'_>, thread: u64) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE tickets SET panel_claimed = 1 WHERE thread_id = ?1 AND panel_claimed = 0 AND panel_message_id IS NULL",
        params![thread.to_string()],
    )?;
    Ok(n == 1)
}

/// Records the posted panel, or (`None`) gives the claim back after a failed post.
pub(crate) fn set_panel(
    tx: &Transaction<'_>,
    thread: u64,
    message: Option<u64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE tickets SET panel_message_id = ?2, panel_claimed = ?3, updated_at = ?4 WHERE thread_id = ?1",
        params![
            thread.to_string(),
            message.map(|m| m.to_string()),
            i64::from(message.is_some()),
            ts(now)
        ],
    )?;
    Ok(())
}

/// The thread's current name, for display (never read back as state).
pub(crate) fn rename(
    tx: &Transaction<'_>,
    thread: u64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE tickets SET thread_name = ?2, updated_at = ?3 WHERE thread_id = ?1 AND thread_name != ?2",
        params![thread.to_string(), name, ts(now)],
    )?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SessionStatus {
    Active,
    /// The recruit pressed Cancel: answers kept, "Open questions" picks it up again.
    Paused,
    Completed,
}

impl SessionStatus {
    pub(crate) const ALL: [SessionStatus; 3] = [
        SessionStatus::Active,
        SessionStatus::Paused,
        SessionStatus::Completed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Paused => "paused",
            SessionStatus::Completed => "completed",
        }
    }

    fn parse(s: &str) -> SessionStatus {
        match s {
            "paused" => SessionStatus::Paused,
            "completed" => SessionStatus::Completed,
            _ => SessionStatus::Active,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Session {
    pub thread_id: u64,
    pub user_id: u64,
    pub flow: String,
    pub status: SessionStatus,
    /// The question on the card; `None` once completed.
    pub step: Option<String>,
    pub answers: BTreeMap<String, Json>,
    pub schema_hash: String,
    /// The questions changed and the recruit has not been told yet.
    pub schema_notice: bool,
    pub card_message_id: Option<u64>,
    pub summary_message_id: Option<u64>,
    pub started_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
}

const SESSION_COLUMNS: &str = "thread_id, user_id, flow, status, step_qid, answers_json, schema_hash, schema_notice, card_message_id, summary_message_id, started_at, updated_at, completed_at";

fn session_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    let answers: String = r.get(5)?;
    Ok(Session {
        thread_id: id(r.get(0)?).unwrap_or(0),
        user_id: id(r.get(1)?).unwrap_or(0),
        flow: r.get(2)?,
        status: SessionStatus::parse(&r.get::<_, String>(3)?),
        step: r.get(4)?,
        // A row this bot wrote always parses; anything else reads as no answers rather
        // than failing the whole ticket (the summary's retry rebuilds from what is kept).
        answers: serde_json::from_str(&answers).unwrap_or_default(),
        schema_hash: r.get(6)?,
        schema_notice: r.get::<_, i64>(7)? != 0,
        card_message_id: id(r.get(8)?),
        summary_message_id: id(r.get(9)?),
        started_at: r.get(10)?,
        updated_at: r.get(11)?,
        completed_at: r.get(12)?,
    })
}

pub(crate) fn session(c: &Connection, thread: u64) -> Result<Option<Session>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM onboarding_sessions WHERE thread_id = ?1"),
        params![thread.to_string()],
        session_row,
    )
    .optional()?)
}

pub(crate) fn all_sessions(c: &Connection) -> Result<Vec<Session>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {SESSION_COLUMNS} FROM onboarding_sessions ORDER BY started_at, thread_id"
    ))?;
    let rows = stmt.query_map([], session_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Starts a session unless the thread has one. Whether it was new: the primary key
/// makes this the one place a double click or two racing staff are told apart.
pub(crate) fn insert_session(tx: &Transaction<'_>, s: &Session) -> Result<bool, StoreError> {
    let n = tx.execute(
        &format!("INSERT INTO onboarding_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (thread_id) DO NOTHING"),
        rusqlite::params_from_iter(session_params(s)?.iter().map(|b| b.as_ref())),
    )?;
    Ok(n == 1)
}

fn session_params(s: &Session) -> Result<Vec<Box<dyn rusqlite::ToSql>>, StoreError> {
    let answers = serde_json::to_string(&s.answers)
        .map_err(|e| StoreError::Worker(format!("answers do not serialise: {e}")))?;
    Ok(vec![
        Box::new(s.thread_id.to_string()),
        Box::new(s.user_id.to_string()),
        Box::new(s.flow.clone()),
        Box::new(s.status.as_str()),
        Box::new(s.step.clone()),
        Box::new(answers),
        Box::new(s.schema_hash.clone()),
        Box::new(i64::from(s.schema_notice)),
        Box::new(s.card_message_id.map(|m| m.to_string())),
        Box::new(s.summary_message_id.map(|m| m.to_string())),
        Box::new(s.started_at.clone()),
        Box::new(s.updated_at.clone()),
        Box::new(s.completed_at.clone()),
    ])
}

/// Writes a session back. Callers read, decide and save in one transaction, so two
/// clicks on the same card are applied one after the other, never interleaved.
pub(crate) fn save_session(tx: &Transaction<'_>, s: &Session) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE onboarding_sessions SET user_id = ?2, flow = ?3, status = ?4, step_qid = ?5, answers_json = ?6, schema_hash = ?7, schema_notice = ?8, card_message_id = ?9, summary_message_id = ?10, started_at = ?11, updated_at = ?12, completed_at = ?13 WHERE thread_id = ?1",
        rusqlite::params_from_iter(session_params(s)?.iter().map(|b| b.as_ref())),
    )?;
    Ok(())
}

/// Sessions by status, for the metrics.
pub(crate) fn session_counts(c: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt = c.prepare("SELECT status, COUNT(*) FROM onboarding_sessions GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
