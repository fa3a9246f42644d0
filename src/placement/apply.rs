//! The apply step for holds: one transaction per change that writes the ledger, its audit
//! row and the mirror outbox entries together, and checks again, inside the
//! transaction, what the decision assumed (the recruit holds nothing, a seat is free or
//! a reason was given), so concurrent commands cannot both take the last seat or give
//! one recruit two holds.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::decide::{HoldPlan, Refusal, admit};
use super::ledger::{self, NewHold, Reservation, Status};
use crate::sheets::outbox::{self, Target};
use crate::store::{Audit, Store, StoreError};

/// A hold that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub id: i64,
    /// Active holds in the clan, this one included.
    pub reserved: u32,
    /// Seats still open: `spots` − reserved (never below zero).
    pub open: u32,
}

/// Who made the change, for the ledger and the audit row.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub id: u64,
    pub name: String,
}

impl Actor {
    fn audit_name(&self) -> String {
        format!("{} ({})", self.name, self.id)
    }
}

fn queue(tx: &rusqlite::Transaction<'_>, tag: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    outbox::enqueue_in(tx, &Target::ReservationsTab, now)?;
    outbox::enqueue_in(tx, &Target::ClanAvailability(tag.to_owned()), now)
}

/// Writes the hold `plan` describes.
pub(crate) async fn hold(
    store: &Store,
    plan: HoldPlan,
    actor: Actor,
) -> Result<Result<Held, Refusal>, StoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            if let Some(r) = ledger::active_for(tx, plan.recruit.id)? {
                return Ok(Err(already(&plan.recruit.name, &r)));
            }
            let held = ledger::active_in(tx, &plan.tag)?.len() as u32;
            if let Err(r) = admit(
                &plan.tag,
                &plan.recruit.name,
                plan.spots,
                held,
                &plan.reason,
            ) {
                return Ok(Err(r));
            }
            let new = NewHold {
                thread_id: plan.thread_id,
                ticket_user_id: plan.recruit.id,
                recruiter_id: actor.id,
                clan_tag: plan.tag.clone(),
                reserved_until: plan.until,
                notes: plan.reason.clone(),
                username_snapshot: plan.recruit.name.clone(),
            };
            let Some(id) = ledger::insert_active(tx, &new, now)? else {
                // Another transaction gave this recruit a hold between our check and
                // the insert: the index refused the second one.
                let r = ledger::active_for(tx, plan.recruit.id)?;
                return Ok(Err(match r {
                    Some(r) => already(&plan.recruit.name, &r),
                    None => Refusal::NotFound {
                        name: plan.recruit.name.clone(),
                        tag: plan.tag.clone(),
                    },
                }));
            };
            Store::audit_in(
                tx,
                now,
                &Audit {
                    actor: &actor.audit_name(),
                    action: "reservation.hold",
                    target: Some(&plan.tag),
                    detail: Some(json!({
                        "id": id,
                        "recruit": plan.recruit.id.to_string(),
                        "until": plan.until.to_string(),
                        "thread": plan.thread_id.to_string(),
                        "over_capacity": held >= plan.spots,
                    })),
                },
            )?;
            queue(tx, &plan.tag, now)?;
            let reserved = held + 1;
            Ok(Ok(Held {
                id,
                reserved,
                open: plan.spots.saturating_sub(reserved),
            }))
        })
        .await
}

fn already(name: &str, r: &Reservation) -> Refusal {
    Refusal::AlreadyHolds {
        name: name.to_owned(),
        tag: r.clan_tag.clone(),
        thread: r.thread_id,
        until: r.reserved_until,
    }
}

/// What `release` and `extend` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Release,
    Extend(NaiveDate),
    /// The auto-release job: the hold ran out.
    Expire,
}

/// Releases, extends or expires the recruit's active hold in `tag`. The hold as it was
/// before, or `NotFound` when the recruit holds nothing there (the database allows at
/// most one active hold per recruit, so there is never more than one match).
pub(crate) async fn change(
    store: &Store,
    recruit: (u64, String),
    tag: String,
    change: Change,
    actor: Actor,
) -> Result<Result<Reservation, Refusal>, StoreError> {
    let now = store.now();
    store
        .transaction(move |tx| {
            let found = ledger::active_for(tx, recruit.0)?
                .filter(|r| r.clan_tag.eq_ignore_ascii_case(tag.trim()));
            let Some(r) = found else {
                return Ok(Err(Refusal::NotFound {
                    name: recruit.1.clone(),
                    tag: tag.trim().to_owned(),
                }));
            };
            let (action, changed) = match &change {
                Change::Release => (
                    "reservation.release",
                    ledger::finish(tx, r.id, Status::Released, now)?,
                ),
                Change::Expire => (
                    "reservation.expire",
                    ledger::finish(tx, r.id, Status::Expired, now)?,
                ),
                Change::Extend(until) => {
                    ("reservation.extend", ledger::extend(tx, r.id, *until, now)?)
                }
            };
            if changed {
                Store::audit_in(
                    tx,
                    now,
                    &Audit {
                        actor: &actor.audit_name(),
                        action,
                        target: Some(&r.clan_tag),
                        detail: Some(json!({
                            "id": r.id,
                            "recruit": r.ticket_user_id.to_string(),
                            "until": match &change {
                                Change::Extend(u) => u.to_string(),
                                _ => r.reserved_until.to_string(),
                            },
                        })),
                    },
                )?;
                queue(tx, &r.clan_tag, now)?;
            }
            Ok(Ok(r))
        })
        .await
}
