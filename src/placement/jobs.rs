//! The reservations' jobs (their sheet writes go through `mirror:flush`, `sheets::outbox`):
//! `reservations:reminder` tells recruiters at 12:00 UTC which holds end today;
//! `reservations:autorelease` ends the holds that ran out, daily at 18:00 UTC (a day
//! missed while the bot was down is caught up once at start, by the scheduler; a day
//! with nothing to end is skipped unrecorded).

use std::sync::Arc;
use std::time::Duration;

use super::apply::{self, Actor, Change};
use super::ledger;
use super::state::Holds;
use crate::cache::Cache;
use crate::config::ConfigRegistry;
use crate::discord::outbound::Outbound;
use crate::message::alert::{Alert, AlertSink, Severity};
use crate::scheduler::{JobError, JobSpec, Schedule};
use crate::store::Store;
use crate::store::{Audit, StoreError};

pub(crate) const AUTORELEASE_JOB: &str = "reservations:autorelease";

/// Daily at 18:00 UTC: every active hold whose last day is today or earlier becomes
/// `expired`, with a log-channel line per clan. Running it twice the same day finds
/// nothing the second time, so it never posts twice.
pub(crate) fn autorelease_job(
    store: Store,
    alerts: Arc<dyn AlertSink>,
    outbound: Option<Arc<Outbound>>,
    holds: Arc<Holds>,
    cache: Arc<Cache>,
) -> JobSpec {
    let idle_store = store.clone();
    JobSpec::new(
        AUTORELEASE_JOB,
        "Expires reservations whose last day has come (18:00 UTC)",
        Schedule::daily(18, 0),
        Duration::from_secs(120),
        move |ctx| {
            let (store, alerts, outbound, holds, cache) = (
                store.clone(),
                alerts.clone(),
                outbound.clone(),
                holds.clone(),
                cache.clone(),
            );
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
                        if let Some(out) = &outbound {
                            // Best effort: the ticket may be gone; the hold has ended anyway.
                            let note = format!(
                                "⌛ The seat held in {} for {} ended: its last day was {}. `!reserve {} @recruit [YYYY-MM-DD]` holds it again.",
                                r.clan_tag, r.username_snapshot, r.reserved_until, r.clan_tag
                            );
                            let msg = serenity::all::CreateMessage::new()
                                .content(note)
                                .allowed_mentions(crate::discord::reply::allowed_mentions(&[]));
                            if let Err(e) = out
                                .post(serenity::all::ChannelId::new(r.thread_id.max(1)), msg)
                                .await
                            {
                                tracing::info!(thread_id = r.thread_id, error = %e, "could not post the expiry notice in the ticket");
                            }
                        }
                        expired.push(r);
                    }
                }
                if !expired.is_empty() {
                    if let Err(e) = holds.reload().await {
                        tracing::warn!(error = %e, "could not re-read the holds after expiring them");
                    }
                    cache.reapply_clans_overlay();
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
    .always_catch_up()
    // Nothing ran out: skipped unrecorded, so a first start after 18:00 (every deploy in
    // the evening) leaves no empty run. A store that cannot be read is not idle: the
    // run reports the error.
    .idle_when(move || {
        let store = idle_store.clone();
        async move {
            let today = store.now().date_naive();
            store
                .read(move |c| ledger::ending_by(c, today))
                .await
                .is_ok_and(|ending| ending.is_empty())
        }
    })
}

pub(crate) const REMINDER_JOB: &str = "reservations:reminder";

/// The reminder for the holds ending today: the recruiter roles pinged, and for each
/// hold its ticket and the commands to extend or release it, ready to copy.
pub(crate) fn reminder_text(
    holds: &[ledger::Reservation],
    roles: &[u64],
    today: chrono::NaiveDate,
) -> String {
    let ping: Vec<String> = roles.iter().map(|r| format!("<@&{r}>")).collect();
    let later = today + chrono::Duration::days(super::decide::DEFAULT_DAYS);
    let mut out = vec![format!(
        "{}⏰ {} ending today ({today}):",
        if ping.is_empty() {
            String::new()
        } else {
            format!("{} ", ping.join(" "))
        },
        crate::util::text::count(holds.len(), "seat hold")
    )];
    for r in holds {
        out.push(format!(
            "• {} — {} (ticket <#{}>): `!reserve extend {} {} {later}` or `!reserve release {} {}`",
            r.clan_tag,
            r.username_snapshot,
            r.thread_id,
            r.ticket_user_id,
            r.clan_tag,
            r.ticket_user_id,
            r.clan_tag
        ));
    }
    out.join("\n")
}

/// Daily at 12:00 UTC: the holds whose last day is today, to `RECRUITERS_CHANNEL_ID`.
/// Once a day: a second run the same day (a manual one, a catch-up) finds the day's
/// audit row and posts nothing.
pub(crate) fn reminder_job(
    store: Store,
    config: Arc<ConfigRegistry>,
    outbound: Option<Arc<Outbound>>,
) -> JobSpec {
    JobSpec::new(
        REMINDER_JOB,
        "Tells recruiters which seat holds end today (12:00 UTC)",
        Schedule::daily(12, 0),
        Duration::from_secs(60),
        move |ctx| {
            let (store, config, outbound) = (store.clone(), config.clone(), outbound.clone());
            async move {
                let today = ctx.started.date_naive();
                let holds: Vec<ledger::Reservation> = store
                    .read(ledger::all_active)
                    .await?
                    .into_iter()
                    .filter(|r| r.reserved_until == today)
                    .collect();
                if holds.is_empty() {
                    return Ok(serde_json::json!({"ending_today": 0}));
                }
                let cfg = config.get();
                let Some(channel) = cfg.channels.recruiters else {
                    return Err(JobError::Incomplete(
                        "RECRUITERS_CHANNEL_ID is not set in the Config tab; nobody was reminded"
                            .into(),
                    ));
                };
                let Some(out) = outbound else {
                    return Err(JobError::Incomplete("Discord is not connected".into()));
                };
                let day = today.to_string();
                let first = store
                    .transaction(move |tx| {
                        let seen: i64 = tx.query_row(
                            "SELECT COUNT(*) FROM audit_events WHERE action = 'reservation.reminder' AND target = ?1",
                            [&day],
                            |r| r.get(0),
                        )?;
                        if seen > 0 {
                            return Ok::<bool, StoreError>(false);
                        }
                        Store::audit_in(tx, ctx.started, &Audit {
                            actor: &format!("job:{REMINDER_JOB}"),
                            action: "reservation.reminder",
                            target: Some(&day),
                            detail: None,
                        })?;
                        Ok(true)
                    })
                    .await?;
                if !first {
                    return Ok(serde_json::json!({"ending_today": holds.len(), "posted": false}));
                }
                let roles = cfg.roles.recruiter.clone();
                let msg = serenity::all::CreateMessage::new()
                    .content(reminder_text(&holds, &roles, today))
                    .allowed_mentions(
                        serenity::all::CreateAllowedMentions::new()
                            .roles(roles.iter().map(|r| serenity::all::RoleId::new(*r))),
                    );
                out.post(serenity::all::ChannelId::new(channel), msg)
                    .await
                    .map_err(|e| {
                        JobError::Incomplete(format!("the reminder was not posted: {e}"))
                    })?;
                Ok(serde_json::json!({"ending_today": holds.len(), "posted": true}))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reminder_pings_the_roles_and_gives_commands_to_copy() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let hold = ledger::Reservation {
            id: 1,
            thread_id: 9,
            ticket_user_id: 205,
            recruiter_id: 203,
            clan_tag: "C1CA".into(),
            reserved_until: day,
            created_at: String::new(),
            updated_at: String::new(),
            status: ledger::Status::Active,
            notes: String::new(),
            username_snapshot: "Rue".into(),
        };
        let text = reminder_text(&[hold], &[103], day);
        assert!(
            text.starts_with("<@&103> ⏰ 1 seat hold ending today (2026-12-01):"),
            "{text}"
        );
        assert!(text.contains("• C1CA — Rue (ticket <#9>): `!reserve extend 205 C1CA 2026-12-08` or `!reserve release 205 C1CA`"), "{text}");
    }
}
