//! `atmo syntax check` and `atmo tid`, run as a user would: the real binary, real exit codes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output};

fn atmo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(args)
        .output()
        .expect("the atmo binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn interop(file: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/syntax")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn valid_values_print_their_normalised_form() {
    let o = atmo(&["syntax", "check", "handle", "Alice.Bsky.Social"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "alice.bsky.social\n");
    assert!(o.stderr.is_empty());

    let uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jwdwj2ctlk26";
    let o = atmo(&["syntax", "check", "at-uri", uri]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{uri}\n"));
}

#[test]
fn invalid_values_exit_1_with_one_line_naming_the_problem() {
    for (kind, value, needle) in [
        ("datetime", "1985-13-12T23:20:50.123Z", "month"),
        ("language", "de-DE-1901-1901", "1901"),
        ("handle", "not_a.handle", "'_'"),
        ("did", "did:PLC:abc", "did"),
        ("tid", "3jwdwj2ctlk2", "13"),
    ] {
        let o = atmo(&["syntax", "check", kind, value]);
        assert_eq!(o.status.code(), Some(1), "{kind} {value}");
        assert!(o.stdout.is_empty(), "{kind} {value}: nothing on stdout");
        let err = stderr(&o);
        assert_eq!(
            err.lines().count(),
            1,
            "{kind} {value}: one line, got {err:?}"
        );
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{kind} {value}: {err:?} should mention {needle:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["syntax", "check", "colour", "red"][..],
        &["syntax", "check", "did"][..],
        &["syntax", "frobnicate"][..],
        &["tid", "-n", "0"][..],
        &["tid", "-n", "many"][..],
        &["no-such-command"][..],
    ] {
        let o = atmo(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_value_starting_with_a_dash_works_after_double_dash() {
    // '-' is in the record-key alphabet, so this is a valid key that looks like a flag.
    let o = atmo(&["syntax", "check", "record-key", "--", "-dash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-dash\n");
    // Without `--`, clap reads it as an unknown flag: a usage error.
    let o = atmo(&["syntax", "check", "record-key", "-dash"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_is_everywhere_and_has_examples() {
    for args in [
        &["--help"][..],
        &["syntax", "--help"][..],
        &["syntax", "check", "--help"][..],
        &["tid", "--help"][..],
    ] {
        let o = atmo(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let out = stdout(&o);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    assert!(stdout(&atmo(&["syntax", "check", "--help"])).contains("Examples:"));
    assert!(stdout(&atmo(&["tid", "--help"])).contains("Examples:"));
}

/// Every interop vector goes through the CLI too: valid ones exit 0, invalid ones exit 1.
#[test]
fn interop_vectors_through_the_cli() {
    let mut failures = Vec::new();
    for (kind, stem) in [
        ("did", "did"),
        ("handle", "handle"),
        ("nsid", "nsid"),
        ("at-uri", "aturi"),
        ("at-identifier", "atidentifier"),
        ("tid", "tid"),
        ("record-key", "recordkey"),
        ("datetime", "datetime"),
        ("language", "language"),
        ("cid", "cid"),
        ("uri", "uri"),
    ] {
        let cases = [
            (format!("{stem}_syntax_valid.txt"), 0),
            (format!("{stem}_syntax_invalid.txt"), 1),
            (format!("{stem}_parse_invalid.txt"), 1),
        ];
        for (file, want) in cases {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/interop/syntax")
                .join(&file);
            if !path.exists() {
                continue;
            }
            for line in interop(&file) {
                let o = atmo(&["syntax", "check", kind, "--", &line]);
                if o.status.code() != Some(want) {
                    failures.push(format!("{file}: {line:?} exited {:?}", o.status.code()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tid_prints_n_strictly_increasing_tids() {
    let o = atmo(&["tid", "-n", "500"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let tids: Vec<&str> = out.lines().collect();
    assert_eq!(tids.len(), 500);
    let unique: HashSet<&&str> = tids.iter().collect();
    assert_eq!(unique.len(), 500, "no repeats");
    for pair in tids.windows(2) {
        assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
    }
    let o = atmo(&["syntax", "check", "tid", tids[0]]);
    assert_eq!(o.status.code(), Some(0), "{} is a valid TID", tids[0]);
    // Two separate runs also go forward in time.
    let a = stdout(&atmo(&["tid"]));
    let b = stdout(&atmo(&["tid"]));
    assert!(a.trim() < b.trim(), "{a} then {b}");
    assert_eq!(atmo(&["tid"]).status.code(), Some(0));
}

/// A huge invalid value is not echoed whole: the message keeps its start (the reason,
/// the position) and its end, and says how much it left out.
#[test]
fn huge_invalid_values_are_not_echoed_whole() {
    let v = format!("did:plc:{}!", "a".repeat(120_000));
    let o = atmo(&["syntax", "check", "did", &v]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.len() < 4096, "{} bytes", e.len());
    assert!(e.starts_with("error: invalid DID"), "{e}");
    assert!(e.contains("bytes omitted"), "{e}");
    assert!(
        e.trim_end().ends_with(|c: char| c.is_ascii_digit()
            || c == '\''
            || c == ')'
            || c.is_alphanumeric()),
        "{e}"
    );
}
