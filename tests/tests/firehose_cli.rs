//! The `atmo firehose` command end to end against the reference PDS's subscribeRepos,
//! checked against the CLI contract of issue 11: with `--json`, one JSON object per line
//! with `seq`, `type`, `did`, `time`; commits also carry `rev` and `ops`, each op
//! `{action, path: "collection/rkey", cid (or null), record (for creates and updates)}`.
//! Verification failures go to standard error as `rejected: ...` lines.
//!
//! Run with `tests/refnet/with cargo nextest run -p atmo-tests --test firehose_cli`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use atmo_api::com_atproto::repo::{create_record, delete_record, put_record};
use atmo_data::Value;
use atmo_syntax::{Did, Nsid};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{TestAccount, atmo_bin, test_account};
use serde_json::Value as Json;

const WAIT: Duration = Duration::from_secs(60);

const NOTE: &str = "com.example.note";
const OTHER: &str = "com.example.other";

fn record(collection: &str, n: u32) -> Value {
    atmo_data::json::record_from_str(&format!(r#"{{"$type":"{collection}","n":{n}}}"#)).unwrap()
}

fn did_of(a: &TestAccount) -> Did {
    a.did.parse().unwrap()
}

/// `createRecord` at `collection/rkey`: (cid, rev).
async fn create(a: &TestAccount, collection: &str, rkey: &str, n: u32) -> (String, String) {
    let nsid: Nsid = collection.parse().unwrap();
    let input = create_record::Input::new(did_of(a).into(), nsid, record(collection, n))
        .with_rkey(rkey.parse().unwrap());
    let out = a
        .client
        .call(input)
        .await
        .unwrap_or_else(|e| panic!("createRecord: {e}"));
    let rev = out.commit.expect("createRecord gives its commit").rev;
    (out.cid.to_string(), rev.to_string())
}

/// `putRecord` over an existing `collection/rkey`: (cid, rev).
async fn put(a: &TestAccount, collection: &str, rkey: &str, n: u32) -> (String, String) {
    let nsid: Nsid = collection.parse().unwrap();
    let input = put_record::Input::new(
        did_of(a).into(),
        nsid,
        rkey.parse().unwrap(),
        record(collection, n),
    );
    let out = a
        .client
        .call(input)
        .await
        .unwrap_or_else(|e| panic!("putRecord: {e}"));
    let rev = out.commit.expect("putRecord gives its commit").rev;
    (out.cid.to_string(), rev.to_string())
}

/// `deleteRecord` of `collection/rkey`: the rev.
async fn delete(a: &TestAccount, collection: &str, rkey: &str) -> String {
    let nsid: Nsid = collection.parse().unwrap();
    let input = delete_record::Input::new(did_of(a).into(), nsid, rkey.parse().unwrap());
    let out = a
        .client
        .call(input)
        .await
        .unwrap_or_else(|e| panic!("deleteRecord: {e}"));
    out.commit
        .expect("deleteRecord gives its commit")
        .rev
        .to_string()
}

/// Kills the child when dropped (a failed assertion must not leave it running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `atmo firehose --host <pds> --cursor 0 --json --verify full ARGS` and reads its
/// standard output, one line at a time, until `done` says so (at most [`WAIT`]). Returns
/// the lines and all of standard error (the child is stopped with SIGINT first, as
/// Ctrl-C would, and must exit cleanly naming the last seq).
fn firehose(
    net: &RefNet,
    args: &[&str],
    mut done: impl FnMut(&[Json]) -> bool,
) -> (Vec<Json>, String) {
    let mut cmd = Command::new(atmo_bin());
    cmd.args(["firehose", "--host", &net.pds, "--cursor", "0", "--json"])
        .args(["--verify", "full"])
        .args(args)
        .args(["--allow-private-network", "--plc", &net.plc])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Running(cmd.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + WAIT;
    let mut lines: Vec<Json> = Vec::new();
    let mut finished = false;
    while !finished {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let v: Json = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                lines.push(v);
                finished = done(&lines);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                drop(child);
                let err = err_reader.join().unwrap();
                panic!(
                    "timed out after {} lines: {lines:#?}\nstderr: {err}",
                    lines.len()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                drop(child);
                let err = err_reader.join().unwrap();
                panic!("atmo firehose ended early after {lines:#?}\nstderr: {err}");
            }
        }
    }
    // Ctrl-C: the command stops by itself, cleanly, and names the last seq on stderr.
    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success(), "kill -INT {pid}");
    let stop = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < stop,
            "atmo firehose still running 10 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(child);
    let err = err_reader.join().unwrap();
    assert!(
        status.success(),
        "exit {status} after SIGINT, stderr: {err}"
    );
    let printed = lines.last().and_then(|l| l["seq"].as_i64()).unwrap();
    let last: i64 = err
        .lines()
        .find_map(|l| l.strip_prefix("last seq: "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `last seq: N` on stderr: {err}"));
    assert!(
        last >= printed,
        "last seq {last} before printed seq {printed}"
    );
    (lines, err)
}

/// Every line has the fields of the contract; seqs strictly increase; every event with
/// an account is `did`'s. Returns nothing: panics on a violation.
fn check_lines(lines: &[Json], did: &str) {
    let mut last_seq = i64::MIN;
    for l in lines {
        let o = l
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {l}"));
        let seq = o
            .get("seq")
            .and_then(Json::as_i64)
            .unwrap_or_else(|| panic!("no integer seq: {l}"));
        assert!(seq > last_seq, "seq {seq} after {last_seq}: {l}");
        last_seq = seq;
        let ty = o
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or_else(|| panic!("no type: {l}"));
        assert!(
            ["commit", "sync", "identity", "account", "info"].contains(&ty),
            "type {ty}: {l}"
        );
        assert!(o.contains_key("did"), "no did: {l}");
        assert!(o.contains_key("time"), "no time: {l}");
        if ty != "info" {
            assert_eq!(o["did"].as_str(), Some(did), "another account: {l}");
            let time = o["time"]
                .as_str()
                .unwrap_or_else(|| panic!("no time string: {l}"));
            assert!(
                time.parse::<atmo_syntax::Datetime>().is_ok(),
                "time {time}: {l}"
            );
        }
        if ty == "commit" {
            assert!(o.get("rev").and_then(Json::as_str).is_some(), "no rev: {l}");
            let ops = o
                .get("ops")
                .and_then(Json::as_array)
                .unwrap_or_else(|| panic!("no ops: {l}"));
            for op in ops {
                let action = op["action"].as_str().unwrap_or_else(|| panic!("{l}"));
                assert!(
                    ["create", "update", "delete"].contains(&action),
                    "action {action}: {l}"
                );
                let path = op["path"].as_str().unwrap_or_else(|| panic!("{l}"));
                let (c, k) = path
                    .split_once('/')
                    .unwrap_or_else(|| panic!("path {path}"));
                assert!(c.parse::<Nsid>().is_ok() && !k.is_empty(), "path {path}");
                let cid = op.get("cid").unwrap_or_else(|| panic!("no cid: {l}"));
                let record = op.get("record").filter(|r| !r.is_null());
                if action == "delete" {
                    assert!(cid.is_null(), "a delete with a cid: {l}");
                    assert!(record.is_none(), "a delete with a record: {l}");
                } else {
                    assert!(cid.is_string(), "no cid: {l}");
                    assert!(record.is_some(), "no record for a {action}: {l}");
                }
            }
        }
    }
}

/// The index of the commit line with `rev`, if there is one.
fn commit_at(lines: &[Json], rev: &str) -> Option<usize> {
    lines
        .iter()
        .position(|l| l["type"] == "commit" && l["rev"].as_str() == Some(rev))
}

fn has_commit(lines: &[Json], rev: &str) -> bool {
    commit_at(lines, rev).is_some()
}

/// The single op of the commit with `rev`.
fn only_op<'a>(lines: &'a [Json], rev: &str) -> (usize, &'a Json) {
    let i = commit_at(lines, rev).unwrap_or_else(|| panic!("no commit {rev}: {lines:#?}"));
    let ops = lines[i]["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{}", lines[i]);
    (i, &ops[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firehose_json_lines_follow_the_contract() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "fc").await;
    let (cid1, rev1) = create(&a, NOTE, "a", 1).await;
    let (cid_b, rev_b) = create(&a, OTHER, "b", 10).await;
    let (cid2, rev2) = put(&a, NOTE, "a", 2).await;
    assert_ne!(cid1, cid2);
    let rev3 = delete(&a, NOTE, "a").await;
    let (cid_c, rev_c) = create(&a, OTHER, "c", 11).await;

    // Everything of this account, from the start.
    let (lines, err) = tokio::task::block_in_place(|| {
        firehose(net, &["--did", &a.did], |l| has_commit(l, &rev_c))
    });
    assert!(!err.contains("rejected"), "stderr: {err}");
    check_lines(&lines, &a.did);

    let first = |ty: &str| {
        lines
            .iter()
            .position(|l| l["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty} event: {lines:#?}"))
    };
    let identity = first("identity");
    let account = first("account");

    let (i1, op1) = only_op(&lines, &rev1);
    assert_eq!(op1["action"], "create");
    assert_eq!(op1["path"], format!("{NOTE}/a"));
    assert_eq!(op1["cid"].as_str(), Some(cid1.as_str()));
    assert_eq!(op1["record"], serde_json::json!({"$type": NOTE, "n": 1}));

    let (ib, opb) = only_op(&lines, &rev_b);
    assert_eq!(opb["action"], "create");
    assert_eq!(opb["path"], format!("{OTHER}/b"));
    assert_eq!(opb["cid"].as_str(), Some(cid_b.as_str()));
    assert_eq!(opb["record"], serde_json::json!({"$type": OTHER, "n": 10}));

    let (i2, op2) = only_op(&lines, &rev2);
    assert_eq!(op2["action"], "update");
    assert_eq!(op2["path"], format!("{NOTE}/a"));
    assert_eq!(op2["cid"].as_str(), Some(cid2.as_str()));
    assert_eq!(op2["record"], serde_json::json!({"$type": NOTE, "n": 2}));

    let (i3, op3) = only_op(&lines, &rev3);
    assert_eq!(op3["action"], "delete");
    assert_eq!(op3["path"], format!("{NOTE}/a"));
    assert!(op3["cid"].is_null(), "{op3}");
    assert!(op3.get("record").is_none_or(Json::is_null), "{op3}");

    let (ic, opc) = only_op(&lines, &rev_c);
    assert_eq!(opc["path"], format!("{OTHER}/c"));
    assert_eq!(opc["cid"].as_str(), Some(cid_c.as_str()));

    assert!(
        identity < i1 && account < i1 && i1 < ib && ib < i2 && i2 < i3 && i3 < ic,
        "out of order: identity {identity}, account {account}, writes {i1} {ib} {i2} {i3} {ic}"
    );

    // Only one collection: no op of another one, and its two creates are there.
    let (lines, err) = tokio::task::block_in_place(|| {
        firehose(net, &["--did", &a.did, "--collection", OTHER], |l| {
            has_commit(l, &rev_c)
        })
    });
    assert!(!err.contains("rejected"), "stderr: {err}");
    check_lines(&lines, &a.did);
    let paths: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "commit")
        .flat_map(|l| l["ops"].as_array().unwrap())
        .map(|op| op["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [format!("{OTHER}/b"), format!("{OTHER}/c")],
        "{lines:#?}"
    );
}
