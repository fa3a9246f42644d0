//! The local workbook: a folder with one CSV file per tab (`Config.csv`, `Clans.csv`...),
//! or an `.xlsx`/`.ods` file read with calamine. It is the default source (no Google
//! credentials needed).
//!
//! Writes (the mirror tabs the bot keeps) always go to CSV files, atomically: into
//! the folder itself, or for a spreadsheet file into a folder beside it named
//! `<file>.writes/`. A tab written there is read from there afterwards.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::table::Table;
use super::{SheetsError, SourceStatus, TabsRead, WorkbookSource};
use crate::runtime::Clock;

/// Reads one CSV file into raw rows. A file that is not UTF-8 (Excel's plain "CSV"
/// saves Latin-1) says how to fix it.
pub fn read_csv(path: &Path) -> Result<Vec<Vec<String>>, SheetsError> {
    let err = |e: &csv::Error| SheetsError::Local {
        path: path.to_path_buf(),
        reason: match e.kind() {
            csv::ErrorKind::Utf8 { pos, .. } => format!(
                "not UTF-8 text{}; save the file as UTF-8 (in Excel: \"CSV UTF-8\")",
                pos.as_ref()
                    .map(|p| format!(" (line {})", p.line()))
                    .unwrap_or_default()
            ),
            _ => e.to_string(),
        },
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| err(&e))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(&e))?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// Writes rows as CSV, atomically.
pub(crate) fn write_csv(path: &Path, rows: &[Vec<String>]) -> Result<(), SheetsError> {
    let err = |e: &dyn std::fmt::Display| SheetsError::Local {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).map_err(|e| err(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| err(&e))?;
    crate::atomic_file::write_bytes(path, &bytes).map_err(|e| err(&e))
}

/// The CSV file of `tab` in `dir`: exact name first, then case-insensitively.
fn csv_path(dir: &Path, tab: &str) -> Option<PathBuf> {
    let exact = dir.join(format!("{tab}.csv"));
    if exact.is_file() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.eq_ignore_ascii_case(tab))
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        })
}

/// A folder of CSV files, one per tab.
#[derive(Debug, Clone)]
pub(crate) struct CsvFolder {
    pub dir: PathBuf,
}

impl CsvFolder {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Reads the named tabs; a tab without a file reads as `None`, a file that cannot be
    /// read is listed in `unreadable` (the others are still read).
    pub(crate) fn read_tabs(&self, tabs: &[&str]) -> Result<ReadTabs, SheetsError> {
        if !self.dir.is_dir() {
            return Err(SheetsError::Local {
                path: self.dir.clone(),
                reason: "the workbook folder does not exist (set WORKBOOK_DIR)".into(),
            });
        }
        let mut out = ReadTabs::default();
        for tab in tabs {
            let table = match csv_path(&self.dir, tab) {
                Some(p) => match read_csv(&p) {
                    Ok(rows) => Some(Table::from_rows(*tab, rows)),
                    Err(e) => {
                        out.unreadable.insert((*tab).to_owned(), e.to_string());
                        None
                    }
                },
                None => None,
            };
            out.tabs.insert((*tab).to_owned(), table);
        }
        Ok(out)
    }
}

/// Tabs read from local files: each one (`None`: no such tab, or unreadable) and the
/// unreadable ones with why.
#[derive(Debug, Default)]
pub(crate) struct ReadTabs {
    pub tabs: BTreeMap<String, Option<Table>>,
    pub unreadable: BTreeMap<String, String>,
}

/// Above 2^53 a spreadsheet number is no longer an exact integer.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A cell as text. Discord ids (about 1.2e18) typed as numbers have already lost their
/// last digits in the file; such a cell is passed on marked, never as a plausible but
/// wrong id, so config validation names it instead of the bot posting to the wrong
/// channel.
fn cell_text(d: &calamine::Data) -> String {
    match d {
        calamine::Data::Float(f) if f.abs() >= EXACT_INTEGER_LIMIT => format!(
            "{f:.0} (a number cell: its last digits are lost; format the column as text and retype it)"
        ),
        other => other.to_string(),
    }
}

/// Reads named sheets from an `.xlsx`/`.xls`/`.ods` file.
fn read_spreadsheet(file: &Path, tabs: &[String]) -> Result<ReadTabs, SheetsError> {
    use calamine::Reader as _;
    let err = |e: &dyn std::fmt::Display| SheetsError::Local {
        path: file.to_path_buf(),
        reason: e.to_string(),
    };
    let mut wb = calamine::open_workbook_auto(file).map_err(|e| err(&e))?;
    let names = wb.sheet_names();
    let mut out = ReadTabs::default();
    for tab in tabs {
        let Some(name) = names
            .iter()
            .find(|n| n.as_str() == tab)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(tab)))
            .cloned()
        else {
            out.tabs.insert(tab.clone(), None);
            continue;
        };
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                out.unreadable
                    .insert(tab.clone(), format!("{}: {e}", file.display()));
                out.tabs.insert(tab.clone(), None);
                continue;
            }
        };
        // Sheets may not start at A1; keep positions so headers line up.
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); r0 as usize];
        for r in range.rows() {
            let mut row = vec![String::new(); c0 as usize];
            row.extend(r.iter().map(cell_text));
            rows.push(row);
        }
        out.tabs
            .insert(tab.clone(), Some(Table::from_rows(tab.clone(), rows)));
    }
    Ok(out)
}

/// Where a local workbook lives: the folder or spreadsheet file it is read from, and the
/// folder writes go to (and written tabs are read from). The blocking file work.
#[derive(Debug, Clone)]
struct Files {
    path: PathBuf,
    writes: PathBuf,
}

impl Files {
    fn read(&self, tabs: &[String]) -> Result<ReadTabs, SheetsError> {
        if self.path.is_dir() {
            let refs: Vec<&str> = tabs.iter().map(String::as_str).collect();
            let mut out = CsvFolder::new(&self.path).read_tabs(&refs)?;
            if self.writes != self.path {
                self.overlay_writes(tabs, &mut out)?;
            }
            return Ok(out);
        }
        if !self.path.is_file() {
            return Err(SheetsError::Local {
                path: self.path.clone(),
                reason: "neither a folder of CSV files nor a spreadsheet file (set WORKBOOK_DIR)"
                    .into(),
            });
        }
        let mut out = read_spreadsheet(&self.path, tabs)?;
        self.overlay_writes(tabs, &mut out)?;
        Ok(out)
    }

    /// Tabs the bot has written are read from where it wrote them.
    fn overlay_writes(&self, tabs: &[String], out: &mut ReadTabs) -> Result<(), SheetsError> {
        for tab in tabs {
            if let Some(p) = csv_path(&self.writes, tab) {
                out.tabs.insert(
                    tab.clone(),
                    Some(Table::from_rows(tab.clone(), read_csv(&p)?)),
                );
                out.unreadable.remove(tab);
            }
        }
        Ok(())
    }

    /// The current rows of a tab for a write: the written CSV, else the source.
    fn rows_for_write(&self, tab: &str) -> Result<(PathBuf, Vec<Vec<String>>), SheetsError> {
        if let Some(p) = csv_path(&self.writes, tab) {
            return Ok((p.clone(), read_csv(&p)?));
        }
        let path = self.writes.join(format!("{tab}.csv"));
        let mut read = self.read(&[tab.to_owned()])?;
        if let Some(why) = read.unreadable.remove(tab) {
            return Err(SheetsError::Local {
                path: self.writes.join(format!("{tab}.csv")),
                reason: why,
            });
        }
        let existing = read.tabs.remove(tab).flatten();
        let rows = existing
            .map(|t| std::iter::once(t.headers.clone()).chain(t.rows).collect())
            .unwrap_or_default();
        Ok((path, rows))
    }

    fn write_range(
        &self,
        tab: &str,
        row: usize,
        col: usize,
        rows: Vec<Vec<String>>,
    ) -> Result<(), SheetsError> {
        let (path, mut existing) = self.rows_for_write(tab)?;
        for (i, values) in rows.into_iter().enumerate() {
            let r = row.max(1) - 1 + i;
            if existing.len() <= r {
                existing.resize(r + 1, Vec::new());
            }
            for (j, v) in values.into_iter().enumerate() {
                let c = col.max(1) - 1 + j;
                if existing[r].len() <= c {
                    existing[r].resize(c + 1, String::new());
                }
                existing[r][c] = v;
            }
        }
        write_csv(&path, &existing)
    }

    fn append_rows(&self, tab: &str, rows: Vec<Vec<String>>) -> Result<(), SheetsError> {
        let (path, mut existing) = self.rows_for_write(tab)?;
        while existing
            .last()
            .is_some_and(|r| r.iter().all(|c| c.trim().is_empty()))
        {
            existing.pop();
        }
        existing.extend(rows);
        write_csv(&path, &existing)
    }
}

/// The local workbook source: reads and (atomic, fsync'd) writes run on the blocking
/// pool, never on the async workers.
pub(crate) struct LocalWorkbook {
    files: Files,
    clock: Arc<dyn Clock>,
    last_error: Mutex<Option<String>>,
    last_success: Mutex<Option<chrono::DateTime<Utc>>>,
}

impl LocalWorkbook {
    #[cfg(test)]
    pub(crate) fn new(path: &Path, clock: Arc<dyn Clock>) -> Self {
        Self::with_writes(path, None, clock)
    }

    /// Like [`LocalWorkbook::new`], with writes going to `writes` (a folder) instead of
    /// beside the workbook.
    pub(crate) fn with_writes(path: &Path, writes: Option<&Path>, clock: Arc<dyn Clock>) -> Self {
        let writes = match writes {
            Some(w) => w.to_path_buf(),
            None if path.is_file() => PathBuf::from(format!("{}.writes", path.display())),
            None => path.to_path_buf(),
        };
        LocalWorkbook {
            files: Files {
                path: path.to_path_buf(),
                writes,
            },
            clock,
            last_error: Mutex::new(None),
            last_success: Mutex::new(None),
        }
    }

    /// Runs `f` on the files, on the blocking pool, and records how it went.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Files) -> Result<T, SheetsError> + Send + 'static,
    ) -> Result<T, SheetsError> {
        let files = self.files.clone();
        let r = tokio::task::spawn_blocking(move || f(&files))
            .await
            .unwrap_or_else(|e| {
                Err(SheetsError::Local {
                    path: self.files.path.clone(),
                    reason: format!("the file worker failed: {e}"),
                })
            });
        match &r {
            Ok(_) => {
                *self.last_error.lock() = None;
                *self.last_success.lock() = Some(self.clock.utc());
            }
            Err(e) => *self.last_error.lock() = Some(e.to_string()),
        }
        r
    }
}

#[async_trait::async_trait]
impl WorkbookSource for LocalWorkbook {
    fn label(&self) -> String {
        format!("local:{}", self.files.path.display())
    }

    async fn read_tabs(&self, tabs: &[String]) -> Result<TabsRead, SheetsError> {
        let t0 = Instant::now();
        let tabs = tabs.to_vec();
        let ReadTabs { tabs, unreadable } = self.run(move |f| f.read(&tabs)).await?;
        Ok(TabsRead {
            tabs,
            unreadable,
            retries: 0,
            requests: 0,
            latency: t0.elapsed(),
        })
    }

    async fn write_range(
        &self,
        tab: &str,
        row: usize,
        col: usize,
        rows: Vec<Vec<String>>,
    ) -> Result<(), SheetsError> {
        let tab = tab.to_owned();
        self.run(move |f| f.write_range(&tab, row, col, rows)).await
    }

    async fn append_rows(&self, tab: &str, rows: Vec<Vec<String>>) -> Result<(), SheetsError> {
        let tab = tab.to_owned();
        self.run(move |f| f.append_rows(&tab, rows)).await
    }

    fn status(&self) -> SourceStatus {
        SourceStatus {
            kind: "local",
            label: self.label(),
            circuit: None,
            last_success: *self.last_success.lock(),
            last_error: self.last_error.lock().clone(),
            requests: 0,
            last_latency_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tabs_by_name_with_quotes_and_commas() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Config.csv"),
            "Key,Value\nLOG_CHANNEL_ID,123\nNOTE,\"a, b\"\n",
        )
        .unwrap();
        let tabs = CsvFolder::new(dir.path())
            .read_tabs(&["Config", "config", "Missing"])
            .unwrap()
            .tabs;
        let config = tabs["Config"].as_ref().unwrap();
        assert_eq!(config.headers, vec!["Key", "Value"]);
        assert_eq!(config.rows[1], vec!["NOTE", "a, b"]);
        assert!(tabs["config"].is_some(), "case-insensitive file lookup");
        assert!(tabs["Missing"].is_none());
    }

    #[test]
    fn a_file_that_is_not_utf8_is_unreadable_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Config.csv"), "Key,Value\n").unwrap();
        std::fs::write(dir.path().join("Clans.csv"), b"tag,name\nCAF,Caf\xe9\n").unwrap();
        let read = CsvFolder::new(dir.path())
            .read_tabs(&["Config", "Clans"])
            .unwrap();
        assert!(read.tabs["Config"].is_some(), "the good tab is read");
        assert!(read.tabs["Clans"].is_none());
        let why = &read.unreadable["Clans"];
        assert!(
            why.contains("not UTF-8")
                && why.contains("save the file as UTF-8")
                && why.contains("line 2"),
            "{why}"
        );
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let err = CsvFolder::new("/definitely/not/here")
            .read_tabs(&["Config"])
            .unwrap_err();
        assert!(err.to_string().contains("WORKBOOK_DIR"), "{err}");
    }

    /// A minimal .xlsx (inline strings and one number) built by hand, as Excel or
    /// LibreOffice would save it, minus the styling.
    fn write_xlsx(path: &Path, sheets: &[(&str, &[&[&str]])]) {
        use std::io::Write as _;
        use zip::write::SimpleFileOptions;
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let mut put = |name: &str, body: String| {
            z.start_file(name, opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        };
        let overrides: String = (1..=sheets.len())
            .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
            .collect();
        put(
            "[Content_Types].xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
            ),
        );
        put("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned());
        let entries: String = sheets
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                format!(
                    r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#,
                    n = i + 1
                )
            })
            .collect();
        put(
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{entries}</sheets></workbook>"#
            ),
        );
        let rels: String = (1..=sheets.len())
            .map(|i| format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#))
            .collect();
        put(
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
            ),
        );
        for (i, (_, rows)) in sheets.iter().enumerate() {
            let mut data = String::new();
            for (r, row) in rows.iter().enumerate() {
                data.push_str(&format!(r#"<row r="{}">"#, r + 1));
                for (c, v) in row.iter().enumerate() {
                    let at = format!("{}{}", crate::sheets::table::column_letters(c), r + 1);
                    if v.parse::<f64>().is_ok() {
                        data.push_str(&format!(r#"<c r="{at}"><v>{v}</v></c>"#));
                    } else {
                        data.push_str(&format!(
                            r#"<c r="{at}" t="inlineStr"><is><t>{v}</t></is></c>"#
                        ));
                    }
                }
                data.push_str("</row>");
            }
            put(
                &format!("xl/worksheets/sheet{}.xml", i + 1),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#
                ),
            );
        }
        z.finish().unwrap();
    }

    #[tokio::test]
    async fn an_xlsx_workbook_is_read_by_tab_name_and_writes_go_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clanhall.xlsx");
        write_xlsx(
            &file,
            &[
                (
                    "Config",
                    &[
                        &["Key", "Value"],
                        &["CLANS_TAB", "Clans"],
                        &["LOG_CHANNEL_ID", "1200000000000000302"],
                    ],
                ),
                (
                    "Clans",
                    &[&["tag", "name", "spots"], &["ALP", "Alpha", "3"]],
                ),
                ("Reservations", &[&["thread_id", "clan_tag"]]),
            ],
        );
        let wb = LocalWorkbook::new(&file, Arc::new(crate::runtime::SystemClock));
        let read = wb
            .read_tabs(&["Clans".into(), "config".into(), "Missing".into()])
            .await
            .unwrap();
        let clans = read.tabs["Clans"].as_ref().unwrap();
        assert_eq!(clans.headers, vec!["tag", "name", "spots"]);
        assert_eq!(clans.rows, vec![vec!["ALP", "Alpha", "3"]]);
        let config = read.tabs["config"]
            .as_ref()
            .expect("tab names match case-insensitively");
        // An id typed as a number is marked, not passed on as a wrong but valid id.
        let id = &config.rows[1][1];
        assert!(id.contains("a number cell"), "{id}");
        assert_eq!(crate::util::ids::parse_snowflake(id), None);
        assert!(read.tabs["Missing"].is_none());
        // The spreadsheet itself is never rewritten: written tabs go to <file>.writes/.
        let before = std::fs::read(&file).unwrap();
        wb.append_rows("Reservations", vec![vec!["42".into(), "ALP".into()]])
            .await
            .unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), before);
        assert!(
            dir.path()
                .join("clanhall.xlsx.writes/Reservations.csv")
                .is_file()
        );
        let again = wb.read_tabs(&["Reservations".into()]).await.unwrap();
        assert_eq!(
            again.tabs["Reservations"].as_ref().unwrap().rows,
            vec![vec!["42", "ALP"]]
        );
    }

    #[tokio::test]
    async fn a_corrupt_spreadsheet_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("broken.xlsx");
        std::fs::write(&file, b"this is not a zip file").unwrap();
        let wb = LocalWorkbook::new(&file, Arc::new(crate::runtime::SystemClock));
        let err = wb.read_tabs(&["Config".into()]).await.unwrap_err();
        assert!(err.to_string().contains("broken.xlsx"), "{err}");
        assert_eq!(wb.status().last_error, Some(err.to_string()));
    }

    #[tokio::test]
    async fn writes_can_go_to_another_folder_and_are_read_back_from_it() {
        let source = tempfile::tempdir().unwrap();
        std::fs::write(source.path().join("Clans.csv"), "tag,reserved\nC1CA,\n").unwrap();
        let writes = tempfile::tempdir().unwrap();
        let wb = LocalWorkbook::with_writes(
            source.path(),
            Some(writes.path()),
            Arc::new(crate::runtime::SystemClock),
        );
        wb.write_range("Clans", 2, 2, vec![vec!["1".into()]])
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(source.path().join("Clans.csv")).unwrap(),
            "tag,reserved\nC1CA,\n",
            "the source folder is never written"
        );
        let read = wb.read_tabs(&["Clans".into()]).await.unwrap();
        let clans = read.tabs["Clans"].clone().unwrap();
        assert_eq!(clans.rows[0], ["C1CA", "1"]);
    }

    #[tokio::test]
    async fn writes_update_cells_and_append_rows_atomically() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Reservations.csv"),
            "thread_id,clan_tag,status\n1,ALP,active\n\n",
        )
        .unwrap();
        let wb = LocalWorkbook::new(dir.path(), Arc::new(crate::runtime::SystemClock));
        wb.append_rows(
            "Reservations",
            vec![vec!["2".into(), "BET".into(), "active".into()]],
        )
        .await
        .unwrap();
        wb.write_range("Reservations", 2, 3, vec![vec!["released".into()]])
            .await
            .unwrap();
        wb.append_rows("NewTab", vec![vec!["a".into()]])
            .await
            .unwrap();
        let read = wb
            .read_tabs(&["Reservations".into(), "NewTab".into()])
            .await
            .unwrap();
        let t = read.tabs["Reservations"].as_ref().unwrap();
        assert_eq!(
            t.rows,
            vec![vec!["1", "ALP", "released"], vec!["2", "BET", "active"]]
        );
        assert_eq!(read.tabs["NewTab"].as_ref().unwrap().headers, vec!["a"]);
        assert!(wb.status().last_error.is_none());
    }
}
