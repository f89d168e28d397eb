//! The differential oracle: small Node scripts in tests/oracle that run inputs through
//! the official `@atproto` packages and print one JSON line per input.
//!
//! The packages live in tests/oracle/node_modules (`npm ci` in tests/oracle, which
//! scripts/test-all does). Without them the differential tests print a loud SKIPPED line
//! and pass; `ATMO_ORACLE=0` skips them on purpose, `ATMO_ORACLE=1` turns a missing
//! install into a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tests/oracle directory of this workspace.
#[must_use]
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle")
}

/// Whether the oracle's packages are installed (and not switched off with
/// `ATMO_ORACLE=0`). Prints why not.
///
/// # Panics
///
/// If `ATMO_ORACLE=1` and the packages are missing (a test failure).
#[must_use]
pub fn available() -> bool {
    let knob = std::env::var("ATMO_ORACLE").unwrap_or_default();
    if knob == "0" {
        eprintln!("skipped: ATMO_ORACLE=0");
        return false;
    }
    let probe = dir().join("node_modules/@atproto/syntax/package.json");
    if probe.is_file() {
        return true;
    }
    assert!(
        knob != "1",
        "ATMO_ORACLE=1 but {} is missing: run `npm ci` in tests/oracle",
        probe.display()
    );
    eprintln!(
        "\n*** SKIPPED: {} is missing; run `npm ci` in tests/oracle to enable the \
         differential tests against the official @atproto packages ***\n",
        probe.display()
    );
    false
}

/// Runs `node tests/oracle/<script> <file>` where the file holds `input` (JSON text);
/// returns the lines the script prints, one per input case.
///
/// # Panics
///
/// If node cannot run or the script fails (a test failure).
#[must_use]
pub fn run(script: &str, input: &str) -> Vec<String> {
    let tmp = crate::support::temp_dir("oracle");
    let file = tmp.join("input.json");
    if let Err(e) = std::fs::write(&file, input) {
        panic!("cannot write {}: {e}", file.display());
    }
    let out = Command::new("node")
        .arg(dir().join(script))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(
        out.status.success(),
        "oracle {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}
