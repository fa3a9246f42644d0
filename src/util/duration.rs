//! Durations as operators write them in the Config tab (`90s`, `15m`, `3h`, `1d`, `2w`)
//! and as the bot shows them back (`3d 4h`, `2h 5m`, `4m 10s`).

use std::fmt;
use std::time::Duration;

/// The longest duration [`parse`] accepts. Nothing the bot schedules or waits for is
/// longer; a typo such as `99999999d` is refused instead of overflowing.
pub(crate) const MAX: Duration = Duration::from_secs(366 * 86_400);

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    Empty,
    /// No whole number where one was expected (`soon`, `-1h`, `1.5h`).
    NotANumber,
    UnknownUnit(String),
    Zero,
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str("no duration given"),
            DurationError::NotANumber => {
                f.write_str("not a whole number followed by a unit (s, m, h, d, w)")
            }
            DurationError::UnknownUnit(u) => write!(f, "unknown unit {u:?} (use s, m, h, d or w)"),
            DurationError::Zero => f.write_str("must be longer than zero"),
            DurationError::TooLong => write!(f, "longer than the maximum of {}", human(MAX)),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses `90s`, `15m`, `3h`, `1d`, `2w` (a bare number is hours, the predecessor's habit
/// for the onboarding ladder keys). Between one second and [`MAX`].
pub(crate) fn parse(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(0) => return Err(DurationError::NotANumber),
        Some(i) => s.split_at(i),
        None => (s.as_str(), "h"),
    };
    let n: u64 = num.parse().map_err(|_| DurationError::TooLong)?;
    let unit_secs: u64 = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        other if other.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            return Err(DurationError::NotANumber);
        }
        other => return Err(DurationError::UnknownUnit(other.to_owned())),
    };
    let secs = n.checked_mul(unit_secs).ok_or(DurationError::TooLong)?;
    match Duration::from_secs(secs) {
        d if d.is_zero() => Err(DurationError::Zero),
        d if d > MAX => Err(DurationError::TooLong),
        d => Ok(d),
    }
}

/// Parses `HH:MM` (24 h, UTC).
pub(crate) fn parse_time_of_day(s: &str) -> Option<(u8, u8)> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.trim().len() <= 5).then_some((h, m))
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units, for people.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_the_bare_number_habit() {
        assert_eq!(parse("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse(" 1D "), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("3"), Ok(Duration::from_secs(3 * 3600)));
        assert_eq!(parse("90 s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(14 * 86_400)));
    }

    #[test]
    fn bad_values_say_why() {
        assert_eq!(parse("0h"), Err(DurationError::Zero));
        assert_eq!(parse("soon"), Err(DurationError::NotANumber));
        assert_eq!(parse("-1h"), Err(DurationError::NotANumber));
        assert_eq!(parse("1.5h"), Err(DurationError::NotANumber));
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(
            parse("3 fortnights"),
            Err(DurationError::UnknownUnit("fortnights".into()))
        );
        assert!(
            parse("soon")
                .unwrap_err()
                .to_string()
                .contains("whole number")
        );
    }

    #[test]
    fn huge_values_are_refused_not_wrapped() {
        // 213503982334602 days overflow u64 seconds; this panicked in debug builds and
        // wrapped to a small duration in release.
        assert_eq!(parse("213503982334602d"), Err(DurationError::TooLong));
        assert_eq!(parse("99999999d"), Err(DurationError::TooLong));
        assert_eq!(
            parse("99999999999999999999999s"),
            Err(DurationError::TooLong)
        );
        assert_eq!(parse("367d"), Err(DurationError::TooLong));
        assert_eq!(parse("366d"), Ok(MAX));
        assert!(parse("367d").unwrap_err().to_string().contains("366d 0h"));
    }

    #[test]
    fn times_of_day_and_human_durations() {
        assert_eq!(parse_time_of_day("09:30"), Some((9, 30)));
        assert_eq!(parse_time_of_day("9:5"), Some((9, 5)));
        assert_eq!(parse_time_of_day("24:00"), None);
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
        assert_eq!(human(Duration::from_secs(90_000)), "1d 1h");
    }
}
