//! `atmo lex pull`: lexicons from the network into a directory, pinned in a lockfile
//! (`lexicons.lock`: NSID -> the DID, `at://` URI and CID of its schema record; the
//! format is described in `atmo_lexicon::lock`).
//!
//! A plain pull resolves each NSID (`_lexicon.<authority>` DNS TXT -> DID -> PDS ->
//! `com.atproto.sync.getRecord` of the `com.atproto.lexicon.schema` record, proven by the
//! repository's signed commit), follows the references of what it pulled to lexicons
//! that are not bundled (pulling those too, at most `lock::MAX_PULL` documents), writes
//! the documents and updates their lock entries (other entries are kept). `--locked` does the
//! same but fails, writing nothing, when the lock would change: an NSID not in it, or one
//! that resolves to another record (CID or DID). `--locked --offline` checks the
//! directory against the lock without the network.

use std::path::{Path, PathBuf};

use atmo_data::Cid;
use atmo_lexicon::Error as LexError;
use atmo_lexicon::lock::{self, LockEntry, Lockfile};
use atmo_syntax::Nsid;

use crate::error::CliError;
use crate::io::println;
use crate::lexnet::NetFetcher;

/// What `atmo lex pull` was asked to do.
pub(crate) struct Pull {
    /// The NSIDs named (empty: every locked NSID).
    pub(crate) nsids: Vec<String>,
    /// The lexicon directory.
    pub(crate) dir: PathBuf,
    /// The lockfile.
    pub(crate) lock: PathBuf,
    /// Fail when the lock would change.
    pub(crate) locked: bool,
    /// With `locked`: check the directory, no network.
    pub(crate) offline: bool,
}

/// One lexicon as it resolved now.
struct Pulled {
    nsid: Nsid,
    entry: LockEntry,
    record: serde_json::Value,
    /// For a lexicon pulled because another references it: that one.
    referenced_by: Option<Nsid>,
}

/// Runs `atmo lex pull`.
pub(crate) fn pull(p: &Pull, fetcher: NetFetcher) -> Result<(), CliError> {
    let mut named = Vec::with_capacity(p.nsids.len());
    for n in &p.nsids {
        named.push(
            Nsid::new(n).map_err(|e| CliError::usage(format!("{n:?} is not a valid NSID: {e}")))?,
        );
    }
    let lockfile = read_lock(&p.lock, p.locked)?;
    let targets: Vec<Nsid> = if named.is_empty() {
        lockfile
            .iter()
            .filter_map(|(n, _)| Nsid::new(n).ok())
            .collect()
    } else {
        named
    };
    if targets.is_empty() {
        return Err(CliError::usage(format!(
            "nothing to pull: name NSIDs, or have {} name some",
            p.lock.display()
        )));
    }
    if p.locked {
        if let Some(n) = targets.iter().find(|n| lockfile.get(n.as_str()).is_none()) {
            return Err(CliError::failed(format!(
                "{n} is not in {} (--locked does not add lexicons; pull without it)",
                p.lock.display()
            )));
        }
    }
    if p.offline {
        return check_offline(p, &lockfile, &targets);
    }

    // Resolve everything first: nothing is written unless every lexicon resolved (and,
    // with --locked, matched the lock).
    // References are followed: every lexicon the named ones need that is not in the
    // bundled official set is pulled too (at most lock::MAX_PULL documents).
    let pulled = resolve_all(&fetcher, &targets)?;
    if p.locked {
        if let Some(x) = pulled
            .iter()
            .find(|x| lockfile.get(x.nsid.as_str()).is_none())
        {
            let by = x
                .referenced_by
                .as_ref()
                .map(|b| format!(", referenced by {b},"))
                .unwrap_or_default();
            return Err(CliError::failed(format!(
                "{}{by} is not in {} (--locked does not add lexicons; pull without it)",
                x.nsid,
                p.lock.display()
            )));
        }
    }
    if p.locked {
        let mut differ = Vec::new();
        for x in &pulled {
            let Some(old) = lockfile.get(x.nsid.as_str()) else {
                continue;
            };
            let uri = x.entry.uri(x.nsid.as_str());
            if old.cid != x.entry.cid {
                differ.push(
                    LexError::Locked {
                        nsid: x.nsid.as_str().to_owned(),
                        origin: uri,
                        locked: old.cid.to_string(),
                        found: x.entry.cid.to_string(),
                    }
                    .to_string(),
                );
            } else if old.did != x.entry.did {
                differ.push(format!(
                    "{}: the lock pins the record of {}, but the NSID now resolves to {uri}",
                    x.nsid, old.did
                ));
            }
        }
        if !differ.is_empty() {
            return Err(CliError::failed(format!(
                "{} differ{} from {} (nothing written; run `atmo lex pull` without --locked \
                 to update the lock):\n  {}",
                differ.len(),
                if differ.len() == 1 { "s" } else { "" },
                p.lock.display(),
                differ.join("\n  ")
            )));
        }
    }

    let mut updated = lockfile.clone();
    for x in &pulled {
        let path = lock::write_doc(&p.dir, &x.nsid, &x.record).map_err(CliError::failed)?;
        let old = updated.insert(x.nsid.clone(), x.entry.clone());
        let what = match old {
            None => "added".to_owned(),
            Some(o) if o == x.entry => "unchanged".to_owned(),
            Some(o) if o.cid != x.entry.cid => format!("updated from {}", o.cid),
            Some(o) => format!("moved from {}", o.did),
        };
        let by = x
            .referenced_by
            .as_ref()
            .map(|b| format!(" (referenced by {b})"))
            .unwrap_or_default();
        println(&format!(
            "{}: {} (cid {}) -> {}, {what}{by}",
            x.nsid,
            x.entry.uri(x.nsid.as_str()),
            x.entry.cid,
            path.display()
        ))?;
    }
    if !p.locked && updated != lockfile {
        updated.write(&p.lock).map_err(CliError::failed)?;
        println(&format!(
            "{}: {} lexicon{}",
            p.lock.display(),
            updated.len(),
            if updated.len() == 1 { "" } else { "s" }
        ))?;
    }
    Ok(())
}

/// The lockfile at `path`: an empty one if there is none (an error with `required`).
fn read_lock(path: &Path, required: bool) -> Result<Lockfile, CliError> {
    if !path.exists() {
        if required {
            return Err(CliError::failed(format!(
                "{} does not exist (--locked needs a lockfile; pull without it first)",
                path.display()
            )));
        }
        return Ok(Lockfile::new());
    }
    Lockfile::read(path).map_err(CliError::failed)
}

/// Resolves the NSIDs from the network, and what they reference that is not bundled,
/// each record checked to be its lexicon (and, by the fetcher, proven by its repository's
/// signed commit).
fn resolve_all(fetcher: &NetFetcher, targets: &[Nsid]) -> Result<Vec<Pulled>, CliError> {
    let bundled = |n: &Nsid| atmo_lexicon::bundled::source(n.as_str()).is_some();
    let docs =
        lock::fetch_closure(fetcher, targets, bundled, lock::MAX_PULL).map_err(CliError::failed)?;
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let nsid = d.nsid;
        let cid = Cid::parse(&d.fetched.cid).map_err(|e| {
            CliError::failed(format!("{nsid}: the record's CID {:?}: {e}", d.fetched.cid))
        })?;
        out.push(Pulled {
            entry: LockEntry::new(d.fetched.did, cid),
            record: d.fetched.record,
            referenced_by: d.referenced_by,
            nsid,
        });
    }
    Ok(out)
}

/// `--locked --offline`: the locked documents of `targets` in the directory, each
/// checked against its CID.
fn check_offline(p: &Pull, lockfile: &Lockfile, targets: &[Nsid]) -> Result<(), CliError> {
    let mut some = Lockfile::new();
    for n in targets {
        if let Some(e) = lockfile.get(n.as_str()) {
            some.insert(n.clone(), e.clone());
        }
    }
    let cat = some.catalog(&p.dir).map_err(CliError::failed)?;
    for (nsid, e) in some.iter() {
        println(&format!(
            "{nsid}: cid {} matches {}",
            e.cid,
            p.lock.display()
        ))?;
    }
    println(&format!(
        "{}: {} lexicon{} as locked",
        p.dir.display(),
        cat.len(),
        if cat.len() == 1 { "" } else { "s" }
    ))
}
