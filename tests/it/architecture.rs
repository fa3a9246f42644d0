//! The shape of the crate: no cycle between top-level modules of `src/`. A module may use
//! the ones below it (`docs/architecture.md` lists the layers); one that reaches back up
//! makes the two one tangle, and the next feature copies it. Read from the source
//! (every `crate::module` path outside comments, tests included), so the check needs no
//! build tooling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named by `crate::…` paths in `source` (comments ignored).
fn crate_refs(source: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in source.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `use crate::{a, b::c};`: the first segment of each entry. Multi-line
                // groups are rare here; an entry split across lines is read from its line.
                let group = group.split('}').next().unwrap_or("");
                for entry in group.split(',') {
                    let name: String = entry
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        refs.insert(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    refs.insert(name);
                }
            }
            rest = after;
        }
    }
    refs
}

/// Top-level module → the top-level modules it uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path.clone());
        }
        let deps = graph.entry(name.clone()).or_default();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            deps.extend(crate_refs(&text).into_iter().filter(|d| *d != name));
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// A cycle through `start`, if there is one: the modules in order.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in &graph[at] {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::from([start.to_owned()]);
    walk(graph, start, start, &mut path, &mut seen).then(|| {
        path.push(start.to_owned());
        path
    })
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = module_graph();
    assert!(
        graph.len() > 10 && graph.contains_key("discord") && graph.contains_key("ops"),
        "the module scan found the crate: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(
        cycles.is_empty(),
        "module cycles (each module uses the next):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_checker_sees_paths_groups_and_cycles() {
    let refs = crate_refs(
        "use crate::discord::Ctx;\nuse crate::{cache, sheets::Table};\n// crate::ignored\nlet x = crate::util::duration::parse(s); // crate::also_ignored",
    );
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["cache", "discord", "sheets", "util"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        cycle_from(&graph, "a").map(|c| c.join(" → ")),
        Some("a → b → c → a".to_owned())
    );
    assert_eq!(cycle_from(&graph, "d"), None);
}
