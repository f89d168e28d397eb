//! Project chores for atmo, run as `cargo xtask <task>`.
//!
//! - `cargo xtask codegen [--check]`: generate `crates/atmo-api` from `lexicons/` (or,
//!   with `--lexicons DIR [--lock FILE] --out DIR`, a directory of your own lexicons, or
//!   exactly its documents pinned by a `lexicons.lock`).
//! - `cargo xtask deps`: fail on any dependency edge the layering in DESIGN.md forbids.
//! - `cargo xtask fuzz [--seconds N] [TARGET...]`: seed and run the fuzz targets.
//! - `cargo xtask fuzz-seed`: only write the seed corpora from the interop vectors.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod codegen;
mod cycles;
mod deps;
mod fuzz;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  codegen [--check]             generate crates/atmo-api from lexicons/ (--check: fail on drift)
  codegen --lexicons DIR [--lock FILE] --out DIR [--check]
                                generate Rust for your own lexicons into DIR (with --lock:
                                exactly the locked ones, each checked against its CID)
  deps                          check the crate layering (DESIGN.md) and banned dependencies
  fuzz [--seconds N] [TARGET..] seed then run every fuzz target (or the named ones) N seconds each
  fuzz-seed                     write fuzz/corpus/<target>/ seeds from the interop vectors
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(args.get(1..).unwrap_or_default()),
        Some("deps") => deps::run(),
        Some("fuzz") => fuzz::run(args.get(1..).unwrap_or_default()),
        Some("fuzz-seed") => fuzz::seed_all().map(|n| println!("wrote {n} seed files")),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo to call: the one that runs us, if known.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
