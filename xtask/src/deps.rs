//! `cargo xtask deps`: enforce the layering of DESIGN.md on the real dependency graph.
//!
//! Two checks:
//! 1. every edge between workspace crates is in [`ALLOWED`] (normal, build and dev edges
//!    alike: a dev edge upward would still tie a lower crate's tests to a higher one);
//! 2. the pure crates ([`PURE`]) never pull a network runtime ([`NETWORK`]), even
//!    transitively, with their default features.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use cargo_metadata::MetadataCommand;

use crate::{cargo, project_root};

/// For each workspace crate, the workspace crates it may depend on. A crate missing from
/// this table is an error: adding a crate means deciding where it sits.
pub(crate) const ALLOWED: &[(&str, &[&str])] = &[
    ("atmo-syntax", &[]),
    ("atmo-data", &["atmo-syntax"]),
    ("atmo-crypto", &["atmo-syntax", "atmo-data"]),
    ("atmo-repo", &["atmo-syntax", "atmo-data", "atmo-crypto"]),
    ("atmo-http", &[]),
    (
        "atmo-identity",
        &["atmo-syntax", "atmo-data", "atmo-crypto", "atmo-http"],
    ),
    ("atmo-xrpc", &["atmo-syntax", "atmo-data", "atmo-http"]),
    ("atmo-lexicon", &["atmo-syntax", "atmo-data"]),
    (
        "atmo-firehose",
        &[
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-repo",
            "atmo-http",
            "atmo-identity",
        ],
    ),
    (
        "atmo-p2p",
        &[
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-repo",
            "atmo-http",
            "atmo-identity",
        ],
    ),
    (
        "atmo-oauth",
        &[
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-http",
            "atmo-identity",
            "atmo-xrpc",
        ],
    ),
    (
        "atmo-api",
        &["atmo-syntax", "atmo-data", "atmo-http", "atmo-xrpc"],
    ),
    (
        "atmo",
        &[
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-repo",
            "atmo-http",
            "atmo-identity",
            "atmo-xrpc",
            "atmo-lexicon",
            "atmo-firehose",
            "atmo-oauth",
            "atmo-api",
            "atmo-p2p",
        ],
    ),
    (
        "atmo-cli",
        &[
            "atmo",
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-repo",
            "atmo-http",
            "atmo-identity",
            "atmo-xrpc",
            "atmo-lexicon",
            "atmo-firehose",
            "atmo-oauth",
            "atmo-api",
            "atmo-p2p",
        ],
    ),
    (
        "atmo-tests",
        &[
            "atmo",
            "atmo-syntax",
            "atmo-data",
            "atmo-crypto",
            "atmo-repo",
            "atmo-http",
            "atmo-identity",
            "atmo-xrpc",
            "atmo-lexicon",
            "atmo-firehose",
            "atmo-oauth",
            "atmo-api",
            "atmo-p2p",
        ],
    ),
    // Example programs: the facade only, as a user's program would.
    ("atmo-examples", &["atmo"]),
    // The tutorial app: a user of the facade and of the layers it re-exports (its
    // generated lexicon code names atmo_api, atmo_data, atmo_syntax and atmo_xrpc).
    (
        "statusphere",
        &[
            "atmo",
            "atmo-syntax",
            "atmo-data",
            "atmo-xrpc",
            "atmo-api",
            "atmo-lexicon",
        ],
    ),
    // The xtask generates atmo-api from lexicons; it must never depend on its own output.
    ("xtask", &["atmo-syntax", "atmo-data", "atmo-lexicon"]),
];

/// Crates that must stay usable in a sync program, in WASM and in a fuzzer.
pub(crate) const PURE: &[&str] = &["atmo-syntax", "atmo-data", "atmo-crypto", "atmo-repo"];

/// Crates that must never appear below a [`PURE`] crate.
pub(crate) const NETWORK: &[&str] = &[
    "tokio",
    "hyper",
    "hyper-util",
    "h2",
    "reqwest",
    "rustls",
    "tokio-rustls",
    "hickory-resolver",
    "tokio-tungstenite",
    "tungstenite",
    "libp2p",
    "mio",
];

/// The HTTP stack: only `atmo-http` may depend on these (normal or build edges), so that
/// every connection goes through its one connect policy. Tests may use them directly.
pub(crate) const HTTP_STACK: &[&str] = &[
    "hyper",
    "hyper-util",
    "hyper-rustls",
    "rustls",
    "tokio-rustls",
    "webpki-roots",
    "reqwest",
];

/// One broken rule.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Violation(pub(crate) String);

/// Runs both checks and prints a summary.
pub(crate) fn run() -> Result<(), String> {
    let (members, mut violations) = check_edges()?;
    violations.extend(check_pure(&members)?);
    violations.extend(crate::cycles::check(&project_root()));
    if violations.is_empty() {
        println!(
            "deps: ok ({} workspace crates; layering, pure-crate, one-HTTP-stack and no-file-cycle rules hold)",
            members.len()
        );
        Ok(())
    } else {
        for v in &violations {
            eprintln!("deps: {}", v.0);
        }
        Err(format!("{} layering violation(s)", violations.len()))
    }
}

/// Checks every edge between workspace crates against [`ALLOWED`].
/// Returns the workspace member names and the violations found.
pub(crate) fn check_edges() -> Result<(BTreeSet<String>, Vec<Violation>), String> {
    let meta = MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(project_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .map_err(|e| format!("cargo metadata failed: {e}"))?;
    let members: BTreeSet<String> = meta
        .workspace_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let edges: Vec<Edge> = meta
        .workspace_packages()
        .iter()
        .flat_map(|pkg| {
            pkg.dependencies.iter().map(|dep| Edge {
                from: pkg.name.to_string(),
                to: dep.name.clone(),
                kind: format!("{:?}", dep.kind).to_lowercase(),
            })
        })
        .collect();
    let violations = layering_violations(&members, &edges);
    Ok((members, violations))
}

/// One declared dependency of a workspace crate.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// The depending workspace crate.
    pub(crate) from: String,
    /// The crate it depends on.
    pub(crate) to: String,
    /// `normal`, `development` or `build`.
    pub(crate) kind: String,
}

/// The pure rule: edges between workspace crates must be in [`ALLOWED`], every
/// workspace crate must be in the table, and only `atmo-http` uses the [`HTTP_STACK`].
pub(crate) fn layering_violations(members: &BTreeSet<String>, edges: &[Edge]) -> Vec<Violation> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = Vec::new();
    for m in members {
        if !allowed.contains_key(m.as_str()) {
            violations.push(Violation(format!(
                "{m} is not in the layering table (xtask/src/deps.rs ALLOWED): decide where it sits"
            )));
        }
    }
    for e in edges {
        let Some(ok) = allowed.get(e.from.as_str()) else {
            continue;
        };
        if HTTP_STACK.contains(&e.to.as_str()) && e.from != "atmo-http" && e.kind != "development" {
            violations.push(Violation(format!(
                "{} -> {} ({} dependency): only atmo-http talks HTTP (one stack, one connect policy)",
                e.from, e.to, e.kind
            )));
        }
        if members.contains(&e.to) && !ok.contains(&e.to.as_str()) {
            violations.push(Violation(format!(
                "{} -> {} ({} dependency) is not allowed by the layering",
                e.from, e.to, e.kind
            )));
        }
    }
    violations
}

/// Checks that no [`PURE`] crate reaches a [`NETWORK`] crate through normal or build edges.
pub(crate) fn check_pure(members: &BTreeSet<String>) -> Result<Vec<Violation>, String> {
    let mut violations = Vec::new();
    for krate in PURE.iter().filter(|k| members.contains(**k)) {
        let out = Command::new(cargo())
            .current_dir(project_root())
            .args([
                "tree",
                "--quiet",
                "--edges",
                "normal,build",
                "--prefix",
                "none",
            ])
            .args(["--format", "{p}", "--package", krate])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        let found: BTreeSet<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| NETWORK.contains(name))
            .collect();
        for name in found {
            violations.push(Violation(format!(
                "{krate} (a pure crate) depends on {name}: network code stays out of syntax/data/crypto/repo"
            )));
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real workspace obeys the layering (so `cargo test` catches a bad edge too).
    #[test]
    fn workspace_layering_holds() {
        let (members, edges) = check_edges().unwrap();
        assert!(
            members.contains("atmo-syntax"),
            "metadata lists the workspace"
        );
        assert_eq!(edges, vec![], "forbidden edges");
        assert_eq!(
            check_pure(&members).unwrap(),
            vec![],
            "network crates in pure crates"
        );
    }

    /// The table is closed: every allowed target is itself a known crate, and it has no
    /// cycles (each crate only names crates listed before it, tools aside).
    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            kind: "normal".into(),
        }
    }

    /// Upward and sideways edges are caught; allowed and third-party edges are not.
    #[test]
    fn forbidden_edges_are_reported() {
        let members: BTreeSet<String> = [
            "atmo-syntax",
            "atmo-data",
            "atmo-repo",
            "atmo-xrpc",
            "atmo-mystery",
        ]
        .map(String::from)
        .into();
        let edges = [
            edge("atmo-data", "atmo-syntax"), // down: fine
            edge("atmo-syntax", "atmo-data"), // up: forbidden
            edge("atmo-repo", "atmo-xrpc"),   // sideways: forbidden
            edge("atmo-data", "serde"),       // third party: not this check's business
        ];
        let v = layering_violations(&members, &edges);
        let text: Vec<&str> = v.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(v.len(), 3, "{text:#?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("atmo-mystery is not in the layering table"))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("atmo-syntax -> atmo-data"))
        );
        assert!(text.iter().any(|t| t.starts_with("atmo-repo -> atmo-xrpc")));
    }

    #[test]
    fn table_is_a_dag() {
        let names: Vec<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
        for (i, (name, deps)) in ALLOWED.iter().enumerate() {
            for d in *deps {
                let pos = names.iter().position(|n| n == d);
                assert!(pos.is_some(), "{name} allows unknown crate {d}");
                if !matches!(*name, "atmo-cli" | "atmo-tests" | "xtask") {
                    assert!(pos < Some(i), "{name} -> {d} points up the table");
                }
            }
        }
    }
}
