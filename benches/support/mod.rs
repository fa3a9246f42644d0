//! Helpers shared by the bench binaries (each includes this with `mod support;`).

#![allow(dead_code)]

use std::time::Duration;

/// `--name value` from the command line, or `default` when absent or unparsable.
pub(crate) fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile of sorted durations, in milliseconds.
pub(crate) fn pct_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

/// The sample header row and `n` realistic rows (every 10th clan full, some blanks).
pub(crate) fn clans_tab(n: usize) -> Vec<Vec<String>> {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sample/Clans.csv");
    let rows = clanhall::testing::read_csv(std::path::Path::new(sample)).expect("sample");
    let header = rows[0].clone();
    let mut out = vec![header.clone()];
    let styles = ["Competitive", "Semi-competitive", "Casual", "Social"];
    let bosses = ["UNM", "NM", "Brutal", "Hard"];
    for i in 0..n {
        let mut row = Vec::with_capacity(header.len());
        for h in &header {
            row.push(match h.as_str() {
                "tag" => format!("C{i:05X}"),
                "name" => format!("Clan number {i} of the cluster"),
                "level" => (20 + i % 80).to_string(),
                "rank" => (1 + i % 500).to_string(),
                "spots" => {
                    if i % 10 == 0 {
                        "0".into()
                    } else {
                        (i % 5).to_string()
                    }
                }
                "inactives" => (i % 4).to_string(),
                "lead" => format!("Lead{i}"),
                "deputies" => format!("Dep{i}a, Dep{i}b"),
                "playstyle" => styles[i % styles.len()].into(),
                "cb" | "hydra" | "chimera" => bosses[i % bosses.len()].into(),
                "cvc" | "siege" => (i % 2).to_string(),
                "requirements" => format!("{} 2 keys, Hydra NM {}M+", bosses[i % 4], 100 + i % 300),
                "bracket" => format!("Bracket {}", 1 + i % 4),
                "notes" => {
                    if i % 3 == 0 {
                        "Discord required".into()
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            });
        }
        out.push(row);
    }
    out
}

#[cfg(feature = "sandbox")]
pub(crate) mod bot;
