//! apply_writes and sync 1.1 commit verification: a chain of random batches, each checked
//! by inversion from its #commit blocks alone, plus the ways a #commit can be wrong.

use std::collections::{BTreeMap, HashSet};

use atmo_crypto::{Curve, Keypair};
use atmo_data::{Cid, Value};
use atmo_repo::mst::{self, Mst};
use atmo_repo::{
    Action, BlockStore, CarBlockStore, CommitData, Error, MemoryBlockStore, MstError, SyncError,
    Write, apply_writes, build_repo, verify_commit, verify_commit_ops,
};

fn record(i: u64) -> Value {
    atmo_data::json::from_str(&format!(
        r#"{{"$type": "com.example.thing", "n": {i}, "createdAt": "2024-01-01T00:00:00Z"}}"#
    ))
    .unwrap()
}

fn path(i: u64) -> String {
    format!("com.example.thing/3k{i:011}")
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn nodes_of(store: &MemoryBlockStore, root: Cid) -> HashSet<Cid> {
    let mut out = HashSet::new();
    let mut todo = vec![root];
    while let Some(c) = todo.pop() {
        if out.insert(c) {
            let n = mst::NodeData::decode(store.get_block(&c).unwrap()).unwrap();
            todo.extend(n.left);
            todo.extend(n.entries.iter().filter_map(|e| e.right));
        }
    }
    out
}

/// A repository of `n` records in a store, with its head, key and model.
fn setup(n: u64) -> (MemoryBlockStore, Cid, Keypair, BTreeMap<String, u64>) {
    let key = Keypair::generate(Curve::K256).unwrap();
    let model: BTreeMap<String, u64> = (0..n).map(|i| (path(i * 3), i)).collect();
    let built = build_repo(
        &"did:plc:abcdefghijklmnopqrstuvwx".parse().unwrap(),
        &key,
        "3kabcdefghij2".parse().unwrap(),
        model.iter().map(|(p, i)| (p.clone(), record(*i))),
    )
    .unwrap();
    let car = CarBlockStore::from_car(&built.car).unwrap();
    let mut store = MemoryBlockStore::new();
    for (c, b) in car.iter() {
        store.insert(c, b.to_vec());
    }
    (store, built.commit_cid, key, model)
}

fn random_batch(rng: &mut Rng, model: &BTreeMap<String, u64>, size: u64) -> Vec<Write> {
    let mut used = HashSet::new();
    let mut out = Vec::new();
    for _ in 0..size {
        let existing: Vec<&String> = model.keys().collect();
        let w = match rng.below(3) {
            0 if !existing.is_empty() => {
                let p = existing[rng.below(existing.len() as u64) as usize].clone();
                Write::Update {
                    path: p,
                    value: record(1000 + rng.below(1000)),
                }
            }
            1 if !existing.is_empty() => Write::Delete {
                path: existing[rng.below(existing.len() as u64) as usize].clone(),
            },
            _ => {
                let p = path(rng.below(3000) * 3 + 1);
                if model.contains_key(&p) {
                    continue;
                }
                Write::Create {
                    path: p,
                    value: record(rng.below(1000)),
                }
            }
        };
        if used.insert(w.path().to_owned()) {
            out.push(w);
        }
    }
    out
}

fn apply_model(model: &mut BTreeMap<String, u64>, writes: &[Write]) {
    for w in writes {
        match w {
            Write::Create { path, value } | Write::Update { path, value } => {
                let n = value.get("n").and_then(Value::as_integer).unwrap();
                model.insert(path.clone(), n as u64);
            }
            Write::Delete { path } => {
                model.remove(path);
            }
        }
    }
}

#[test]
fn a_chain_of_random_batches_checks_out_from_the_commit_blocks_alone() {
    for (seed, n) in [(1u64, 0u64), (2, 5), (3, 60), (4, 400)] {
        let (mut store, mut head, key, mut model) = setup(n);
        let mut rng = Rng(seed);
        let mut prev_rev = None;
        for step in 0..12 {
            let size = 1 + rng.below(8);
            let writes = random_batch(&mut rng, &model, size);
            let old_data = atmo_repo::Commit::decode(store.get_block(&head).unwrap())
                .unwrap()
                .data;
            let c = apply_writes(&store, head, writes.clone(), &key, None).unwrap();
            apply_model(&mut model, &writes);

            // The new tree is the canonical tree of the records.
            let want = mst::build(model.iter().map(|(p, i)| {
                (
                    p.clone(),
                    Cid::for_dag_cbor(&atmo_data::cbor::encode(&record(*i))),
                )
            }))
            .unwrap();
            assert_eq!(c.commit.data, want.root, "seed {seed} step {step}");
            assert_eq!(c.prev_data, old_data);
            assert_eq!(c.prev_commit, head);
            assert!(c.commit.rev > prev_rev.or(c.since), "rev increases");
            prev_rev = c.commit.rev;
            c.commit.verify(&key.public_key()).unwrap();
            assert_eq!(c.ops.len(), writes.len());
            for (op, w) in c.ops.iter().zip(&writes) {
                assert_eq!(op.path, w.path());
                let want_action = match w {
                    Write::Create { .. } => Action::Create,
                    Write::Update { .. } => Action::Update,
                    Write::Delete { .. } => Action::Delete,
                };
                assert_eq!(op.action, want_action);
            }

            // Exactly: the commit, the new nodes, the records, then proof nodes.
            let mut after = store.clone();
            for (cid, b) in c.stored_blocks() {
                assert!(after.insert(*cid, b.clone()));
            }
            let old_nodes = nodes_of(&store, old_data);
            let new_nodes = nodes_of(&after, c.commit.data);
            let stored: HashSet<Cid> = c.stored_blocks().iter().map(|b| b.0).collect();
            let fresh: HashSet<Cid> = new_nodes.difference(&old_nodes).copied().collect();
            let records: HashSet<Cid> = c.ops.iter().filter_map(|o| o.cid).collect();
            let expect: HashSet<Cid> = fresh
                .iter()
                .chain(&records)
                .copied()
                .chain([c.cid])
                .collect();
            assert_eq!(stored, expect, "seed {seed} step {step}");
            let proof: HashSet<Cid> = Mst::new(&after, c.commit.data)
                .proof(c.ops.iter().map(|o| o.path.as_str()))
                .unwrap()
                .into_iter()
                .collect();
            let all: HashSet<Cid> = c.blocks.iter().map(|b| b.0).collect();
            assert_eq!(all, expect.union(&proof).copied().collect());

            // A consumer with nothing but the #commit.
            let commit =
                verify_commit(&c.car(), &c.ops, c.prev_data, Some(&key.public_key())).unwrap();
            assert_eq!(commit, c.commit);

            negative_cases(&c, seed, step);
            store = after;
            head = c.cid;
        }
    }
}

fn slice_without(c: &CommitData, drop: Cid) -> MemoryBlockStore {
    let mut s = MemoryBlockStore::new();
    for (cid, b) in &c.blocks {
        if *cid != drop {
            s.insert(*cid, b.clone());
        }
    }
    s
}

fn negative_cases(c: &CommitData, seed: u64, step: u32) {
    let full = slice_without(c, c.cid);
    verify_commit_ops(&full, c.commit.data, c.prev_data, &c.ops).unwrap();

    // Dropping the root or a record is reported; dropping another node is reported as
    // that node missing, or passes when the inversion order at hand did not need it (the
    // proof covers every order, as the reference implementation's does).
    let records: HashSet<Cid> = c.ops.iter().filter_map(|o| o.cid).collect();
    for (cid, _) in c.blocks.iter().skip(1) {
        let s = slice_without(c, *cid);
        match verify_commit_ops(&s, c.commit.data, c.prev_data, &c.ops) {
            Err(SyncError::Tree { source, .. }) => {
                assert_eq!(*source, MstError::MissingNode { cid: *cid });
            }
            Err(SyncError::MissingRecord { cid: missing, .. }) => {
                assert!(records.contains(cid));
                assert_eq!(missing, *cid);
            }
            Ok(()) => assert!(*cid != c.commit.data && !records.contains(cid)),
            other => panic!("seed {seed} step {step}: dropping {cid} gave {other:?}"),
        }
    }

    // A wrong prev on an update or delete, a wrong cid, a wrong prevData.
    let other = Cid::for_dag_cbor(b"\xa1\x61x\x01");
    for i in 0..c.ops.len() {
        let mut ops = c.ops.clone();
        if ops[i].prev.is_some() {
            ops[i].prev = Some(other);
            assert!(matches!(
                verify_commit_ops(&full, c.commit.data, c.prev_data, &ops),
                Err(SyncError::PrevDataMismatch { .. })
            ));
        }
        let mut ops = c.ops.clone();
        if ops[i].cid.is_some() {
            ops[i].cid = Some(other);
            assert!(matches!(
                verify_commit_ops(&full, c.commit.data, c.prev_data, &ops),
                Err(SyncError::OpMismatch { .. })
            ));
        }
        // Leaving an op out.
        let mut ops = c.ops.clone();
        ops.remove(i);
        assert!(verify_commit_ops(&full, c.commit.data, c.prev_data, &ops).is_err());
    }
    assert!(matches!(
        verify_commit_ops(&full, c.commit.data, other, &c.ops),
        Err(SyncError::PrevDataMismatch { .. })
    ));
    // A bad signature.
    let wrong = Keypair::generate(Curve::K256).unwrap();
    assert!(matches!(
        verify_commit(&c.car(), &c.ops, c.prev_data, Some(&wrong.public_key())),
        Err(Error::Commit(_))
    ));
}

#[test]
fn writes_that_do_not_fit_are_rejected() {
    let (store, head, key, model) = setup(10);
    let existing = model.keys().next().unwrap().clone();
    let err = |w: Vec<Write>, rev: Option<&str>| {
        apply_writes(&store, head, w, &key, rev.map(|r| r.parse().unwrap())).unwrap_err()
    };
    assert!(matches!(
        err(vec![Write::Create { path: existing.clone(), value: record(1) }], None),
        Error::Sync(e) if matches!(*e, SyncError::RecordExists { .. })
    ));
    assert!(matches!(
        err(vec![Write::Delete { path: path(1) }], None),
        Error::Sync(e) if matches!(*e, SyncError::RecordNotFound { .. })
    ));
    assert!(matches!(
        err(vec![Write::Update { path: path(1), value: record(1) }], None),
        Error::Sync(e) if matches!(*e, SyncError::RecordNotFound { .. })
    ));
    assert!(matches!(
        err(vec![Write::Delete { path: existing.clone() }, Write::Update { path: existing, value: record(2) }], None),
        Error::Sync(e) if matches!(*e, SyncError::DuplicateOp { .. })
    ));
    assert!(matches!(
        err(vec![Write::Delete { path: "nope".into() }], None),
        Error::Repo(e) if matches!(*e, atmo_repo::RepoError::InvalidPath { .. })
    ));
    assert!(matches!(
        err(vec![Write::Create { path: path(1), value: record(1) }], Some("3kabcdefghij2")),
        Error::Sync(e) if matches!(*e, SyncError::RevNotAfter { .. })
    ));
    // A record whose block the CAR readers would refuse (over 2 MiB) is refused before
    // anything is signed: what atmo writes, atmo reads back.
    let big = atmo_data::json::from_str(&format!(
        r#"{{"$type": "com.example.thing", "text": "{}"}}"#,
        "x".repeat(2 << 20)
    ))
    .unwrap();
    let e = err(
        vec![Write::Create {
            path: path(1),
            value: big,
        }],
        None,
    );
    assert!(
        matches!(&e, Error::Repo(r) if matches!(**r, atmo_repo::RepoError::RecordTooLarge { max, .. } if max == 2 << 20)),
        "{e}"
    );
    // An explicit later rev is used as is.
    let c = apply_writes(
        &store,
        head,
        vec![Write::Create {
            path: path(1),
            value: record(1),
        }],
        &key,
        Some("3kabcdefghij3".parse().unwrap()),
    )
    .unwrap();
    assert_eq!(c.commit.rev.unwrap().as_str(), "3kabcdefghij3");
    assert_eq!(c.since.unwrap().as_str(), "3kabcdefghij2");
}
