//! Posting the daily recruiter report, for the job `report:recruiters` and the command
//! `report recruiters`: the figures (`report::figures`) are stored with the post, and
//! the stored row is what keeps the scheduled report to once a day.

use std::sync::Arc;

use serenity::all::ChannelId;

use super::TOGGLE_REPORTS;
use super::report;
use crate::discord::outbound::Outbound;
use crate::store::{Store, ts};

/// Who asked for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    Scheduled,
    Manual,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Posted {
    Done {
        id: i64,
        channel: u64,
    },
    /// The scheduled report of the day is already out.
    AlreadyToday,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error(
        "Set RECRUITERS_CHANNEL_ID (or REPORT_CHANNEL_ID) in the Config tab: the report has nowhere to go."
    )]
    NoChannel,
    #[error("The Clans tab has not been read yet, so there is nothing to report.")]
    NoClans,
    #[error("the report was not posted: {0}")]
    Send(#[source] crate::discord::outbound::SendError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the caller can fix is said as is; a failed post or store is ours (logged, and
/// the caller gets a reference).
impl From<ReportError> for crate::discord::CommandError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NoChannel | ReportError::NoClans => Self::user(e.to_string()),
            ReportError::Send(e) => e.into(),
            ReportError::Store(e) => e.into(),
        }
    }
}

/// What posting a report needs; the job and the command share it.
#[derive(Clone)]
pub(crate) struct ReportSink {
    pub store: Store,
    pub config: Arc<crate::config::ConfigRegistry>,
    pub cache: Arc<crate::cache::Cache>,
    pub outbound: Arc<Outbound>,
}

impl ReportSink {
    /// Computes and posts the report, once a day for the scheduled one (a restart, a
    /// catch-up or a manual job run the same day posts nothing more).
    pub(crate) async fn post(
        &self,
        trigger: Trigger,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Posted, ReportError> {
        let cfg = self.config.get();
        let channel = cfg
            .channels
            .report
            .or(cfg.channels.recruiters)
            .ok_or(ReportError::NoChannel)?;
        let list = self.cache.clans().ok_or(ReportError::NoClans)?;
        let day = now.date_naive();
        let figures = report::figures(&list, day);
        let json = serde_json::to_string(&figures).unwrap_or_else(|_| "{}".into());
        let (day_s, at) = (day.to_string(), ts(now));
        // Claimed before posting: two runs racing the same day cannot both post.
        let claimed = self
            .store
            .transaction(move |tx| {
                if trigger == Trigger::Scheduled {
                    let seen: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM recruiter_reports WHERE day = ?1 AND trigger = 'scheduled'",
                        [&day_s],
                        |r| r.get(0),
                    )?;
                    if seen > 0 {
                        return Ok(None);
                    }
                }
                tx.execute(
                    "INSERT INTO recruiter_reports (day, figures, channel_id, trigger, posted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![day_s, json, channel as i64, trigger.as_str(), at],
                )?;
                Ok(Some(tx.last_insert_rowid()))
            })
            .await?;
        let Some(id) = claimed else {
            return Ok(Posted::AlreadyToday);
        };
        let msg = serenity::all::CreateMessage::new()
            .content(report::headline(&figures.day, &cfg.roles.recruiter))
            .embed(report::summary(&figures).to_create())
            .components(report::buttons(id, report::View::Summary))
            .allowed_mentions(
                serenity::all::CreateAllowedMentions::new().roles(
                    cfg.roles
                        .recruiter
                        .iter()
                        .map(|r| serenity::all::RoleId::new(*r)),
                ),
            );
        match self.outbound.post(ChannelId::new(channel), msg).await {
            Ok(m) => {
                let mid = m.id.get() as i64;
                self.store
                    .transaction(move |tx| {
                        tx.execute(
                            "UPDATE recruiter_reports SET message_id = ?2 WHERE id = ?1",
                            rusqlite::params![id, mid],
                        )?;
                        Ok(())
                    })
                    .await?;
                Ok(Posted::Done { id, channel })
            }
            Err(e) => {
                // Not posted: give the day back so the next run tries again.
                self.store
                    .transaction(move |tx| {
                        tx.execute("DELETE FROM recruiter_reports WHERE id = ?1", [id])?;
                        Ok(())
                    })
                    .await?;
                Err(ReportError::Send(e))
            }
        }
    }
}

/// The stored figures of report `id`.
pub(crate) fn stored_figures(
    c: &rusqlite::Connection,
    id: i64,
) -> Result<Option<report::Figures>, crate::store::StoreError> {
    use rusqlite::OptionalExtension;
    let json: Option<String> = c
        .query_row(
            "SELECT figures FROM recruiter_reports WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// `report:recruiters`, daily at `REPORT_DAILY_POST_TIME` (UTC); a day missed while the
/// bot was down is posted once at start.
pub(crate) fn report_job(
    sink: Option<ReportSink>,
    config: Arc<crate::config::ConfigRegistry>,
) -> crate::scheduler::JobSpec {
    use crate::scheduler::{JobError, JobSpec, Schedule};
    let (h, m) = config.get().report_daily_post_time.unwrap_or((9, 30));
    let toggles = config.clone();
    JobSpec::new(
        report::JOB,
        "Posts the daily recruiter update (REPORT_DAILY_POST_TIME, UTC)",
        Schedule::daily(h, m),
        std::time::Duration::from_secs(60),
        move |ctx| {
            let (sink, config) = (sink.clone(), config.clone());
            async move {
                if !config.enabled(TOGGLE_REPORTS) {
                    return Ok(serde_json::json!({"posted": false, "why": "recruitment_reports is off"}));
                }
                let Some(sink) = sink else {
                    return Err(JobError::Incomplete("Discord is not connected".into()));
                };
                match sink.post(Trigger::Scheduled, ctx.started).await {
                    Ok(Posted::Done { id, channel }) => {
                        Ok(serde_json::json!({"posted": true, "report": id, "channel": channel.to_string()}))
                    }
                    Ok(Posted::AlreadyToday) => Ok(serde_json::json!({"posted": false, "why": "already posted today"})),
                    Err(e) => Err(JobError::Incomplete(e.to_string())),
                }
            }
        },
    )
    .always_catch_up()
    // Switched off: skipped unrecorded, so `ops jobs` does not fill with empty runs.
    .idle_when(move || {
        let toggles = toggles.clone();
        async move { !toggles.enabled(TOGGLE_REPORTS) }
    })
}
