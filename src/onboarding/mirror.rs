//! The onboarding part of the sheet mirror: the WelcomeTickets and OnboardingSessions
//! tabs, rewritten from the store by header name (staff's own columns are left alone,
//! rows below the store's are blanked). `sheets::outbox::flush` reads and writes the
//! onboarding workbook once per flush, with any other mirror that shares the spreadsheet.

use super::tables::{self, Session, Ticket};
use crate::sheets::mirror::{MirrorTab, ONBOARDING_SESSIONS, WELCOME_TICKETS};
use crate::sheets::outbox::{Mirror, Pending, Planned, Target};
use crate::sheets::table::Table;
use crate::sheets::{RangeWrite, TabNames, TabsRead, Workbook};
use crate::store::Store;

pub(crate) struct OnboardingMirror {
    pub store: Store,
}

fn ticket_cell(t: &Ticket, h: &str) -> String {
    match h {
        "ticket_number" => t.number.clone(),
        "username" => t.subject_name.clone(),
        "clantag" => t.clantag.clone(),
        "date_closed" => t.closed_at.clone().unwrap_or_default(),
        "thread_name" => t.thread_name.clone(),
        "user_id" => t.subject_id.map(|u| u.to_string()).unwrap_or_default(),
        "thread_id" => t.thread_id.to_string(),
        "panel_message_id" => t
            .panel_message_id
            .map(|m| m.to_string())
            .unwrap_or_default(),
        "status" => t.status.as_str().to_owned(),
        "created_at" => t.created_at.clone(),
        "updated_at" => t.updated_at.clone(),
        _ => String::new(),
    }
}

fn session_cell(s: &Session, names: &[Ticket], h: &str) -> String {
    match h {
        "thread_name" => names
            .iter()
            .find(|t| t.thread_id == s.thread_id)
            .map(|t| t.thread_name.clone())
            .unwrap_or_default(),
        "user_id" => s.user_id.to_string(),
        "thread_id" => s.thread_id.to_string(),
        "panel_message_id" => s
            .card_message_id
            .filter(|m| *m != 0)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        "step_index" => s.step.clone().unwrap_or_default(),
        "completed" => (s.status == tables::SessionStatus::Completed).to_string(),
        "completed_at" => s.completed_at.clone().unwrap_or_default(),
        "answers_json" => serde_json::to_string(&s.answers).unwrap_or_default(),
        "updated_at" => s.updated_at.clone(),
        _ => String::new(),
    }
}

/// The writes that make `tab` show `n` rows whose cells are `cell(row, header)`.
fn rewrite(
    tab: &Table,
    m: &MirrorTab,
    n: usize,
    cell: &dyn Fn(usize, &str) -> String,
) -> Result<Vec<RangeWrite>, String> {
    let cols = tab.columns(m.headers, &[]).map_err(|e| e.to_string())?;
    let height = n.max(tab.rows.len());
    let mut out = Vec::new();
    if height == 0 {
        return Ok(out);
    }
    for h in m.headers {
        let Some(col) = cols.get(h) else { continue };
        let mut column: Vec<Vec<String>> = (0..n).map(|r| vec![cell(r, h)]).collect();
        column.resize(height, vec![String::new()]);
        out.push(RangeWrite {
            tab: tab.name.clone(),
            row: 2,
            col: col + 1,
            rows: column,
        });
    }
    Ok(out)
}

/// The writes for `due`, from one read of the tabs and the store.
pub(crate) fn plan(
    due: &[Pending],
    tickets_tab: Option<&Table>,
    sessions_tab: Option<&Table>,
    tickets: &[Ticket],
    sessions: &[Session],
    names: (&str, &str),
) -> Result<Vec<RangeWrite>, String> {
    let mut writes = Vec::new();
    if due.iter().any(|p| p.target == Target::TicketsTab) {
        let t = tickets_tab.ok_or_else(|| format!("the {} tab is missing", names.0))?;
        writes.extend(rewrite(t, &WELCOME_TICKETS, tickets.len(), &|r, h| {
            ticket_cell(&tickets[r], h)
        })?);
    }
    if due.iter().any(|p| p.target == Target::SessionsTab) {
        let t = sessions_tab.ok_or_else(|| format!("the {} tab is missing", names.1))?;
        writes.extend(rewrite(
            t,
            &ONBOARDING_SESSIONS,
            sessions.len(),
            &|r, h| session_cell(&sessions[r], tickets, h),
        )?);
    }
    Ok(writes)
}

#[async_trait::async_trait]
impl Mirror for OnboardingMirror {
    fn name(&self) -> &'static str {
        "onboarding"
    }

    fn owns(&self, target: &Target) -> bool {
        matches!(target, Target::TicketsTab | Target::SessionsTab)
    }

    fn workbook(&self) -> Workbook {
        Workbook::Onboarding
    }

    fn tabs(&self, names: &TabNames) -> Vec<String> {
        vec![names.tickets.clone(), names.sessions.clone()]
    }

    async fn plan(
        &self,
        due: &[Pending],
        read: &TabsRead,
        names: &TabNames,
    ) -> Result<Planned, String> {
        let (tickets, sessions) = self
            .store
            .read(|c| Ok((tables::all_tickets(c)?, tables::all_sessions(c)?)))
            .await
            .map_err(|e| e.to_string())?;
        let tt = read.tabs.get(&names.tickets).and_then(|t| t.as_ref());
        let st = read.tabs.get(&names.sessions).and_then(|t| t.as_ref());
        let writes = plan(
            due,
            tt,
            st,
            &tickets,
            &sessions,
            (&names.tickets, &names.sessions),
        )?;
        let cells: usize = writes.iter().map(|w| w.rows.len()).sum();
        Ok(Planned {
            writes,
            summary: serde_json::json!({"targets": due.len(), "cells": cells, "tickets": tickets.len(), "sessions": sessions.len()}),
        })
    }
}
