//! `atmo repo`, run as a user would, on repositories written by the reference
//! implementation (crates/atmo-repo/tests/fixtures).

use std::path::PathBuf;
use std::process::{Command, Output};

use atmo_data::Value;

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

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../atmo-repo/tests/fixtures")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("atmo-cli-repo-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The jobs that made the fixtures, and the reference's answers.
fn jobs() -> Vec<(Value, Value)> {
    let jobs =
        atmo_data::json::from_slice(&std::fs::read(fixture("oracle-jobs.json")).unwrap()).unwrap();
    let expected = std::fs::read_to_string(fixture("oracle-expected.jsonl")).unwrap();
    jobs.as_array()
        .unwrap()
        .iter()
        .cloned()
        .zip(
            expected
                .lines()
                .map(|l| atmo_data::json::from_str(l).unwrap()),
        )
        .collect()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {k}"))
}

fn did_key(job: &Value) -> String {
    let curve = str_of(job, "curve").parse().unwrap();
    atmo_crypto::Keypair::from_private_key_hex(curve, str_of(job, "privateKeyHex"))
        .unwrap()
        .public_key()
        .to_did_key()
}

#[test]
fn ls_plain_json_and_collection() {
    let (job, _) = &jobs()[0];
    let n = job.get("records").unwrap().as_array().unwrap().len();
    let car = fixture("oracle-k256.car");
    let o = atmo(&["repo", "ls", &car]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), n);
    let paths: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "key order");

    let o = atmo(&["repo", "ls", &car, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let records = job.get("records").unwrap().as_array().unwrap();
    for line in stdout(&o).lines() {
        let v = atmo_data::json::from_str(line).unwrap();
        let path = str_of(&v, "path");
        let want = records.iter().find(|r| str_of(r, "path") == path).unwrap();
        assert_eq!(v.get("value"), want.get("value"), "{path}");
        let cid: atmo_data::Cid = str_of(&v, "cid").parse().unwrap();
        assert_eq!(
            cid,
            atmo_data::Cid::for_dag_cbor(&atmo_data::cbor::encode(v.get("value").unwrap()))
        );
    }

    let o = atmo(&["repo", "ls", &car, "--collection", "app.bsky.actor.profile"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(stdout(&o).starts_with("app.bsky.actor.profile/self\t"));
    let o = atmo(&["repo", "ls", &car, "--collection", "not an nsid"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn inspect_json_matches_the_reference() {
    for ((job, want), car) in jobs().iter().zip(["oracle-k256.car", "oracle-p256.car"]) {
        let o = atmo(&["repo", "inspect", &fixture(car), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = atmo_data::json::from_str(&stdout(&o)).unwrap();
        assert_eq!(str_of(&v, "commit"), str_of(want, "commit"));
        assert_eq!(str_of(&v, "data"), str_of(want, "data"));
        assert_eq!(str_of(&v, "did"), str_of(job, "did"));
        assert_eq!(str_of(&v, "rev"), str_of(job, "rev"));
        assert_eq!(v.get("version").and_then(Value::as_integer), Some(3));
        let n = job.get("records").unwrap().as_array().unwrap().len() as i64;
        assert_eq!(v.get("records").and_then(Value::as_integer), Some(n));
        assert!(v.get("blocks").and_then(Value::as_integer).unwrap() > n / 2);
        let total: i64 = v
            .get("collections")
            .unwrap()
            .as_map()
            .unwrap()
            .iter()
            .map(|(_, c)| c.as_integer().unwrap())
            .sum();
        assert_eq!(total, n);
        let o = atmo(&["repo", "inspect", &fixture(car)]);
        assert!(stdout(&o).contains(&format!("commit: {}", str_of(want, "commit"))));
    }
}

#[test]
fn verify_exit_codes() {
    let all = jobs();
    let car = fixture("oracle-p256.car");
    let o = atmo(&["repo", "verify", &car, "--key", &did_key(&all[1].0)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("signature verified"));
    let o = atmo(&["repo", "verify", &car]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("not checked"));
    // Another account's key.
    let o = atmo(&["repo", "verify", &car, "--key", &did_key(&all[0].0)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("signature"), "{}", stderr(&o));
    // A flipped byte in the last block.
    let mut bytes = std::fs::read(&car).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let bad = tmp("flipped.car");
    std::fs::write(&bad, &bytes).unwrap();
    let o = atmo(&["repo", "verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not match its CID"),
        "{}",
        stderr(&o)
    );
    // Truncated, garbage, missing.
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let o = atmo(&["repo", "verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(&bad, b"not a car at all").unwrap();
    for cmd in ["verify", "ls", "inspect"] {
        let o = atmo(&["repo", cmd, bad.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = atmo(&["repo", "verify", "/nonexistent/x.car"]);
    assert_eq!(o.status.code(), Some(1));
    // A key that does not parse is invalid input: exit 1, as `key verify` says for the
    // same key, with the same reason.
    for k in ["did:key:nope", "did:key:z", "garbage"] {
        let o = atmo(&["repo", "verify", &car, "--key", k]);
        assert_eq!(o.status.code(), Some(1), "{k}");
        assert!(
            stderr(&o).starts_with("error: invalid --key: "),
            "{}",
            stderr(&o)
        );
        let kv = atmo(&[
            "key",
            "verify",
            "--key",
            k,
            "--message-base64",
            "AA",
            "--signature-base64",
            "AA",
        ]);
        assert_eq!(kv.status.code(), Some(1), "{k}");
        assert_eq!(stderr(&kv), stderr(&o), "{k}");
    }
    // An empty varint after the multibase prefix is named as such.
    let o = atmo(&["repo", "verify", &car, "--key", "did:key:z"]);
    assert!(
        stderr(&o).contains("no multicodec prefix"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("0x0"), "{}", stderr(&o));
}

/// `repo diff` says which of the two repositories has the broken tree.
#[test]
fn diff_names_the_broken_side() {
    use atmo_crypto::{Curve, Keypair};
    let key = Keypair::from_private_key_hex(Curve::K256, &"11".repeat(32)).unwrap();
    let did = atmo_syntax::Did::new("did:plc:diffside").unwrap();
    let rev = atmo_syntax::Tid::new("3l3qo2vutsw2b").unwrap();
    let build = |n: usize| {
        let records = (0..n).map(|i| {
            (
                format!("app.bsky.feed.post/3l3qo2vut{i:04}"),
                atmo_data::json::from_str(&format!(r#"{{"n": {i}}}"#)).unwrap(),
            )
        });
        atmo_repo::build_repo(&did, &key, rev, records).unwrap()
    };
    let good = tmp("diff-good.car");
    std::fs::write(&good, &build(60).car).unwrap();
    // Another repository (one more record) without its second block, the tree's root.
    let other = build(61);
    let blocks: Vec<(atmo_data::Cid, Vec<u8>)> = atmo_repo::car::CarReader::new(&other.car)
        .unwrap()
        .map(|b| {
            let (cid, data) = b.unwrap();
            (cid, data.to_vec())
        })
        .collect();
    let kept = blocks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, (c, d))| (*c, d.as_slice()));
    let broken = tmp("diff-broken.car");
    std::fs::write(
        &broken,
        atmo_repo::car::write_car(&[other.commit_cid], kept),
    )
    .unwrap();
    let (g, b) = (good.to_str().unwrap(), broken.to_str().unwrap());
    let o = atmo(&["repo", "diff", g, b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{b} (the second repository)")),
        "{}",
        stderr(&o)
    );
    let o = atmo(&["repo", "diff", b, g]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{b} (the first repository)")),
        "{}",
        stderr(&o)
    );
}

fn write_jsonl(job: &Value, skip: usize) -> PathBuf {
    let mut text = String::new();
    for r in job
        .get("records")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .skip(skip)
    {
        text.push_str(&atmo_data::json::to_string(r));
        text.push('\n');
    }
    let p = tmp(&format!("records-{}-{skip}.jsonl", str_of(job, "curve")));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn build_gives_the_reference_commit() {
    for (job, want) in jobs() {
        let records = write_jsonl(&job, 0);
        let out = tmp(&format!("built-{}.car", str_of(&job, "curve")));
        let o = atmo(&[
            "repo",
            "build",
            "--records",
            records.to_str().unwrap(),
            "--did",
            str_of(&job, "did"),
            "--private-key-hex",
            str_of(&job, "privateKeyHex"),
            "--curve",
            str_of(&job, "curve"),
            "--rev",
            str_of(&job, "rev"),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("commit: {}", str_of(&want, "commit"))),
            "{}",
            stdout(&o)
        );
        let o = atmo(&[
            "repo",
            "verify",
            out.to_str().unwrap(),
            "--key",
            &did_key(&job),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

#[test]
fn build_rejects_bad_input() {
    let (job, _) = &jobs()[0];
    let bad = tmp("bad.jsonl");
    let out = tmp("bad.car");
    let run = |content: &str| {
        std::fs::write(&bad, content).unwrap();
        atmo(&[
            "repo",
            "build",
            "--records",
            bad.to_str().unwrap(),
            "--did",
            str_of(job, "did"),
            "--private-key-hex",
            str_of(job, "privateKeyHex"),
            "--curve",
            "k256",
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let o = run("{\"path\": \"app.bsky.feed.post/1\", \"value\": {\"a\": 1}}\nnot json\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    let o = run("{\"path\": \"nocollection\", \"value\": {}}\n");
    assert_eq!(o.status.code(), Some(1));
    let o = run("{\"path\": \"a.b.c/1\", \"value\": {}}\n{\"path\": \"a.b.c/1\", \"value\": {}}\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("duplicate"), "{}", stderr(&o));
    let o = run("{\"path\": \"a.b.c/1\", \"value\": 3}\n");
    assert_eq!(o.status.code(), Some(1));
    // A 3 MB record: `repo verify` (2 MiB blocks) could not read it back.
    let big = format!(
        "{{\"path\": \"a.b.c/1\", \"value\": {{\"t\": \"{}\"}}}}\n",
        "x".repeat(3 << 20)
    );
    let o = run(&big);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("more than the block limit"),
        "{}",
        stderr(&o)
    );
    // Empty input is an empty repository.
    let o = run("");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = atmo(&["repo", "inspect", out.to_str().unwrap(), "--json"]);
    let v = atmo_data::json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.get("records").and_then(Value::as_integer), Some(0));
}

#[test]
fn diff_two_repos() {
    let (job, _) = &jobs()[0];
    // B: the same records minus the first two, plus one changed value.
    let mut b_job = job.clone();
    if let Value::Map(m) = &mut b_job {
        let Some(Value::Array(records)) = m.get_mut("records") else {
            panic!()
        };
        records.drain(..2);
        if let Some(Value::Map(r)) = records.first_mut() {
            r.insert(
                "value",
                atmo_data::json::from_str(r#"{"$type": "x.y.z", "changed": true}"#).unwrap(),
            );
        }
    }
    let mut cars = Vec::new();
    for (name, j) in [("a", job), ("b", &b_job)] {
        let records = write_jsonl(j, 0);
        let records2 = tmp(&format!("diff-{name}.jsonl"));
        std::fs::rename(&records, &records2).unwrap();
        let out = tmp(&format!("diff-{name}.car"));
        let o = atmo(&[
            "repo",
            "build",
            "--records",
            records2.to_str().unwrap(),
            "--did",
            str_of(j, "did"),
            "--private-key-hex",
            str_of(j, "privateKeyHex"),
            "--curve",
            "k256",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        cars.push(out.display().to_string());
    }
    let o = atmo(&["repo", "diff", &cars[0], &cars[1]]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("- ")).count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("~ ")).count(),
        1,
        "{out}"
    );
    assert_eq!(out.lines().count(), 3);
    let o = atmo(&["repo", "diff", &cars[0], &cars[1], "--json"]);
    let ops: Vec<String> = stdout(&o)
        .lines()
        .map(|l| str_of(&atmo_data::json::from_str(l).unwrap(), "op").to_owned())
        .collect();
    assert_eq!(ops.iter().filter(|o| *o == "delete").count(), 2);
    assert_eq!(ops.iter().filter(|o| *o == "update").count(), 1);
    let o = atmo(&["repo", "diff", &cars[0], &cars[0]]);
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
}
