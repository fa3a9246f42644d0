//! What a `reserve` command asks for, decided without side effects: the words typed, a
//! snapshot (the clans, the holds, where the command was typed) and today → a plan, or a
//! refusal that says what to do. The apply step (`placement::apply`) checks the seat
//! count again inside its transaction, so two recruiters racing for the last seat meet
//! the same rule there.

use chrono::{Duration, NaiveDate};

use super::ledger::Reservation;
use crate::tabs::clans::{Clan, ClanList};
use crate::util::text::code;

/// Holds last a week unless the recruiter says otherwise (DESIGN.md §10.3).
pub(crate) const DEFAULT_DAYS: i64 = 7;

/// Who a hold is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recruit {
    pub id: u64,
    /// The name shown in replies and kept as the username snapshot.
    pub name: String,
}

/// `reserve <tag> [@recruit] [until] [reason…]`, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HoldAsk {
    pub tag: String,
    pub recruit: Option<Recruit>,
    /// A date, or (when it does not start with a digit) the first word of the reason.
    pub until: Option<String>,
    pub reason: Option<String>,
}

/// What the decision reads.
pub(crate) struct HoldSnapshot<'a> {
    pub clans: &'a ClanList,
    /// The ticket thread the command was typed in, if it was typed in one.
    pub ticket: Option<u64>,
    /// That ticket's applicant, when onboarding knows it: the recruit when none is named.
    pub subject: Option<Recruit>,
    /// The recruit's active hold, if any.
    pub existing: Option<&'a Reservation>,
    /// Active holds in the asked clan.
    pub held: u32,
    pub today: NaiveDate,
    pub max_days: u32,
}

/// A hold to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HoldPlan {
    pub tag: String,
    pub recruit: Recruit,
    pub thread_id: u64,
    pub until: NaiveDate,
    pub reason: String,
    pub spots: u32,
}

/// Why nothing is written; each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(
        "`reserve` works inside a ticket thread (a thread of the welcome or promo channel), so the hold is tied to its ticket. `reserve release` and `reserve extend` work anywhere."
    )]
    NotInTicket,
    #[error("Whom for? `!reserve {tag} @recruit [YYYY-MM-DD] [reason]`.", tag = .0)]
    NoRecruit(String),
    #[error("There is no clan {}.{}", code(.tag), did_you_mean(.closest))]
    UnknownClan { tag: String, closest: Vec<String> },
    #[error("{} is not a date. Use YYYY-MM-DD, for example {}.", code(.given), .example)]
    BadDate { given: String, example: NaiveDate },
    #[error("{until} is in the past. Give today ({today}) or a later day.")]
    PastDate { until: NaiveDate, today: NaiveDate },
    #[error(
        "{until} is more than {max} days ahead (RESERVATION_MAX_DAYS); the latest is {latest}."
    )]
    TooFar {
        until: NaiveDate,
        max: u32,
        latest: NaiveDate,
    },
    #[error(
        "{name} already holds a seat in {tag} (ticket <#{thread}>) until {until}. Release it with `!reserve release @{name} {tag}` or move it with `!reserve extend @{name} {tag} YYYY-MM-DD`."
    )]
    AlreadyHolds {
        name: String,
        tag: String,
        thread: u64,
        until: NaiveDate,
    },
    #[error(
        "{tag} has no open seat (spots {spots}, reserved {held}). To hold one anyway, give a reason: `!reserve {tag} @{name} [YYYY-MM-DD] <reason>`, or the slash option `reason`."
    )]
    NeedsReason {
        tag: String,
        name: String,
        spots: u32,
        held: u32,
    },
    #[error("{name} holds no seat in {tag}. `!reservations {tag}` lists its holds.")]
    NotFound { name: String, tag: String },
}

fn did_you_mean(closest: &[String]) -> String {
    if closest.is_empty() {
        " `!reservations` lists the clans with holds; the Clans tab lists every tag.".into()
    } else {
        let list: Vec<String> = closest.iter().map(|t| code(t)).collect();
        format!(" Did you mean {}?", list.join(", "))
    }
}

/// The clan `tag` names (any case), or the closest tags.
pub(crate) fn find_clan<'a>(clans: &'a ClanList, tag: &str) -> Result<&'a Clan, Refusal> {
    // Only near tags are offered: for a typo in a hold, a far tag is noise.
    clans.find(tag).ok_or_else(|| Refusal::UnknownClan {
        tag: tag.trim().to_owned(),
        closest: clans
            .closest(tag, 3, Some(2))
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
}

/// A `YYYY-MM-DD` day between today and `max_days` ahead.
pub(crate) fn parse_until(
    given: &str,
    today: NaiveDate,
    max_days: u32,
) -> Result<NaiveDate, Refusal> {
    let until =
        NaiveDate::parse_from_str(given.trim(), "%Y-%m-%d").map_err(|_| Refusal::BadDate {
            given: given.trim().to_owned(),
            example: today + Duration::days(DEFAULT_DAYS),
        })?;
    if until < today {
        return Err(Refusal::PastDate { until, today });
    }
    let latest = today + Duration::days(i64::from(max_days));
    if until > latest {
        return Err(Refusal::TooFar {
            until,
            max: max_days,
            latest,
        });
    }
    Ok(until)
}

/// Whether a hold fits: a free seat, or a reason to hold a full clan (§10.2).
pub(crate) fn admit(
    tag: &str,
    name: &str,
    spots: u32,
    held: u32,
    reason: &str,
) -> Result<(), Refusal> {
    if spots > held || !reason.trim().is_empty() {
        return Ok(());
    }
    Err(Refusal::NeedsReason {
        tag: tag.to_owned(),
        name: name.to_owned(),
        spots,
        held,
    })
}

/// The pure decision for `reserve`.
pub(crate) fn hold(ask: &HoldAsk, snap: &HoldSnapshot<'_>) -> Result<HoldPlan, Refusal> {
    let thread_id = snap.ticket.ok_or(Refusal::NotInTicket)?;
    let clan = find_clan(snap.clans, &ask.tag)?;
    let recruit = ask
        .recruit
        .clone()
        .or_else(|| snap.subject.clone())
        .ok_or_else(|| Refusal::NoRecruit(clan.tag.clone()))?;
    // `until` that is not date-shaped is the first word of the reason.
    let (until, reason) = match ask.until.as_deref().map(str::trim) {
        Some(u) if u.starts_with(|c: char| c.is_ascii_digit()) => (
            parse_until(u, snap.today, snap.max_days)?,
            ask.reason.clone().unwrap_or_default(),
        ),
        other => {
            let words: Vec<&str> = other.into_iter().chain(ask.reason.as_deref()).collect();
            (snap.today + Duration::days(DEFAULT_DAYS), words.join(" "))
        }
    };
    if let Some(r) = snap.existing {
        return Err(Refusal::AlreadyHolds {
            name: recruit.name,
            tag: r.clan_tag.clone(),
            thread: r.thread_id,
            until: r.reserved_until,
        });
    }
    admit(&clan.tag, &recruit.name, clan.spots, snap.held, &reason)?;
    Ok(HoldPlan {
        tag: clan.tag.clone(),
        recruit,
        thread_id,
        until,
        reason: reason.trim().to_owned(),
        spots: clan.spots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clans() -> ClanList {
        let clan = |tag: &str, spots: u32| Clan {
            tag: tag.into(),
            spots,
            ..Default::default()
        };
        ClanList::of([clan("C1CA", 2), clan("C1CB", 1), clan("C1CE", 0)])
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn ask(tag: &str, until: Option<&str>, reason: Option<&str>) -> HoldAsk {
        HoldAsk {
            tag: tag.into(),
            recruit: Some(Recruit {
                id: 205,
                name: "rue".into(),
            }),
            until: until.map(Into::into),
            reason: reason.map(Into::into),
        }
    }

    fn snap(list: &ClanList, held: u32) -> HoldSnapshot<'_> {
        HoldSnapshot {
            clans: list,
            ticket: Some(42),
            subject: None,
            existing: None,
            held,
            today: day("2026-12-01"),
            max_days: 30,
        }
    }

    #[test]
    fn a_hold_defaults_to_a_week_and_takes_a_date_or_a_reason() {
        let list = clans();
        let p = hold(&ask("c1ca", None, None), &snap(&list, 0)).unwrap();
        assert_eq!(
            (p.tag.as_str(), p.until, p.thread_id),
            ("C1CA", day("2026-12-08"), 42)
        );
        let p = hold(
            &ask("C1CA", Some("2026-12-03"), Some("trial")),
            &snap(&list, 0),
        )
        .unwrap();
        assert_eq!((p.until, p.reason.as_str()), (day("2026-12-03"), "trial"));
        let p = hold(
            &ask("C1CE", Some("lead"), Some("asked for him")),
            &snap(&list, 0),
        )
        .unwrap();
        assert_eq!(
            p.reason, "lead asked for him",
            "a word that is not a date is the reason"
        );
    }

    #[test]
    fn a_full_clan_needs_a_reason() {
        let list = clans();
        let e = hold(&ask("C1CB", None, None), &snap(&list, 1)).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::NeedsReason {
                    spots: 1,
                    held: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("give a reason"));
        assert!(hold(&ask("C1CB", None, Some("lead asked")), &snap(&list, 1)).is_ok());
        assert!(
            hold(&ask("C1CA", None, None), &snap(&list, 1)).is_ok(),
            "one of two left"
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        let list = clans();
        let mut s = snap(&list, 0);
        let unknown = hold(&ask("C1CX", None, None), &s).unwrap_err();
        assert!(
            unknown.to_string().contains("Did you mean `C1CA`"),
            "{unknown}"
        );
        let bad = hold(&ask("C1CA", Some("12/08"), None), &s).unwrap_err();
        assert!(
            bad.to_string()
                .contains("YYYY-MM-DD, for example 2026-12-08"),
            "{bad}"
        );
        assert!(matches!(
            hold(&ask("C1CA", Some("2026-11-30"), None), &s),
            Err(Refusal::PastDate { .. })
        ));
        let far = hold(&ask("C1CA", Some("2027-01-01"), None), &s).unwrap_err();
        assert!(
            far.to_string().contains("the latest is 2026-12-31"),
            "{far}"
        );
        let mut nobody = ask("C1CA", None, None);
        nobody.recruit = None;
        assert_eq!(hold(&nobody, &s), Err(Refusal::NoRecruit("C1CA".into())));
        s.ticket = None;
        assert_eq!(
            hold(&ask("C1CA", None, None), &s),
            Err(Refusal::NotInTicket)
        );
    }

    #[test]
    fn without_a_named_recruit_the_tickets_applicant_is_held_for() {
        let list = clans();
        let mut a = ask("C1CA", None, None);
        a.recruit = None;
        let mut s = snap(&list, 0);
        assert!(matches!(hold(&a, &s), Err(Refusal::NoRecruit(_))));
        s.subject = Some(Recruit {
            id: 207,
            name: "Rue".into(),
        });
        assert_eq!(hold(&a, &s).unwrap().recruit.id, 207);
    }

    #[test]
    fn a_recruit_with_a_hold_is_told_where_it_is() {
        let list = clans();
        let existing = Reservation {
            id: 1,
            thread_id: 77,
            ticket_user_id: 205,
            recruiter_id: 203,
            clan_tag: "C1CB".into(),
            reserved_until: day("2026-12-05"),
            created_at: String::new(),
            updated_at: String::new(),
            status: super::super::ledger::Status::Active,
            notes: String::new(),
            username_snapshot: "rue".into(),
        };
        let mut s = snap(&list, 0);
        s.existing = Some(&existing);
        let e = hold(&ask("C1CA", None, None), &s).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("already holds a seat in C1CB (ticket <#77>) until 2026-12-05"),
            "{text}"
        );
        assert!(text.contains("!reserve release @rue C1CB"), "{text}");
    }
}
