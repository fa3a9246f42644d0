//! The Config tab as last read successfully, kept under `DATA_DIR`.
//!
//! Without it, a restart during a Sheets outage would start with no staff roles (only
//! Discord administrators could run `ops`) and no log channel (nobody would hear about
//! the outage). With it, the bot starts on the last good roles and channels and says so.
//! Feature toggles are never restored from here: an unreadable workbook turns every
//! toggle off, as DESIGN.md §4 requires.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, FileError};
use crate::sheets::table::Table;

/// The file name under `DATA_DIR`.
pub(crate) const FILE: &str = "config_last_good.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub saved_at: DateTime<Utc>,
    /// Where the tab was read from, e.g. `google:1AbC…` or `local:config/sample`.
    pub source: String,
    pub table: Table,
}

/// Where the last good Config tab lives; `None` (for `clanhall check`) keeps nothing.
#[derive(Debug, Clone)]
pub(crate) struct LastGood {
    path: PathBuf,
}

impl LastGood {
    pub(crate) fn in_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(FILE),
        }
    }

    /// Keeps `table` as the last good Config tab. A failure is logged, never fatal: the
    /// config just read is in use either way.
    pub(crate) fn save(&self, table: &Table, source: &str, now: DateTime<Utc>) {
        let saved = Saved {
            saved_at: now,
            source: source.to_owned(),
            table: table.clone(),
        };
        if let Err(e) = atomic_file::write_json(&self.path, &saved) {
            tracing::warn!(error = %e, "could not keep the last good Config tab");
        }
    }

    /// The last good Config tab, if one was kept. A corrupt file is moved aside (and
    /// reported) rather than trusted.
    pub(crate) fn read(&self) -> Option<Saved> {
        match atomic_file::read_json::<Saved>(&self.path) {
            Ok(saved) => saved,
            Err(e @ FileError::Corrupt { .. }) => {
                tracing::warn!(error = %e, "the last good Config tab is unreadable; starting without it");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the last good Config tab");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_tables_round_trip_and_a_corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let lg = LastGood::in_dir(dir.path());
        assert!(lg.read().is_none(), "nothing kept yet");
        let table = Table::from_rows(
            "Config",
            vec![
                vec!["Key".into(), "Value".into()],
                vec!["LOG_CHANNEL_ID".into(), "1200000000000000302".into()],
            ],
        );
        let at = Utc::now();
        lg.save(&table, "local:x", at);
        let back = lg.read().unwrap();
        assert_eq!(back.table, table);
        assert_eq!(back.source, "local:x");
        assert_eq!(back.saved_at, at);

        std::fs::write(dir.path().join(FILE), b"{ half a fi").unwrap();
        assert!(lg.read().is_none());
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
        assert!(kept, "the corrupt bytes are kept for an operator");
    }
}
