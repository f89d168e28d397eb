//! `verify_commit` and `verify_commit_ops` (the sync 1.1 `#commit` checks) on commits made
//! from the input, then broken in a way the input picks, and on arbitrary bytes.
//!
//! The input names records of a repository and a batch of writes on it; `apply_writes`
//! makes the signed commit, its operations and its blocks. Invariants:
//! - no panic, whatever the bytes;
//! - the commit as made verifies (with the signing key), and gives back the commit;
//! - its operations are exactly `mst::diff` of the tree before and after;
//! - each break is refused: dropping an operation, giving one another `cid` or `prev`,
//!   another `prevData`, another key; a CAR with bytes changed either fails or gives the
//!   very same signed commit;
//! - in raw mode (first byte odd) the rest is a CAR and operations from the input:
//!   `verify_commit` and `verify_commit_ops` return, and what passes `verify_commit_ops`
//!   is confirmed by editing the tree: undoing the operations reaches `prevData`.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use atmo_crypto::{Curve, Keypair};
use atmo_data::{Cid, Value};
use atmo_repo::mst::{self, Change, Mst};
use atmo_repo::{
    Action, CarBlockStore, MemoryBlockStore, RepoOp, Write, apply_writes, build_repo,
    verify_commit, verify_commit_ops,
};
use atmo_syntax::{Did, Tid};

static KEY: LazyLock<Keypair> = LazyLock::new(|| {
    Keypair::from_private_key_bytes(Curve::K256, &[7; 32]).expect("a valid secp256k1 key")
});
static OTHER: LazyLock<Keypair> = LazyLock::new(|| {
    Keypair::from_private_key_bytes(Curve::P256, &[9; 32]).expect("a valid P-256 key")
});

fn path(k: u8) -> String {
    let collection = if k & 0x80 != 0 {
        "com.example.b"
    } else {
        "com.example.a"
    };
    format!("{collection}/k{:02x}", k & 0x7f)
}

fn record(n: u8) -> Value {
    atmo_data::json::record_from_str(&format!(r#"{{"$type": "com.example.a", "n": {n}}}"#))
        .expect("a record")
}

fn record_cid(n: u8) -> Cid {
    Cid::for_dag_cbor(&atmo_data::cbor::encode(&record(n)))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        raw(mode, rest);
    } else {
        made(mode, rest);
    }
});

/// A commit made from the input, verified, then broken.
fn made(mode: u8, rest: &[u8]) {
    let Some((&[n_old, n_writes], rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let (n_old, n_writes) = (usize::from(n_old % 48), usize::from(n_writes % 12) + 1);
    let Some((old, rest)) = rest.split_at_checked(n_old * 2) else {
        return;
    };
    let Some((writes_in, tail)) = rest.split_at_checked(n_writes * 2) else {
        return;
    };
    let mut before: BTreeMap<String, u8> = BTreeMap::new();
    for kv in old.chunks_exact(2) {
        before.insert(path(kv[0]), kv[1]);
    }
    let mut after = before.clone();
    let mut writes = Vec::new();
    for kv in writes_in.chunks_exact(2) {
        let (p, v) = (path(kv[0]), kv[1]);
        if writes.iter().any(|w: &Write| w.path() == p) {
            continue;
        }
        match before.get(&p) {
            None => {
                after.insert(p.clone(), v);
                writes.push(Write::Create {
                    path: p,
                    value: record(v),
                });
            }
            Some(&old) if v & 1 == 0 => {
                let v = if v == old { v.wrapping_add(2) } else { v };
                after.insert(p.clone(), v);
                writes.push(Write::Update {
                    path: p,
                    value: record(v),
                });
            }
            Some(_) => {
                after.remove(&p);
                writes.push(Write::Delete { path: p });
            }
        }
    }
    let did = Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz").expect("a DID");
    let built = build_repo(
        &did,
        &KEY,
        Tid::from_u64(1 << 40),
        before.iter().map(|(p, v)| (p.clone(), record(*v))),
    )
    .expect("a repository builds");
    let store = CarBlockStore::from_car(&built.car).expect("a written CAR reads");
    let made = apply_writes(
        &store,
        built.commit_cid,
        writes,
        &KEY,
        Some(Tid::from_u64((1 << 40) + 1)),
    )
    .expect("writes that fit the repository apply");
    let car = made.car();
    let key = KEY.public_key();

    // As made: it verifies, and its operations are the tree's difference.
    let commit = verify_commit(&car, &made.ops, made.prev_data, Some(&key))
        .expect("a commit made by apply_writes verifies");
    assert_eq!(commit, made.commit);
    let mut all = MemoryBlockStore::new();
    for (c, b) in store.iter() {
        all.insert(c, b.to_vec());
    }
    for (c, b) in &made.blocks {
        all.insert(*c, b.clone());
    }
    let changes = mst::diff(
        &Mst::new(&all, made.prev_data),
        &Mst::new(&all, made.commit.data),
    )
    .expect("both trees are whole");
    let mut ops: Vec<(String, Option<Cid>, Option<Cid>)> = made
        .ops
        .iter()
        .map(|o| (o.path.clone(), o.prev, o.cid))
        .collect();
    ops.sort();
    let from_diff: Vec<_> = changes
        .iter()
        .map(|c| match c {
            Change::Created { key, cid } => (key.clone(), None, Some(*cid)),
            Change::Updated { key, old, new } => (key.clone(), Some(*old), Some(*new)),
            Change::Deleted { key, cid } => (key.clone(), Some(*cid), None),
        })
        .collect();
    assert_eq!(ops, from_diff);
    let want: Vec<_> = after
        .iter()
        .map(|(p, v)| (p.clone(), record_cid(*v)))
        .collect();
    let walked: Vec<_> = Mst::new(&all, made.commit.data)
        .walk()
        .collect::<Result<_, _>>()
        .expect("the new tree walks");
    assert_eq!(walked, want);

    // Broken.
    let pick = tail.first().copied().unwrap_or(0);
    let which = usize::from(pick) % made.ops.len().max(1);
    match (mode >> 1) & 7 {
        0 if !made.ops.is_empty() => {
            let mut ops = made.ops.clone();
            ops.remove(which);
            assert!(verify_commit(&car, &ops, made.prev_data, Some(&key)).is_err());
        }
        1 if !made.ops.is_empty() => {
            let mut ops = made.ops.clone();
            let op = &mut ops[which];
            op.cid = op.cid.map(|_| record_cid(pick.wrapping_add(101)));
            op.prev = op.prev.map(|_| record_cid(pick.wrapping_add(103)));
            let changed = ops != made.ops;
            let r = verify_commit(&car, &ops, made.prev_data, Some(&key));
            assert!(!changed || r.is_err(), "{ops:?}");
        }
        2 => {
            let wrong = record_cid(pick);
            assert!(verify_commit(&car, &made.ops, wrong, Some(&key)).is_err());
        }
        3 => {
            let other = OTHER.public_key();
            assert!(verify_commit(&car, &made.ops, made.prev_data, Some(&other)).is_err());
        }
        _ => {
            let mut car = car.clone();
            for e in tail.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([e[0], e[1]])) % car.len();
                car[at] = e[2];
            }
            if let Ok(c) = verify_commit(&car, &made.ops, made.prev_data, Some(&key)) {
                assert_eq!(c, made.commit);
            }
        }
    }
}

/// Arbitrary bytes: the first byte splits the rest into a CAR and operations.
fn raw(mode: u8, rest: &[u8]) {
    let Some((&cut, rest)) = rest.split_first() else {
        return;
    };
    let at = (usize::from(cut) * rest.len() / 256).min(rest.len());
    let (car, ops_in) = rest.split_at(at);
    let cid_of = |b: u8| match b % 4 {
        0 => None,
        _ => Some(record_cid(b / 4)),
    };
    let ops: Vec<RepoOp> = ops_in
        .chunks_exact(3)
        .take(16)
        .map(|o| RepoOp {
            action: match o[0] % 3 {
                0 => Action::Create,
                1 => Action::Update,
                _ => Action::Delete,
            },
            path: path(o[0] & 0x87),
            cid: cid_of(o[1]),
            prev: cid_of(o[2]),
        })
        .collect();
    let prev_data = record_cid(mode);
    let _ = verify_commit(car, &ops, prev_data, None);
    if let Ok(store) = CarBlockStore::from_car(car) {
        for root in store.roots().iter().take(2) {
            if verify_commit_ops(&store, *root, prev_data, &ops).is_ok() {
                // Undoing the operations by hand on the tree reaches prevData.
                let mut ed = mst::Editor::new(&store, *root).expect("the tree opened once");
                // Each path once, by its first operation's prev, in the order first met
                // (the order verify_commit_ops edits in).
                let mut firsts: Vec<(&str, Option<Cid>)> = Vec::new();
                for op in &ops {
                    if !firsts.iter().any(|(p, _)| *p == op.path) {
                        firsts.push((op.path.as_str(), op.prev));
                    }
                }
                for (p, prev) in firsts {
                    match prev {
                        Some(c) => ed.insert(p, c).map(drop),
                        None => ed.remove(p).map(drop),
                    }
                    .expect("the proof holds these paths");
                }
                assert_eq!(ed.finish().root, prev_data);
            }
        }
    }
}
