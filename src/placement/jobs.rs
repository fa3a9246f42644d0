//! The reservations' jobs: `mirror:flush` writes the outbox to the sheet every minute;
//! `reservations:autorelease` ends the holds that ran out, daily at 18:00 UTC (a day
//! missed while the bot was down is caught up once at start, by the scheduler).

use std::sync::Arc;
use std::time::Duration;

use super::apply::{self, Actor, Change};
use super::ledger;
use super::mirror::{self, FlushError};
use crate::cache::Cache;
use crate::config::ConfigRegistry;
use crate::message::alert::{Alert, AlertSink, Severity};
use crate::scheduler::{JobError, JobSpec, Schedule};
use crate::store::Store;

pub(crate) const FLUSH_JOB: &str = "mirror:flush";

/// Every minute: nothing but one query while the outbox is empty.
pub(crate) fn flush_job(store: Store, config: Arc<ConfigRegistry>, cache: Arc<Cache>) -> JobSpec {
    JobSpec::new(
        FLUSH_JOB,
        "Writes queued reservation changes to the Reservations and Clans tabs",
        Schedule::Every(Duration::from_secs(60)),
        Duration::from_secs(120),
        move |ctx| {
            let (store, config, cache) = (store.clone(), config.clone(), cache.clone());
            async move {
                let tabs = config.get().tabs.clone();
                let source = cache.sources().recruitment.clone();
                match mirror::flush(&store, source.as_ref(), &tabs, ctx.started).await {
                    Ok(done) => Ok(serde_json::json!({
                        "targets": done.targets,
                        "cells": done.cells,
                        "missing_tags": done.missing_tags,
                    })),
                    Err(FlushError::Store(e)) => Err(JobError::Store(e)),
                    Err(FlushError::Sheets(why)) => Err(JobError::Incomplete(format!(
                        "the sheet was not written ({why}); the changes stay queued"
                    ))),
                }
            }
        },
    )
}

pub(crate) const AUTORELEASE_JOB: &str = "reservations:autorelease";

/// Daily at 18:00 UTC: every active hold whose last day is today or earlier becomes
/// `expired`, with a log-channel line per clan. Running it twice the same day finds
/// nothing the second time, so it never posts twice.
pub(crate) fn autorelease_job(store: Store, alerts: Arc<dyn AlertSink>) -> JobSpec {
    JobSpec::new(
        AUTORELEASE_JOB,
        "Expires reservations whose last day has come (18:00 UTC)",
        Schedule::daily(18, 0),
        Duration::from_secs(120),
        move |ctx| {
            let (store, alerts) = (store.clone(), alerts.clone());
            async move {
                let today = ctx.started.date_naive();
                let ending = store.read(move |c| ledger::ending_by(c, today)).await?;
                let actor = Actor {
                    id: 0,
                    name: format!("job:{AUTORELEASE_JOB}"),
                };
                let mut expired = Vec::new();
                for r in ending {
                    let who = (r.ticket_user_id, r.username_snapshot.clone());
                    let done = apply::change(
                        &store,
                        who,
                        r.clan_tag.clone(),
                        Change::Expire,
                        actor.clone(),
                    )
                    .await?;
                    if done.is_ok() {
                        expired.push(r);
                    }
                }
                if !expired.is_empty() {
                    let lines: Vec<String> = expired
                        .iter()
                        .map(|r| {
                            format!(
                                "• {} — {} (held until {}, ticket <#{}>)",
                                r.clan_tag, r.username_snapshot, r.reserved_until, r.thread_id
                            )
                        })
                        .collect();
                    alerts
                        .send(Alert::new(
                            Severity::Info,
                            format!("{AUTORELEASE_JOB}:{today}"),
                            "Reservations expired",
                            lines.join("\n"),
                        ))
                        .await;
                }
                Ok(serde_json::json!({
                    "expired": expired.iter().map(|r| r.id).collect::<Vec<_>>(),
                    "day": today.to_string(),
                }))
            }
        },
    )
}
