//! MST diff (`mst::diff`) and proofs (`Mst::proof`) on trees made from the input, and on
//! arbitrary node bytes.
//!
//! Made mode (first byte even): the input gives a tree A (keys and values) and edits
//! that make tree B. Invariants:
//! - `diff(A, B)` is exactly the difference of the two key/value maps, in key order;
//!   `diff(B, A)` is its inverse; `diff(A, A)` is empty;
//! - a store holding only the nodes of `A.proof(keys)` (the keys edited, and some that
//!   are in neither tree) answers `get` for each of those keys as A does, and applying
//!   the edits to it with the `Editor` gives B's root (what a sync 1.1 `#commit` relies
//!   on);
//! - the proof starts with the root and has no duplicates.
//!
//! Raw mode (first byte odd): the rest, cut at 0xff bytes, are blocks of a store; the
//! first is a tree root. Invariants: no panic; when the tree walks, `diff` against a
//! made tree is the difference of the walked contents, and every key the walk found is
//! found by `get` on the proof's nodes alone.
#![no_main]

use std::collections::{BTreeMap, HashSet};

use atmo_data::Cid;
use atmo_repo::mst::{self, Change, Editor, Mst};
use atmo_repo::{BlockStore, MemoryBlockStore};

fn key(hi: u8, lo: u8) -> String {
    let collection = match hi >> 6 {
        0 => "app.bsky.feed.post",
        1 => "app.bsky.feed.like",
        2 => "com.example.x",
        _ => "com.example.x.y",
    };
    format!("{collection}/{:02x}{lo:02x}", hi & 0x3f)
}

fn value(v: u8) -> Cid {
    Cid::for_dag_cbor(&[0x18, v])
}

/// The changes from `a` to `b`, in key order.
fn expected(a: &BTreeMap<String, Cid>, b: &BTreeMap<String, Cid>) -> Vec<Change> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (a.get(k), b.get(k)) {
            (None, Some(c)) => Some(Change::Created {
                key: k.clone(),
                cid: *c,
            }),
            (Some(c), None) => Some(Change::Deleted {
                key: k.clone(),
                cid: *c,
            }),
            (Some(o), Some(n)) if o != n => Some(Change::Updated {
                key: k.clone(),
                old: *o,
                new: *n,
            }),
            _ => None,
        })
        .collect()
}

fn store_of(trees: &[&mst::BuiltTree]) -> MemoryBlockStore {
    let mut s = MemoryBlockStore::new();
    for t in trees {
        for (c, b) in &t.blocks {
            s.insert(*c, b.clone());
        }
    }
    s
}

/// A store holding only `cids`, copied from `from`.
fn only(from: &MemoryBlockStore, cids: &[Cid]) -> MemoryBlockStore {
    let mut s = MemoryBlockStore::new();
    for c in cids {
        if let Some(b) = from.get_block(c) {
            s.insert(*c, b.to_vec());
        }
    }
    s
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        made(rest);
    } else {
        raw(rest);
    }
});

fn made(data: &[u8]) {
    let Some((&n_a, rest)) = data.split_first() else {
        return;
    };
    let Some((a_in, edits_in)) = rest.split_at_checked((usize::from(n_a) * 3).min(rest.len()))
    else {
        return;
    };
    let mut a = BTreeMap::new();
    for e in a_in.chunks_exact(3) {
        a.insert(key(e[0], e[1]), value(e[2]));
    }
    let mut b = a.clone();
    let mut edits: Vec<(String, Option<Cid>)> = Vec::new();
    for e in edits_in.chunks_exact(3).take(64) {
        let k = key(e[0], e[1]);
        if edits.iter().any(|(x, _)| *x == k) {
            continue;
        }
        let v = (e[2] != 0).then(|| value(e[2]));
        match v {
            Some(v) => b.insert(k.clone(), v),
            None => b.remove(&k),
        };
        edits.push((k, v));
    }
    let ta = mst::build(a.clone()).expect("sorted valid keys build");
    let tb = mst::build(b.clone()).expect("sorted valid keys build");
    let store = store_of(&[&ta, &tb]);
    let (ma, mb) = (Mst::new(&store, ta.root), Mst::new(&store, tb.root));

    let forward = mst::diff(&ma, &mb).expect("whole trees diff");
    assert_eq!(forward, expected(&a, &b));
    assert_eq!(
        mst::diff(&mb, &ma).expect("whole trees diff"),
        expected(&b, &a)
    );
    assert!(mst::diff(&ma, &ma).expect("same tree").is_empty());

    // Keys in neither tree too (exclusion proofs).
    let absent: Vec<String> = edits_in
        .chunks_exact(2)
        .take(4)
        .map(|e| format!("{}~", key(e[0], e[1])))
        .collect();
    let keys: Vec<&str> = edits
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(absent.iter().map(String::as_str))
        .collect();
    let proof = ma.proof(keys.iter().copied()).expect("a whole tree proves");
    assert_eq!(proof.first(), Some(&ta.root));
    assert_eq!(proof.iter().collect::<HashSet<_>>().len(), proof.len());
    let partial = only(&store, &proof);
    let pa = Mst::new(&partial, ta.root);
    for k in &keys {
        assert_eq!(
            pa.get(k).expect("the proof covers the key"),
            a.get(*k).copied(),
            "{k}"
        );
    }
    let mut ed = Editor::new(&partial, ta.root).expect("the root is in the proof");
    for (k, v) in &edits {
        match v {
            Some(v) => ed.insert(k, *v).map(drop),
            None => ed.remove(k).map(drop),
        }
        .expect("the proof covers the edit");
    }
    assert_eq!(ed.finish().root, tb.root);
}

fn raw(data: &[u8]) {
    let mut store = MemoryBlockStore::new();
    let mut root = None;
    for chunk in data.split(|b| *b == 0xff).take(64) {
        let cid = store.put_dag_cbor(chunk.to_vec());
        root.get_or_insert(cid);
    }
    let Some(root) = root else {
        return;
    };
    let made_map: BTreeMap<String, Cid> = (0..8u8).map(|i| (key(i * 31, i), value(i))).collect();
    let made = mst::build(made_map.clone()).expect("sorted valid keys build");
    for (c, b) in &made.blocks {
        store.insert(*c, b.clone());
    }
    let theirs = Mst::new(&store, root);
    let ours = Mst::new(&store, made.root);
    let d = mst::diff(&theirs, &ours);
    let walked: Result<BTreeMap<String, Cid>, _> = theirs.walk().collect();
    let Ok(walked) = walked else {
        let _ = theirs.proof(["app.bsky.feed.post/0000", "com.example.x/zz"]);
        return;
    };
    if let Ok(d) = d {
        assert_eq!(d, expected(&walked, &made_map));
    }
    let keys: Vec<&str> = walked.keys().take(16).map(String::as_str).collect();
    if let Ok(proof) = theirs.proof(keys.iter().copied()) {
        let partial = only(&store, &proof);
        let p = Mst::new(&partial, root);
        for k in keys {
            assert_eq!(
                p.get(k).expect("the proof covers the key"),
                walked.get(k).copied()
            );
        }
    }
}
