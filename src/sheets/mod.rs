//! Workbook access: tabs read by header name from Google Sheets or a local workbook,
//! behind one trait so every feature reads and writes the same way.
//!
//! - [`google::GoogleWorkbook`]: google-sheets4 + yup-oauth2 with a service account; one
//!   `values:batchGet` per read, retries with backoff and jitter (honouring
//!   `Retry-After`), a per-request timeout, and a circuit breaker per workbook.
//! - [`local::LocalWorkbook`]: a folder of CSV files (one per tab), or an `.xlsx`/`.ods`
//!   file; the default when no Google credentials are set.

pub(crate) mod circuit;
pub(crate) mod google;
pub(crate) mod local;
pub(crate) mod mirror;
pub(crate) mod outbox;
pub(crate) mod retry;
pub(crate) mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub(crate) use circuit::CircuitView;
pub(crate) use table::{MissingHeaders, Table};

/// What the tabs are called in this workbook (Config keys `CLANS_TAB`, `TEMPLATES_TAB`
/// ...); the Config tab itself is always `Config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TabNames {
    pub clans: String,
    pub templates: String,
    pub feature_toggles: String,
    pub reservations: String,
    pub questions: String,
    pub tickets: String,
    pub sessions: String,
}

impl Default for TabNames {
    fn default() -> Self {
        Self {
            clans: "Clans".into(),
            templates: "WelcomeTemplates".into(),
            feature_toggles: "FeatureToggles".into(),
            reservations: "Reservations".into(),
            questions: "Questions".into(),
            tickets: "WelcomeTickets".into(),
            sessions: "OnboardingSessions".into(),
        }
    }
}

/// Which of the two workbooks (they may be the same spreadsheet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workbook {
    Recruitment,
    Onboarding,
}

impl Workbook {
    pub fn as_str(self) -> &'static str {
        match self {
            Workbook::Recruitment => "recruitment",
            Workbook::Onboarding => "onboarding",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SheetsError {
    #[error("local workbook {path}: {reason}")]
    Local { path: PathBuf, reason: String },
    #[error("Google Sheets answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("no answer from Google Sheets within {}s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("cannot reach Google Sheets: {0}")]
    Transport(String),
    #[error("cannot get a Google access token: {0}")]
    Auth(String),
    #[error("the Google credentials cannot be used: {0}. Check GOOGLE_SERVICE_ACCOUNT_JSON")]
    Credentials(String),
    #[error("circuit open for the {workbook} workbook after {failures} failures in a row (last: {last_error}); next attempt in {}s", retry_in.as_secs())]
    CircuitOpen {
        workbook: &'static str,
        failures: u32,
        last_error: String,
        retry_in: Duration,
    },
}

impl SheetsError {
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SheetsError::Local { .. } => "local",
            SheetsError::Api { status: 429, .. } => "rate_limited",
            SheetsError::Api { status, .. } if *status >= 500 => "server",
            SheetsError::Api { .. } => "client",
            SheetsError::Timeout(_) => "timeout",
            SheetsError::Transport(_) => "transport",
            SheetsError::Auth(_) | SheetsError::Credentials(_) => "auth",
            SheetsError::CircuitOpen { .. } => "circuit_open",
        }
    }

    /// Worth retrying: rate limits, server errors, timeouts, broken connections.
    pub fn transient(&self) -> bool {
        matches!(
            self.kind(),
            "rate_limited" | "server" | "timeout" | "transport"
        )
    }
}

/// The result of one read: each requested tab (`None` when the workbook has no such
/// tab, or it could not be read), and what it took.
#[derive(Debug, Clone, Default)]
pub struct TabsRead {
    pub tabs: BTreeMap<String, Option<Table>>,
    /// Tabs that exist but cannot be read (a local CSV that is not UTF-8, a sheet calamine
    /// cannot open), with why. Only the buckets reading them fail; the rest are served.
    pub unreadable: BTreeMap<String, String>,
    pub retries: u32,
    /// HTTP requests made (0 for local workbooks).
    pub requests: u32,
    pub latency: Duration,
}

/// How a source is doing, for `/health` and `ops digest`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub kind: &'static str,
    pub label: String,
    pub circuit: Option<CircuitView>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub requests: u64,
    pub last_latency_ms: Option<u64>,
}

/// Retry, timeout and circuit settings (Config tab: `SHEETS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tuning {
    pub retries: u32,
    pub timeout: Duration,
    pub circuit_threshold: u32,
    pub circuit_cooldown: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            retries: 3,
            timeout: Duration::from_secs(15),
            circuit_threshold: 5,
            circuit_cooldown: Duration::from_secs(60),
        }
    }
}

#[async_trait::async_trait]
pub trait WorkbookSource: Send + Sync {
    /// Where it reads from, safe to show (`google:…a1b2c3`, `local:config/sample`).
    fn label(&self) -> String;
    /// Reads these tabs in one request.
    async fn read_tabs(&self, tabs: &[String]) -> Result<TabsRead, SheetsError>;
    /// Writes `rows` starting at 1-based `row`, `col` of `tab`.
    async fn write_range(
        &self,
        tab: &str,
        row: usize,
        col: usize,
        rows: Vec<Vec<String>>,
    ) -> Result<(), SheetsError>;
    /// Appends rows after the last non-empty row of `tab`.
    async fn append_rows(&self, tab: &str, rows: Vec<Vec<String>>) -> Result<(), SheetsError>;
    /// Several writes as one request where the backend can (Google's
    /// `values:batchUpdate`); one after another otherwise. Each write is idempotent (the
    /// same cells, the same values), so the whole batch may be retried.
    async fn write_ranges(&self, writes: Vec<RangeWrite>) -> Result<(), SheetsError> {
        for w in writes {
            self.write_range(&w.tab, w.row, w.col, w.rows).await?;
        }
        Ok(())
    }
    fn status(&self) -> SourceStatus;
    /// New retry/timeout/circuit settings (after the Config tab was read).
    fn set_tuning(&self, _tuning: Tuning) {}
}

/// One block of cells to write: `rows` from 1-based `row`, `col` of `tab`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeWrite {
    pub tab: String,
    pub row: usize,
    pub col: usize,
    pub rows: Vec<Vec<String>>,
}

/// The sources of both workbooks.
#[derive(Clone)]
pub struct Sources {
    pub recruitment: Arc<dyn WorkbookSource>,
    pub onboarding: Arc<dyn WorkbookSource>,
    /// Both workbooks are one spreadsheet (or one local folder): one read serves both.
    pub same: bool,
}

impl Sources {
    /// Both workbooks from one local folder or spreadsheet file; writes go to `writes`
    /// when given (see `Settings::workbook_writes`), else beside the workbook.
    pub fn local(
        path: &std::path::Path,
        writes: Option<&std::path::Path>,
        clock: Arc<dyn crate::runtime::Clock>,
    ) -> Sources {
        let local: Arc<dyn WorkbookSource> =
            Arc::new(local::LocalWorkbook::with_writes(path, writes, clock));
        Sources {
            onboarding: local.clone(),
            recruitment: local,
            same: true,
        }
    }

    pub fn get(&self, wb: Workbook) -> &Arc<dyn WorkbookSource> {
        match wb {
            Workbook::Recruitment => &self.recruitment,
            Workbook::Onboarding => {
                if self.same {
                    &self.recruitment
                } else {
                    &self.onboarding
                }
            }
        }
    }

    /// Every distinct source with the workbooks it serves.
    pub fn distinct(&self) -> Vec<(Workbook, Arc<dyn WorkbookSource>)> {
        if self.same {
            vec![(Workbook::Recruitment, self.recruitment.clone())]
        } else {
            vec![
                (Workbook::Recruitment, self.recruitment.clone()),
                (Workbook::Onboarding, self.onboarding.clone()),
            ]
        }
    }

    /// The workbook a read for `wb` is grouped under.
    pub fn read_key(&self, wb: Workbook) -> Workbook {
        if self.same { Workbook::Recruitment } else { wb }
    }

    pub fn set_tuning(&self, t: Tuning) {
        self.recruitment.set_tuning(t);
        if !self.same {
            self.onboarding.set_tuning(t);
        }
    }

    /// Google when credentials are set, else the local workbook in `WORKBOOK_DIR`.
    pub async fn from_settings(
        settings: &crate::settings::Settings,
        clock: Arc<dyn crate::runtime::Clock>,
        metrics: Arc<crate::telemetry::metrics::Metrics>,
    ) -> Result<Sources, SheetsError> {
        match (
            &settings.google_service_account,
            &settings.recruitment_sheet_id,
        ) {
            (Some(sa), Some(rec_id)) => {
                let onb_id = settings
                    .onboarding_sheet_id
                    .clone()
                    .unwrap_or_else(|| rec_id.clone());
                let client = google::Client::connect(sa, &settings.google_sheets_api_url).await?;
                let rec: Arc<dyn WorkbookSource> = Arc::new(google::GoogleWorkbook::new(
                    Workbook::Recruitment,
                    &client,
                    rec_id,
                    clock.clone(),
                    metrics.clone(),
                ));
                if &onb_id == rec_id {
                    return Ok(Sources {
                        onboarding: rec.clone(),
                        recruitment: rec,
                        same: true,
                    });
                }
                let onb = google::GoogleWorkbook::new(
                    Workbook::Onboarding,
                    &client,
                    &onb_id,
                    clock,
                    metrics,
                );
                Ok(Sources {
                    recruitment: rec,
                    onboarding: Arc::new(onb),
                    same: false,
                })
            }
            _ => Ok(Sources::local(
                &settings.workbook_dir,
                settings.workbook_writes.as_deref(),
                clock,
            )),
        }
    }
}

/// The sources as a health component: degraded while a circuit is open or the last
/// read failed.
pub(crate) struct SheetsHealth(pub Sources);

impl crate::runtime::ComponentCheck for SheetsHealth {
    fn name(&self) -> &'static str {
        "sheets"
    }

    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        let statuses: Vec<(Workbook, SourceStatus)> = self
            .0
            .distinct()
            .into_iter()
            .map(|(w, s)| (w, s.status()))
            .collect();
        let problem = statuses.iter().find_map(|(w, s)| {
            if s.circuit.as_ref().is_some_and(|c| c.state != "closed") {
                Some(format!(
                    "{} workbook: circuit {} ({})",
                    w.as_str(),
                    s.circuit.as_ref().map(|c| c.state).unwrap_or(""),
                    s.last_error.clone().unwrap_or_default()
                ))
            } else {
                s.last_error
                    .as_ref()
                    .map(|e| format!("{} workbook: last read failed: {e}", w.as_str()))
            }
        });
        let h = match problem {
            Some(p) => ComponentHealth::new(Level::Degraded, p),
            None => ComponentHealth::new(
                Level::Ok,
                statuses
                    .iter()
                    .map(|(_, s)| s.label.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        h.with(
            "workbooks",
            statuses
                .into_iter()
                .map(|(w, s)| serde_json::json!({"workbook": w, "source": s}))
                .collect::<Vec<_>>(),
        )
    }
}
