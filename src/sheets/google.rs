//! Google Sheets through google-sheets4 and a yup-oauth2 service account.
//!
//! Every call asks for the same OAuth scope, so yup-oauth2 fetches one token and reuses
//! it until it expires (it caches per scope set). A read is one `values:batchGet` for all
//! the tabs it needs. Failures are retried with backoff and jitter, honouring
//! `Retry-After`; each attempt has a timeout; and a circuit breaker per workbook stops
//! hammering a failing Sheets API while stale data is served.
//!
//! A tab missing from the spreadsheet fails a whole batchGet ("Unable to parse range");
//! that tab is then marked missing and the read repeated without it. This costs a second
//! request only when the workbook is misconfigured.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use google_sheets4::Sheets;
use google_sheets4::api::{Scope, ValueRange};
use google_sheets4::common::{Delegate, Response, Retry};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

use super::circuit::Circuit;
use super::retry::{RetryPolicy, jitter, parse_retry_after};
use super::{SheetsError, SourceStatus, Table, TabsRead, Tuning, Workbook, WorkbookSource};
use crate::runtime::Clock;
use crate::settings::ServiceAccount;
use crate::telemetry::metrics::{Metrics, WorkbookErrorLabels, WorkbookLabels};

type Hub = Sheets<HttpsConnector<HttpConnector>>;

/// Captures a failed response's status and `Retry-After`, and tells google-sheets4 not
/// to retry on its own (the retry loop here counts and times retries).
#[derive(Default)]
struct Capture {
    status: Option<u16>,
    retry_after: Option<Duration>,
}

impl Delegate for Capture {
    fn http_failure(&mut self, resp: &Response, _err: Option<&Value>) -> Retry {
        self.status = Some(resp.status().as_u16());
        self.retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        Retry::Abort
    }
}

#[derive(Debug, Default)]
struct Stats {
    last_success: Option<chrono::DateTime<Utc>>,
    last_error: Option<String>,
    requests: u64,
    last_latency: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
enum Write {
    Update,
    Append,
}

impl Write {
    fn retry(self) -> RetryWhen {
        match self {
            Write::Update => RetryWhen::Idempotent,
            Write::Append => RetryWhen::AtMostOnce,
        }
    }
}

/// Which failures an operation may be tried again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryWhen {
    /// Reads and `values.update` (the same cells, the same values): every transient
    /// failure, since doing it twice is doing it once.
    Idempotent,
    /// `values.append`: only a 429, which Google answers before doing anything. After a
    /// 5xx or a timeout the rows may already be in the sheet (the write applied, the
    /// answer lost), so trying again could add them twice; the error goes to the caller,
    /// which reads the tab back before deciding.
    AtMostOnce,
}

impl RetryWhen {
    fn allows(self, e: &SheetsError) -> bool {
        match self {
            RetryWhen::Idempotent => e.transient(),
            RetryWhen::AtMostOnce => e.kind() == "rate_limited",
        }
    }
}

pub(crate) struct GoogleWorkbook {
    workbook: Workbook,
    sheet_id: String,
    hub: Hub,
    tuning: Mutex<Tuning>,
    circuit: Mutex<Circuit>,
    stats: Mutex<Stats>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

fn lock<T>(m: &Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    m.lock()
}

/// A range covering a whole tab, quoted so any tab name works.
pub(crate) fn tab_range(tab: &str) -> String {
    format!("'{}'", tab.replace('\'', "''"))
}

/// The tab a "Unable to parse range: X" error names, if it is one of `tabs`.
fn missing_tab<'a>(err: &SheetsError, tabs: &'a [String]) -> Option<&'a String> {
    let SheetsError::Api {
        status: 400,
        message,
    } = err
    else {
        return None;
    };
    let named = message.split("Unable to parse range:").nth(1)?.trim();
    tabs.iter().find(|t| {
        named == t.as_str() || named == tab_range(t) || named.trim_matches('\'') == t.as_str()
    })
}

fn cell(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn map_error(e: google_sheets4::Error, cap: &Capture) -> SheetsError {
    use google_sheets4::Error as E;
    match e {
        E::BadRequest(v) => SheetsError::Api {
            status: cap
                .status
                .or_else(|| v["error"]["code"].as_u64().map(|c| c as u16))
                .unwrap_or(400),
            message: v["error"]["message"]
                .as_str()
                .unwrap_or("bad request")
                .to_owned(),
        },
        E::Failure(resp) => SheetsError::Api {
            status: resp.status().as_u16(),
            message: format!("HTTP {}", resp.status()),
        },
        E::HttpError(e) => SheetsError::Transport(e.to_string()),
        E::MissingToken(e) => SheetsError::Auth(e.to_string()),
        E::JsonDecodeError(_, e) => SheetsError::Api {
            status: 200,
            message: format!("unreadable answer: {e}"),
        },
        other => SheetsError::Transport(other.to_string()),
    }
}

/// One authenticated client for every workbook: they share the token cache, so the
/// service account fetches one token however many spreadsheets it reads.
#[derive(Clone)]
pub(crate) struct Client(Hub);

impl Client {
    pub(crate) async fn connect(
        sa: &ServiceAccount,
        base_url: &str,
    ) -> Result<Client, SheetsError> {
        let key = yup_oauth2::parse_service_account_key(sa.json.expose())
            .map_err(|e| SheetsError::Credentials(e.to_string()))?;
        let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
            .build()
            .await
            .map_err(|e| SheetsError::Credentials(e.to_string()))?;
        // https in production; the sandbox serves plain http on loopback.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        let mut hub = Sheets::new(client, auth);
        let base = if base_url.ends_with('/') {
            base_url.to_owned()
        } else {
            format!("{base_url}/")
        };
        hub.base_url(base.clone());
        hub.root_url(base);
        Ok(Client(hub))
    }
}

impl GoogleWorkbook {
    pub(crate) fn new(
        workbook: Workbook,
        client: &Client,
        sheet_id: &str,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> GoogleWorkbook {
        let tuning = Tuning::default();
        GoogleWorkbook {
            workbook,
            sheet_id: sheet_id.to_owned(),
            hub: client.0.clone(),
            circuit: Mutex::new(Circuit::new(
                tuning.circuit_threshold,
                tuning.circuit_cooldown,
            )),
            tuning: Mutex::new(tuning),
            stats: Mutex::new(Stats::default()),
            clock,
            metrics,
        }
    }

    fn count_request(&self) {
        lock(&self.stats).requests += 1;
        self.metrics
            .sheets_requests
            .get_or_create(&WorkbookLabels {
                workbook: self.workbook.as_str(),
            })
            .inc();
    }

    fn count_error(&self, e: &SheetsError) {
        self.metrics
            .sheets_errors
            .get_or_create(&WorkbookErrorLabels {
                workbook: self.workbook.as_str(),
                kind: e.kind(),
            })
            .inc();
    }

    fn publish_circuit(&self) {
        let g = lock(&self.circuit).gauge();
        self.metrics
            .circuit_state
            .get_or_create(&WorkbookLabels {
                workbook: self.workbook.as_str(),
            })
            .set(g);
    }

    /// One batchGet attempt, with the per-request timeout.
    async fn batch_get(
        &self,
        tabs: &[String],
        timeout: Duration,
    ) -> (Result<Vec<ValueRange>, SheetsError>, Option<Duration>) {
        let mut cap = Capture::default();
        let mut call = self
            .hub
            .spreadsheets()
            .values_batch_get(&self.sheet_id)
            .major_dimension("ROWS")
            .add_scope(Scope::Spreadsheet);
        for t in tabs {
            call = call.add_ranges(&tab_range(t));
        }
        let result = match tokio::time::timeout(timeout, call.delegate(&mut cap).doit()).await {
            Ok(Ok((_, res))) => Ok(res.value_ranges.unwrap_or_default()),
            Ok(Err(e)) => Err(map_error(e, &cap)),
            Err(_) => Err(SheetsError::Timeout(timeout)),
        };
        (result, cap.retry_after)
    }

    /// Runs `attempt` under the circuit breaker with retries. `attempt` returns the
    /// result and the server's `Retry-After`, if any.
    async fn guarded<T, F, Fut>(
        &self,
        retry: RetryWhen,
        mut attempt: F,
    ) -> Result<(T, u32, u32), SheetsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = (Result<T, SheetsError>, Option<Duration>)>,
    {
        let tuning = *lock(&self.tuning);
        let policy = RetryPolicy {
            retries: tuning.retries,
            ..RetryPolicy::default()
        };
        {
            let mut c = lock(&self.circuit);
            if let Err(retry_in) = c.allow(self.clock.now()) {
                let v = c.view(self.clock.now());
                let e = SheetsError::CircuitOpen {
                    workbook: self.workbook.as_str(),
                    failures: v.consecutive_failures,
                    last_error: v.last_error.unwrap_or_default(),
                    retry_in,
                };
                drop(c);
                self.count_error(&e);
                return Err(e);
            }
        }
        let mut retries = 0;
        let mut requests = 0;
        loop {
            requests += 1;
            self.count_request();
            let (result, retry_after) = attempt().await;
            match result {
                Ok(v) => {
                    lock(&self.circuit).success();
                    self.publish_circuit();
                    let mut s = lock(&self.stats);
                    s.last_success = Some(self.clock.utc());
                    s.last_error = None;
                    return Ok((v, retries, requests));
                }
                Err(e) => {
                    self.count_error(&e);
                    if retry.allows(&e) && retries < policy.retries {
                        let wait = policy.delay(retries, retry_after, jitter());
                        tracing::warn!(workbook = self.workbook.as_str(), error = %e, retry = retries + 1, wait_ms = wait.as_millis() as u64, "Sheets request failed; retrying");
                        retries += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// `values.update` or `values.append`, under the same retries, timeout and circuit
    /// as reads.
    async fn write(
        &self,
        range: String,
        rows: Vec<Vec<String>>,
        kind: Write,
    ) -> Result<(), SheetsError> {
        let timeout = lock(&self.tuning).timeout;
        let values: Vec<Vec<Value>> = rows
            .into_iter()
            .map(|r| r.into_iter().map(Value::String).collect())
            .collect();
        let result = self
            .guarded(kind.retry(), || {
                let vr = ValueRange {
                    values: Some(values.clone()),
                    ..Default::default()
                };
                let range = range.clone();
                async move {
                    let mut cap = Capture::default();
                    let sheets = self.hub.spreadsheets();
                    let call = async {
                        match kind {
                            Write::Update => sheets
                                .values_update(vr, &self.sheet_id, &range)
                                .value_input_option("RAW")
                                .add_scope(Scope::Spreadsheet)
                                .delegate(&mut cap)
                                .doit()
                                .await
                                .map(|_| ()),
                            Write::Append => sheets
                                .values_append(vr, &self.sheet_id, &range)
                                .value_input_option("RAW")
                                .insert_data_option("INSERT_ROWS")
                                .add_scope(Scope::Spreadsheet)
                                .delegate(&mut cap)
                                .doit()
                                .await
                                .map(|_| ()),
                        }
                    };
                    let outcome = tokio::time::timeout(timeout, call).await;
                    let r = match outcome {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(map_error(e, &cap)),
                        Err(_) => Err(SheetsError::Timeout(timeout)),
                    };
                    (r, cap.retry_after)
                }
            })
            .await;
        result.map(|_| ()).inspect_err(|e| self.record_failure(e))
    }

    /// Records a failed operation against the circuit (missing tabs are not failures).
    fn record_failure(&self, e: &SheetsError) {
        if matches!(e, SheetsError::CircuitOpen { .. }) {
            return;
        }
        lock(&self.circuit).failure(self.clock.now(), e.to_string());
        self.publish_circuit();
        lock(&self.stats).last_error = Some(e.to_string());
    }
}

#[async_trait::async_trait]
impl WorkbookSource for GoogleWorkbook {
    fn label(&self) -> String {
        let tail: String = self
            .sheet_id
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("google:…{tail}")
    }

    async fn read_tabs(&self, tabs: &[String]) -> Result<TabsRead, SheetsError> {
        let t0 = Instant::now();
        let timeout = lock(&self.tuning).timeout;
        let mut wanted: Vec<String> = tabs.to_vec();
        let mut out = TabsRead::default();
        while !wanted.is_empty() {
            let asked = wanted.clone();
            match self
                .guarded(RetryWhen::Idempotent, || self.batch_get(&asked, timeout))
                .await
            {
                Ok((ranges, retries, requests)) => {
                    out.retries += retries;
                    out.requests += requests;
                    for (tab, vr) in asked.iter().zip(ranges) {
                        // Moved out cell by cell: a copy would double a large tab's peak.
                        let rows = vr
                            .values
                            .unwrap_or_default()
                            .into_iter()
                            .map(|r| r.into_iter().map(cell).collect())
                            .collect();
                        out.tabs
                            .insert(tab.clone(), Some(Table::from_rows(tab.clone(), rows)));
                    }
                    break;
                }
                Err(e) => {
                    if let Some(tab) = missing_tab(&e, &wanted).cloned() {
                        // A misconfigured workbook, not an outage: drop the tab and read the rest.
                        out.requests += 1;
                        lock(&self.circuit).success();
                        out.tabs.insert(tab.clone(), None);
                        wanted.retain(|t| *t != tab);
                        continue;
                    }
                    self.record_failure(&e);
                    return Err(e);
                }
            }
        }
        out.latency = t0.elapsed();
        lock(&self.stats).last_latency = Some(out.latency);
        Ok(out)
    }

    async fn write_range(
        &self,
        tab: &str,
        row: usize,
        col: usize,
        rows: Vec<Vec<String>>,
    ) -> Result<(), SheetsError> {
        let range = format!(
            "{}!{}{}",
            tab_range(tab),
            super::table::column_letters(col.saturating_sub(1)),
            row.max(1)
        );
        self.write(range, rows, Write::Update).await
    }

    async fn append_rows(&self, tab: &str, rows: Vec<Vec<String>>) -> Result<(), SheetsError> {
        self.write(format!("{}!A1", tab_range(tab)), rows, Write::Append)
            .await
    }

    async fn write_ranges(&self, writes: Vec<super::RangeWrite>) -> Result<(), SheetsError> {
        if writes.is_empty() {
            return Ok(());
        }
        let timeout = lock(&self.tuning).timeout;
        let data: Vec<ValueRange> = writes
            .into_iter()
            .map(|w| ValueRange {
                range: Some(format!(
                    "{}!{}{}",
                    tab_range(&w.tab),
                    super::table::column_letters(w.col.saturating_sub(1)),
                    w.row.max(1)
                )),
                values: Some(
                    w.rows
                        .into_iter()
                        .map(|r| r.into_iter().map(Value::String).collect())
                        .collect(),
                ),
                ..Default::default()
            })
            .collect();
        let result = self
            .guarded(RetryWhen::Idempotent, || {
                let req = google_sheets4::api::BatchUpdateValuesRequest {
                    data: Some(data.clone()),
                    value_input_option: Some("RAW".into()),
                    ..Default::default()
                };
                async move {
                    let mut cap = Capture::default();
                    let call = self
                        .hub
                        .spreadsheets()
                        .values_batch_update(req, &self.sheet_id)
                        .add_scope(Scope::Spreadsheet)
                        .delegate(&mut cap)
                        .doit();
                    let r = match tokio::time::timeout(timeout, call).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(map_error(e, &cap)),
                        Err(_) => Err(SheetsError::Timeout(timeout)),
                    };
                    (r, cap.retry_after)
                }
            })
            .await;
        result.map(|_| ()).inspect_err(|e| self.record_failure(e))
    }

    fn status(&self) -> SourceStatus {
        let s = lock(&self.stats);
        SourceStatus {
            kind: "google",
            label: self.label(),
            circuit: Some(lock(&self.circuit).view(self.clock.now())),
            last_success: s.last_success,
            last_error: s.last_error.clone(),
            requests: s.requests,
            last_latency_ms: s.last_latency.map(|d| d.as_millis() as u64),
        }
    }

    fn set_tuning(&self, t: Tuning) {
        *lock(&self.tuning) = t;
        let mut c = lock(&self.circuit);
        c.threshold = t.circuit_threshold.max(1);
        c.cooldown = t.circuit_cooldown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_quoted_and_missing_tabs_recognised() {
        assert_eq!(tab_range("Clans"), "'Clans'");
        assert_eq!(tab_range("It's"), "'It''s'");
        let tabs = vec!["Config".to_owned(), "FeatureToggles".to_owned()];
        let e = SheetsError::Api {
            status: 400,
            message: "Unable to parse range: FeatureToggles".into(),
        };
        assert_eq!(missing_tab(&e, &tabs), Some(&tabs[1]));
        let e = SheetsError::Api {
            status: 400,
            message: "Unable to parse range: 'FeatureToggles'".into(),
        };
        assert_eq!(missing_tab(&e, &tabs), Some(&tabs[1]));
        let other = SheetsError::Api {
            status: 400,
            message: "Invalid value".into(),
        };
        assert_eq!(missing_tab(&other, &tabs), None);
        assert_eq!(
            missing_tab(&SheetsError::Timeout(Duration::from_secs(1)), &tabs),
            None
        );
    }
}
