//! Google's side: the OAuth token endpoint ([`oauth`]) and the Sheets v4 `values`
//! endpoints (get, batchGet, update, batchUpdate, append) over in-memory workbooks loaded
//! from folders of CSV files ([`a1`] for ranges).

pub mod a1;
pub mod oauth;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

use self::a1::{A1, read_range, write_range};
pub use self::oauth::{CLIENT_EMAIL, UNTRUSTED_KEY_PEM, verify_assertion};
use super::Inner;
use super::rest::percent_decode;

/// The spreadsheet id the sandbox serves its default workbook under.
pub const DEFAULT_SHEET_ID: &str = "sandbox-recruitment-0000000000000000000000";

/// A workbook: each tab's rows, keyed by tab name.
pub type Tabs = BTreeMap<String, Vec<Vec<String>>>;

#[derive(Debug, Default)]
pub struct GoogleState {
    tokens: Mutex<HashSet<String>>,
    token_requests: AtomicU64,
    workbooks: Mutex<HashMap<String, Tabs>>,
}

/// Every `*.csv` in `dir` as raw rows, keyed by tab name (the file stem). A file that
/// cannot be read (not UTF-8, say) is left out with a warning, as a tab the spreadsheet
/// does not have: the bot then reports the tab, and the sandbox still starts.
fn read_folder(dir: &Path) -> Result<Tabs, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the workbook folder {}: {e}", dir.display()))?;
    let mut tabs = Tabs::new();
    for path in entries.flatten().map(|e| e.path()) {
        let is_csv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()).filter(|_| is_csv) else {
            continue;
        };
        let rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(&path)
            .and_then(|mut r| {
                r.records()
                    .map(|r| r.map(|r| r.iter().map(str::to_owned).collect()))
                    .collect::<Result<Vec<Vec<String>>, _>>()
            });
        match rows {
            Ok(rows) => {
                tabs.insert(stem.to_owned(), rows);
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "sandbox: workbook file left out (unreadable)");
            }
        }
    }
    Ok(tabs)
}

impl GoogleState {
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Serves the CSV files in `dir` as the spreadsheet `sheet_id`.
    pub fn load_folder(&self, sheet_id: &str, dir: &Path) -> Result<(), crate::SandboxError> {
        let tabs = read_folder(dir).map_err(crate::SandboxError::Workbook)?;
        self.workbooks.lock().insert(sheet_id.to_owned(), tabs);
        Ok(())
    }

    pub fn workbook(&self, sheet_id: &str) -> Option<Tabs> {
        self.workbooks.lock().get(sheet_id).cloned()
    }

    /// Replaces a tab (or removes it with `None`), as staff editing the sheet would.
    pub fn set_tab(&self, sheet_id: &str, tab: &str, rows: Option<Vec<Vec<String>>>) {
        let mut wbs = self.workbooks.lock();
        let wb = wbs.entry(sheet_id.to_owned()).or_default();
        match rows {
            Some(r) => {
                wb.insert(tab.to_owned(), r);
            }
            None => {
                wb.remove(tab);
            }
        }
    }
}

/// The service-account key file for the sandbox, as Google would hand it out.
pub fn service_account_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "clanhall-sandbox",
        "private_key_id": "0000000000000000000000000000000000000000",
        "private_key": oauth::SERVICE_ACCOUNT_KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

fn oauth_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

pub(crate) fn sheets_error(status: StatusCode, message: &str) -> Response {
    let s = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    (
        status,
        axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "status": s}})),
    )
        .into_response()
}

/// 501 for a Sheets method the sandbox does not implement (see the REST twin).
pub(crate) fn not_implemented(what: &str) -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        axum::Json(json!({"error": {
            "code": 501,
            "message": format!("clanhall sandbox: {what} is not implemented (see docs/sandbox.md); Google would not answer like this"),
            "status": "UNIMPLEMENTED",
        }})),
    )
        .into_response()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

pub(crate) async fn token(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    inner.google.token_requests.fetch_add(1, Ordering::Relaxed);
    let f = form(&body);
    if f.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let token_uri = format!("{}/token", inner.base_url);
    if let Err(why) = verify_assertion(
        f.get("assertion").map(String::as_str).unwrap_or(""),
        &token_uri,
        chrono::Utc::now().timestamp(),
    ) {
        return oauth_error(&why);
    }
    let access = format!("ya29.sandbox-{}", uuid::Uuid::new_v4().simple());
    inner.google.tokens.lock().insert(access.clone());
    axum::Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

fn bearer_ok(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let token = v.strip_prefix("Bearer ").unwrap_or("");
    inner.google.tokens.lock().contains(token)
}

fn query_values(query: &str, key: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(&v.replace('+', " ")))
        .collect()
}

/// `/v4/spreadsheets/...`, routed by hand: the `values:batchGet` style paths put a
/// colon inside a segment.
pub(crate) async fn sheets(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    if !bearer_ok(&inner, req.headers()) {
        return sheets_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return sheets_error(StatusCode::BAD_REQUEST, "request body too large"),
    };
    let Some(rest) = path.strip_prefix("/v4/spreadsheets/") else {
        return sheets_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    };
    let (sheet_id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let sheet_id = percent_decode(sheet_id);
    let mut wbs = inner.google.workbooks.lock();
    let Some(tabs) = wbs.get_mut(&sheet_id) else {
        return sheets_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    };
    let tab_names: Vec<String> = tabs.keys().cloned().collect();
    let parse = |r: &str| A1::parse(r).filter(|a| tab_names.contains(&a.tab));
    let bad_range = |r: &str| {
        sheets_error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to parse range: {r}"),
        )
    };
    let json_body = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let values_of = |v: &Value| -> Vec<Vec<Value>> {
        v["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    match (&method, tail) {
        (&Method::GET, "values:batchGet") => {
            let mut ranges = Vec::new();
            for r in query_values(&query, "ranges") {
                let Some(a1) = parse(&r) else {
                    return bad_range(&r);
                };
                let (range, values) = read_range(tabs, &a1).unwrap_or_default();
                let mut vr = json!({"range": range, "majorDimension": "ROWS"});
                if !values.is_empty() {
                    vr["values"] = json!(values);
                }
                ranges.push(vr);
            }
            axum::Json(json!({"spreadsheetId": sheet_id, "valueRanges": ranges})).into_response()
        }
        (&Method::POST, "values:batchUpdate") => {
            let b = json_body();
            let mut responses = Vec::new();
            let (mut rows, mut cells) = (0, 0);
            for vr in b["data"].as_array().cloned().unwrap_or_default() {
                let r = vr["range"].as_str().unwrap_or("");
                let Some(a1) = parse(r) else {
                    return bad_range(r);
                };
                let values = values_of(&vr);
                let (range, n, c) = write_range(tabs, &a1, &values).unwrap_or_default();
                rows += n;
                cells += n * c;
                responses.push(json!({"spreadsheetId": sheet_id, "updatedRange": range, "updatedRows": n, "updatedColumns": c, "updatedCells": n * c}));
            }
            axum::Json(json!({"spreadsheetId": sheet_id, "totalUpdatedRows": rows, "totalUpdatedCells": cells, "totalUpdatedSheets": responses.len(), "responses": responses})).into_response()
        }
        (m, t) if t.starts_with("values/") => {
            let spec = percent_decode(&t["values/".len()..]);
            if let (&Method::POST, Some(range)) = (m, spec.strip_suffix(":append")) {
                let Some(a1) = parse(range) else {
                    return bad_range(range);
                };
                let values = values_of(&json_body());
                let existing = tabs.get(&a1.tab).map(|rows| {
                    rows.iter()
                        .rposition(|r| r.iter().skip(a1.col0).any(|c| !c.is_empty()))
                        .map(|i| i + 1)
                        .unwrap_or(0)
                });
                let at = A1 {
                    row0: existing.unwrap_or(0).max(a1.row0),
                    ..a1.clone()
                };
                let (range, n, c) = write_range(tabs, &at, &values).unwrap_or_default();
                return axum::Json(json!({"spreadsheetId": sheet_id, "tableRange": a1.tab, "updates": {"spreadsheetId": sheet_id, "updatedRange": range, "updatedRows": n, "updatedColumns": c, "updatedCells": n * c}})).into_response();
            }
            let Some(a1) = parse(&spec) else {
                return bad_range(&spec);
            };
            match *m {
                Method::GET => {
                    let (range, values) = read_range(tabs, &a1).unwrap_or_default();
                    let mut vr = json!({"range": range, "majorDimension": "ROWS"});
                    if !values.is_empty() {
                        vr["values"] = json!(values);
                    }
                    axum::Json(vr).into_response()
                }
                Method::PUT => {
                    let values = values_of(&json_body());
                    let (range, n, c) = write_range(tabs, &a1, &values).unwrap_or_default();
                    axum::Json(json!({"spreadsheetId": sheet_id, "updatedRange": range, "updatedRows": n, "updatedColumns": c, "updatedCells": n * c})).into_response()
                }
                _ => not_implemented(&format!("{m} /v4/spreadsheets/{{id}}/{t}")),
            }
        }
        (m, t) => not_implemented(&format!("{m} /v4/spreadsheets/{{id}}/{t}")),
    }
}
