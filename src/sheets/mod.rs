//! Workbook access: tabs read by header name from Google Sheets or a local folder.

pub mod local;
pub mod table;

use std::path::PathBuf;

pub use table::{Columns, MissingHeaders, Table};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SheetsError {
    #[error("local workbook {path}: {reason}")]
    Local { path: PathBuf, reason: String },
}
