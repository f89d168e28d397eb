//! The official MST and commit-proof interop vectors (tests/interop at the workspace root).

use std::path::PathBuf;

use atmo_data::Cid;
use atmo_repo::mst::{self, Mst};
use atmo_repo::{BlockStore, MemoryBlockStore};
use serde_json::Value as Json;

fn interop(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn json(rel: &str) -> Json {
    serde_json::from_str(&interop(rel)).expect("valid JSON")
}

#[test]
fn key_heights() {
    let cases = json("mst/key_heights.json");
    let cases = cases.as_array().expect("array");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in cases {
        let key = c["key"].as_str().expect("key");
        let want = c["height"].as_u64().expect("height");
        let got = u64::from(mst::key_layer(key.as_bytes()));
        if got != want {
            failures.push(format!("{key:?}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn common_prefix() {
    let cases = json("mst/common_prefix.json");
    let cases = cases.as_array().expect("array");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in cases {
        let (l, r) = (
            c["left"].as_str().expect("left"),
            c["right"].as_str().expect("right"),
        );
        let want = c["len"].as_u64().expect("len") as usize;
        let got = mst::common_prefix_len(l.as_bytes(), r.as_bytes());
        if got != want {
            failures.push(format!("{l:?} / {r:?}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Each example key is `<letter><layer>/<digits>`: the digit after the letter is the key's
/// layer. A tree built from all of them walks back in order and finds every key.
#[test]
fn example_keys() {
    let text = interop("mst/example_keys.txt");
    let keys: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(keys.len() > 50);
    let mut failures = Vec::new();
    for k in &keys {
        let want = k.as_bytes()[1] - b'0';
        let got = mst::key_layer(k.as_bytes());
        if got != want {
            failures.push(format!("{k}: layer {got}, name says {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    let leaf = Cid::for_dag_cbor(b"\xa0");
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    let built = mst::build_any_keys(sorted.iter().map(|k| (k.clone(), leaf))).unwrap();
    let mut store = MemoryBlockStore::new();
    for (cid, bytes) in built.blocks {
        assert_eq!(store.put_dag_cbor(bytes), cid);
    }
    let tree = Mst::new(&store, built.root).any_keys();
    let walked: Vec<String> = tree.walk().map(|r| r.unwrap().0).collect();
    assert_eq!(walked, sorted);
    for k in &sorted {
        assert_eq!(tree.get(k).unwrap(), Some(leaf), "{k}");
    }
    assert_eq!(tree.get("A0/000000").unwrap(), None);
    // Strict mode rejects these keys: they are not collection/rkey paths.
    let strict = Mst::new(&store, built.root);
    assert!(matches!(
        strict.walk().find_map(Result::err),
        Some(atmo_repo::MstError::InvalidKey { .. })
    ));
}

/// The trees before and after each commit of the sync 1.1 proof fixtures have the roots
/// the fixtures give.
#[test]
fn commit_proof_fixture_roots() {
    let cases = json("firehose/commit-proof-fixtures.json");
    let cases = cases.as_array().expect("array");
    assert!(!cases.is_empty());
    let strs = |v: &Json| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    };
    let mut failures = Vec::new();
    for c in cases {
        let comment = c["comment"].as_str().unwrap();
        let leaf: Cid = c["leafValue"].as_str().unwrap().parse().unwrap();
        let mut keys = strs(&c["keys"]);
        keys.sort();
        let before = mst::build_any_keys(keys.iter().map(|k| (k.clone(), leaf))).unwrap();
        if before.root.to_string() != c["rootBeforeCommit"].as_str().unwrap() {
            failures.push(format!("{comment}: root before {}", before.root));
        }
        let dels = strs(&c["dels"]);
        keys.retain(|k| !dels.contains(k));
        keys.extend(strs(&c["adds"]));
        keys.sort();
        let after = mst::build_any_keys(keys.iter().map(|k| (k.clone(), leaf))).unwrap();
        if after.root.to_string() != c["rootAfterCommit"].as_str().unwrap() {
            failures.push(format!("{comment}: root after {}", after.root));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The sync 1.1 commit-proof fixtures, through the editor: applying the adds and deletes
/// to the stored "before" tree gives the "after" root; the proof for the changed keys in
/// the new tree holds exactly `blocksInProof`; and that proof alone is enough to undo
/// the operations, in every order, back to the "before" root.
#[test]
fn commit_proof_fixtures_edit_prove_and_invert() {
    let cases = json("firehose/commit-proof-fixtures.json");
    let cases = cases.as_array().expect("array");
    let strs = |v: &Json| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    };
    for c in cases {
        let comment = c["comment"].as_str().unwrap();
        let leaf: Cid = c["leafValue"].as_str().unwrap().parse().unwrap();
        let mut keys = strs(&c["keys"]);
        keys.sort();
        let (adds, dels) = (strs(&c["adds"]), strs(&c["dels"]));
        let before = mst::build_any_keys(keys.iter().map(|k| (k.clone(), leaf))).unwrap();
        let mut store = MemoryBlockStore::new();
        for (cid, bytes) in &before.blocks {
            assert!(store.insert(*cid, bytes.clone()));
        }
        let mut ed = mst::Editor::new(&store, before.root).unwrap().any_keys();
        for k in &adds {
            assert_eq!(ed.insert(k, leaf).unwrap(), None, "{comment}");
        }
        for k in &dels {
            assert_eq!(ed.remove(k).unwrap(), Some(leaf), "{comment}");
        }
        let edited = ed.finish();
        assert_eq!(
            edited.root.to_string(),
            c["rootAfterCommit"].as_str().unwrap(),
            "{comment}"
        );
        let mut after = store.clone();
        for (cid, bytes) in &edited.blocks {
            assert!(after.insert(*cid, bytes.clone()));
        }
        let changed: Vec<&str> = adds.iter().chain(&dels).map(String::as_str).collect();
        let proof = Mst::new(&after, edited.root)
            .proof(changed.clone())
            .unwrap();
        let mut got: Vec<String> = proof.iter().map(Cid::to_string).collect();
        let mut want = strs(&c["blocksInProof"]);
        got.sort();
        want.sort();
        assert_eq!(got, want, "{comment}: proof blocks");

        let mut partial = MemoryBlockStore::new();
        for cid in &proof {
            partial.insert(*cid, after.get_block(cid).unwrap().to_vec());
        }
        for order in permutations(changed.len()) {
            let mut inv = mst::Editor::new(&partial, edited.root).unwrap().any_keys();
            for i in order {
                let k = changed[i];
                if adds.iter().any(|a| a == k) {
                    assert_eq!(inv.remove(k).unwrap(), Some(leaf), "{comment}");
                } else {
                    assert_eq!(inv.insert(k, leaf).unwrap(), None, "{comment}");
                }
            }
            assert_eq!(inv.finish().root, before.root, "{comment}: inverted");
        }
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}
