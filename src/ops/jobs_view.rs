//! The `ops jobs` embed, from the scheduler's views.

use chrono::{DateTime, Utc};

use crate::message::embed::{COLOR_INFO, COLOR_WARN, Embed};
use crate::scheduler::JobView;
use crate::store::RunResult;
use crate::util::duration::human;
use crate::util::text::count;

fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = t - now;
    match d.to_std() {
        Ok(ahead) => format!("in {}", human(ahead)),
        Err(_) => format!("{} ago", human((now - t).to_std().unwrap_or_default())),
    }
}

pub(crate) fn job_line(v: &JobView, now: DateTime<Utc>) -> String {
    let next = if v.paused {
        "⏸️ paused".to_owned()
    } else if v.running {
        "running now".to_owned()
    } else {
        v.next_run
            .map(|n| format!("next {}", relative(n, now)))
            .unwrap_or_else(|| "not scheduled".into())
    };
    let last = match (&v.last_run, &v.last_result) {
        (Some(t), Some(r)) => format!(
            "last {} {} ({} ms)",
            r.as_str(),
            relative(*t, now),
            v.last_duration_ms.unwrap_or(0)
        ),
        _ => "not run yet".into(),
    };
    let mut line = format!("{} • {next} • {last}", v.schedule);
    if v.consecutive_failures > 0 {
        line.push_str(&format!(
            " • {} in a row",
            count(v.consecutive_failures as usize, "failure")
        ));
    }
    if let Some(e) = v
        .last_error
        .as_deref()
        .filter(|_| v.last_result != Some(RunResult::Ok))
    {
        line.push_str(&format!("\n  ↳ {e}"));
    }
    line
}

pub(crate) fn jobs_embed(views: &[JobView], now: DateTime<Utc>) -> Embed {
    let failing = views.iter().any(|v| v.consecutive_failures > 0);
    let mut e = Embed::new("Scheduled jobs")
        .description(format!(
            "{}. Admins: `!ops jobs run|pause|resume <job>`.",
            count(views.len(), "job")
        ))
        .color(if failing { COLOR_WARN } else { COLOR_INFO });
    for v in views {
        e = e.field(format!("`{}`", v.id), job_line(v, now), false);
    }
    e.footer("times are UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> JobView {
        JobView {
            id: id.into(),
            description: String::new(),
            schedule: "daily 03:30 UTC".into(),
            paused: false,
            running: false,
            next_run: None,
            last_run: None,
            last_result: None,
            last_duration_ms: None,
            consecutive_failures: 0,
            last_error: None,
            last_daily_date: None,
        }
    }

    #[test]
    fn lines_show_schedule_next_last_and_failures() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut v = view("retention:sweep");
        v.next_run = Some(now + chrono::Duration::minutes(90));
        v.last_run = Some(now - chrono::Duration::hours(3));
        v.last_result = Some(RunResult::Ok);
        v.last_duration_ms = Some(42);
        assert_eq!(
            job_line(&v, now),
            "daily 03:30 UTC • next in 1h 30m • last ok 3h 0m ago (42 ms)"
        );
        v.paused = true;
        v.last_result = Some(RunResult::Timeout);
        v.consecutive_failures = 2;
        v.last_error = Some("timed out after 120s".into());
        assert_eq!(
            job_line(&v, now),
            "daily 03:30 UTC • ⏸️ paused • last timeout 3h 0m ago (42 ms) • 2 failures in a row\n  ↳ timed out after 120s"
        );
        let e = jobs_embed(&[view("a"), v], now);
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.color, Some(COLOR_WARN));
    }
}
