//! The official atproto interop syntax vectors: one test per file.
//!
//! Lines that are empty or start with `#` are skipped; lines are never trimmed. Each test
//! collects every failing line and reports them all.

use std::fmt::Display;
use std::str::FromStr;

use atmo_syntax::{
    AtIdentifier, AtUri, CidString, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid, Uri,
};

macro_rules! vectors {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/interop/syntax/",
                $file
            )),
        )
    };
}

/// The test cases of a vector file: (line number, line).
fn cases(text: &str) -> Vec<(usize, &str)> {
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn short(line: &str) -> String {
    if line.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| line.is_char_boundary(i))
            .unwrap_or(0);
        format!("{:?}... ({} bytes)", &line[..cut], line.len())
    } else {
        format!("{line:?}")
    }
}

/// Every line must parse, and its `Display` form must parse back to an equal value.
fn expect_valid<T>((file, text): (&str, &str))
where
    T: FromStr + Display + PartialEq + std::fmt::Debug,
    T::Err: Display,
{
    let cases = cases(text);
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut failures = Vec::new();
    for (n, line) in &cases {
        match line.parse::<T>() {
            Ok(v) => match v.to_string().parse::<T>() {
                Ok(again) if again == v => {}
                Ok(again) => failures.push(format!(
                    "line {n}: {}: round trip gave {again:?}, not {v:?}",
                    short(line)
                )),
                Err(e) => failures.push(format!(
                    "line {n}: {}: display form {:?} does not parse: {e}",
                    short(line),
                    v.to_string()
                )),
            },
            Err(e) => failures.push(format!("line {n}: {}: rejected: {e}", short(line))),
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} of {} valid cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every line must be rejected.
fn expect_invalid<T>((file, text): (&str, &str))
where
    T: FromStr + std::fmt::Debug,
{
    let cases = cases(text);
    assert!(!cases.is_empty(), "{file}: no cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(n, line)| {
            line.parse::<T>()
                .ok()
                .map(|v| format!("line {n}: {}: accepted as {v:?}", short(line)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{file}: {} of {} invalid cases were accepted:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn atidentifier_syntax_valid() {
    expect_valid::<AtIdentifier>(vectors!("atidentifier_syntax_valid.txt"));
}

#[test]
fn atidentifier_syntax_invalid() {
    expect_invalid::<AtIdentifier>(vectors!("atidentifier_syntax_invalid.txt"));
}

#[test]
fn aturi_syntax_valid() {
    expect_valid::<AtUri>(vectors!("aturi_syntax_valid.txt"));
}

#[test]
fn aturi_syntax_invalid() {
    expect_invalid::<AtUri>(vectors!("aturi_syntax_invalid.txt"));
}

#[test]
fn cid_syntax_valid() {
    expect_valid::<CidString>(vectors!("cid_syntax_valid.txt"));
}

#[test]
fn cid_syntax_invalid() {
    expect_invalid::<CidString>(vectors!("cid_syntax_invalid.txt"));
}

#[test]
fn datetime_syntax_valid() {
    expect_valid::<Datetime>(vectors!("datetime_syntax_valid.txt"));
}

#[test]
fn datetime_syntax_invalid() {
    expect_invalid::<Datetime>(vectors!("datetime_syntax_invalid.txt"));
}

#[test]
fn datetime_parse_invalid() {
    expect_invalid::<Datetime>(vectors!("datetime_parse_invalid.txt"));
}

#[test]
fn did_syntax_valid() {
    expect_valid::<Did>(vectors!("did_syntax_valid.txt"));
}

#[test]
fn did_syntax_invalid() {
    expect_invalid::<Did>(vectors!("did_syntax_invalid.txt"));
}

#[test]
fn handle_syntax_valid() {
    expect_valid::<Handle>(vectors!("handle_syntax_valid.txt"));
}

#[test]
fn handle_syntax_invalid() {
    expect_invalid::<Handle>(vectors!("handle_syntax_invalid.txt"));
}

/// The interop suite's reading of language tags is [`Language::new_strict`]; `Language::new`
/// (the lexicon format, well-formed BCP 47) also accepts `JA`, `jaja` and repeated
/// variants, as the reference implementation's record validator does.
#[derive(Debug, PartialEq)]
struct StrictLanguage(Language);

impl Display for StrictLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for StrictLanguage {
    type Err = atmo_syntax::LanguageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::new_strict(s).map(Self)
    }
}

#[test]
fn language_syntax_valid() {
    expect_valid::<StrictLanguage>(vectors!("language_syntax_valid.txt"));
    expect_valid::<Language>(vectors!("language_syntax_valid.txt"));
}

#[test]
fn language_syntax_invalid() {
    expect_invalid::<StrictLanguage>(vectors!("language_syntax_invalid.txt"));
}

#[test]
fn language_parse_invalid() {
    expect_invalid::<StrictLanguage>(vectors!("language_parse_invalid.txt"));
}

#[test]
fn nsid_syntax_valid() {
    expect_valid::<Nsid>(vectors!("nsid_syntax_valid.txt"));
}

#[test]
fn nsid_syntax_invalid() {
    expect_invalid::<Nsid>(vectors!("nsid_syntax_invalid.txt"));
}

#[test]
fn recordkey_syntax_valid() {
    expect_valid::<RecordKey>(vectors!("recordkey_syntax_valid.txt"));
}

#[test]
fn recordkey_syntax_invalid() {
    expect_invalid::<RecordKey>(vectors!("recordkey_syntax_invalid.txt"));
}

#[test]
fn tid_syntax_valid() {
    expect_valid::<Tid>(vectors!("tid_syntax_valid.txt"));
}

#[test]
fn tid_syntax_invalid() {
    expect_invalid::<Tid>(vectors!("tid_syntax_invalid.txt"));
}

#[test]
fn uri_syntax_valid() {
    expect_valid::<Uri>(vectors!("uri_syntax_valid.txt"));
}

#[test]
fn uri_syntax_invalid() {
    expect_invalid::<Uri>(vectors!("uri_syntax_invalid.txt"));
}

/// Every file in the vector folder has a test above (a new upstream file must get one).
#[test]
fn every_vector_file_is_covered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/interop/syntax");
    let this = include_str!("interop.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".txt") && !this.contains(&format!("vectors!(\"{name}\")")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "vector files without a test: {missing:?}"
    );
}
