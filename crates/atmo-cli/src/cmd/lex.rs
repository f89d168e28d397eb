//! `atmo lex`: check lexicon documents, validate records against lexicons, and resolve
//! lexicons (locally, then from the network), and pull them into a locked directory.

use std::net::SocketAddr;
use std::path::PathBuf;

use atmo_data::{Map, Value};
use atmo_lexicon::{Catalog, Def, LexiconDoc, Resolver, Source};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::{println, read_input};

/// Arguments of `atmo lex`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo lex check lexicons/app/bsky/feed/post.json\n  atmo lex validate --nsid app.bsky.feed.post post.json\n  echo '{\"$type\":\"com.example.status\",\"status\":\"👍\"}' | atmo lex validate --nsid com.example.status --lexicons ./lexicons -\n  atmo lex resolve app.bsky.feed.like --json\n  atmo lex pull com.example.status.post && atmo lex pull --locked\n\nExit codes: 0 valid, 1 invalid (the reason, with the path of the first bad field, on stderr), 2 usage error."
)]
pub(crate) struct LexArgs {
    #[command(subcommand)]
    command: LexCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LexCommand {
    /// Check a lexicon document (JSON): exit 0 if valid, 1 with the reason if not.
    Check {
        /// The lexicon JSON file, or `-` for standard input.
        file: PathBuf,
    },
    /// Check lexicon documents against style rules (each finding: `FILE: RULE: WHERE:
    /// message`); exit 1 if any rule fails.
    #[command(after_help = LINT_HELP)]
    Lint {
        /// The lexicon JSON files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not apply this rule; may be repeated.
        #[arg(long, value_name = "RULE")]
        skip: Vec<String>,
        /// JSON lines {"file","rule","path","message"}, one per finding.
        #[arg(long)]
        json: bool,
    },
    /// Breaking changes from OLD to NEW, two versions of one lexicon: one line
    /// `WHERE: change` each, exit 1 if there is any.
    ///
    /// Breaking: a changed id, type, ref, record key or encoding; a removed definition,
    /// field, enum value, union variant, accepted blob type, input or output; a new
    /// required field (or one that became required or stopped being nullable); a
    /// narrowed limit (minimum raised or added, maximum lowered or added); a format,
    /// enum or const added or changed; a union closed, or a closed union changed; a
    /// procedure input added.
    #[command(
        after_help = "Example:\n  atmo lex breaking v1/com/example/post.json v2/com/example/post.json"
    )]
    Breaking {
        /// The old version (lexicon JSON).
        old: PathBuf,
        /// The new version (lexicon JSON).
        new: PathBuf,
        /// JSON lines {"path","change"}, one per breaking change.
        #[arg(long)]
        json: bool,
    },
    /// Validate a record (atproto JSON) against the record lexicon NSID.
    Validate {
        /// The record type, e.g. app.bsky.feed.post.
        #[arg(long, value_name = "NSID")]
        nsid: String,
        /// A directory of lexicon JSON files to add to the bundled official set (files
        /// there replace bundled ones with the same NSID); may be repeated.
        #[arg(long, value_name = "DIR")]
        lexicons: Vec<PathBuf>,
        /// The record file, or `-` for standard input (the default).
        file: Option<PathBuf>,
    },
    /// Find a lexicon by NSID: the --lexicons directories, the bundled set, the cache
    /// directory, then the network (`_lexicon.<authority>` DNS TXT -> DID -> PDS ->
    /// com.atproto.lexicon.schema record), caching what it fetched with the record's CID.
    Resolve {
        /// The lexicon's NSID.
        nsid: String,
        /// Print a JSON summary instead of text.
        #[arg(long)]
        json: bool,
        /// A directory searched before the bundled set; may be repeated.
        #[arg(long, value_name = "DIR")]
        lexicons: Vec<PathBuf>,
        /// The cache directory, searched after the bundled set and written after a
        /// network fetch (default: $XDG_CACHE_HOME/atmo/lexicons, or
        /// ~/.cache/atmo/lexicons).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Do not use the network (fail when no local step has the lexicon).
        #[arg(long)]
        offline: bool,
        /// Ask this DNS server (IP:PORT, or IP for port 53) for the `_lexicon` TXT record
        /// instead of the system's resolvers; may be repeated.
        #[arg(long, value_name = "ADDR", value_parser = crate::lexnet::parse_dns_server)]
        dns_server: Vec<SocketAddr>,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
    /// Pull lexicons from the network into a directory (at their upstream paths,
    /// com/example/status.json) and pin each in a lockfile to the DID, URI and CID of
    /// its com.atproto.lexicon.schema record. Without NSIDs, pulls every locked one.
    /// Each record is fetched with com.atproto.sync.getRecord and must be proven by the
    /// repository's signed commit (signature by the DID document's #atproto key, tree
    /// path, CID). References are followed: lexicons the pulled ones refer to that are
    /// not in the bundled official set are pulled and locked too (at most 256 in one
    /// pull).
    ///
    /// A plain pull updates the lock entries of what it pulled. --locked fails (exit 1,
    /// nothing written) when the lock would change: an NSID not in it, or one that now
    /// resolves to another record (the NSID, the locked and the resolved CID are
    /// named); otherwise it writes exactly the locked documents. --locked --offline
    /// checks the directory against the lock without the network, e.g. before
    /// `cargo xtask codegen --lexicons DIR --lock FILE --out DIR`.
    #[command(
        after_help = "Examples:\n  atmo lex pull com.example.status.post\n  atmo lex pull --locked\n  atmo lex pull --locked --offline --dir lexicons --lock lexicons.lock"
    )]
    Pull {
        /// The NSIDs to pull (default: every NSID in the lockfile).
        nsids: Vec<String>,
        /// The lexicon directory.
        #[arg(long, value_name = "DIR", default_value = "lexicons")]
        dir: PathBuf,
        /// The lockfile.
        #[arg(long, value_name = "FILE", default_value = atmo_lexicon::lock::LOCKFILE_NAME)]
        lock: PathBuf,
        /// Fail when what resolves differs from the lockfile; write only the locked
        /// documents and never the lockfile.
        #[arg(long)]
        locked: bool,
        /// With --locked: check the files under --dir against the lockfile, without the
        /// network.
        #[arg(long, requires = "locked")]
        offline: bool,
        /// Ask this DNS server (IP:PORT, or IP for port 53) for the `_lexicon` TXT records
        /// instead of the system's resolvers; may be repeated.
        #[arg(long, value_name = "ADDR", value_parser = crate::lexnet::parse_dns_server)]
        dns_server: Vec<SocketAddr>,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
}

/// The rules of `atmo lex lint`, for its help.
const LINT_HELP: &str = "Rules:\n  \
    main-description  a record, query, procedure or subscription has a description\n  \
    camel-case        the NSID's name, definition, property and parameter names are lowerCamelCase\n  \
    string-graphemes  free text in a record (no format, enum, const, knownValues) with maxLength\n                    has maxGraphemes\n  \
    limits-order      maxGraphemes <= maxLength (a grapheme is at least one byte)\n  \
    datetime-format   a string property named like a moment (ending in At) is format datetime\n  \
    known-values      strings list knownValues, not a closed enum\n  \
    open-union        unions are not closed\n\n\
    Example:\n  atmo lex lint lexicons/com/example/*.json --skip known-values";

/// Runs `atmo lex`.
pub(crate) fn run(args: LexArgs) -> Result<(), CliError> {
    match args.command {
        LexCommand::Check { file } => check(file),
        LexCommand::Lint { files, skip, json } => super::lex_lint::lint(&files, &skip, json),
        LexCommand::Breaking { old, new, json } => super::lex_breaking::breaking(&old, &new, json),
        LexCommand::Validate {
            nsid,
            lexicons,
            file,
        } => validate(&nsid, &lexicons, file),
        LexCommand::Resolve {
            nsid,
            json,
            lexicons,
            cache_dir,
            offline,
            dns_server,
            net,
        } => {
            let network = (!offline).then(|| {
                crate::lexnet::NetFetcher::new(net, (!dns_server.is_empty()).then_some(dns_server))
            });
            resolve(
                &nsid,
                json,
                lexicons,
                cache_dir.or_else(default_cache_dir),
                network,
            )
        }
        LexCommand::Pull {
            nsids,
            dir,
            lock,
            locked,
            offline,
            dns_server,
            net,
        } => {
            let fetcher =
                crate::lexnet::NetFetcher::new(net, (!dns_server.is_empty()).then_some(dns_server));
            let p = super::lex_pull::Pull {
                nsids,
                dir,
                lock,
                locked,
                offline,
            };
            super::lex_pull::pull(&p, fetcher)
        }
    }
}

fn check(file: PathBuf) -> Result<(), CliError> {
    let bytes = read_input(Some(&file))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| CliError::failed(format!("invalid: not UTF-8 text: {e}")))?;
    let doc = LexiconDoc::from_json(text).map_err(CliError::failed)?;
    println(&format!("valid: {} ({})", doc.id, defs_summary(&doc)))
}

fn defs_summary(doc: &LexiconDoc) -> String {
    let n = doc.defs.len();
    let main = doc
        .main()
        .map(|d| format!(", main: {}", d.type_name()))
        .unwrap_or_default();
    format!("{n} definition{}{main}", if n == 1 { "" } else { "s" })
}

fn validate(nsid: &str, dirs: &[PathBuf], file: Option<PathBuf>) -> Result<(), CliError> {
    atmo_syntax::Nsid::new(nsid)
        .map_err(|e| CliError::usage(format!("--nsid {nsid:?} is not a valid NSID: {e}")))?;
    let mut cat = Catalog::bundled().map_err(CliError::failed)?;
    for d in dirs {
        cat.load_dir(d).map_err(CliError::failed)?;
    }
    let input = read_input(file.as_deref())?;
    let record = atmo_data::json::from_slice(&input)
        .map_err(|e| CliError::failed(format!("invalid: {e}")))?;
    match cat.validate_record(nsid, &record) {
        Ok(()) => println(&format!("valid: {nsid}")),
        Err(atmo_lexicon::Error::Validation(e)) => Err(CliError::failed(format!("invalid: {e}"))),
        Err(e) => Err(CliError::failed(e)),
    }
}

/// `$XDG_CACHE_HOME/atmo/lexicons`, else `$HOME/.cache/atmo/lexicons` (absolute paths
/// only), else no cache.
fn default_cache_dir() -> Option<PathBuf> {
    let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(abs)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(abs)
                .map(|h| h.join(".cache"))
        })
        .map(|c| c.join("atmo").join("lexicons"))
}

fn resolve(
    nsid: &str,
    json: bool,
    dirs: Vec<PathBuf>,
    cache_dir: Option<PathBuf>,
    network: Option<crate::lexnet::NetFetcher>,
) -> Result<(), CliError> {
    let mut r = Resolver::new();
    for d in dirs {
        r = r.search_path(d);
    }
    if let Some(c) = cache_dir {
        r = r.cache_dir(c);
    }
    if let Some(f) = network {
        r = r.fetcher(f);
    }
    let found = r.resolve(nsid).map_err(CliError::failed)?;
    let doc = &found.doc;
    if json {
        let mut source = Map::new();
        let (kind, path) = match &found.source {
            Source::SearchPath(p) => ("search-path", Some(p.display().to_string())),
            Source::Bundled(p) => ("bundled", Some(format!("lexicons/{p}"))),
            Source::Cache(p) => ("cache", Some(p.display().to_string())),
            Source::Network { uri, cached, .. } => {
                source.insert("uri", Value::from(uri.as_str()));
                ("network", cached.as_ref().map(|p| p.display().to_string()))
            }
            _ => ("other", None),
        };
        source.insert("kind", Value::from(kind));
        if let Some(path) = path {
            source.insert("path", Value::from(path));
        }
        if let Some(p) = &found.provenance {
            source.insert("did", Value::from(p.did.as_str()));
            source.insert("cid", Value::from(p.cid.as_str()));
            if !p.fetched_at.is_empty() {
                source.insert("fetchedAt", Value::from(p.fetched_at.as_str()));
            }
        }
        let defs = doc
            .defs
            .iter()
            .map(|(name, def)| {
                let mut m = Map::new();
                m.insert("name", Value::from(name.as_str()));
                m.insert("type", Value::from(def.type_name()));
                if let Some(d) = def.description() {
                    m.insert("description", Value::from(d));
                }
                Value::Map(m)
            })
            .collect();
        let mut out = Map::new();
        out.insert("id", Value::from(doc.id.as_str()));
        out.insert("source", Value::Map(source));
        if let Some(d) = &doc.description {
            out.insert("description", Value::from(d.as_str()));
        }
        out.insert("defs", Value::Array(defs));
        return println(&atmo_data::json::to_string_pretty(&Value::Map(out)));
    }
    println(&format!("id: {}", doc.id))?;
    println(&format!("source: {}", found.source))?;
    if let (Source::Cache(_), Some(p)) = (&found.source, &found.provenance) {
        println(&format!(
            "fetched: at://{}/{}/{} (cid {}) at {}",
            p.did,
            atmo_lexicon::SCHEMA_COLLECTION,
            doc.id,
            p.cid,
            p.fetched_at
        ))?;
    }
    println(&format!("defs: {}", defs_summary(doc)))?;
    for (name, def) in &doc.defs {
        let marker = match def {
            Def::Type(_) | Def::Token(_) => "",
            _ => " (primary)",
        };
        println(&format!("  {name}: {}{marker}", def.type_name()))?;
    }
    Ok(())
}
