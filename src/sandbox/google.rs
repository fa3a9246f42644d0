//! Google's side: the OAuth token endpoint (JWT bearer grant, RS256 signature checked
//! against the key the sandbox generated for its service account) and the Sheets v4
//! `values` endpoints (get, batchGet, update, batchUpdate, append) over in-memory
//! workbooks loaded from folders of CSV files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::signature::Verifier as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use super::Inner;
use super::rest::percent_decode;
use crate::sheets::SheetsError;

/// The sandbox service account's e-mail.
pub const CLIENT_EMAIL: &str = "clanhall-sandbox@clanhall-sandbox.iam.gserviceaccount.com";
/// The spreadsheet id the sandbox serves its default workbook under.
pub const DEFAULT_SHEET_ID: &str = "sandbox-recruitment-0000000000000000000000";

/// One RSA key per process: generating it is the slow part of the Google side, and a
/// test run starts many sandboxes.
fn keypair() -> &'static (RsaPrivateKey, RsaPublicKey, String) {
    static KEY: OnceLock<(RsaPrivateKey, RsaPublicKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        // A failure here means the OS has no randomness; nothing can work then.
        let private = RsaPrivateKey::new(&mut rng, 2048).expect("generate the sandbox RSA key");
        let public = RsaPublicKey::from(&private);
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encode the sandbox RSA key")
            .to_string();
        (private, public, pem)
    })
}

pub type Tabs = BTreeMap<String, Vec<Vec<String>>>;

#[derive(Debug, Default)]
pub struct GoogleState {
    tokens: Mutex<HashSet<String>>,
    token_requests: AtomicU64,
    workbooks: Mutex<HashMap<String, Tabs>>,
}

impl GoogleState {
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub fn load_folder(&self, sheet_id: &str, dir: &Path) -> Result<(), SheetsError> {
        let tabs = crate::sheets::local::read_folder(dir)?;
        self.workbooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sheet_id.to_owned(), tabs);
        Ok(())
    }

    pub fn workbook(&self, sheet_id: &str) -> Option<Tabs> {
        self.workbooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sheet_id)
            .cloned()
    }

    /// Replaces a tab (or removes it with `None`), as staff editing the sheet would.
    pub fn set_tab(&self, sheet_id: &str, tab: &str, rows: Option<Vec<Vec<String>>>) {
        let mut wbs = self.workbooks.lock().unwrap_or_else(|e| e.into_inner());
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
    let (_, _, pem) = keypair();
    json!({
        "type": "service_account",
        "project_id": "clanhall-sandbox",
        "private_key_id": "0000000000000000000000000000000000000000",
        "private_key": pem,
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

pub fn sheets_error(status: StatusCode, message: &str) -> Response {
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

/// Verifies a JWT bearer assertion; returns why it is not acceptable.
pub fn verify_assertion(assertion: &str, token_uri: &str, now: i64) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("the assertion is not a JWT".into());
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |p: &str| {
        b64.decode(p.trim_end_matches('='))
            .map_err(|_| "the assertion is not base64url".to_owned())
    };
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "bad JWT header")?;
    if header["alg"] != "RS256" {
        return Err(format!("unsupported algorithm {}", header["alg"]));
    }
    let sig =
        Signature::try_from(decode(signature)?.as_slice()).map_err(|_| "bad signature encoding")?;
    let (_, public, _) = keypair();
    VerifyingKey::<rsa::sha2::Sha256>::new(public.clone())
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| "bad JWT claims")?;
    if claims["iss"] != CLIENT_EMAIL {
        return Err(format!("unknown issuer {}", claims["iss"]));
    }
    if claims["aud"] != token_uri {
        return Err(format!("audience {} is not {token_uri}", claims["aud"]));
    }
    if claims["scope"].as_str().is_none_or(str::is_empty) {
        return Err("no scope requested".into());
    }
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp <= now || iat > now + 300 || exp - iat > 3600 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.".into());
    }
    Ok(())
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
    inner
        .google
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(access.clone());
    axum::Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

/// A parsed A1 range: `Tab`, `Tab!A1`, `Tab!A1:C9`, `Tab!A:C`, `'My Tab'!B2:B`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct A1 {
    pub tab: String,
    pub col0: usize,
    pub row0: usize,
    /// Inclusive ends; `None` = to the end of the data.
    pub col1: Option<usize>,
    pub row1: Option<usize>,
}

fn col_index(letters: &str) -> Option<usize> {
    if letters.is_empty() {
        return None;
    }
    letters
        .chars()
        .try_fold(0usize, |acc, c| {
            c.is_ascii_alphabetic()
                .then(|| acc * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1))
        })
        .map(|n| n - 1)
}

/// (col, row) of one cell reference; either part may be absent (`A`, `3`).
fn cell(r: &str) -> Option<(Option<usize>, Option<usize>)> {
    let split = r.find(|c: char| c.is_ascii_digit()).unwrap_or(r.len());
    let (letters, digits) = r.split_at(split);
    let col = if letters.is_empty() {
        None
    } else {
        Some(col_index(letters)?)
    };
    let row = if digits.is_empty() {
        None
    } else {
        Some(digits.parse::<usize>().ok()?.checked_sub(1)?)
    };
    (col.is_some() || row.is_some()).then_some((col, row))
}

impl A1 {
    pub fn parse(range: &str) -> Option<A1> {
        let (tab, cells) = if let Some(rest) = range.strip_prefix('\'') {
            let end = rest
                .find("'!")
                .or_else(|| rest.strip_suffix('\'').map(|r| r.len()))?;
            let tab = rest[..end].replace("''", "'");
            let cells = rest.get(end + 2..).unwrap_or("");
            (tab, cells.to_owned())
        } else {
            match range.split_once('!') {
                Some((t, c)) => (t.to_owned(), c.to_owned()),
                None => (range.to_owned(), String::new()),
            }
        };
        if tab.is_empty() {
            return None;
        }
        if cells.is_empty() {
            return Some(A1 {
                tab,
                col0: 0,
                row0: 0,
                col1: None,
                row1: None,
            });
        }
        let (a, b) = match cells.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (cells.as_str(), None),
        };
        let (c0, r0) = cell(a)?;
        let (c1, r1) = match b {
            Some(b) => cell(b)?,
            None => (c0, r0),
        };
        Some(A1 {
            tab,
            col0: c0.unwrap_or(0),
            row0: r0.unwrap_or(0),
            col1: c1,
            row1: r1,
        })
    }

    fn describe(&self, rows: usize, cols: usize) -> String {
        let quote = if self.tab.contains([' ', '\'', '!']) {
            format!("'{}'", self.tab.replace('\'', "''"))
        } else {
            self.tab.clone()
        };
        let c1 = self.col1.unwrap_or(cols.max(self.col0 + 1) - 1);
        let r1 = self.row1.unwrap_or(rows.max(self.row0 + 1) - 1);
        format!(
            "{quote}!{}{}:{}{}",
            crate::sheets::table::column_letters(self.col0),
            self.row0 + 1,
            crate::sheets::table::column_letters(c1),
            r1 + 1
        )
    }
}

/// The values inside `a1`, with trailing empty cells and rows trimmed, as Sheets does.
pub fn read_range(tabs: &Tabs, a1: &A1) -> Option<(String, Vec<Vec<String>>)> {
    let rows = tabs.get(&a1.tab)?;
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let r1 = a1.row1.map(|r| r + 1).unwrap_or(rows.len()).min(rows.len());
    let c1 = a1.col1.map(|c| c + 1).unwrap_or(width);
    let mut out: Vec<Vec<String>> = rows
        .get(a1.row0.min(r1)..r1)
        .unwrap_or(&[])
        .iter()
        .map(|r| {
            let mut cells: Vec<String> = r
                .iter()
                .skip(a1.col0)
                .take(c1.saturating_sub(a1.col0))
                .cloned()
                .collect();
            while cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            cells
        })
        .collect();
    while out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    Some((a1.describe(rows.len(), width), out))
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes `values` at the top-left of `a1`, growing the tab as needed.
pub fn write_range(
    tabs: &mut Tabs,
    a1: &A1,
    values: &[Vec<Value>],
) -> Option<(String, usize, usize)> {
    let rows = tabs.get_mut(&a1.tab)?;
    for (i, vr) in values.iter().enumerate() {
        let r = a1.row0 + i;
        if rows.len() <= r {
            rows.resize(r + 1, Vec::new());
        }
        for (j, v) in vr.iter().enumerate() {
            let c = a1.col0 + j;
            if rows[r].len() <= c {
                rows[r].resize(c + 1, String::new());
            }
            rows[r][c] = cell_text(v);
        }
    }
    let cols = values.iter().map(Vec::len).max().unwrap_or(0);
    let described = A1 {
        tab: a1.tab.clone(),
        col0: a1.col0,
        row0: a1.row0,
        col1: Some(a1.col0 + cols.max(1) - 1),
        row1: Some(a1.row0 + values.len().max(1) - 1),
    };
    Some((described.describe(0, 0), values.len(), cols))
}

fn bearer_ok(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let token = v.strip_prefix("Bearer ").unwrap_or("");
    inner
        .google
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(token)
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
    let mut wbs = inner
        .google
        .workbooks
        .lock()
        .unwrap_or_else(|e| e.into_inner());
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
                _ => sheets_error(StatusCode::NOT_FOUND, "Method not found."),
            }
        }
        _ => sheets_error(StatusCode::NOT_FOUND, "Method not found."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tabs() -> Tabs {
        let mut t = Tabs::new();
        t.insert(
            "Clans".into(),
            vec![
                vec!["tag".into(), "name".into(), "spots".into()],
                vec!["ALP".into(), "Alpha".into(), "3".into()],
                vec!["BET".into(), "Beta".into(), "".into()],
            ],
        );
        t.insert("My Tab".into(), vec![vec!["a".into()]]);
        t
    }

    #[test]
    fn a1_ranges_parse() {
        assert_eq!(
            A1::parse("Clans"),
            Some(A1 {
                tab: "Clans".into(),
                col0: 0,
                row0: 0,
                col1: None,
                row1: None
            })
        );
        assert_eq!(
            A1::parse("Clans!B2:C3"),
            Some(A1 {
                tab: "Clans".into(),
                col0: 1,
                row0: 1,
                col1: Some(2),
                row1: Some(2)
            })
        );
        assert_eq!(
            A1::parse("Clans!A:C"),
            Some(A1 {
                tab: "Clans".into(),
                col0: 0,
                row0: 0,
                col1: Some(2),
                row1: None
            })
        );
        assert_eq!(A1::parse("'My Tab'!A1").unwrap().tab, "My Tab");
        assert_eq!(A1::parse("'It''s'").unwrap().tab, "It's");
        assert_eq!(A1::parse("Clans!AA10").unwrap().col0, 26);
        assert_eq!(A1::parse("!A1"), None);
        assert_eq!(crate::sheets::table::column_letters(0), "A");
        assert_eq!(crate::sheets::table::column_letters(27), "AB");
    }

    #[test]
    fn reads_trim_like_sheets_and_writes_grow_the_tab() {
        let mut t = tabs();
        let (range, values) = read_range(&t, &A1::parse("Clans").unwrap()).unwrap();
        assert_eq!(range, "Clans!A1:C3");
        assert_eq!(
            values[2],
            vec!["BET", "Beta"],
            "trailing empty cell trimmed"
        );
        let (_, values) = read_range(&t, &A1::parse("Clans!B2:C2").unwrap()).unwrap();
        assert_eq!(values, vec![vec!["Alpha", "3"]]);
        let (range, n, c) = write_range(
            &mut t,
            &A1::parse("Clans!D1").unwrap(),
            &[vec![json!("open_spots")], vec![json!(2)]],
        )
        .unwrap();
        assert_eq!((range.as_str(), n, c), ("Clans!D1:D2", 2, 1));
        assert_eq!(t["Clans"][1], vec!["ALP", "Alpha", "3", "2"]);
    }

    #[test]
    fn assertions_with_a_foreign_key_are_rejected() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": CLIENT_EMAIL, "aud": "http://x/token", "scope": "s", "iat": now, "exp": now + 3600});
        let unsigned = format!(
            "{}.{}",
            b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        );
        let forged = format!("{unsigned}.{}", b64.encode([7u8; 256]));
        assert_eq!(
            verify_assertion(&forged, "http://x/token", now),
            Err("Invalid JWT Signature.".into())
        );
        assert!(verify_assertion("not-a-jwt", "http://x/token", now).is_err());
        // Signed with the sandbox key: accepted, but only for the right audience and time.
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let key = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(keypair().0.clone());
        let signed = format!(
            "{unsigned}.{}",
            b64.encode(key.sign(unsigned.as_bytes()).to_bytes())
        );
        assert_eq!(verify_assertion(&signed, "http://x/token", now), Ok(()));
        assert!(verify_assertion(&signed, "http://y/token", now).is_err());
        assert!(verify_assertion(&signed, "http://x/token", now + 7200).is_err());
    }
}
