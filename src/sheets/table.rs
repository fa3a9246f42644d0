//! A tab read from a workbook, addressed by header name, never by position: the
//! predecessor's positional columns silently corrupted data when staff inserted one.

use std::collections::HashMap;

use crate::util::text::noun_for;

/// One tab: the first row holds the headers, the rest are data rows (padded to the
/// header width so a missing trailing cell reads as empty).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The 1-based sheet row of each data row (the header is row 1). Blank rows are
    /// dropped from `rows`, so a row's index is not its place in the sheet: writes that
    /// locate a row use this.
    #[serde(default)]
    pub lines: Vec<usize>,
}

/// Normalises a header for matching: trimmed, lower case, inner whitespace and dashes
/// as underscores (`Open Spots` = `open_spots`).
pub(crate) fn normalize_header(h: &str) -> String {
    h.trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Spreadsheet column letters for a 0-based index: 0 → `A`, 26 → `AA`.
pub(crate) fn column_letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push((b'A' + (i % 26) as u8) as char);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.iter().rev().collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tab {tab:?} is missing the {} {}: found {}", noun_for(missing.len(), "header"), missing.join(", "), if found.is_empty() { "no headers".to_owned() } else { found.join(", ") })]
pub struct MissingHeaders {
    pub tab: String,
    pub missing: Vec<String>,
    pub found: Vec<String>,
}

/// Column positions of the headers a reader needs, resolved once per read.
#[derive(Debug, Clone)]
pub struct Columns {
    index: HashMap<String, usize>,
}

impl Columns {
    /// The column of a header (normalised); `None` for optional headers not present.
    pub fn get(&self, header: &str) -> Option<usize> {
        self.index.get(&normalize_header(header)).copied()
    }
}

impl Table {
    /// Builds a table from raw rows (the first is the header row). Rows that are
    /// entirely blank are dropped; every row is padded to the header width.
    pub fn from_rows(name: impl Into<String>, mut raw: Vec<Vec<String>>) -> Table {
        let name = name.into();
        if raw.is_empty() {
            return Table {
                name,
                headers: Vec::new(),
                rows: Vec::new(),
                lines: Vec::new(),
            };
        }
        let mut headers: Vec<String> = raw
            .remove(0)
            .into_iter()
            .map(|h| h.trim().to_owned())
            .collect();
        while headers.last().is_some_and(|h| h.is_empty()) {
            headers.pop();
        }
        let width = headers.len();
        let (lines, rows) = raw
            .into_iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, mut r)| {
                r.resize(width.max(r.len()), String::new());
                (i + 2, r)
            })
            .unzip();
        Table {
            name,
            headers,
            rows,
            lines,
        }
    }

    /// Resolves `required` headers (all must be present) and `optional` ones.
    pub fn columns(&self, required: &[&str], optional: &[&str]) -> Result<Columns, MissingHeaders> {
        let mut index = HashMap::new();
        for (i, h) in self.headers.iter().enumerate() {
            let key = normalize_header(h);
            if !key.is_empty() {
                // The first occurrence wins; a duplicated header is a staff mistake we
                // must not resolve by guessing the last one.
                index.entry(key).or_insert(i);
            }
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|h| !index.contains_key(&normalize_header(h)))
            .map(|h| (*h).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(MissingHeaders {
                tab: self.name.clone(),
                missing,
                found: self
                    .headers
                    .iter()
                    .filter(|h| !h.is_empty())
                    .cloned()
                    .collect(),
            });
        }
        let _ = optional;
        Ok(Columns { index })
    }

    /// The sheet row (1-based) of data row `i`.
    pub fn line(&self, i: usize) -> usize {
        self.lines.get(i).copied().unwrap_or(i + 2)
    }

    /// The cell at `row`/`col`, trimmed; empty when out of range.
    pub fn cell<'a>(&'a self, row: &'a [String], col: Option<usize>) -> &'a str {
        col.and_then(|c| row.get(c)).map(|s| s.trim()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "Clans",
            rows.iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        )
    }

    #[test]
    fn headers_match_by_name_whatever_the_case_spacing_or_position() {
        let table = t(&[&["Name", " Open Spots ", "TAG"], &["Alpha", "3", "ALP"]]);
        let cols = table.columns(&["tag", "open_spots"], &["notes"]).unwrap();
        let row = &table.rows[0];
        assert_eq!(table.cell(row, cols.get("tag")), "ALP");
        assert_eq!(table.cell(row, cols.get("open-spots")), "3");
        assert_eq!(table.cell(row, cols.get("notes")), "");
    }

    #[test]
    fn a_missing_header_is_named_with_what_was_found() {
        let table = t(&[&["tag", "clan name"], &["A", "B"]]);
        let err = table.columns(&["tag", "name", "level"], &[]).unwrap_err();
        assert_eq!(err.missing, vec!["name", "level"]);
        assert_eq!(
            err.to_string(),
            "tab \"Clans\" is missing the headers name, level: found tag, clan name"
        );
    }

    #[test]
    fn blank_rows_are_dropped_and_short_rows_padded() {
        let table = t(&[&["a", "b", "c"], &["1"], &["", " "], &["x", "y", "z"]]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0], vec!["1", "", ""]);
    }

    #[test]
    fn duplicate_headers_resolve_to_the_first() {
        let table = t(&[&["tag", "tag"], &["first", "second"]]);
        let cols = table.columns(&["tag"], &[]).unwrap();
        assert_eq!(table.cell(&table.rows[0], cols.get("tag")), "first");
    }
}
