//! A1 ranges as Sheets reads and writes them: parsing (`Tab`, `Tab!A1:C9`, `'My Tab'!B2:B`),
//! reading with trailing empty cells trimmed, writing that grows the tab.

use serde_json::Value;

use super::Tabs;

/// Column letters for a 0-based index: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub(crate) fn column_letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
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
            column_letters(self.col0),
            self.row0 + 1,
            column_letters(c1),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(27), "AB");
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
}
