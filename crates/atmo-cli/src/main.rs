//! `atmo`: a command-line Swiss army knife for the AT Protocol.
//!
//! Exit codes: 0 success, 1 invalid input or failed operation (one line on stderr names the
//! problem), 2 usage error.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod account;
mod cmd;
mod error;
mod io;
mod lexnet;
mod net;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A command-line tool for the AT Protocol (atproto).
#[derive(Debug, Parser)]
#[command(
    name = "atmo",
    version,
    about = "A command-line tool for the AT Protocol (atproto)",
    after_help = "Examples:\n  atmo syntax check handle Alice.Bsky.Social\n  atmo tid -n 3\n\nExit codes: 0 success, 1 invalid input or failed operation, 2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and normalise atproto identifiers and strings.
    Syntax(cmd::syntax::SyntaxArgs),
    /// Print fresh TIDs (timestamp identifiers), strictly increasing; or decode one.
    Tid(cmd::tid::TidArgs),
    /// Convert between atproto JSON and DAG-CBOR, and compute CIDs.
    Data(cmd::data::DataArgs),
    /// Generate, inspect and use atproto signing keys (did:key).
    Key(cmd::key::KeyArgs),
    /// Read, verify, build and compare repositories (CAR files).
    Repo(cmd::repo::RepoArgs),
    /// Resolve a handle or DID to its identity (DID, handle, PDS, signing key).
    Resolve(cmd::resolve::ResolveArgs),
    /// Print and verify a did:plc's audit log (operations, signatures, recoveries).
    Plc(cmd::plc::PlcArgs),
    /// Log in with an app password and keep the session.
    Login(cmd::session::LoginArgs),
    /// Forget the stored session.
    Logout(cmd::session::LogoutArgs),
    /// Show who the stored session is for.
    Whoami(cmd::session::WhoamiArgs),
    /// Get, list, create, put and delete records.
    Record(cmd::record::RecordArgs),
    /// The signed-in account at its PDS (status, activate, deactivate, update-handle,
    /// missing-blobs), creating accounts, and checking handles.
    Account(cmd::account_cmd::AccountArgs),
    /// Upload, download, list and export blobs.
    Blob(cmd::blob::BlobArgs),
    /// Write a post as the signed-in account (mentions, links and tags detected).
    Post(cmd::post::PostArgs),
    /// Create and verify inter-service auth tokens.
    #[command(name = "service-auth")]
    ServiceAuth(cmd::service_auth::ServiceAuthArgs),
    /// Call any XRPC method.
    Xrpc(cmd::xrpc::XrpcArgs),
    /// Check and validate lexicons and records.
    Lex(cmd::lex::LexArgs),
    /// Follow a relay's or PDS's event stream (subscribeRepos), verified.
    Firehose(cmd::firehose::FirehoseArgs),
    /// Follow a labeller's label stream (subscribeLabels), every signature checked.
    Labels(cmd::labels::LabelsArgs),
    /// Read a Jetstream endpoint, or serve one from a relay's or PDS's stream.
    Jetstream(cmd::jetstream::JetstreamArgs),
    /// Repositories over libp2p and Bitswap: a DID's PeerID, serving blocks, fetching
    /// blocks, mirroring a repository from peers with the PDS as fallback.
    P2p(cmd::p2p::P2pArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Syntax(args) => cmd::syntax::run(args),
        Command::Tid(args) => cmd::tid::run(args),
        Command::Data(args) => cmd::data::run(args),
        Command::Key(args) => cmd::key::run(args),
        Command::Repo(args) => cmd::repo::run(args),
        Command::Resolve(args) => {
            let net = args.net.clone();
            cmd::resolve::run(args, &net)
        }
        Command::Plc(args) => cmd::plc::run(args.net.clone(), args),
        Command::Login(args) => {
            let net = args.net.clone();
            cmd::session::login(args, &net)
        }
        Command::Logout(args) => {
            let net = args.net.clone();
            cmd::session::logout(args, &net)
        }
        Command::Whoami(args) => {
            let net = args.net.clone();
            cmd::session::whoami(args, &net)
        }
        Command::Record(args) => {
            let net = args.net.clone();
            cmd::record::run(args, &net)
        }
        Command::Account(args) => {
            let net = args.net.clone();
            cmd::account_cmd::run(args, &net)
        }
        Command::Blob(args) => {
            let net = args.net.clone();
            cmd::blob::run(args, &net)
        }
        Command::Post(args) => {
            let net = args.net.clone();
            cmd::post::run(args, &net)
        }
        Command::ServiceAuth(args) => {
            let net = args.net.clone();
            cmd::service_auth::run(args, &net)
        }
        Command::Xrpc(args) => {
            let net = args.net.clone();
            cmd::xrpc::run(args, &net)
        }
        Command::Lex(args) => cmd::lex::run(args),
        Command::Firehose(args) => {
            let net = args.net.clone();
            cmd::firehose::run(args, &net)
        }
        Command::Labels(args) => {
            let net = args.net.clone();
            cmd::labels::run(args, &net)
        }
        Command::Jetstream(args) => {
            let net = args.net.clone();
            cmd::jetstream::run(args, &net)
        }
        Command::P2p(args) => cmd::p2p::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
