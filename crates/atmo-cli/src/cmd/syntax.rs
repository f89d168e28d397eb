//! `atmo syntax check KIND VALUE`: validate and normalise one atproto string.

use std::fmt::Display;
use std::str::FromStr;

use atmo_syntax::{
    AtIdentifier, AtUri, CidString, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid, Uri,
};
use clap::{Subcommand, ValueEnum};

use crate::error::CliError;
use crate::io::println;

/// Arguments of `atmo syntax`.
#[derive(Debug, clap::Args)]
pub(crate) struct SyntaxArgs {
    #[command(subcommand)]
    command: SyntaxCommand,
}

#[derive(Debug, Subcommand)]
enum SyntaxCommand {
    /// Check that VALUE is a valid KIND; print its normalised form.
    ///
    /// Exit 0 and the normalised form on stdout when valid; exit 1 and one line on stderr
    /// naming the problem when not (syntax, or semantics such as month 13).
    #[command(
        after_help = "Examples:\n  atmo syntax check handle Alice.Bsky.Social   # prints alice.bsky.social\n  atmo syntax check did did:plc:ewvi7nxzyoun6zhxrhs64oiz\n  atmo syntax check datetime 1985-13-12T23:20:50.123Z   # exit 1: month out of range\n  atmo syntax check record-key -- -dash   # a value starting with '-' goes after --"
    )]
    Check {
        /// What the value should be.
        kind: Kind,
        /// The value to check (put it after `--` if it starts with `-`).
        value: String,
    },
}

/// The kinds of strings `atmo syntax check` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A DID, e.g. did:plc:ewvi7nxzyoun6zhxrhs64oiz.
    Did,
    /// A handle, e.g. alice.bsky.social (normalised to lower case).
    Handle,
    /// A namespaced identifier, e.g. app.bsky.feed.post.
    Nsid,
    /// An AT-URI, e.g. at://alice.bsky.social/app.bsky.feed.post/3jwdwj2ctlk26.
    AtUri,
    /// A DID or a handle.
    AtIdentifier,
    /// A timestamp identifier, e.g. 3jwdwj2ctlk26.
    Tid,
    /// A record key.
    RecordKey,
    /// An atproto datetime (strict RFC 3339 subset).
    Datetime,
    /// A BCP 47 language tag, e.g. en-US (checked in the strict form).
    Language,
    /// A CID in string form.
    Cid,
    /// A generic URI.
    Uri,
}

/// Runs `atmo syntax`.
pub(crate) fn run(args: SyntaxArgs) -> Result<(), CliError> {
    match args.command {
        SyntaxCommand::Check { kind, value } => {
            let normalised = check(kind, &value)?;
            println(&normalised)
        }
    }
}

/// Validates `value` as `kind` and returns its normalised form.
fn check(kind: Kind, value: &str) -> Result<String, CliError> {
    match kind {
        Kind::Did => parse::<Did>(value, "DID"),
        Kind::Handle => parse::<Handle>(value, "handle"),
        Kind::Nsid => parse::<Nsid>(value, "NSID"),
        Kind::AtUri => parse::<AtUri>(value, "AT-URI"),
        Kind::AtIdentifier => parse::<AtIdentifier>(value, "AT identifier"),
        Kind::Tid => parse::<Tid>(value, "TID"),
        Kind::RecordKey => parse::<RecordKey>(value, "record key"),
        Kind::Datetime => parse::<Datetime>(value, "datetime"),
        // The strict check (what to write); a tag that is only well-formed is accepted in
        // records, and the message says so.
        Kind::Language => Language::new_strict(value)
            .map(|v| v.to_string())
            .map_err(|e| {
                let note = if Language::new(value).is_ok() {
                    " (well-formed BCP 47, so accepted in records, but not in the strict form)"
                } else {
                    ""
                };
                CliError::failed(format!("invalid language tag {value:?}: {e}{note}"))
            }),
        Kind::Cid => parse::<CidString>(value, "CID"),
        Kind::Uri => parse::<Uri>(value, "URI"),
    }
}

fn parse<T>(value: &str, what: &str) -> Result<String, CliError>
where
    T: FromStr + Display,
    T::Err: Display,
{
    T::from_str(value)
        .map(|v| v.to_string())
        .map_err(|e| CliError::failed(format!("invalid {what} {value:?}: {e}")))
}
