//! The local workbook: a folder with one CSV file per tab (`Config.csv`, `Clans.csv`...).
//! It is the default source (no Google credentials needed) and what the sandbox's
//! Google endpoint serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SheetsError;
use super::table::Table;

/// Reads one CSV file into raw rows.
pub fn read_csv(path: &Path) -> Result<Vec<Vec<String>>, SheetsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| SheetsError::Local {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| SheetsError::Local {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// Every `*.csv` in `dir` as raw rows, keyed by tab name (the file stem).
pub fn read_folder(dir: &Path) -> Result<BTreeMap<String, Vec<Vec<String>>>, SheetsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SheetsError::Local {
        path: dir.to_path_buf(),
        reason: format!("cannot read the workbook folder: {e}"),
    })?;
    let mut tabs = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                tabs.insert(stem.to_owned(), read_csv(&path)?);
            }
        }
    }
    Ok(tabs)
}

/// A folder of CSV files, one per tab.
#[derive(Debug, Clone)]
pub struct CsvFolder {
    pub dir: PathBuf,
}

impl CsvFolder {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn tab_path(&self, tab: &str) -> Option<PathBuf> {
        let exact = self.dir.join(format!("{tab}.csv"));
        if exact.is_file() {
            return Some(exact);
        }
        // Case-insensitive fallback: file systems differ, tab names do not.
        std::fs::read_dir(&self.dir)
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

    /// Reads the named tabs; a tab without a file reads as `None`.
    pub fn read_tabs(&self, tabs: &[&str]) -> Result<BTreeMap<String, Option<Table>>, SheetsError> {
        if !self.dir.is_dir() {
            return Err(SheetsError::Local {
                path: self.dir.clone(),
                reason: "the workbook folder does not exist (set WORKBOOK_DIR)".into(),
            });
        }
        let mut out = BTreeMap::new();
        for tab in tabs {
            let table = match self.tab_path(tab) {
                Some(p) => Some(Table::from_rows(*tab, read_csv(&p)?)),
                None => None,
            };
            out.insert((*tab).to_owned(), table);
        }
        Ok(out)
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
            .unwrap();
        let config = tabs["Config"].as_ref().unwrap();
        assert_eq!(config.headers, vec!["Key", "Value"]);
        assert_eq!(config.rows[1], vec!["NOTE", "a, b"]);
        assert!(tabs["config"].is_some(), "case-insensitive file lookup");
        assert!(tabs["Missing"].is_none());
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let err = CsvFolder::new("/definitely/not/here")
            .read_tabs(&["Config"])
            .unwrap_err();
        assert!(err.to_string().contains("WORKBOOK_DIR"), "{err}");
    }
}
