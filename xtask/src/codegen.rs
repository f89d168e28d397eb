//! `cargo xtask codegen [--check] [--lexicons DIR [--lock FILE] --out DIR]`: generate Rust
//! from lexicons.
//!
//! Without flags it regenerates `crates/atmo-api/src/generated/` from `lexicons/` and the
//! namespace features between the `# @generated begin`/`end` markers of
//! `crates/atmo-api/Cargo.toml`. With `--check` it writes nothing: it regenerates into a
//! temporary directory, compares, lists changed, new and stale files, and fails on any
//! drift. With `--lexicons DIR --out DIR` it generates a user's own lexicon directory
//! into `DIR` (references to other lexicons become `atmo_api::...` paths). With
//! `--lock FILE` (a `lexicons.lock` written by `atmo lex pull`) it generates exactly the
//! locked documents of the lexicon directory, each file checked against its pinned record
//! CID first (any other file there is ignored); codegen itself never uses the network, so
//! `atmo lex pull --locked` is what checks the lock against the network before it.
//!
//! Output is formatted with `rustfmt --edition 2024` and the workspace `rustfmt.toml`,
//! so `cargo fmt -p atmo-api` leaves it unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use atmo_lexicon::Catalog;
use atmo_lexicon::codegen::{Generated, Options, generate};

use crate::project_root;

const BEGIN: &str = "# @generated begin";
const END: &str = "# @generated end";

/// Parsed flags.
struct Args {
    check: bool,
    lexicons: Option<PathBuf>,
    lock: Option<PathBuf>,
    out: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        check: false,
        lexicons: None,
        lock: None,
        out: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--check" => a.check = true,
            "--lexicons" => {
                a.lexicons = Some(it.next().ok_or("--lexicons needs a directory")?.into());
            }
            "--out" => a.out = Some(it.next().ok_or("--out needs a directory")?.into()),
            "--lock" => a.lock = Some(it.next().ok_or("--lock needs a file")?.into()),
            other => return Err(format!("codegen: unknown argument {other:?}")),
        }
    }
    if a.lexicons.is_some() != a.out.is_some() {
        return Err("codegen: give --lexicons and --out together".into());
    }
    if a.lock.is_some() && a.lexicons.is_none() {
        return Err("codegen: --lock goes with --lexicons DIR --out DIR".into());
    }
    Ok(a)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let a = parse_args(args)?;
    match (a.lexicons, a.out) {
        (Some(lex), Some(out)) => run_user(&lex, a.lock.as_deref(), &out, a.check),
        _ => run_atmo_api(a.check),
    }
}

/// Generates `crates/atmo-api`; in check mode, fails on drift.
pub(crate) fn run_atmo_api(check: bool) -> Result<(), String> {
    let root = project_root();
    let mut cat = Catalog::new();
    cat.load_dir(&root.join("lexicons"))
        .map_err(|e| e.to_string())?;
    let generated = generate(&cat, &Options::atmo_api()).map_err(|e| e.to_string())?;
    let out_dir = root.join("crates/atmo-api/src/generated");
    let mut drift = sync_dir(&generated, &out_dir, check)?;

    let manifest = root.join("crates/atmo-api/Cargo.toml");
    let old = read(&manifest)?;
    let new = replace_block(&old, &generated.feature_lines())?;
    if new != old {
        drift.push(format!("changed: {}", manifest.display()));
        if !check {
            write(&manifest, &new)?;
        }
    }
    finish(check, &drift)
}

/// Generates a user's lexicon directory. The vendored lexicons are loaded too, so that
/// references to them resolve (to `atmo_api::...` paths); only the user's documents are
/// generated. With a lockfile, the user's documents are exactly the locked ones, each
/// checked against its CID.
fn run_user(lexicons: &Path, lock: Option<&Path>, out: &Path, check: bool) -> Result<(), String> {
    let mine = match lock {
        Some(lock) => {
            let locked = atmo_lexicon::Lockfile::read(lock).map_err(|e| e.to_string())?;
            let mine = locked.catalog(lexicons).map_err(|e| e.to_string())?;
            println!(
                "codegen: {} locked lexicon(s) from {}, as pinned by {}",
                mine.len(),
                lexicons.display(),
                lock.display()
            );
            mine
        }
        None => {
            let mut mine = Catalog::new();
            mine.load_dir(lexicons).map_err(|e| e.to_string())?;
            mine
        }
    };
    let mut cat = Catalog::new();
    cat.load_dir(&project_root().join("lexicons"))
        .map_err(|e| e.to_string())?;
    let mut nsids = Vec::new();
    for doc in mine.docs() {
        nsids.push(doc.id.as_str().to_owned());
        cat.insert(doc.clone());
    }
    let opts = Options::user().only(nsids);
    let generated = generate(&cat, &opts).map_err(|e| e.to_string())?;
    let drift = sync_dir(&generated, out, check)?;
    finish(check, &drift)
}

fn finish(check: bool, drift: &[String]) -> Result<(), String> {
    for d in drift {
        println!("{d}");
    }
    if check && !drift.is_empty() {
        return Err(format!(
            "{} generated file(s) are out of date: run `cargo xtask codegen`",
            drift.len()
        ));
    }
    if drift.is_empty() {
        println!("codegen: up to date");
    }
    Ok(())
}

/// Formats the generated files in a temporary directory, prints sizes, then compares
/// with (or, unless `check`, writes to) `out`. Returns the differences.
fn sync_dir(g: &Generated, out: &Path, check: bool) -> Result<Vec<String>, String> {
    let files = formatted(g)?;
    print_stats(g, &files);
    let existing = list_rs(out)?;
    let mut drift = Vec::new();
    for (rel, text) in &files {
        let path = out.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(old) if old == *text => continue,
            Ok(_) => drift.push(format!("changed: {}", path.display())),
            Err(_) => drift.push(format!("new: {}", path.display())),
        }
        if !check {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, &e))?;
            }
            write(&path, text)?;
        }
    }
    for rel in existing.difference(&files.keys().cloned().collect()) {
        let path = out.join(rel);
        drift.push(format!("stale: {}", path.display()));
        if !check {
            std::fs::remove_file(&path).map_err(|e| io(&path, &e))?;
        }
    }
    Ok(drift)
}

/// The generated files after rustfmt, by relative path.
fn formatted(g: &Generated) -> Result<BTreeMap<PathBuf, String>, String> {
    let tmp = std::env::temp_dir().join(format!("atmo-codegen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let files = g.files();
    for (rel, text) in &files {
        let path = tmp.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, &e))?;
        }
        write(&path, text)?;
    }
    let status = Command::new("rustfmt")
        .args(["--edition", "2024", "--config-path"])
        .arg(project_root().join("rustfmt.toml"))
        .arg(tmp.join("mod.rs"))
        .status()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if !status.success() {
        return Err(format!(
            "rustfmt failed on the generated code (left in {})",
            tmp.display()
        ));
    }
    let mut out = BTreeMap::new();
    for rel in files.keys() {
        out.insert(rel.clone(), read(&tmp.join(rel))?);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(out)
}

fn print_stats(g: &Generated, files: &BTreeMap<PathBuf, String>) {
    let mut bytes: BTreeMap<String, usize> = BTreeMap::new();
    for (rel, text) in files {
        if let Some(first) = rel.components().next() {
            let ns = first.as_os_str().to_string_lossy().into_owned();
            *bytes.entry(ns).or_default() += text.len();
        }
    }
    let (mut tm, mut ti, mut tb) = (0, 0, 0);
    println!(
        "{:<18} {:>8} {:>8} {:>10}",
        "namespace", "modules", "items", "bytes"
    );
    for (ns, st) in &g.stats {
        let b = bytes.get(ns).copied().unwrap_or(0);
        println!("{ns:<18} {:>8} {:>8} {b:>10}", st.modules, st.items);
        tm += st.modules;
        ti += st.items;
        tb += b;
    }
    println!("{:<18} {tm:>8} {ti:>8} {tb:>10}", "total");
}

/// Every `.rs` file under `dir`, relative to it (empty if `dir` does not exist).
fn list_rs(dir: &Path) -> Result<BTreeSet<PathBuf>, String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.map_err(|e| io(&d, &e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                if let Ok(rel) = p.strip_prefix(dir) {
                    out.insert(rel.to_path_buf());
                }
            }
        }
    }
    Ok(out)
}

/// Replaces the lines between the `# @generated` markers.
fn replace_block(text: &str, block: &str) -> Result<String, String> {
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!(
            "crates/atmo-api/Cargo.toml lacks `{BEGIN}`/`{END}`"
        ));
    };
    let head = text.get(..b + BEGIN.len()).unwrap_or(text);
    let tail = text.get(e..).unwrap_or("");
    Ok(format!("{head}\n{block}{tail}"))
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| io(p, &e))
}

fn write(p: &Path, text: &str) -> Result<(), String> {
    std::fs::write(p, text).map_err(|e| io(p, &e))
}

fn io(p: &Path, e: &std::io::Error) -> String {
    format!("{}: {e}", p.display())
}

#[cfg(test)]
mod tests {
    /// `cargo test` fails when the committed atmo-api differs from what the lexicons
    /// generate (as rust-analyzer's codegen test does).
    #[test]
    fn generated_code_is_up_to_date() {
        if let Err(e) = super::run_atmo_api(true) {
            panic!("{e}");
        }
    }

    /// `--lexicons DIR --lock FILE --out DIR` generates the locked documents, and refuses
    /// a document edited after it was locked.
    #[test]
    fn user_codegen_from_a_locked_set() {
        use atmo_lexicon::{LockEntry, Lockfile, lock};
        let tmp = std::env::temp_dir().join(format!("atmo-xtask-lock-{}", std::process::id()));
        let (lex, out) = (tmp.join("lexicons"), tmp.join("out"));
        let record = |description: &str| {
            serde_json::json!({"$type": "com.atproto.lexicon.schema", "lexicon": 1,
                "id": "com.example.locked.status", "description": description,
                "defs": {"main": {"type": "record", "key": "tid", "record": {"type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "maxLength": 32}}}}}})
        };
        let nsid = atmo_syntax::Nsid::new("com.example.locked.status").unwrap();
        lock::write_doc(&lex, &nsid, &record("v1")).unwrap();
        // Not locked, so not generated (and not even read).
        std::fs::write(lex.join("unlocked.json"), "{}").unwrap();
        let mut locked = Lockfile::new();
        let did = atmo_syntax::Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap();
        locked.insert(
            nsid.clone(),
            LockEntry::new(did, lock::record_cid(&record("v1")).unwrap()),
        );
        let lock_path = tmp.join("lexicons.lock");
        locked.write(&lock_path).unwrap();

        super::run_user(&lex, Some(&lock_path), &out, false).unwrap();
        let generated = out.join("com_example/locked/status.rs");
        let text = std::fs::read_to_string(&generated).unwrap();
        assert!(text.contains("pub struct Record"), "{text}");
        super::run_user(&lex, Some(&lock_path), &out, true).unwrap();

        lock::write_doc(&lex, &nsid, &record("v2")).unwrap();
        let e = super::run_user(&lex, Some(&lock_path), &out, true).unwrap_err();
        assert!(
            e.contains("com.example.locked.status:") && e.contains("but the lock pins CID"),
            "{e}"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn block_replacement() {
        let t = "a\n# @generated begin\nold = []\n# @generated end\nb\n";
        let r = super::replace_block(t, "x = [\"y\"]\n").unwrap();
        assert_eq!(
            r,
            "a\n# @generated begin\nx = [\"y\"]\n# @generated end\nb\n"
        );
        assert!(super::replace_block("nothing", "").is_err());
    }
}
