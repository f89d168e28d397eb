//! `atmo repo`: read, verify, build and compare repositories (CAR files).

use std::collections::BTreeMap;
use std::path::PathBuf;

use atmo_crypto::{Curve, Keypair, PublicKey};
use atmo_data::{Map, Value, json};
use atmo_repo::mst::{self, Change};
use atmo_repo::{Repo, VerifyOptions, build_repo};
use atmo_syntax::{Did, Tid};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::{println, read_input};

/// Arguments of `atmo repo`.
#[derive(Debug, clap::Args)]
pub(crate) struct RepoArgs {
    #[command(subcommand)]
    command: RepoCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RepoCommand {
    /// List the records of a repository CAR, one per line (`path<TAB>cid`).
    ///
    /// Every block's hash and the tree's canonical form are checked on the way.
    #[command(
        after_help = "Examples:\n  atmo repo ls repo.car\n  atmo repo ls repo.car --collection app.bsky.feed.post --json"
    )]
    Ls {
        /// The repository CAR file (`-` for standard input).
        file: PathBuf,
        /// Only records of this collection (an NSID).
        #[arg(long, value_name = "NSID")]
        collection: Option<String>,
        /// JSON lines `{"path","cid","value"}`, the value as atproto JSON.
        #[arg(long)]
        json: bool,
    },
    /// Summarise a repository: DID, rev, commit and root CIDs, counts per collection.
    #[command(after_help = "Example:\n  atmo repo inspect repo.car --json")]
    Inspect {
        /// The repository CAR file (`-` for standard input).
        file: PathBuf,
        /// One JSON object {"did","rev","commit","data","version","records","blocks","collections"}.
        #[arg(long)]
        json: bool,
    },
    /// Check a repository: every block hash, the commit, the tree's canonical form, every
    /// record present and strict DAG-CBOR, and with --key the commit signature.
    ///
    /// Exit 0 only if every check passes; exit 1 with the reason otherwise.
    #[command(after_help = "Example:\n  atmo repo verify repo.car --key did:key:zQ3sh...")]
    Verify {
        /// The repository CAR file (`-` for standard input).
        file: PathBuf,
        /// The account's signing key as a did:key; the commit signature must verify.
        #[arg(long, value_name = "DID_KEY")]
        key: Option<String>,
    },
    /// Build a signed repository CAR from JSON lines `{"path": "collection/rkey", "value": {...}}`.
    #[command(
        after_help = "Example:\n  atmo repo build --records records.jsonl --did did:plc:... \\\n    --private-key-hex 9085d2... --curve k256 -o repo.car"
    )]
    Build {
        /// The records, one JSON object per line (`-` for standard input).
        #[arg(long, value_name = "FILE.jsonl")]
        records: PathBuf,
        /// The account DID.
        #[arg(long)]
        did: String,
        /// The signing key: 64 hex digits.
        #[arg(long, value_name = "HEX")]
        private_key_hex: String,
        /// The signing key's curve: k256 or p256.
        #[arg(long)]
        curve: String,
        /// The commit rev (a TID); the current time by default.
        #[arg(long, value_name = "TID")]
        rev: Option<String>,
        /// Where to write the CAR file.
        #[arg(short = 'o', long = "output", value_name = "OUT.car")]
        output: PathBuf,
    },
    /// Records created, updated and deleted from A to B (`+ path cid`, `~ path old new`,
    /// `- path cid`).
    #[command(after_help = "Example:\n  atmo repo diff old.car new.car --json")]
    Diff {
        /// The old repository CAR.
        a: PathBuf,
        /// The new repository CAR.
        b: PathBuf,
        /// JSON lines {"op":"create"|"update"|"delete","path","cid"|"old","new"}.
        #[arg(long)]
        json: bool,
    },
    /// Download a whole repository from its PDS as a CAR file.
    ///
    /// The PDS is found by resolving the handle or DID (or taken from --pds). On a
    /// terminal a progress line shows the bytes received.
    #[command(
        after_help = "Examples:\n  atmo repo export alice.bsky.social -o alice.car\n  atmo repo export did:plc:ewvi7nxzyoun6zhxrhs64oiz -o repo.car && atmo repo verify repo.car"
    )]
    Export {
        /// The account: a handle or a DID.
        identifier: String,
        /// Where to write the CAR file.
        #[arg(short = 'o', long = "output", value_name = "FILE.car")]
        output: PathBuf,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::failed(e)
}

fn s(v: impl Into<String>) -> Value {
    Value::from(v.into())
}

/// Runs `atmo repo`.
pub(crate) fn run(args: RepoArgs) -> Result<(), CliError> {
    match args.command {
        RepoCommand::Export {
            identifier,
            output,
            net,
        } => super::export::export(&identifier, &output, &net),
        RepoCommand::Ls {
            file,
            collection,
            json: as_json,
        } => {
            let bytes = read_input(Some(&file))?;
            let repo = Repo::from_car(&bytes).map_err(fail)?;
            if let Some(c) = &collection {
                atmo_syntax::Nsid::new(c)
                    .map_err(|e| CliError::usage(format!("--collection {c:?}: {e}")))?;
            }
            let records = match &collection {
                Some(c) => repo.collection(c),
                None => repo.records(),
            };
            let mut out = String::new();
            for r in records {
                let r = r.map_err(fail)?;
                if as_json {
                    let mut m = Map::with_capacity(3);
                    m.insert("path", s(r.path()));
                    m.insert("cid", s(r.cid().to_string()));
                    m.insert("value", r.to_value().map_err(fail)?);
                    out.push_str(&json::to_string(&Value::Map(m)));
                } else {
                    out.push_str(r.path());
                    out.push('\t');
                    out.push_str(&r.cid().to_string());
                }
                out.push('\n');
                if out.len() > 1 << 16 {
                    crate::io::write_stdout(out.as_bytes())?;
                    out.clear();
                }
            }
            crate::io::write_stdout(out.as_bytes())
        }
        RepoCommand::Inspect {
            file,
            json: as_json,
        } => {
            let bytes = read_input(Some(&file))?;
            let repo = Repo::from_car(&bytes).map_err(fail)?;
            let mut collections: BTreeMap<String, i64> = BTreeMap::new();
            let mut records = 0i64;
            for r in repo.mst().walk() {
                let (key, _) = r.map_err(fail)?;
                let c = key.split_once('/').map_or(key.as_str(), |(c, _)| c);
                *collections.entry(c.to_owned()).or_default() += 1;
                records += 1;
            }
            let c = repo.commit();
            let rev = c.rev.map(|r| r.as_str().to_owned());
            if as_json {
                let mut m = Map::with_capacity(8);
                m.insert("did", s(c.did.as_str()));
                m.insert("rev", rev.map_or(Value::Null, s));
                m.insert("commit", s(repo.commit_cid().to_string()));
                m.insert("data", s(c.data.to_string()));
                m.insert("version", Value::Integer(c.version));
                m.insert("records", Value::Integer(records));
                m.insert("blocks", Value::Integer(repo.store().len() as i64));
                let mut cm = Map::with_capacity(collections.len());
                for (k, n) in collections {
                    cm.insert(k, Value::Integer(n));
                }
                m.insert("collections", Value::Map(cm));
                println(&json::to_string(&Value::Map(m)))
            } else {
                let mut out = format!(
                    "did: {}\nrev: {}\ncommit: {}\ndata: {}\nversion: {}\nrecords: {records}\nblocks: {}\n",
                    c.did,
                    rev.as_deref().unwrap_or("-"),
                    repo.commit_cid(),
                    c.data,
                    c.version,
                    repo.store().len()
                );
                for (k, n) in collections {
                    out.push_str(&format!("collection {k}: {n}\n"));
                }
                crate::io::write_stdout(out.as_bytes())
            }
        }
        RepoCommand::Verify { file, key } => {
            let mut opts = VerifyOptions::new();
            if let Some(k) = &key {
                // A key that does not parse is invalid input (exit 1), as in `key verify`.
                let pk = PublicKey::from_did_key(k)
                    .map_err(|e| CliError::failed(format!("invalid --key: {e}")))?;
                opts = opts.key(pk);
            }
            let bytes = read_input(Some(&file))?;
            let repo = Repo::from_car(&bytes).map_err(fail)?;
            let report = repo.verify(&opts).map_err(fail)?;
            println(&format!(
                "ok: {} records, {} tree nodes, {} blocks, commit {} for {}, signature {}",
                report.records,
                report.nodes,
                report.blocks,
                repo.commit_cid(),
                repo.commit().did,
                if report.signature_checked {
                    "verified"
                } else {
                    "not checked (no --key)"
                }
            ))
        }
        RepoCommand::Build {
            records,
            did,
            private_key_hex,
            curve,
            rev,
            output,
        } => {
            let did = Did::new(&did).map_err(|e| CliError::usage(format!("--did: {e}")))?;
            let curve: Curve = curve
                .parse()
                .map_err(|e| CliError::usage(format!("--curve: {e}")))?;
            let key = Keypair::from_private_key_hex(curve, &private_key_hex)
                .map_err(|e| CliError::usage(format!("--private-key-hex: {e}")))?;
            let rev = match rev {
                Some(r) => Tid::new(&r).map_err(|e| CliError::usage(format!("--rev: {e}")))?,
                None => Tid::now(),
            };
            let input = read_input(Some(&records))?;
            let text = std::str::from_utf8(&input)
                .map_err(|e| fail(format!("{}: not UTF-8: {e}", records.display())))?;
            let mut items = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let at = |msg: String| fail(format!("{} line {}: {msg}", records.display(), n + 1));
                let v = json::record_from_str(line).map_err(|e| at(e.to_string()))?;
                let Value::Map(mut m) = v else {
                    return Err(at("not an object".into()));
                };
                let path = match m.remove("path") {
                    Some(Value::String(p)) => p.into_string(),
                    _ => return Err(at("\"path\" must be a string".into())),
                };
                let value = match m.remove("value") {
                    Some(v @ Value::Map(_)) => v,
                    _ => return Err(at("\"value\" must be an object".into())),
                };
                if let Some(k) = m.keys().next() {
                    return Err(at(format!("unknown field {k:?}")));
                }
                items.push((path, value));
            }
            let built = build_repo(&did, &key, rev, items).map_err(fail)?;
            std::fs::write(&output, &built.car)
                .map_err(|e| fail(format!("cannot write {}: {e}", output.display())))?;
            println(&format!(
                "commit: {}\ndata: {}\nrev: {}\nbytes: {}",
                built.commit_cid,
                built.commit.data,
                rev.as_str(),
                built.car.len()
            ))
        }
        RepoCommand::Diff {
            a,
            b,
            json: as_json,
        } => {
            let (ba, bb) = (read_input(Some(&a))?, read_input(Some(&b))?);
            let ra = Repo::from_car(&ba).map_err(|e| fail(format!("{}: {e}", a.display())))?;
            let rb = Repo::from_car(&bb).map_err(|e| fail(format!("{}: {e}", b.display())))?;
            let changes = mst::diff(&ra.mst(), &rb.mst()).map_err(|e| {
                // Name the side whose tree is broken: walk each on its own.
                let broken = |r: &Repo<'_>| r.records().find_map(Result::err);
                match (broken(&ra), broken(&rb)) {
                    (Some(ea), _) => fail(format!("{} (the first repository): {ea}", a.display())),
                    (None, Some(eb)) => {
                        fail(format!("{} (the second repository): {eb}", b.display()))
                    }
                    (None, None) => fail(e),
                }
            })?;
            let mut out = String::new();
            for c in changes {
                if as_json {
                    let mut m = Map::with_capacity(4);
                    m.insert("path", s(c.key()));
                    match &c {
                        Change::Created { cid, .. } => {
                            m.insert("op", s("create"));
                            m.insert("cid", s(cid.to_string()));
                        }
                        Change::Updated { old, new, .. } => {
                            m.insert("op", s("update"));
                            m.insert("old", s(old.to_string()));
                            m.insert("new", s(new.to_string()));
                        }
                        Change::Deleted { cid, .. } => {
                            m.insert("op", s("delete"));
                            m.insert("cid", s(cid.to_string()));
                        }
                    }
                    out.push_str(&json::to_string(&Value::Map(m)));
                } else {
                    match &c {
                        Change::Created { key, cid } => out.push_str(&format!("+ {key} {cid}")),
                        Change::Updated { key, old, new } => {
                            out.push_str(&format!("~ {key} {old} {new}"));
                        }
                        Change::Deleted { key, cid } => out.push_str(&format!("- {key} {cid}")),
                    }
                }
                out.push('\n');
            }
            crate::io::write_stdout(out.as_bytes())
        }
    }
}
