//! `ops refresh <bucket…|all>`: refreshes cache buckets now and shows each result, with a
//! 30 s cooldown on `all` (one `all` reads every workbook; Sheets allows 60 reads a
//! minute).
//!
//! The house pattern for a command, in three steps:
//! - [`decide`] is pure: the words typed, what the feature remembers (when `all` last
//!   ran) and the time in, a [`Plan`] or a [`Refusal`] out. Unit-tested without Discord.
//! - [`apply`] does the side effects the plan names: the refreshes, the log-channel post.
//! - [`reply_embed`] and [`summary_embed`] are pure renderers, snapshot-tested.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::cache::{BucketId, Cache, RefreshReport, RefreshTrigger};
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{BotData, Ctx};
use crate::message::alert::AlertSink;
use crate::message::embed::{COLOR_OK, COLOR_WARN, Embed};
use crate::util::text::count;

/// How long a manual refresh waits for Sheets before answering (Discord users expect an
/// answer within the 3 s interaction window).
pub(crate) const REFRESH_WAIT: Duration = Duration::from_millis(1500);
/// Cooldown of `ops refresh all`, per guild.
pub(crate) const ALL_COOLDOWN: Duration = Duration::from_secs(30);

/// What the feature remembers: when `refresh all` last ran, per guild.
#[derive(Debug, Default)]
pub(crate) struct Cooldowns(Mutex<HashMap<u64, Instant>>);

impl Cooldowns {
    /// Decides with the guild's last `all` and, if the plan is an `all`, records it in
    /// the same step, so two staff asking at once cannot both pass the cooldown.
    pub(crate) fn decide_and_claim(
        &self,
        guild: u64,
        words: &str,
        now: Instant,
    ) -> Result<Plan, Refusal> {
        let mut last = self.0.lock();
        let plan = decide(words, last.get(&guild).copied(), now)?;
        if plan.all {
            last.insert(guild, now);
        }
        Ok(plan)
    }
}

/// What to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub buckets: Vec<BucketId>,
    /// Asked as `all` (cooled down; shown as "all").
    pub all: bool,
}

impl Plan {
    /// `all`, or the buckets by name.
    pub(crate) fn scope(&self) -> String {
        if self.all {
            "all".to_owned()
        } else {
            self.buckets
                .iter()
                .map(|b| b.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn bucket_list() -> String {
    BucketId::ALL
        .iter()
        .map(|b| format!("`{}`", b.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the refresh does not run; the text tells the caller what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("Which buckets? `!ops refresh <bucket…|all>`; buckets: {list}.", list = bucket_list())]
    NoBuckets,
    #[error("There is no bucket {word}. Buckets: {list}, or `all`.", word = crate::util::text::code(.0), list = bucket_list())]
    UnknownBucket(String),
    #[error(
        "⏳ `refresh all` ran {ago}s ago; it has a {cooldown}s cooldown. Try again in {wait}s, or refresh single buckets."
    )]
    CoolingDown { ago: u64, cooldown: u64, wait: u64 },
}

impl From<Refusal> for CommandError {
    fn from(r: Refusal) -> Self {
        CommandError::user(r.to_string())
    }
}

/// The pure decision: which buckets `words` name (`all` for every one, if it has cooled
/// down since `last_all`).
pub(crate) fn decide(
    words: &str,
    last_all: Option<Instant>,
    now: Instant,
) -> Result<Plan, Refusal> {
    let words: Vec<&str> = words
        .split([' ', ','])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(Refusal::NoBuckets);
    }
    if words.iter().any(|w| w.eq_ignore_ascii_case("all")) {
        let since = last_all.map(|t| now.saturating_duration_since(t));
        if let Some(ago) = since.filter(|a| *a < ALL_COOLDOWN) {
            return Err(Refusal::CoolingDown {
                ago: ago.as_secs(),
                cooldown: ALL_COOLDOWN.as_secs(),
                wait: (ALL_COOLDOWN - ago).as_secs().max(1),
            });
        }
        return Ok(Plan {
            buckets: BucketId::ALL.to_vec(),
            all: true,
        });
    }
    let mut buckets = Vec::new();
    for w in words {
        match BucketId::parse(w) {
            Some(id) if !buckets.contains(&id) => buckets.push(id),
            Some(_) => {}
            None => return Err(Refusal::UnknownBucket(w.to_owned())),
        }
    }
    Ok(Plan {
        buckets,
        all: false,
    })
}

/// Runs the plan's refreshes (waiting at most [`REFRESH_WAIT`]) and posts the summary to
/// the log channel.
pub(crate) async fn apply(
    plan: &Plan,
    cache: &std::sync::Arc<Cache>,
    alerts: &dyn AlertSink,
    actor: &str,
    actor_name: &str,
) -> Vec<RefreshReport> {
    let reports = cache
        .refresh(
            &plan.buckets,
            RefreshTrigger::Manual,
            actor,
            Some(REFRESH_WAIT),
        )
        .await;
    let scope = plan.scope();
    // A true repeat (same person, same results) is posted once; anyone else is posted.
    let results: Vec<&str> = reports.iter().map(|r| r.result.as_str()).collect();
    alerts
        .post(
            &format!("refresh:manual:{scope}:{actor}:{}", results.join(",")),
            summary_embed(
                &format!("Refresh • {scope}"),
                &format!("manual, by {actor_name}"),
                &reports,
            ),
        )
        .await;
    reports
}

/// The reply to the caller.
pub(crate) fn reply_embed(
    plan: &Plan,
    reports: &[RefreshReport],
    actor_name: &str,
    took: Duration,
) -> Embed {
    let failed = reports.iter().filter(|r| r.result.failed()).count();
    Embed::new(format!("Refresh • {}", plan.scope()))
        .description(format!(
            "actor: {actor_name} • trigger: manual\n{}",
            report_table(reports)
        ))
        .color(if failed == 0 { COLOR_OK } else { COLOR_WARN })
        .footer(format!("total {} ms", took.as_millis()))
}

/// A refresh result table for Discord (`ops refresh`, `ops reload`, log-channel
/// summaries).
pub(crate) fn report_table(reports: &[RefreshReport]) -> String {
    let mut out = String::from("```\nbucket                result    retries  items   ms\n");
    for r in reports {
        out.push_str(&format!(
            "{:<21} {:<9} {:>7} {:>6} {:>5}\n",
            r.bucket.as_str(),
            r.result,
            r.retries,
            r.items.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            r.ms
        ));
    }
    out.push_str("```");
    let errors: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            r.error
                .as_ref()
                .map(|e| format!("• {}: {e}", r.bucket.as_str()))
        })
        .collect();
    if !errors.is_empty() {
        out.push('\n');
        out.push_str(&errors.join("\n"));
    }
    out
}

/// A refresh summary as a log-channel embed (`ops refresh`, the startup preload).
pub(crate) fn summary_embed(title: &str, trigger: &str, reports: &[RefreshReport]) -> Embed {
    let failed = reports.iter().filter(|r| r.result.failed()).count();
    let color = if failed == 0 { COLOR_OK } else { COLOR_WARN };
    let head = if failed == 0 {
        format!(
            "♻️ {} refreshed ({trigger}).",
            count(reports.len(), "bucket")
        )
    } else {
        let kept = if failed == 1 { "its" } else { "their" };
        format!(
            "♻️ {failed} of {} failed ({trigger}); {kept} last good data stays in use.",
            count(reports.len(), "bucket")
        )
    };
    Embed::new(title)
        .description(format!("{head}\n{}", report_table(reports)))
        .color(color)
}

/// `Name (id)`, as refreshes record who asked.
fn actor(ctx: Ctx<'_>) -> String {
    format!("{} ({})", ctx.author().name, ctx.author().id)
}

/// Refreshes cache buckets now and shows each result (30 s cooldown on `all`).
#[poise::command(prefix_command, slash_command, custom_data = Meta::staff().slow())]
pub(crate) async fn refresh(
    ctx: Ctx<'_>,
    #[description = "Buckets to refresh (clans, templates, clan_tags, onboarding_questions) or all"]
    #[rest]
    buckets: String,
) -> Result<(), CommandError> {
    let data: &BotData = ctx.data();
    let clock = &data.status.clock;
    let t0 = clock.now();
    let guild = ctx.guild_id().map(|g| g.get()).unwrap_or(0);
    let plan = data
        .features
        .get::<Cooldowns>()?
        .decide_and_claim(guild, &buckets, t0)?;
    let name = ctx.author().name.clone();
    let reports = apply(&plan, &data.cache, data.alerts.as_ref(), &actor(ctx), &name).await;
    let took = clock.now().saturating_duration_since(t0);
    reply::send(ctx, Reply::embed(reply_embed(&plan, &reports, &name, took))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::RefreshOutcome;

    fn at(base: Instant, secs: u64) -> Instant {
        base + Duration::from_secs(secs)
    }

    #[test]
    fn words_name_buckets_once_each_or_all() {
        let now = Instant::now();
        assert_eq!(
            decide("clans TEMPLATES, clans", None, now),
            Ok(Plan {
                buckets: vec![BucketId::Clans, BucketId::Templates],
                all: false
            })
        );
        let all = decide("all", None, now).unwrap();
        assert!(all.all);
        assert_eq!(all.buckets.len(), 4);
        assert_eq!(all.scope(), "all");
        assert_eq!(decide("  ", None, now), Err(Refusal::NoBuckets));
        let e = decide("clans nope", None, now).unwrap_err();
        assert_eq!(e, Refusal::UnknownBucket("nope".into()));
        let text = e.to_string();
        assert!(
            text.contains("no bucket `nope`") && text.contains("`clan_tags`"),
            "{text}"
        );
        assert!(Refusal::NoBuckets.to_string().contains("Which buckets?"));
    }

    #[test]
    fn all_cools_down_for_thirty_seconds_single_buckets_never() {
        let t0 = Instant::now();
        assert_eq!(
            decide("all", Some(t0), at(t0, 10)),
            Err(Refusal::CoolingDown {
                ago: 10,
                cooldown: 30,
                wait: 20
            })
        );
        assert!(decide("all", Some(t0), at(t0, 30)).is_ok());
        assert!(decide("clans", Some(t0), at(t0, 1)).is_ok());
        let text = decide("all", Some(t0), at(t0, 29)).unwrap_err().to_string();
        assert!(text.contains("Try again in 1s"), "{text}");
    }

    #[test]
    fn claiming_records_only_an_all() {
        let c = Cooldowns::default();
        let t0 = Instant::now();
        assert!(c.decide_and_claim(1, "clans", t0).is_ok());
        assert!(c.decide_and_claim(1, "all", t0).is_ok());
        assert!(c.decide_and_claim(1, "all", at(t0, 5)).is_err());
        assert!(c.decide_and_claim(2, "all", at(t0, 5)).is_ok(), "per guild");
    }

    fn report(bucket: BucketId, result: RefreshOutcome, error: Option<&str>) -> RefreshReport {
        RefreshReport {
            bucket,
            result,
            retries: if result == RefreshOutcome::RetryOk {
                2
            } else {
                0
            },
            items: (!result.failed()).then_some(30),
            ms: 812,
            error: error.map(str::to_owned),
            pending: error.is_some(),
        }
    }

    #[test]
    fn table_lists_each_bucket_and_errors() {
        let t = report_table(&[
            report(BucketId::Clans, RefreshOutcome::RetryOk, None),
            report(
                BucketId::OnboardingQuestions,
                RefreshOutcome::Failed,
                Some("no answer"),
            ),
        ]);
        assert!(
            t.contains("clans                 retry_ok        2     30   812"),
            "{t}"
        );
        assert!(t.ends_with("• onboarding_questions: no answer"), "{t}");
    }

    #[test]
    fn reply_and_summary_snapshots() {
        let plan = decide("clans", None, Instant::now()).unwrap();
        let ok = [report(BucketId::Clans, RefreshOutcome::Ok, None)];
        let e = reply_embed(&plan, &ok, "sam", Duration::from_millis(42));
        assert_eq!(e.title, "Refresh • clans");
        assert_eq!(e.color, Some(COLOR_OK));
        assert_eq!(e.footer, "total 42 ms");
        assert!(
            e.description
                .starts_with("actor: sam • trigger: manual\n```")
        );
        let failed = [report(
            BucketId::Clans,
            RefreshOutcome::Failed,
            Some("HTTP 500"),
        )];
        assert_eq!(
            reply_embed(&plan, &failed, "sam", Duration::ZERO).color,
            Some(COLOR_WARN)
        );
        let s = summary_embed("Startup refresh", "startup", &failed);
        assert!(
            s.description
                .starts_with("♻️ 1 of 1 bucket failed (startup); its last good data stays in use."),
            "{}",
            s.description
        );
        assert!(
            summary_embed("x", "manual", &ok)
                .description
                .starts_with("♻️ 1 bucket refreshed (manual).")
        );
    }
}
