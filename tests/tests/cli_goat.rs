//! The goat-parity commands of the `atmo` binary (issue 14): `tid inspect`, `repo unpack`,
//! `repo mst`, `repo import`, `blob ls`/`export`, and `account status`, `activate`,
//! `deactivate`, `update-handle`, `create`, `missing-blobs`, `check-handle`.
//!
//! The local commands run on CAR files made with `atmo repo build` (and hand-made hostile
//! ones); the network commands against the reference network with `--plc`,
//! `--handle-resolver` and `--allow-private-network`. `ATMO_REFNET=0` skips the latter
//! (loudly).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use atmo_api::com_atproto::repo::{create_record, upload_blob::UploadBlob};
use atmo_data::{Cid, Value};
use atmo_repo::Commit;
use atmo_repo::mst::{EntryData, NodeData};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{atmo_bin, temp_dir, test_account, unique};
use atmo_xrpc::{BinaryInput, Client};

/// Runs `atmo ARGS` with the session file `session`, extra environment and stdin.
fn atmo_in(session: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(atmo_bin())
        .args(args)
        .env("ATMO_SESSION_FILE", session)
        .env("XDG_STATE_HOME", session.parent().unwrap_or(session))
        .env_remove("ATMO_APP_PASSWORD")
        .env_remove("ATMO_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// `atmo ARGS` with no session and empty stdin (local commands).
fn local(args: &[&str]) -> Output {
    let dir = std::env::temp_dir();
    atmo_in(&dir.join("atmo-goat-no-session.json"), args, &[], b"")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn fails(out: &Output, code: i32, reason: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(reason), "stderr {err:?} lacks {reason:?}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---------------------------------------------------------------------------------------
// tid inspect

#[test]
fn tid_inspect_decodes_timestamp_and_clock_id() {
    // 2023-11-14T22:13:20.123456Z, clock id 17.
    let micros = 1_700_000_000_123_456u64;
    let tid = atmo_syntax::Tid::from_parts(micros, 17);
    let v = json(&local(&["tid", "inspect", tid.as_str(), "--json"]));
    assert_eq!(v["tid"], tid.as_str());
    assert_eq!(v["micros"], micros);
    assert_eq!(v["clockId"], 17);
    assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123456Z");

    let plain = stdout(&local(&["tid", "inspect", tid.as_str()]));
    assert_eq!(
        plain,
        format!(
            "tid: {}\ntimestamp: 2023-11-14T22:13:20.123456Z\nmicros: {micros}\nclockId: 17\n",
            tid.as_str()
        )
    );

    // The first TID of all: the epoch, clock 0.
    let v = json(&local(&["tid", "inspect", "2222222222222", "--json"]));
    assert_eq!(v["timestamp"], "1970-01-01T00:00:00.000Z");
    assert_eq!(v["clockId"], 0);

    // Not TIDs: exit 1 with the reason.
    fails(
        &local(&["tid", "inspect", "3jzfcijpj2z2"]),
        1,
        "3jzfcijpj2z2",
    );
    fails(
        &local(&["tid", "inspect", "zzzzzzzzzzzzz"]),
        1,
        "zzzzzzzzzzzzz",
    );
    // `atmo tid -n` still prints fresh TIDs.
    assert_eq!(stdout(&local(&["tid", "-n", "3"])).lines().count(), 3);
}

// ---------------------------------------------------------------------------------------
// repo unpack / repo mst on built CARs

/// A signing key for `repo build` (any scalar below the curve order).
const KEY_HEX: &str = "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c";
const DID: &str = "did:plc:abcdefghijklmnopqrstuvwx";

/// Builds a CAR of `n` notes and `n / 2` likes with `atmo repo build`; returns its path
/// and the record paths.
fn build_car(dir: &Path, n: usize) -> (std::path::PathBuf, BTreeSet<String>) {
    let mut lines = String::new();
    let mut paths = BTreeSet::new();
    for i in 0..n {
        let rkey = atmo_syntax::Tid::from_parts(1_700_000_000_000_000 + i as u64 * 1000, 3);
        let path = format!("com.example.note/{}", rkey.as_str());
        lines.push_str(&format!(
            r#"{{"path":"{path}","value":{{"$type":"com.example.note","n":{i},"text":"note {i}","raw":{{"$bytes":"AAEC"}}}}}}"#
        ));
        lines.push('\n');
        paths.insert(path);
        if i % 2 == 0 {
            let path = format!("com.example.like/k{i}");
            lines.push_str(&format!(
                r#"{{"path":"{path}","value":{{"$type":"com.example.like","n":{i}}}}}"#
            ));
            lines.push('\n');
            paths.insert(path);
        }
    }
    let records = dir.join("records.jsonl");
    std::fs::write(&records, lines).unwrap();
    let car = dir.join("repo.car");
    stdout(&local(&[
        "repo",
        "build",
        "--records",
        records.to_str().unwrap(),
        "--did",
        DID,
        "--private-key-hex",
        KEY_HEX,
        "--curve",
        "k256",
        "-o",
        car.to_str().unwrap(),
    ]));
    (car, paths)
}

/// Every file under `dir`, as paths relative to it with `/` separators.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                out.insert(rel.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn repo_unpack_writes_one_json_file_per_record() {
    let dir = temp_dir("goat-unpack");
    let (car, paths) = build_car(&dir, 40);
    let out_dir = dir.join("out");
    let o = out_dir.to_str().unwrap();
    let msg = stdout(&local(&["repo", "unpack", car.to_str().unwrap(), "-o", o]));
    assert!(
        msg.contains(&format!("unpacked {} records of {DID}", paths.len())),
        "{msg}"
    );

    let mut want: BTreeSet<String> = paths.iter().map(|p| format!("{p}.json")).collect();
    want.insert("_commit.json".into());
    assert_eq!(files_under(&out_dir), want);

    // Each file is the record as atproto JSON (bytes as $bytes), and reads back.
    let first = paths
        .iter()
        .find(|p| p.starts_with("com.example.note/"))
        .unwrap();
    let text = std::fs::read_to_string(out_dir.join(format!("{first}.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["$type"], "com.example.note");
    assert_eq!(v["raw"]["$bytes"], "AAEC");
    assert!(v["text"].as_str().unwrap().starts_with("note "));
    atmo_data::json::record_from_str(&text).unwrap();

    // The commit, with its data root as a link; the same as `repo inspect` says.
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("_commit.json")).unwrap())
            .unwrap();
    let inspect = json(&local(&[
        "repo",
        "inspect",
        car.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(c["did"], DID);
    assert_eq!(c["version"], 3);
    assert_eq!(c["data"]["$link"], inspect["data"]);
    assert_eq!(c["rev"], inspect["rev"]);
    assert!(c["sig"]["$bytes"].is_string());

    // Again into the same place: refused (nothing is overwritten) unless --force.
    fails(
        &local(&["repo", "unpack", car.to_str().unwrap(), "-o", o]),
        1,
        "already exists",
    );
    stdout(&local(&[
        "repo",
        "unpack",
        car.to_str().unwrap(),
        "-o",
        o,
        "--force",
    ]));
    assert_eq!(files_under(&out_dir), want);

    // A symlink where a collection directory goes is never written through.
    #[cfg(unix)]
    {
        let trap = dir.join("trap");
        std::fs::create_dir(&trap).unwrap();
        let out2 = dir.join("out2");
        std::fs::create_dir(&out2).unwrap();
        std::os::unix::fs::symlink(&trap, out2.join("com.example.like")).unwrap();
        fails(
            &local(&[
                "repo",
                "unpack",
                car.to_str().unwrap(),
                "-o",
                out2.to_str().unwrap(),
            ]),
            1,
            "symlink",
        );
        assert!(files_under(&trap).is_empty());
    }

    // Not a CAR: exit 1 naming the file.
    let junk = dir.join("junk.car");
    std::fs::write(&junk, b"\x0a\xa1\x65roots\x80garbage").unwrap();
    fails(
        &local(&["repo", "unpack", junk.to_str().unwrap(), "-o", o]),
        1,
        "junk.car",
    );
}

/// A CAR whose tree holds one record under `key` (no validity checks: hostile input).
fn hostile_car(key: &str) -> Vec<u8> {
    let record = note_block();
    let node = NodeData {
        left: None,
        entries: vec![EntryData {
            prefix_len: 0,
            key_suffix: key.as_bytes(),
            value: Cid::for_dag_cbor(&record),
            right: None,
        }],
    }
    .encode();
    car_of(&node, &[record])
}

/// A small record block.
fn note_block() -> Vec<u8> {
    atmo_data::cbor::encode(
        &atmo_data::json::record_from_str(r#"{"$type":"com.example.note","n":1}"#).unwrap(),
    )
}

/// A CAR with an unsigned-looking commit whose data root is the block `root`, plus
/// `blocks`.
fn car_of(root: &[u8], blocks: &[Vec<u8>]) -> Vec<u8> {
    let commit = Commit {
        did: DID.parse().unwrap(),
        version: 3,
        data: Cid::for_dag_cbor(root),
        rev: Some(atmo_syntax::Tid::from_parts(1_700_000_000_000_000, 0)),
        prev: None,
        sig: vec![7; 64],
    };
    let cbytes = commit.encode();
    let ccid = Cid::for_dag_cbor(&cbytes);
    let mut all: Vec<(Cid, &[u8])> =
        vec![(ccid, cbytes.as_slice()), (Cid::for_dag_cbor(root), root)];
    all.extend(blocks.iter().map(|b| (Cid::for_dag_cbor(b), b.as_slice())));
    atmo_repo::car::write_car(&[ccid], all)
}

#[test]
fn repo_mst_refuses_hostile_trees_with_the_node() {
    let dir = temp_dir("goat-mst-hostile");
    let record = note_block();
    let rcid = Cid::for_dag_cbor(&record);
    let entry = |prefix_len: usize, key: &'static [u8], right: Option<Cid>| EntryData {
        prefix_len,
        key_suffix: key,
        value: rcid,
        right,
    };
    // A leaf (`.../b` is on layer 0) shared by two pointers of its parent (`.../k1` is on
    // layer 1).
    let leaf = NodeData {
        left: None,
        entries: vec![entry(0, b"com.example.note/b", None)],
    }
    .encode();
    let leaf_cid = Cid::for_dag_cbor(&leaf);
    // (name, root node block, other blocks, what the error says)
    type Case = (&'static str, Vec<u8>, Vec<Vec<u8>>, String);
    let cases: Vec<Case> = vec![
        (
            "prefix",
            NodeData {
                left: None,
                entries: vec![entry(0, b"com.example.note/a", None), entry(40, b"b", None)],
            }
            .encode(),
            vec![record.clone()],
            "prefix length 40 is longer than the previous key".into(),
        ),
        (
            "utf8",
            NodeData {
                left: None,
                entries: vec![entry(0, b"com.example.note/\xff", None)],
            }
            .encode(),
            vec![record.clone()],
            "the key is not UTF-8".into(),
        ),
        (
            "twice",
            NodeData {
                left: Some(leaf_cid),
                entries: vec![entry(0, b"com.example.note/k1", Some(leaf_cid))],
            }
            .encode(),
            vec![record.clone(), leaf.clone()],
            format!("node {leaf_cid} appears twice"),
        ),
        (
            "layer0-subtree",
            NodeData {
                left: Some(leaf_cid),
                entries: vec![entry(0, b"com.example.note/b", None)],
            }
            .encode(),
            vec![record.clone(), leaf.clone()],
            "is on layer 0 but has subtrees".into(),
        ),
        ("not-a-node", note_block(), vec![], "is malformed".into()),
    ];
    for (name, root, blocks, want) in cases {
        let car = dir.join(format!("{name}.car"));
        std::fs::write(&car, car_of(&root, &blocks)).unwrap();
        let out = local(&["repo", "mst", car.to_str().unwrap()]);
        fails(&out, 1, &format!("{name}.car"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&want), "{name}: {err}");
        assert!(
            err.contains(&Cid::for_dag_cbor(&root).to_string()) || name == "twice",
            "{name}: {err}"
        );
    }

    // An empty repository: one empty root node.
    let empty = dir.join("empty.car");
    std::fs::write(&empty, car_of(&NodeData::default().encode(), &[])).unwrap();
    let text = stdout(&local(&["repo", "mst", empty.to_str().unwrap()]));
    assert!(text.ends_with("(empty)\n1 node, 0 records\n"), "{text}");
}

#[test]
fn repo_unpack_refuses_unsafe_paths() {
    let dir = temp_dir("goat-unsafe");
    let out = dir.join("out");
    for key in [
        "com.example.note/..",
        "../../escape/x",
        "com.example.note/a/../../../../escape",
        "/abs/x",
        "com.example.note/",
    ] {
        let car = dir.join("evil.car");
        std::fs::write(&car, hostile_car(key)).unwrap();
        let o = local(&[
            "repo",
            "unpack",
            car.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--force",
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{key}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("evil.car"), "{key}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!dir.join("escape").exists() && !Path::new("/abs").exists());
        // Only the commit file may have been written, inside the directory.
        for f in files_under(&out) {
            assert_eq!(f, "_commit.json", "{key}");
        }
    }
}

#[test]
fn repo_mst_prints_every_node_and_key() {
    let dir = temp_dir("goat-mst");
    let (car, paths) = build_car(&dir, 60);
    let c = car.to_str().unwrap();
    let v = json(&local(&["repo", "mst", c, "--json"]));
    let inspect = json(&local(&["repo", "inspect", c, "--json"]));
    assert_eq!(v["did"], DID);
    assert_eq!(v["root"], inspect["data"]);
    assert_eq!(v["commit"], inspect["commit"]);
    assert_eq!(v["records"], paths.len());
    assert_eq!(v["missing"], 0);

    let nodes = v["nodes"].as_array().unwrap();
    assert!(nodes.len() > 1, "90 keys make more than one node");
    assert_eq!(nodes[0]["cid"], v["root"]);
    assert_eq!(nodes[0]["depth"], 0);
    // Every key once, each on the layer its hash says, each node one layer below its parent.
    let mut keys = BTreeSet::new();
    let mut layer_of = std::collections::HashMap::new();
    for n in nodes {
        let layer = n["layer"].as_u64().unwrap();
        layer_of.insert(n["cid"].as_str().unwrap().to_owned(), layer);
        for e in n["entries"].as_array().unwrap() {
            let k = e["key"].as_str().unwrap();
            assert_eq!(
                u64::from(atmo_repo::mst::key_layer(k.as_bytes())),
                layer,
                "{k}"
            );
            assert!(keys.insert(k.to_owned()), "{k} twice");
            assert!(e["value"].as_str().unwrap().starts_with("bafyrei"));
        }
    }
    assert_eq!(keys, paths);
    for n in nodes {
        let layer = n["layer"].as_u64().unwrap();
        let children = std::iter::once(&n["left"])
            .chain(n["entries"].as_array().unwrap().iter().map(|e| &e["right"]));
        for child in children.filter(|c| !c.is_null()) {
            assert_eq!(layer_of[child.as_str().unwrap()] + 1, layer);
        }
    }
    // The same keys and CIDs as `repo ls`.
    let ls = stdout(&local(&["repo", "ls", c]));
    let from_ls: BTreeSet<String> = ls.lines().map(|l| l.replace('\t', " ")).collect();
    let from_mst: BTreeSet<String> = nodes
        .iter()
        .flat_map(|n| n["entries"].as_array().unwrap().iter())
        .map(|e| {
            format!(
                "{} {}",
                e["key"].as_str().unwrap(),
                e["value"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(from_ls, from_mst);

    // Plain: a line per node and per entry, indented by depth, and a summary.
    let plain = stdout(&local(&["repo", "mst", c]));
    let root = v["root"].as_str().unwrap();
    let first = plain.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("node {root} (layer ")),
        "{first}"
    );
    assert_eq!(
        plain
            .lines()
            .filter(|l| l.trim_start().starts_with("node "))
            .count(),
        nodes.len()
    );
    for p in &paths {
        assert!(plain.contains(&format!("  {p} bafyrei")), "{p}");
    }
    assert!(plain.ends_with(&format!("{} nodes, {} records\n", nodes.len(), paths.len())));

    // A subtree by --root.
    let sub = nodes[1]["cid"].as_str().unwrap();
    let v2 = json(&local(&["repo", "mst", c, "--root", sub, "--json"]));
    assert_eq!(v2["root"], sub);
    assert!(v2["records"].as_u64().unwrap() < paths.len() as u64);

    // A CAR without its tree nodes: the root is shown as missing.
    let bytes = std::fs::read(&car).unwrap();
    let reader = atmo_repo::CarBlockStore::from_car(&bytes).unwrap();
    let commit_cid = reader.roots()[0];
    let kept: Vec<(Cid, &[u8])> = reader.iter().filter(|(c, _)| *c == commit_cid).collect();
    let partial = dir.join("partial.car");
    std::fs::write(&partial, atmo_repo::car::write_car(&[commit_cid], kept)).unwrap();
    let v3 = json(&local(&[
        "repo",
        "mst",
        partial.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v3["missing"], 1);
    assert_eq!(v3["nodes"][0]["missing"], true);
    let plain = stdout(&local(&["repo", "mst", partial.to_str().unwrap()]));
    assert!(plain.contains("(missing from the CAR)"), "{plain}");

    // A tree whose key is not UTF-8 or truncated input: exit 1, no panic.
    let cut = dir.join("cut.car");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails(
        &local(&["repo", "mst", cut.to_str().unwrap()]),
        1,
        "cut.car",
    );
    fails(&local(&["repo", "mst", c, "--root", "nope"]), 2, "--root");
}

// ---------------------------------------------------------------------------------------
// lex lint / lex breaking

const LINT_BAD: &str = r##"{"lexicon":1,"id":"com.example.BadName","defs":{
 "main":{"type":"record","key":"tid","record":{"type":"object","required":["text"],"properties":{
   "text":{"type":"string","maxLength":300},
   "Bad_name":{"type":"string","maxLength":10,"maxGraphemes":20},
   "kind":{"type":"string","enum":["a","b"]},
   "u":{"type":"union","refs":["#x"],"closed":true},
   "editedAt":{"type":"string","maxLength":40,"maxGraphemes":40},
   "n":{"type":"integer","minimum":1,"maximum":5}
 }}},
 "x":{"type":"object","properties":{}},
 "Other_Def":{"type":"token","description":"t"}
}}"##;

const V1: &str = r##"{"lexicon":1,"id":"com.example.post","defs":{
 "main":{"type":"record","key":"tid","description":"A post.","record":{"type":"object","required":["text","createdAt"],"properties":{
   "text":{"type":"string","maxLength":3000,"maxGraphemes":300},
   "createdAt":{"type":"string","format":"datetime"},
   "lang":{"type":"string","knownValues":["en","fr"]},
   "tags":{"type":"array","items":{"type":"string","maxLength":640,"maxGraphemes":64},"maxLength":8},
   "mode":{"type":"string","enum":["x","y"]},
   "embed":{"type":"union","refs":["#images","com.example.link"]},
   "image":{"type":"blob","accept":["image/*"],"maxSize":1000000},
   "count":{"type":"integer","minimum":0,"maximum":100},
   "note":{"type":"string","maxLength":100,"maxGraphemes":10}
 }}},
 "images":{"type":"object","properties":{"alt":{"type":"string","maxLength":1000,"maxGraphemes":100}}},
 "oldToken":{"type":"token","description":"A token."}
}}"##;

/// `V1` edited by `f` (the document as JSON).
fn edited(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(V1).unwrap();
    f(&mut v);
    v.to_string()
}

#[test]
fn lex_lint_names_each_rule_that_fails() {
    let dir = temp_dir("goat-lint");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, LINT_BAD).unwrap();
    let b = bad.to_str().unwrap();
    let out = local(&["lex", "lint", b]);
    fails(&out, 1, "lint findings in 1 file");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut rules: Vec<&str> = text
        .lines()
        .map(|l| l.split(": ").nth(1).unwrap())
        .collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "camel-case",
            "camel-case",
            "camel-case",
            "datetime-format",
            "known-values",
            "limits-order",
            "main-description",
            "open-union",
            "string-graphemes",
        ],
        "{text}"
    );
    for want in [
        "camel-case: com.example.BadName#Other_Def: definition name \"Other_Def\"",
        "camel-case: com.example.BadName#main.Bad_name: property name",
        "camel-case: com.example.BadName: the NSID's name segment \"BadName\"",
        "limits-order: com.example.BadName#main.Bad_name: maxGraphemes 20 is greater than maxLength 10",
        "string-graphemes: com.example.BadName#main.text:",
        "known-values: com.example.BadName#main.kind:",
        "open-union: com.example.BadName#main.u:",
        "datetime-format: com.example.BadName#main.editedAt:",
        "main-description: com.example.BadName#main: the record has no description",
    ] {
        assert!(text.contains(&format!("{b}: {want}")), "{want}: {text}");
    }

    // --json and --skip.
    let out = local(&[
        "lex",
        "lint",
        b,
        "--json",
        "--skip",
        "camel-case",
        "--skip",
        "known-values",
    ]);
    fails(&out, 1, "5 lint findings");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines
            .iter()
            .all(|v| v["file"] == b && v["rule"] != "camel-case")
    );
    let limits = lines.iter().find(|v| v["rule"] == "limits-order").unwrap();
    assert_eq!(limits["path"], "com.example.BadName#main.Bad_name");
    fails(
        &local(&["lex", "lint", b, "--skip", "nope"]),
        2,
        "no such rule",
    );

    // A clean document, and official ones: exit 0, `FILE: ok`.
    let good = dir.join("good.json");
    std::fs::write(&good, V1).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lexicons");
    let post = root.join("app/bsky/feed/post.json");
    let like = root.join("app/bsky/feed/like.json");
    let text = stdout(&local(&[
        "lex",
        "lint",
        post.to_str().unwrap(),
        like.to_str().unwrap(),
    ]));
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": ok")).count(),
        2,
        "{text}"
    );
    // V1 keeps one closed enum (for the breaking-change test): one finding, or none when
    // that rule is skipped.
    let out = local(&["lex", "lint", good.to_str().unwrap()]);
    fails(&out, 1, "1 lint finding in 1 file");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("known-values: com.example.post#main.mode:")
    );
    let text = stdout(&local(&[
        "lex",
        "lint",
        good.to_str().unwrap(),
        "--skip",
        "known-values",
    ]));
    assert!(text.ends_with("good.json: ok\n"), "{text}");
    // Not a lexicon at all: exit 1 naming the file and the reason.
    let invalid = dir.join("invalid.json");
    std::fs::write(&invalid, r#"{"lexicon":1,"id":"com.example.x","defs":{"main":{"type":"record","record":{"type":"object","properties":{}}}}}"#).unwrap();
    fails(
        &local(&["lex", "lint", invalid.to_str().unwrap()]),
        1,
        "not a valid lexicon",
    );
}

#[test]
fn lex_breaking_lists_each_breaking_change() {
    let dir = temp_dir("goat-breaking");
    let old = dir.join("v1.json");
    std::fs::write(&old, V1).unwrap();
    let o = old.to_str().unwrap();
    let check = |name: &str, doc: String| -> Output {
        let p = dir.join(name);
        std::fs::write(&p, doc).unwrap();
        local(&["lex", "breaking", o, p.to_str().unwrap()])
    };

    let v2 = edited(|v| {
        let rec = &mut v["defs"]["main"]["record"];
        let p = &mut rec["properties"];
        p["text"]["maxGraphemes"] = 200.into();
        p.as_object_mut().unwrap().remove("lang");
        p["title"] = serde_json::json!({"type":"string","maxLength":100,"maxGraphemes":10});
        p["tags"]["maxLength"] = 4.into();
        p["embed"]["refs"] = serde_json::json!(["#images"]);
        p["image"]["accept"] = serde_json::json!(["image/png"]);
        p["count"] = serde_json::json!({"type":"string"});
        p["mode"]["enum"] = serde_json::json!(["x"]);
        rec["required"] = serde_json::json!(["text", "createdAt", "title", "note"]);
        v["defs"].as_object_mut().unwrap().remove("oldToken");
    });
    let out = check("v2.json", v2);
    fails(&out, 1, "10 breaking changes");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let want = [
        "com.example.post#main.count: type changed from integer to string",
        "com.example.post#main.embed: union variant com.example.link#main removed",
        "com.example.post#main.image: accepted type \"image/*\" removed",
        "com.example.post#main.lang: field removed",
        "com.example.post#main.mode: enum value \"y\" removed",
        "com.example.post#main.note: field became required",
        "com.example.post#main.tags: maxLength lowered from 8 to 4",
        "com.example.post#main.text: maxGraphemes lowered from 300 to 200",
        "com.example.post#main.title: new required field",
        "com.example.post#oldToken: definition removed",
    ];
    let mut got: Vec<&str> = text.lines().collect();
    got.sort_unstable();
    assert_eq!(got, want);

    // Widening is not breaking: new optional fields and definitions, relaxed limits,
    // more known or enum values, more union variants, more accepted types.
    let v3 = edited(|v| {
        let p = &mut v["defs"]["main"]["record"]["properties"];
        p["text"]["maxGraphemes"] = 500.into();
        p["text"]["maxLength"] = 5000.into();
        p["extra"] = serde_json::json!({"type":"string","maxLength":10,"maxGraphemes":10});
        p["lang"]["knownValues"] = serde_json::json!(["en", "fr", "de"]);
        p["mode"]["enum"] = serde_json::json!(["x", "y", "z"]);
        p["embed"]["refs"] =
            serde_json::json!(["#images", "com.example.link", "com.example.video"]);
        p["image"]["accept"] = serde_json::json!(["image/*", "video/mp4"]);
        p["count"]["maximum"] = 1000.into();
        v["defs"]["newDef"] = serde_json::json!({"type":"token","description":"New."});
    });
    let out = check("v3.json", v3);
    assert_eq!(stdout(&out), "no breaking changes in com.example.post\n");
    assert!(stdout(&local(&["lex", "breaking", o, o])).contains("no breaking changes"));

    // Narrowing in other places: a closed union, a format, a const, a minimum, blob size,
    // a nested object, an array's items, a changed ref.
    let v4 = edited(|v| {
        let p = &mut v["defs"]["main"]["record"]["properties"];
        p["embed"]["closed"] = true.into();
        p["note"]["format"] = "uri".into();
        p["count"]["minimum"] = 1.into();
        p["count"]["const"] = 5.into();
        p["image"]["maxSize"] = 1000.into();
        p["tags"]["items"]["maxGraphemes"] = 32.into();
        v["defs"]["images"]["properties"]["alt"]["minLength"] = 1.into();
    });
    let out = check("v4.json", v4);
    fails(&out, 1, "7 breaking changes");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for w in [
        "#main.embed: union closed",
        "#main.note: format \"uri\" added",
        "#main.count: minimum raised from 0 to 1",
        "#main.count: const 5 added",
        "#main.image: maxSize lowered from 1000000 to 1000",
        "#main.tags[]: maxGraphemes lowered from 64 to 32",
        "#images.alt: minLength 1 added",
    ] {
        assert!(text.contains(w), "{w}: {text}");
    }

    // Queries: a new required parameter, a removed output, a changed input encoding.
    let q1 = r##"{"lexicon":1,"id":"com.example.get","defs":{"main":{"type":"procedure","description":"d",
      "parameters":{"type":"params","properties":{"limit":{"type":"integer"}}},
      "input":{"encoding":"application/json","schema":{"type":"object","properties":{}}},
      "output":{"encoding":"application/json","schema":{"type":"ref","ref":"#out"}}},
      "out":{"type":"object","properties":{"a":{"type":"string"}}}}}"##;
    let q2 = r##"{"lexicon":1,"id":"com.example.get","defs":{"main":{"type":"procedure","description":"d",
      "parameters":{"type":"params","required":["cursor"],"properties":{"limit":{"type":"integer"},"cursor":{"type":"string"}}},
      "input":{"encoding":"*/*"}},
      "out":{"type":"object","properties":{"a":{"type":"string"}}}}}"##;
    let a = dir.join("q1.json");
    let b = dir.join("q2.json");
    std::fs::write(&a, q1).unwrap();
    std::fs::write(&b, q2).unwrap();
    let out = local(&[
        "lex",
        "breaking",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
    ]);
    fails(&out, 1, "breaking change");
    let got: BTreeSet<(String, String)> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["path"].as_str().unwrap().to_owned(),
                v["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let p = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        got,
        BTreeSet::from([
            p(
                "com.example.get#main.parameters.cursor",
                "new required field"
            ),
            p(
                "com.example.get#main.input",
                "encoding changed from \"application/json\" to \"*/*\""
            ),
            p("com.example.get#main.input", "schema removed"),
            p("com.example.get#main.output", "removed"),
        ])
    );

    // Another lexicon, or not a lexicon: exit 1 saying so.
    let other = check(
        "other.json",
        V1.replace("com.example.post", "com.example.other"),
    );
    fails(&other, 1, "1 breaking change");
    assert!(
        String::from_utf8_lossy(&other.stdout)
            .contains("id changed from com.example.post to com.example.other")
    );
    fails(&check("junk.json", "{".into()), 1, "junk.json");
}

// ---------------------------------------------------------------------------------------
// Against the reference network

fn net_args(net: &RefNet) -> Vec<String> {
    vec![
        "--plc".into(),
        net.plc.clone(),
        "--handle-resolver".into(),
        net.pds.clone(),
        "--allow-private-network".into(),
    ]
}

/// `atmo ARGS <net args>` as the account whose session is in `session`.
fn net_cmd(
    net: &RefNet,
    session: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &[u8],
) -> Output {
    let na = net_args(net);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(na.iter().map(String::as_str));
    atmo_in(session, &all, env, stdin)
}

/// Logs in `handle` with `password`, keeping the session in `session`.
fn login(net: &RefNet, session: &Path, handle: &str, password: &str) {
    stdout(&net_cmd(
        net,
        session,
        &["login", handle],
        &[("ATMO_APP_PASSWORD", password)],
        b"",
    ));
}

async fn create(client: &Client, collection: &str, rkey: &str, record: &Value) {
    let did = client.auth().account_did().unwrap();
    let input = create_record::Input::new(did.into(), collection.parse().unwrap(), record.clone())
        .with_rkey(rkey.parse().unwrap());
    client.call(&input).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_import_and_account_lifecycle() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let dir = temp_dir("goat-net");

    // Alice: three notes and two records holding blobs, made with the library.
    let alice = test_account(&net.pds, "ga-").await;
    for i in 0..3 {
        let v =
            atmo_data::json::record_from_str(&format!(r#"{{"$type":"com.example.note","n":{i}}}"#))
                .unwrap();
        create(&alice.client, "com.example.note", &format!("n{i}"), &v).await;
    }
    let mut blobs = BTreeSet::new();
    let mut datas = Vec::new();
    for (i, len) in [(0u8, 5000usize), (1, 70_000)] {
        let data: Vec<u8> = (0..len)
            .map(|j| (j as u8).wrapping_mul(31).wrapping_add(i))
            .collect();
        let body = BinaryInput::new(data.clone()).content_type("application/octet-stream");
        let blob = alice.client.call((UploadBlob, body)).await.unwrap().blob;
        let holder = atmo_data::json::record_from_str(&format!(
            r#"{{"$type":"com.example.blobholder","blob":{}}}"#,
            atmo_data::json::to_string(&blob.to_value())
        ))
        .unwrap();
        create(
            &alice.client,
            "com.example.blobholder",
            &format!("b{i}"),
            &holder,
        )
        .await;
        let cid = Cid::for_raw(&data).to_string();
        blobs.insert(cid.clone());
        datas.push((cid, data));
    }

    let nobody = dir.join("nobody.json");
    let sa = dir.join("alice.json");
    login(net, &sa, &alice.handle, &alice.password);

    // blob ls: by handle, no session needed.
    let v = json(&net_cmd(
        net,
        &nobody,
        &["blob", "ls", &alice.handle, "--json"],
        &[],
        b"",
    ));
    assert_eq!(v["did"], alice.did);
    let listed: BTreeSet<String> = v["cids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, blobs);
    let plain = stdout(&net_cmd(
        net,
        &nobody,
        &["blob", "ls", &alice.did],
        &[],
        b"",
    ));
    assert_eq!(
        plain.lines().map(str::to_owned).collect::<BTreeSet<_>>(),
        blobs
    );

    // blob export: each file named by its CID holds its bytes; a second run keeps them;
    // a corrupted file is fetched again.
    let bdir = dir.join("blobs");
    let b = bdir.to_str().unwrap();
    let v = json(&net_cmd(
        net,
        &nobody,
        &["blob", "export", &alice.handle, "-o", b, "--json"],
        &[],
        b"",
    ));
    assert_eq!(
        (
            v["blobs"].as_u64(),
            v["downloaded"].as_u64(),
            v["present"].as_u64()
        ),
        (Some(2), Some(2), Some(0))
    );
    for (cid, data) in &datas {
        assert!(std::fs::read(bdir.join(cid)).unwrap() == *data, "{cid}");
    }
    assert_eq!(files_under(&bdir), blobs);
    std::fs::write(bdir.join(&datas[0].0), b"tampered").unwrap();
    let plain = stdout(&net_cmd(
        net,
        &nobody,
        &["blob", "export", &alice.did, "-o", b],
        &[],
        b"",
    ));
    assert!(
        plain.contains("1 downloaded, 1 already present, 0 failed"),
        "{plain}"
    );
    assert!(std::fs::read(bdir.join(&datas[0].0)).unwrap() == datas[0].1);

    // account status / missing-blobs for Alice.
    let st = json(&net_cmd(
        net,
        &sa,
        &["account", "status", "--json"],
        &[],
        b"",
    ));
    assert_eq!(st["did"], alice.did);
    assert_eq!(st["activated"], true);
    assert_eq!(st["validDid"], true);
    assert_eq!(st["indexedRecords"], 5);
    assert_eq!(st["expectedBlobs"], 2);
    assert_eq!(st["importedBlobs"], 2);
    let plain = stdout(&net_cmd(net, &sa, &["account", "status"], &[], b""));
    assert!(
        plain.starts_with(&format!("did: {}\npds: ", alice.did)),
        "{plain}"
    );
    assert!(plain.contains("activated: true\n"), "{plain}");
    assert_eq!(
        stdout(&net_cmd(net, &sa, &["account", "missing-blobs"], &[], b"")),
        ""
    );

    // repo import: Alice's repository into a fresh account Bob; his records are hers now,
    // and her blobs are what his PDS misses.
    let car = dir.join("alice.car");
    stdout(&net_cmd(
        net,
        &nobody,
        &["repo", "export", &alice.handle, "-o", car.to_str().unwrap()],
        &[],
        b"",
    ));
    let bob = test_account(&net.pds, "gb-").await;
    let sb = dir.join("bob.json");
    login(net, &sb, &bob.handle, &bob.password);
    let msg = stdout(&net_cmd(
        net,
        &sb,
        &["repo", "import", car.to_str().unwrap()],
        &[],
        b"",
    ));
    assert!(
        msg.contains(&format!("imported 5 records (repository of {}", alice.did)),
        "{msg}"
    );
    assert!(msg.contains(&format!("into {}", bob.did)), "{msg}");
    let got = json(&net_cmd(
        net,
        &nobody,
        &[
            "record",
            "get",
            &format!("at://{}/com.example.note/n2", bob.did),
            "--json",
        ],
        &[],
        b"",
    ));
    assert_eq!(got["value"]["n"], 2);
    let st = json(&net_cmd(
        net,
        &sb,
        &["account", "status", "--json"],
        &[],
        b"",
    ));
    assert_eq!(st["indexedRecords"], 5);
    assert_eq!(st["expectedBlobs"], 2);
    assert_eq!(st["importedBlobs"], 0);
    let missing = stdout(&net_cmd(
        net,
        &sb,
        &["account", "missing-blobs", "--json"],
        &[],
        b"",
    ));
    let mut seen = BTreeSet::new();
    for l in missing.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(
            v["recordUri"]
                .as_str()
                .unwrap()
                .starts_with(&format!("at://{}/com.example.blobholder/b", bob.did))
        );
        seen.insert(v["cid"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, blobs);
    // Bob's PDS lists the blobs his records reference but cannot serve them: export
    // fetches what it can and fails naming them. Once uploaded (as in a move), nothing is
    // missing and the export is whole.
    let bob_blobs = dir.join("bob-blobs");
    let out = net_cmd(
        net,
        &nobody,
        &[
            "blob",
            "export",
            &bob.did,
            "-o",
            bob_blobs.to_str().unwrap(),
            "--json",
        ],
        &[],
        b"",
    );
    fails(&out, 1, "2 of 2 blobs could not be downloaded");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: BTreeSet<String> = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failed, blobs);
    assert!(files_under(&bob_blobs).is_empty());
    for (_, data) in &datas {
        let body = BinaryInput::new(data.clone()).content_type("application/octet-stream");
        bob.client.call((UploadBlob, body)).await.unwrap();
    }
    assert_eq!(
        stdout(&net_cmd(net, &sb, &["account", "missing-blobs"], &[], b"")),
        ""
    );
    let v = json(&net_cmd(
        net,
        &nobody,
        &[
            "blob",
            "export",
            &bob.did,
            "-o",
            bob_blobs.to_str().unwrap(),
            "--json",
        ],
        &[],
        b"",
    ));
    assert_eq!(v["downloaded"], 2);
    assert_eq!(v["failed"].as_array().map(Vec::len), Some(0));
    assert_eq!(files_under(&bob_blobs), blobs);

    // Not a CAR: refused before anything is sent.
    let junk = dir.join("junk.car");
    std::fs::write(&junk, b"not a car").unwrap();
    fails(
        &net_cmd(
            net,
            &sb,
            &["repo", "import", junk.to_str().unwrap()],
            &[],
            b"",
        ),
        1,
        "junk.car",
    );

    // deactivate / activate.
    let msg = stdout(&net_cmd(net, &sb, &["account", "deactivate"], &[], b""));
    assert_eq!(msg.trim(), format!("deactivated {}", bob.did));
    let st = json(&net_cmd(
        net,
        &sb,
        &["account", "status", "--json"],
        &[],
        b"",
    ));
    assert_eq!(st["activated"], false);
    stdout(&net_cmd(net, &sb, &["account", "activate"], &[], b""));
    let st = json(&net_cmd(
        net,
        &sb,
        &["account", "status", "--json"],
        &[],
        b"",
    ));
    assert_eq!(st["activated"], true);

    // update-handle, then check-handle both ways.
    let new_handle = format!("{}.test", unique("gn-"));
    let msg = stdout(&net_cmd(
        net,
        &sb,
        &["account", "update-handle", &new_handle],
        &[],
        b"",
    ));
    assert_eq!(msg.trim(), format!("{} is now {new_handle}", bob.did));
    let v = json(&net_cmd(
        net,
        &nobody,
        &["account", "check-handle", &new_handle, "--json"],
        &[],
        b"",
    ));
    assert_eq!(v["valid"], true);
    assert_eq!(v["did"], bob.did);
    assert_eq!(v["claimedHandle"], new_handle.as_str());
    let plain = stdout(&net_cmd(
        net,
        &nobody,
        &["account", "check-handle", &new_handle],
        &[],
        b"",
    ));
    assert!(
        plain.starts_with(&format!(
            "valid: {new_handle} -> {} -> at://{new_handle}",
            bob.did
        )),
        "{plain}"
    );
    // The old handle no longer resolves: not valid, exit 1, the reason on stderr (and a
    // JSON verdict on stdout with --json).
    let old = net_cmd(
        net,
        &nobody,
        &["account", "check-handle", &bob.handle, "--json"],
        &[],
        b"",
    );
    fails(&old, 1, "is not valid");
    let v: serde_json::Value = serde_json::from_slice(&old.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("does not resolve"));
    fails(
        &net_cmd(
            net,
            &nobody,
            &["account", "check-handle", "not a handle"],
            &[],
            b"",
        ),
        2,
        "not a handle",
    );

    // Session commands without a session: exit 1 saying to log in.
    fails(
        &net_cmd(net, &nobody, &["account", "status"], &[], b""),
        1,
        "not logged in",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_create_on_a_pds() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let dir = temp_dir("goat-create");
    let nobody = dir.join("nobody.json");

    // Password from the environment; plain output is the DID.
    let handle = format!("{}.test", unique("gc-"));
    let out = stdout(&net_cmd(
        net,
        &nobody,
        &[
            "account",
            "create",
            "--pds",
            &net.pds,
            "--handle",
            &handle,
            "--email",
            &format!("{handle}@example.com"),
        ],
        &[("ATMO_PASSWORD", "correct horse battery")],
        b"",
    ));
    let did = out.trim().to_owned();
    assert!(did.starts_with("did:plc:"), "{out}");
    assert!(!nobody.exists(), "create does not log in");
    // The account exists with that password: login works and the handle resolves to it.
    let s = dir.join("s.json");
    login(net, &s, &handle, "correct horse battery");
    let who = json(&net_cmd(
        net,
        &nobody,
        &["account", "check-handle", &handle, "--json"],
        &[],
        b"",
    ));
    assert_eq!(who["did"], did.as_str());

    // Password on standard input, JSON output.
    let handle2 = format!("{}.test", unique("gc-"));
    let v = json(&net_cmd(
        net,
        &nobody,
        &[
            "account",
            "create",
            "--pds",
            &net.pds,
            "--handle",
            &handle2,
            "--email",
            &format!("{handle2}@example.com"),
            "--json",
        ],
        &[],
        b"another secret\n",
    ));
    assert_eq!(v["handle"], handle2.as_str());
    assert!(v["did"].as_str().unwrap().starts_with("did:plc:"));
    login(net, &dir.join("s2.json"), &handle2, "another secret");

    // The same handle again: the PDS refuses, exit 1 with its reason.
    fails(
        &net_cmd(
            net,
            &nobody,
            &[
                "account",
                "create",
                "--pds",
                &net.pds,
                "--handle",
                &handle2,
                "--email",
                "x@example.com",
            ],
            &[("ATMO_PASSWORD", "pw")],
            b"",
        ),
        1,
        "cannot create the account",
    );
    // No --pds, no password, a bad handle: usage errors.
    fails(
        &net_cmd(
            net,
            &nobody,
            &["account", "create", "--handle", "x.test"],
            &[("ATMO_PASSWORD", "pw")],
            b"",
        ),
        2,
        "--pds",
    );
    fails(
        &net_cmd(
            net,
            &nobody,
            &["account", "create", "--pds", &net.pds, "--handle", "y.test"],
            &[],
            b"",
        ),
        2,
        "no password",
    );
    fails(
        &net_cmd(
            net,
            &nobody,
            &[
                "account",
                "create",
                "--pds",
                &net.pds,
                "--handle",
                "bad_handle!",
            ],
            &[("ATMO_PASSWORD", "pw")],
            b"",
        ),
        2,
        "not a handle",
    );
}
