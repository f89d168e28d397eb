//! `atmo repo unpack FILE.car [-o DIR]`: every record of a repository CAR as a JSON file
//! `DIR/<collection>/<rkey>.json` (atproto JSON), plus the commit as `DIR/_commit.json`.
//!
//! The CAR is untrusted: each collection must be an NSID and each record key a valid
//! record key (so no path is absolute, empty, `.`, `..` or holds a separator), and files
//! are created new (never through an existing file or symlink) unless `--force`, which
//! still refuses symlinks.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use atmo_data::{Map, Value, json};
use atmo_repo::Repo;
use atmo_syntax::{Nsid, RecordKey};

use crate::error::CliError;
use crate::io::{println, read_input};

/// Runs `atmo repo unpack`.
pub(crate) fn unpack(file: &Path, output: Option<PathBuf>, force: bool) -> Result<(), CliError> {
    let bytes = read_input(Some(file))?;
    let repo =
        Repo::from_car(&bytes).map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
    let commit = repo.commit();
    let dir = output.unwrap_or_else(|| PathBuf::from(commit.did.as_str()));
    ensure_dir(&dir)?;

    let mut m = Map::with_capacity(6);
    m.insert("did", Value::from(commit.did.as_str()));
    m.insert("version", Value::Integer(commit.version));
    m.insert("data", Value::link(commit.data));
    m.insert(
        "rev",
        commit
            .rev
            .as_ref()
            .map_or(Value::Null, |r| Value::from(r.as_str())),
    );
    m.insert("prev", commit.prev.map_or(Value::Null, Value::link));
    m.insert("sig", Value::Bytes(commit.sig.clone()));
    write_new(
        &dir.join("_commit.json"),
        &json::to_string_pretty(&Value::Map(m)),
        force,
    )?;

    let mut count = 0usize;
    let mut collections = std::collections::BTreeSet::new();
    for r in repo.records() {
        let r = r.map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
        let (collection, rkey) = (r.collection(), r.rkey());
        Nsid::new(collection).map_err(|e| {
            CliError::failed(format!(
                "{}: record {:?}: the collection is not an NSID ({e}); refusing to write it",
                file.display(),
                r.path()
            ))
        })?;
        RecordKey::new(rkey).map_err(|e| {
            CliError::failed(format!(
                "{}: record {:?}: invalid record key ({e}); refusing to write it",
                file.display(),
                r.path()
            ))
        })?;
        let value = r
            .to_value()
            .map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
        let cdir = dir.join(collection);
        if collections.insert(collection.to_owned()) {
            ensure_dir(&cdir)?;
        }
        write_new(
            &cdir.join(format!("{rkey}.json")),
            &json::to_string_pretty(&value),
            force,
        )?;
        count += 1;
    }
    println(&format!(
        "unpacked {count} record{} of {} into {}",
        if count == 1 { "" } else { "s" },
        commit.did,
        dir.display()
    ))
}

/// Creates `dir` (and its parents) unless it is already a directory; a symlink in its
/// place is refused.
fn ensure_dir(dir: &Path) -> Result<(), CliError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(CliError::failed(format!(
            "{} is a symlink; refusing to write through it",
            dir.display()
        ))),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(CliError::failed(format!(
            "{} exists and is not a directory",
            dir.display()
        ))),
        Err(_) => std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failed(format!("cannot create {}: {e}", dir.display()))),
    }
}

/// Writes `text` and a newline to `path`, which must not exist (with `force`, an existing
/// regular file is replaced; a symlink never is).
fn write_new(path: &Path, text: &str, force: bool) -> Result<(), CliError> {
    if force && let Ok(m) = std::fs::symlink_metadata(path) {
        if m.file_type().is_symlink() || !m.is_file() {
            return Err(CliError::failed(format!(
                "{} exists and is not a regular file; refusing to replace it",
                path.display()
            )));
        }
        std::fs::remove_file(path)
            .map_err(|e| CliError::failed(format!("cannot replace {}: {e}", path.display())))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                CliError::failed(format!(
                    "{} already exists (use --force to replace files)",
                    path.display()
                ))
            } else {
                CliError::failed(format!("cannot create {}: {e}", path.display()))
            }
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}
