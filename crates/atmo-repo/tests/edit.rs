//! MST mutation and proofs: order independence against the builder, persistence, exact
//! new blocks, and inversion from proof blocks alone.

use std::collections::BTreeMap;

use atmo_data::Cid;
use atmo_repo::mst::{self, Editor, Mst};
use atmo_repo::{BlockStore, MemoryBlockStore, MstError};
use proptest::prelude::*;

fn val(i: u64) -> Cid {
    Cid::for_dag_cbor(&[0x18, (i % 200) as u8 + 24])
}

fn key(i: u32) -> String {
    format!("com.example.record/k{i:04}")
}

fn store_of(blocks: &[(Cid, Vec<u8>)]) -> MemoryBlockStore {
    let mut s = MemoryBlockStore::new();
    for (c, b) in blocks {
        assert!(s.insert(*c, b.clone()));
    }
    s
}

fn built(map: &BTreeMap<String, Cid>) -> mst::BuiltTree {
    mst::build(map.iter().map(|(k, v)| (k.clone(), *v))).unwrap()
}

/// All nodes of a tree (walks it in full).
fn nodes_of(store: &MemoryBlockStore, root: Cid) -> std::collections::HashSet<Cid> {
    let mut out = std::collections::HashSet::new();
    let mut todo = vec![root];
    while let Some(c) = todo.pop() {
        if !out.insert(c) {
            continue;
        }
        let n = mst::NodeData::decode(store.get_block(&c).unwrap()).unwrap();
        todo.extend(n.left);
        todo.extend(n.entries.iter().filter_map(|e| e.right));
    }
    out
}

#[derive(Debug, Clone)]
enum Op {
    Put(u32, u64),
    Del(u32),
}

fn ops() -> impl Strategy<Value = (Vec<u32>, Vec<Op>)> {
    (
        prop::collection::vec(0u32..400, 0..120),
        prop::collection::vec(
            prop_oneof![
                (0u32..400, any::<u64>()).prop_map(|(k, v)| Op::Put(k, v)),
                (0u32..400).prop_map(Op::Del),
            ],
            0..60,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any sequence of inserts, updates and deletes on a stored tree gives the tree the
    /// builder makes from the final key set; the new blocks are exactly the nodes of the
    /// new tree that the old one lacks; the old nodes are untouched.
    #[test]
    fn edits_equal_a_rebuild((initial, ops) in ops()) {
        let mut model: BTreeMap<String, Cid> = initial.iter().map(|&i| (key(i), val(i.into()))).collect();
        let old = built(&model);
        let store = store_of(&old.blocks);
        let before = store.clone();
        let mut ed = Editor::new(&store, old.root).unwrap();
        for op in &ops {
            match *op {
                Op::Put(k, v) => {
                    let prev = ed.insert(&key(k), val(v)).unwrap();
                    prop_assert_eq!(prev, model.insert(key(k), val(v)));
                }
                Op::Del(k) => {
                    let prev = ed.remove(&key(k)).unwrap();
                    prop_assert_eq!(prev, model.remove(&key(k)));
                }
            }
        }
        for (k, v) in &model {
            prop_assert_eq!(ed.get(k).unwrap(), Some(*v));
        }
        let edited = ed.finish();
        let want = built(&model);
        prop_assert_eq!(edited.root, want.root);

        // Exactly the new nodes.
        let old_nodes = nodes_of(&store, old.root);
        let mut all = store.clone();
        for (c, b) in &edited.blocks {
            all.insert(*c, b.clone());
        }
        let new_nodes = nodes_of(&all, edited.root);
        let mut got: Vec<Cid> = edited.blocks.iter().map(|(c, _)| *c).collect();
        let mut expect: Vec<Cid> = new_nodes.difference(&old_nodes).copied().collect();
        got.sort_by_key(Cid::to_bytes);
        expect.sort_by_key(Cid::to_bytes);
        prop_assert_eq!(got, expect);
        let mut removed: Vec<Cid> = old_nodes.difference(&new_nodes).copied().collect();
        removed.sort_by_key(Cid::to_bytes);
        prop_assert_eq!(&edited.removed, &removed);

        // Persistence: the old tree still reads the same.
        prop_assert_eq!(before.len(), store.len());
        let walked: Vec<(String, Cid)> = Mst::new(&store, old.root).walk().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(walked.len(), initial.iter().collect::<std::collections::BTreeSet<_>>().len());
    }

    /// Inserting fresh keys and deleting them again gives back the original root.
    #[test]
    fn delete_what_was_inserted((initial, ops) in ops()) {
        let model: BTreeMap<String, Cid> = initial.iter().map(|&i| (key(i), val(i.into()))).collect();
        let old = built(&model);
        let store = store_of(&old.blocks);
        let mut ed = Editor::new(&store, old.root).unwrap();
        let fresh: Vec<String> = ops.iter().map(|o| match o {
            Op::Put(k, _) | Op::Del(k) => format!("com.example.other/n{k}"),
        }).collect();
        for k in &fresh {
            ed.insert(k, val(7)).unwrap();
        }
        for k in fresh.iter().rev() {
            ed.remove(k).unwrap();
        }
        prop_assert_eq!(ed.finish().root, old.root);
        prop_assert!(ed.finish().blocks.is_empty());
    }

    /// The proof for a set of changed keys is enough to undo the changes, in any order,
    /// on a tree that holds nothing but the proof.
    #[test]
    fn proofs_are_enough_to_invert((initial, ops) in ops()) {
        let model: BTreeMap<String, Cid> = initial.iter().map(|&i| (key(i), val(i.into()))).collect();
        let old = built(&model);
        let store = store_of(&old.blocks);
        let mut ed = Editor::new(&store, old.root).unwrap();
        let mut touched: BTreeMap<String, Option<Cid>> = BTreeMap::new();
        for op in &ops {
            match *op {
                Op::Put(k, v) => { let p = ed.insert(&key(k), val(v)).unwrap(); touched.entry(key(k)).or_insert(p); }
                Op::Del(k) => { let p = ed.remove(&key(k)).unwrap(); touched.entry(key(k)).or_insert(p); }
            }
        }
        let edited = ed.finish();
        let mut all = store.clone();
        for (c, b) in &edited.blocks {
            all.insert(*c, b.clone());
        }
        let proof = Mst::new(&all, edited.root).proof(touched.keys().map(String::as_str)).unwrap();
        let mut partial = MemoryBlockStore::new();
        for c in &proof {
            partial.insert(*c, all.get_block(c).unwrap().to_vec());
        }
        for reverse in [false, true] {
            let mut inv = Editor::new(&partial, edited.root).unwrap();
            let mut items: Vec<_> = touched.iter().collect();
            if reverse { items.reverse(); }
            for (k, prev) in items {
                match prev {
                    Some(v) => { inv.insert(k, *v).unwrap(); }
                    None => { inv.remove(k).unwrap(); }
                }
            }
            prop_assert_eq!(inv.finish().root, old.root);
        }
    }
}

#[test]
fn empty_tree_round_trip_and_layers() {
    let store = MemoryBlockStore::new();
    let mut ed = Editor::empty(&store);
    assert_eq!(ed.remove("com.example.record/a").unwrap(), None);
    let empty = mst::build(std::iter::empty()).unwrap();
    assert_eq!(ed.finish().root, empty.root);
    // A key several layers up over a deep tree, then removed again: the top is trimmed.
    let high = (0..)
        .map(|i| format!("com.example.record/h{i}"))
        .find(|k| mst::key_layer(k.as_bytes()) >= 3)
        .unwrap();
    let keys: Vec<String> = (0..30).map(key).collect();
    for k in &keys {
        ed.insert(k, val(1)).unwrap();
    }
    let base = ed.finish().root;
    ed.insert(&high, val(2)).unwrap();
    let mut all: Vec<(String, Cid)> = keys.iter().map(|k| (k.clone(), val(1))).collect();
    all.push((high.clone(), val(2)));
    all.sort();
    assert_eq!(ed.finish().root, mst::build(all).unwrap().root);
    assert_eq!(ed.remove(&high).unwrap(), Some(val(2)));
    assert_eq!(ed.finish().root, base);
    for k in &keys {
        ed.remove(k).unwrap();
    }
    assert_eq!(ed.finish().root, empty.root);
}

#[test]
fn missing_node_changes_nothing() {
    let map: BTreeMap<String, Cid> = (0..200).map(|i| (key(i), val(i.into()))).collect();
    let t = built(&map);
    // Keep only the root.
    let root_bytes = t.blocks.last().unwrap().1.clone();
    let mut store = MemoryBlockStore::new();
    store.insert(t.root, root_bytes);
    let mut ed = Editor::new(&store, t.root).unwrap();
    let k = (0..200)
        .map(key)
        .find(|k| mst::key_layer(k.as_bytes()) == 0)
        .unwrap();
    let err = ed.remove(&k).unwrap_err();
    assert!(matches!(err, MstError::MissingNode { .. }), "{err:?}");
    let err = ed.insert("com.example.record/zzz", val(1)).unwrap_err();
    assert!(matches!(err, MstError::MissingNode { .. }), "{err:?}");
    assert_eq!(ed.finish().root, t.root);
    assert!(ed.finish().blocks.is_empty());
    assert!(matches!(
        ed.insert("not a key", val(1)),
        Err(MstError::InvalidKey { .. })
    ));
}
