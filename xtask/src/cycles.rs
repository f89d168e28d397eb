//! `cargo xtask deps`, third rule: no import cycles between the files of a crate.
//!
//! Each `.rs` file under `crates/*/src` is a node named by its module path (`net::http`);
//! a `crate::a::b` or `super::x` path in its code (comments, and `#[cfg(test)] mod tests`
//! blocks at the end of a file, left out) is an edge to the deepest file that path names.
//! A cycle in that graph is a violation: two files that need each other are one concern
//! split badly, or two concerns tangled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::deps::Violation;

/// The module path of a file relative to `src` (`lib.rs`/`main.rs` are the root, `""`).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_owned();
    }
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            // A `bin/` folder holds separate crates (binaries), not modules.
            if p.file_name().is_some_and(|n| n != "bin") {
                rs_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths (`a::b::c`) that follow `prefix::` in `code`.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let segs: Vec<&str> = rest[..end].split("::").filter(|s| !s.is_empty()).collect();
        out.push(segs);
    }
    out
}

/// The import graph of one crate's `src`: module -> modules it refers to.
pub(crate) fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let modules: BTreeMap<String, String> = files
        .iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(src).ok()?;
            Some((module_of(rel), std::fs::read_to_string(f).ok()?))
        })
        .collect();
    let known: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    // The deepest known module that `segs` (from the crate root) names.
    let resolve = |segs: &[&str]| -> Option<String> {
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].join("::"))
            .find(|m| known.contains(m.as_str()))
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &modules {
        let code = code_of(text);
        let mut targets = BTreeSet::new();
        for segs in paths_after(&code, "crate::") {
            if let Some(t) = resolve(&segs) {
                targets.insert(t);
            }
        }
        // `super::x` from `a::b` (a file) is `a::x`; from `a` (a mod.rs) it is `x`'s
        // sibling of `a`. Files named mod.rs are their folder's module, so `super` is one
        // level up from the module path either way.
        let parent: Vec<&str> = m.split("::").filter(|s| !s.is_empty()).collect();
        for segs in paths_after(&code, "super::") {
            let mut full: Vec<&str> = parent[..parent.len().saturating_sub(1)].to_vec();
            full.extend(segs);
            if let Some(t) = resolve(&full) {
                targets.insert(t);
            }
        }
        targets.remove(m);
        // A module reaching its own parent (`lib.rs`, a `mod.rs`) for a re-export is not
        // a tangle of files: the root re-exports everything.
        targets.retain(|t| !m.starts_with(&format!("{t}::")) && !t.is_empty());
        g.insert(m.clone(), targets);
    }
    g
}

/// One cycle per strongly connected group of files, as `a -> b -> a`.
pub(crate) fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in g.keys() {
        if reported.contains(start) {
            continue;
        }
        // Shortest path back to `start` (breadth first).
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.as_str()]);
        let mut hit = None;
        while let Some(n) = queue.pop_front() {
            for t in g.get(n).into_iter().flatten() {
                if t == start {
                    hit = Some(n);
                    break;
                }
                if !prev.contains_key(t.as_str()) {
                    prev.insert(t, n);
                    queue.push_back(t);
                }
            }
            if hit.is_some() {
                break;
            }
        }
        if let Some(mut n) = hit {
            let mut path = vec![start.clone()];
            let mut back = vec![n.to_owned()];
            while let Some(p) = prev.get(n).filter(|p| **p != start.as_str()) {
                back.push((*p).to_owned());
                n = p;
            }
            back.reverse();
            path.extend(back);
            path.push(start.clone());
            reported.extend(path.iter().cloned());
            found.push(path);
        }
    }
    found
}

/// The rule over every crate under `crates/`.
pub(crate) fn check(root: &Path) -> Vec<Violation> {
    let mut violations = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("crates")) else {
        return violations;
    };
    let mut crates: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    crates.sort();
    for krate in crates {
        let src = krate.join("src");
        let name = krate
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for c in cycles(&graph(&src)) {
            violations.push(Violation(format!(
                "{name}: import cycle between files: {}",
                c.join(" -> ")
            )));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_two_file_cycle_and_ignores_tests_and_comments() {
        let dir = std::env::temp_dir().join(format!("atmo-cycles-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("net")).unwrap();
        std::fs::write(
            src.join("lib.rs"),
            "mod a; mod b; mod net;\npub use a::A;\n",
        )
        .unwrap();
        std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
        std::fs::write(
            src.join("b.rs"),
            "// crate::c::x in a comment\nuse crate::a::A;\npub struct B;\n#[cfg(test)]\nmod tests { use crate::net::x; }\n",
        )
        .unwrap();
        std::fs::write(src.join("net/mod.rs"), "mod x; mod y;\n").unwrap();
        std::fs::write(src.join("net/x.rs"), "use super::y::Y;\n").unwrap();
        std::fs::write(src.join("net/y.rs"), "pub struct Y;\n").unwrap();
        let g = graph(&src);
        assert_eq!(g["a"], BTreeSet::from(["b".to_owned()]));
        assert_eq!(g["b"], BTreeSet::from(["a".to_owned()]));
        assert_eq!(g["net::x"], BTreeSet::from(["net::y".to_owned()]));
        let c = cycles(&g);
        assert_eq!(
            c,
            vec![vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The real workspace has no cycles (so `cargo test` catches a new one too).
    #[test]
    fn workspace_has_no_file_cycles() {
        let v = check(&crate::project_root());
        assert!(v.is_empty(), "{v:?}");
    }
}
