//! When a job runs: every interval, daily at HH:MM UTC, or on a cron expression in UTC.
//!
//! Intervals are aligned to the UNIX epoch (3h runs at 00:00, 03:00, 06:00 UTC...), so a
//! restart does not shift them and two bots agree on when a refresh happens.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};

#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Daily {
        hour: u8,
        minute: u8,
    },
    Cron {
        expr: String,
        cron: Box<croner::Cron>,
    },
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl Schedule {
    /// Parses `3h` / `15m` / `1d` (interval), `12:00` or `daily 12:00` (UTC), or a
    /// five-field cron expression (UTC), such as `0 */3 * * *`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim();
        let daily = t.strip_prefix("daily").map(str::trim).unwrap_or(t);
        if let Some((h, m)) = crate::util::duration::parse_time_of_day(daily) {
            return Ok(Schedule::Daily { hour: h, minute: m });
        }
        // A number with a unit is an interval; a bare number is not (it would be hours
        // for the ladder keys, a surprise for a cadence).
        let interval = t.starts_with(|c: char| c.is_ascii_digit())
            && t.chars().any(|c| c.is_ascii_alphabetic())
            && t.split_whitespace().count() <= 2;
        if interval {
            return crate::util::duration::parse(t)
                .map(Schedule::Every)
                .map_err(|e| format!("{t:?} is not an interval: {e}"));
        }
        if t.split_whitespace().count() == 5 {
            let cron: croner::Cron = t
                .parse()
                .map_err(|e| format!("{t:?} is not a valid cron expression: {e}"))?;
            return Ok(Schedule::Cron {
                expr: t.to_owned(),
                cron: Box::new(cron),
            });
        }
        Err(format!(
            "{t:?} is not a schedule: use an interval (3h, 15m, 1d), a UTC time (12:00) or a cron expression (0 */3 * * *)"
        ))
    }

    pub fn every(d: Duration) -> Schedule {
        Schedule::Every(d)
    }

    pub fn daily(hour: u8, minute: u8) -> Schedule {
        Schedule::Daily { hour, minute }
    }

    /// The first time strictly after `after` when the job is due.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                let step = d.as_millis().max(1) as i64;
                let now = after.timestamp_millis();
                let next = (now.div_euclid(step) + 1) * step;
                Utc.timestamp_millis_opt(next).single()
            }
            Schedule::Daily { hour, minute } => {
                let at = NaiveTime::from_hms_opt(*hour as u32, *minute as u32, 0)?;
                let today = after.date_naive().and_time(at).and_utc();
                Some(if today > after {
                    today
                } else {
                    today + chrono::Duration::days(1)
                })
            }
            Schedule::Cron { cron, .. } => cron.find_next_occurrence(&after, false).ok(),
        }
    }

    /// Today's due time for a daily job (used to catch up missed days).
    pub fn today_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Daily { hour, minute } => Some(
                now.date_naive()
                    .and_time(NaiveTime::from_hms_opt(*hour as u32, *minute as u32, 0)?)
                    .and_utc(),
            ),
            _ => None,
        }
    }

    pub fn is_daily(&self) -> bool {
        matches!(self, Schedule::Daily { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(d) => format!("every {}", crate::util::duration::human(*d)),
            Schedule::Daily { hour, minute } => format!("daily {hour:02}:{minute:02} UTC"),
            Schedule::Cron { expr, .. } => format!("cron {expr} (UTC)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(s: &Schedule, after: &str) -> String {
        s.next_after(t(after)).unwrap().to_rfc3339()
    }

    #[test]
    fn parses_all_three_forms_and_explains_bad_ones() {
        assert_eq!(
            Schedule::parse("3h").unwrap(),
            Schedule::Every(Duration::from_secs(10_800))
        );
        assert_eq!(
            Schedule::parse("daily 12:00").unwrap(),
            Schedule::daily(12, 0)
        );
        assert_eq!(Schedule::parse("18:30").unwrap(), Schedule::daily(18, 30));
        assert!(matches!(
            Schedule::parse("0 */3 * * *").unwrap(),
            Schedule::Cron { .. }
        ));
        assert!(
            Schedule::parse("sometimes")
                .unwrap_err()
                .contains("is not a schedule")
        );
        assert!(
            Schedule::parse("0 25 * * *")
                .unwrap_err()
                .contains("not a valid cron")
        );
        assert!(
            Schedule::parse("213503982334602d")
                .unwrap_err()
                .contains("longer than the maximum"),
            "a huge interval is refused, not overflowed"
        );
        assert_eq!(Schedule::parse("1d").unwrap().describe(), "every 1d 0h");
        assert_eq!(Schedule::daily(9, 5).describe(), "daily 09:05 UTC");
    }

    #[test]
    fn intervals_are_epoch_aligned_and_cross_midnight() {
        let every3h = Schedule::every(Duration::from_secs(3 * 3600));
        assert_eq!(
            next(&every3h, "2026-11-23T22:10:00Z"),
            "2026-11-24T00:00:00+00:00"
        );
        assert_eq!(
            next(&every3h, "2026-11-24T00:00:00Z"),
            "2026-11-24T03:00:00+00:00",
            "strictly after"
        );
        let every15m = Schedule::every(Duration::from_secs(900));
        assert_eq!(
            next(&every15m, "2026-12-31T23:59:59Z"),
            "2027-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn daily_crosses_midnight_month_ends_and_leap_days() {
        let noon = Schedule::daily(12, 0);
        assert_eq!(
            next(&noon, "2026-11-23T11:59:59Z"),
            "2026-11-23T12:00:00+00:00"
        );
        assert_eq!(
            next(&noon, "2026-11-23T12:00:00Z"),
            "2026-11-24T12:00:00+00:00"
        );
        assert_eq!(
            next(&noon, "2026-11-30T13:00:00Z"),
            "2026-12-01T12:00:00+00:00",
            "month end"
        );
        assert_eq!(
            next(&noon, "2028-02-28T13:00:00Z"),
            "2028-02-29T12:00:00+00:00",
            "leap day"
        );
        assert_eq!(
            next(&noon, "2027-02-28T13:00:00Z"),
            "2027-03-01T12:00:00+00:00",
            "no leap day"
        );
        assert_eq!(
            next(&Schedule::daily(0, 0), "2026-12-31T23:00:00Z"),
            "2027-01-01T00:00:00+00:00",
            "year end"
        );
    }

    #[test]
    fn cron_in_utc_across_boundaries() {
        let c = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            next(&c, "2026-11-23T23:00:00Z"),
            "2026-11-24T02:30:00+00:00"
        );
        let last_of_month = Schedule::parse("0 6 28-31 * *").unwrap();
        assert_eq!(
            next(&last_of_month, "2026-02-27T07:00:00Z"),
            "2026-02-28T06:00:00+00:00"
        );
        assert_eq!(
            next(&last_of_month, "2026-02-28T07:00:00Z"),
            "2026-03-28T06:00:00+00:00",
            "no 29-31 in February 2026"
        );
        let leap = Schedule::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            next(&leap, "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00+00:00"
        );
        // Day-of-month OR day-of-week (Vixie cron): the 1st, or any Monday.
        let either = Schedule::parse("0 8 1 * 1").unwrap();
        assert_eq!(
            next(&either, "2026-11-24T09:00:00Z"),
            "2026-11-30T08:00:00+00:00",
            "Monday 30th"
        );
        assert_eq!(
            next(&either, "2026-11-30T09:00:00Z"),
            "2026-12-01T08:00:00+00:00",
            "the 1st"
        );
    }
}
