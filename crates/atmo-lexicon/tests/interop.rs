//! The official lexicon interop vectors (tests/interop/lexicon): every valid document
//! and record accepted, every invalid one rejected.

use std::path::PathBuf;

use atmo_lexicon::{Catalog, LexiconDoc};
use serde_json::Value;

fn interop(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/lexicon")
        .join(rel)
}

fn cases(name: &str) -> Vec<Value> {
    let p = interop(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Array(a)) => a,
        other => panic!("{name}: expected an array, got {other:?}"),
    }
}

fn case_name(c: &Value) -> String {
    c["name"].as_str().unwrap_or("?").to_owned()
}

fn catalog() -> Catalog {
    let mut cat = Catalog::new();
    let n = cat
        .load_dir(&interop("catalog"))
        .expect("the interop catalog loads");
    assert!(n >= 3, "expected the catalog files, read {n}");
    cat
}

#[test]
fn lexicon_valid() {
    let cases = cases("lexicon-valid.json");
    assert!(!cases.is_empty());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            LexiconDoc::from_json_value(&c["lexicon"])
                .err()
                .map(|e| format!("{}: {e}", case_name(c)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "valid lexicons rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn lexicon_invalid() {
    let cases = cases("lexicon-invalid.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in &cases {
        match LexiconDoc::from_json_value(&c["lexicon"]) {
            Ok(_) => failures.push(case_name(c)),
            Err(e) => {
                println!("{}: {e}", case_name(c));
                assert!(
                    e.path.starts_with('$'),
                    "{}: path {:?}",
                    case_name(c),
                    e.path
                );
                assert!(!e.reason.is_empty());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "invalid lexicons accepted:\n{}",
        failures.join("\n")
    );
}

#[test]
fn catalog_documents_are_valid() {
    let cat = catalog();
    for nsid in [
        "example.lexicon.record",
        "example.lexicon.query",
        "example.lexicon.permissionset",
    ] {
        assert!(cat.get(nsid).is_some(), "{nsid} missing from the catalog");
    }
    assert!(cat.dangling_refs().is_empty(), "{:?}", cat.dangling_refs());
}

fn record_nsid(c: &Value) -> &str {
    c["data"]["$type"]
        .as_str()
        .expect("every vector names its $type")
}

#[test]
fn record_data_valid() {
    let cat = catalog();
    let cases = cases("record-data-valid.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in &cases {
        let text = c["data"].to_string();
        let nsid = record_nsid(c);
        if let Err(e) = cat.validate_record_json(nsid, &text) {
            failures.push(format!("{}: {e}", case_name(c)));
        }
        let rkey = c["rkey"].as_str().expect("rkey");
        if let Err(e) = cat.check_record_key(nsid, rkey) {
            failures.push(format!("{} (rkey): {e}", case_name(c)));
        }
    }
    assert!(
        failures.is_empty(),
        "valid records rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn record_data_invalid() {
    let cat = catalog();
    let cases = cases("record-data-invalid.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in &cases {
        let text = c["data"].to_string();
        match cat.validate_record_json(record_nsid(c), &text) {
            Ok(()) => failures.push(case_name(c)),
            Err(atmo_lexicon::Error::Validation(e)) => {
                println!("{}: {e}", case_name(c));
                assert!(
                    e.path.starts_with("$."),
                    "{}: path {:?}",
                    case_name(c),
                    e.path
                );
            }
            Err(atmo_lexicon::Error::Json(_)) => {} // rejected by the data model already
            Err(other) => failures.push(format!("{}: unexpected error {other}", case_name(c))),
        }
    }
    assert!(
        failures.is_empty(),
        "invalid records accepted:\n{}",
        failures.join("\n")
    );
}

/// The paths reported for some invalid vectors, checked exactly.
#[test]
fn record_data_invalid_paths() {
    let cat = catalog();
    let expect = [
        ("missing required field", "$.integer"),
        ("invalid array element", "$.array[0]"),
        ("object nested wrong data type", "$.object.a"),
        ("invalid string format did", "$.formats.did"),
        ("string too long (graphemes)", "$.graphemeString"),
        ("out of closed union", "$.closedUnion.$type"),
        ("union inner invalid", "$.union.a"),
        ("blob too large", "$.sizeBlob"),
    ];
    let cases = cases("record-data-invalid.json");
    for (name, path) in expect {
        let c = cases
            .iter()
            .find(|c| case_name(c) == name)
            .unwrap_or_else(|| panic!("no vector {name:?}"));
        match cat.validate_record_json(record_nsid(c), &c["data"].to_string()) {
            Err(atmo_lexicon::Error::Validation(e)) => assert_eq!(e.path, path, "{name}: {e}"),
            other => panic!("{name}: expected a validation error, got {other:?}"),
        }
    }
}
