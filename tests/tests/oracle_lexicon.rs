//! Differential test of lexicon document rules against the reference parser
//! (`@atproto/lexicon`'s `parseLexiconDoc`; see tests/oracle/lexicon-oracle.mjs), on
//! documents made by mutating valid ones (the interop catalog, the interop valid cases
//! and a sample of the vendored lexicons).
//!
//! Differences that remain are those where atmo follows the lexicon spec more strictly
//! than the reference parser, each listed in `documented_difference` with its reason.

use std::collections::BTreeMap;
use std::path::Path;

use atmo_lexicon::LexiconDoc;
use atmo_tests::oracle;
use serde_json::{Value, json};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn seeds() -> Vec<Value> {
    let mut out = Vec::new();
    let interop = workspace().join("tests/interop/lexicon");
    let valid: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(interop.join("lexicon-valid.json")).unwrap())
            .unwrap();
    out.extend(valid.into_iter().map(|c| c["lexicon"].clone()));
    for f in ["permission-set.json", "query.json", "record.json"] {
        let t = std::fs::read_to_string(interop.join("catalog").join(f)).unwrap();
        out.push(serde_json::from_str(&t).unwrap());
    }
    for f in [
        "com/atproto/repo/strongRef.json",
        "com/atproto/repo/createRecord.json",
        "com/atproto/label/defs.json",
        "com/atproto/sync/subscribeRepos.json",
        "app/bsky/feed/post.json",
        "app/bsky/actor/profile.json",
        "app/bsky/richtext/facet.json",
    ] {
        let t = std::fs::read_to_string(workspace().join("lexicons").join(f)).unwrap();
        out.push(serde_json::from_str(&t).unwrap());
    }
    out
}

/// Replacement values tried at every position.
fn replacements() -> Vec<Value> {
    let mut v: Vec<Value> = [
        "record",
        "query",
        "procedure",
        "subscription",
        "token",
        "object",
        "array",
        "string",
        "integer",
        "boolean",
        "bytes",
        "cid-link",
        "blob",
        "unknown",
        "ref",
        "union",
        "params",
        "null",
        "",
        "#nope",
        "lex:com.example.x",
        "datetime",
    ]
    .iter()
    .map(|s| json!(s))
    .collect();
    v.extend([
        json!(-1),
        json!(0),
        json!(1.5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
    ]);
    v
}

/// Every value reachable in `v`, by JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, e) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(e, p, out);
            }
        }
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(e, p, out);
            }
        }
        _ => {}
    }
}

/// Documents one edit away from `doc`: each position replaced by each replacement,
/// each object key removed, an unknown key added to each object, a definition renamed.
fn mutations(doc: &Value) -> Vec<Value> {
    let mut ps = Vec::new();
    pointers(doc, String::new(), &mut ps);
    let mut out = vec![doc.clone()];
    let reps = replacements();
    for p in &ps {
        for r in &reps {
            let mut d = doc.clone();
            if let Some(slot) = d.pointer_mut(p) {
                *slot = r.clone();
                out.push(d);
            }
        }
        // Remove the key or element.
        let (parent, last) = p.rsplit_once('/').unwrap();
        let mut d = doc.clone();
        let removed = match d.pointer_mut(parent) {
            Some(Value::Object(m)) => m
                .remove(&last.replace("~1", "/").replace("~0", "~"))
                .is_some(),
            Some(Value::Array(a)) => last.parse::<usize>().is_ok_and(|i| {
                a.remove(i);
                true
            }),
            _ => false,
        };
        if removed {
            out.push(d);
        }
        if let Some(Value::Object(_)) = doc.pointer(p) {
            let mut d = doc.clone();
            if let Some(Value::Object(m)) = d.pointer_mut(p) {
                m.insert("unexpectedField".into(), json!(1));
            }
            out.push(d);
        }
    }
    // Definitions under other names.
    if let Some(Value::Object(defs)) = doc.get("defs") {
        for (name, def) in defs {
            for new in ["other", "main", "bad name", "9lives"] {
                let mut d = doc.clone();
                if let Some(Value::Object(m)) = d.get_mut("defs") {
                    m.remove(name);
                    m.insert(new.into(), def.clone());
                }
                out.push(d);
            }
        }
    }
    out
}

/// Where atmo checks a rule of the lexicon spec that the reference parser does not look
/// at (it ignores most fields it has no use for), by atmo's reason.
const STRICTER: [(&str, &str); 20] = [
    (
        "is not '*' or a service reference",
        "permission sets: rpc aud",
    ),
    (
        "is not a MIME type pattern",
        "blob accept: MIME type patterns",
    ),
    ("is not an NSID or '*'", "permission sets: NSIDs"),
    ("a blob permission needs accept", "permission sets: blob"),
    (
        "a repo permission needs collections",
        "permission sets: repo",
    ),
    ("an rpc permission needs", "permission sets: rpc"),
    ("unknown permission resource", "permission sets: resources"),
    ("unknown repo action", "permission sets: repo actions"),
    ("an error name cannot be empty", "error names"),
    ("the encoding cannot be empty", "body encodings"),
    ("maxSize must be positive", "blob maxSize"),
    (
        "expected a non-negative integer",
        "lengths and sizes are non-negative",
    ),
    ("bad definition name", "definition names"),
    ("bad reference", "references are NSID#name or #name"),
    (
        "is not in properties",
        "required and nullable name properties",
    ),
    ("expected a boolean", "field types"),
    ("expected a string", "field types"),
    ("expected an array", "field types"),
    ("unknown record key type", "record key types"),
    (
        "names no definition of this document",
        "local references resolve (the reference parser checks them only when validating)",
    ),
];

/// A difference decided by the spec or the interop vectors, with the reason.
fn documented_difference(
    doc: &Value,
    reference_ok: bool,
    reference_error: &str,
    (atmo_path, atmo_reason): (&str, &str),
) -> Option<&'static str> {
    if reference_ok {
        if atmo_path.ends_with(".key") && atmo_reason == "required field is missing" {
            return Some("a record's key is required (lexicon spec)");
        }
        return STRICTER
            .iter()
            .find(|(needle, _)| atmo_reason.contains(needle))
            .map(|(_, why)| *why);
    }
    // The reference refuses a type at a position: look at what is there.
    let (path, msg) = reference_error.split_once(": ")?;
    let pointer: String = path.split('.').map(|p| format!("/{p}")).collect();
    let at = doc.pointer(&pointer);
    if msg.starts_with("Invalid discriminator value") {
        return match at.and_then(Value::as_str) {
            // The interop suite's valid lexicons have an inline object property.
            Some("object") => Some("inline object schemas (interop lexicon-valid.json)"),
            // `null` is a field type of the lexicon spec.
            Some("null") => Some("the null field type (lexicon spec)"),
            _ => None,
        };
    }
    // A body schema the reference cannot place: one with a `null` property.
    if msg == "Invalid input" && at.is_some_and(|v| v.to_string().contains(r#""type":"null""#)) {
        return Some("the null field type (lexicon spec)");
    }
    // "`message` (object, optional)" in the spec's subscription fields.
    if path.ends_with(".message") && msg == "Required" {
        return Some("a subscription's message is optional (lexicon spec)");
    }
    None
}

/// An error message without its JSON path and quoted values, to group differences.
fn category(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in msg.chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                out.push_str("\"_\"");
            }
        } else if !quoted {
            out.push(c);
        }
    }
    out.chars().take(100).collect()
}

#[test]
fn lexicon_document_rules_match_the_reference_parser() {
    if !oracle::available() {
        return;
    }
    let mut docs: Vec<String> = seeds()
        .iter()
        .flat_map(mutations)
        .map(|d| d.to_string())
        .collect();
    docs.sort();
    docs.dedup();
    let input = serde_json::to_string(&docs).unwrap();
    let lines = oracle::run("lexicon-oracle.mjs", &input);
    assert_eq!(lines.len(), docs.len());
    let mut diffs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut documented: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verdicts = [0usize; 2];
    for (doc, line) in docs.iter().zip(&lines) {
        let reference: Value = serde_json::from_str(line).unwrap();
        let want = reference["ok"].as_bool().unwrap();
        verdicts[usize::from(want)] += 1;
        let ours = LexiconDoc::from_json(doc);
        if ours.is_ok() == want {
            continue;
        }
        let (atmo_path, atmo_reason) = match &ours {
            Err(atmo_lexicon::Error::Doc(d)) => (d.path.clone(), d.reason.clone()),
            other => (String::new(), format!("{other:?}")),
        };
        let doc_value: Value = serde_json::from_str(doc).unwrap();
        let reference_error = reference["error"].as_str().unwrap_or_default();
        if let Some(reason) = documented_difference(
            &doc_value,
            want,
            reference_error,
            (&atmo_path, &atmo_reason),
        ) {
            *documented.entry(reason).or_default() += 1;
            continue;
        }
        let key = if want {
            let reason = match &ours {
                Err(atmo_lexicon::Error::Doc(d)) => d.reason.clone(),
                Err(e) => e.to_string(),
                Ok(_) => String::new(),
            };
            format!("reference accepts, atmo refuses: {}", category(&reason))
        } else {
            let msg = reference["error"].as_str().unwrap_or_default();
            let msg = msg.split_once(": ").map_or(msg, |(_, m)| m);
            format!("reference refuses ({}), atmo accepts", category(msg))
        };
        diffs
            .entry(key)
            .or_default()
            .push(doc.chars().take(300).collect());
    }
    eprintln!("reference verdicts [refused, accepted]: {verdicts:?}");
    if let Some(path) = std::env::var_os("ATMO_ORACLE_DUMP") {
        // Every document that differs, with the reference's answer, for a closer look.
        let all: Vec<String> = docs
            .iter()
            .zip(&lines)
            .filter(|(d, l)| {
                let want = l.contains("\"ok\":true");
                LexiconDoc::from_json(d).is_ok() != want
            })
            .map(|(d, l)| format!("{l}\t{d}"))
            .collect();
        std::fs::write(path, all.join("\n")).unwrap();
    }
    eprintln!("documented differences: {documented:#?}");
    let report: Vec<String> = diffs
        .iter()
        .map(|(k, v)| format!("{k}: {} documents, e.g. {}", v.len(), v[0]))
        .collect();
    assert!(
        report.is_empty(),
        "{}\n\n{}",
        report.len(),
        report.join("\n\n")
    );
    assert!(verdicts[0] > 100 && verdicts[1] > 100, "{verdicts:?}");
}
