//! `atmo lex`: check lexicon documents, validate records against lexicons, and resolve
//! lexicons locally.

use std::path::PathBuf;

use atmo_data::{Map, Value};
use atmo_lexicon::{Catalog, Def, LexiconDoc, Resolver, Source};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::{println, read_input};

/// Arguments of `atmo lex`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo lex check lexicons/app/bsky/feed/post.json\n  atmo lex validate --nsid app.bsky.feed.post post.json\n  echo '{\"$type\":\"com.example.status\",\"status\":\"👍\"}' | atmo lex validate --nsid com.example.status --lexicons ./lexicons -\n  atmo lex resolve app.bsky.feed.like --json\n\nExit codes: 0 valid, 1 invalid (the reason, with the path of the first bad field, on stderr), 2 usage error."
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
    /// Find a lexicon by NSID: the --lexicons directories, the bundled set, then the
    /// cache directory. Network resolution is not built yet.
    Resolve {
        /// The lexicon's NSID.
        nsid: String,
        /// Print a JSON summary instead of text.
        #[arg(long)]
        json: bool,
        /// A directory searched before the bundled set; may be repeated.
        #[arg(long, value_name = "DIR")]
        lexicons: Vec<PathBuf>,
        /// A cache directory searched after the bundled set.
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

/// Runs `atmo lex`.
pub(crate) fn run(args: LexArgs, _global: &GlobalArgs) -> Result<(), CliError> {
    match args.command {
        LexCommand::Check { file } => check(file),
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
        } => resolve(&nsid, json, lexicons, cache_dir),
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

fn resolve(
    nsid: &str,
    json: bool,
    dirs: Vec<PathBuf>,
    cache_dir: Option<PathBuf>,
) -> Result<(), CliError> {
    let mut r = Resolver::new();
    for d in dirs {
        r = r.search_path(d);
    }
    if let Some(c) = cache_dir {
        r = r.cache_dir(c);
    }
    let found = r.resolve(nsid).map_err(CliError::failed)?;
    let doc = &found.doc;
    if json {
        let (kind, path) = match &found.source {
            Source::SearchPath(p) => ("search-path", p.display().to_string()),
            Source::Bundled(p) => ("bundled", format!("lexicons/{p}")),
            Source::Cache(p) => ("cache", p.display().to_string()),
            _ => ("other", String::new()),
        };
        let mut source = Map::new();
        source.insert("kind", Value::from(kind));
        source.insert("path", Value::from(path));
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
