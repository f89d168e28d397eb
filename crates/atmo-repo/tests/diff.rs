//! `mst::diff`: equal to the naive diff of two full walks on random pairs of trees, and
//! it reads only the nodes that differ.

use std::cell::Cell;
use std::collections::BTreeMap;

use atmo_data::Cid;
use atmo_repo::mst::{self, Change, Mst};
use atmo_repo::{BlockStore, MemoryBlockStore};
use proptest::prelude::*;

fn value(n: u8) -> Cid {
    Cid::for_dag_cbor(&[0xa1, 0x61, 0x76, n % 24])
}

fn key(i: u16) -> String {
    format!("app.bsky.feed.post/3k{i:05}")
}

fn build(store: &mut MemoryBlockStore, entries: &BTreeMap<String, Cid>) -> Cid {
    let built = mst::build(entries.iter().map(|(k, v)| (k.clone(), *v))).unwrap();
    for (_, bytes) in built.blocks {
        store.put_dag_cbor(bytes);
    }
    built.root
}

/// The reference: walk both trees in full and merge.
fn naive(a: &BTreeMap<String, Cid>, b: &BTreeMap<String, Cid>) -> Vec<Change> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| match (a.get(k), b.get(k)) {
            (Some(&cid), None) => Some(Change::Deleted {
                key: k.clone(),
                cid,
            }),
            (None, Some(&cid)) => Some(Change::Created {
                key: k.clone(),
                cid,
            }),
            (Some(&old), Some(&new)) if old != new => Some(Change::Updated {
                key: k.clone(),
                old,
                new,
            }),
            _ => None,
        })
        .collect()
}

fn walked(store: &MemoryBlockStore, root: Cid) -> BTreeMap<String, Cid> {
    Mst::new(store, root)
        .walk()
        .collect::<Result<_, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A random tree and a random edit of it (inserts, updates, deletes).
    #[test]
    fn diff_equals_the_full_walk_diff(
        base in prop::collection::btree_map(0u16..400, 0u8..4, 0..120),
        edits in prop::collection::vec((0u16..400, prop::option::of(0u8..4)), 0..40),
    ) {
        let a: BTreeMap<String, Cid> = base.iter().map(|(k, v)| (key(*k), value(*v))).collect();
        let mut b = a.clone();
        for (k, v) in edits {
            match v {
                Some(v) => { b.insert(key(k), value(v)); }
                None => { b.remove(&key(k)); }
            }
        }
        let mut store = MemoryBlockStore::new();
        let (ra, rb) = (build(&mut store, &a), build(&mut store, &b));
        // The naive side walks the stored trees, so it also checks what was built.
        let (wa, wb) = (walked(&store, ra), walked(&store, rb));
        prop_assert_eq!(&wa, &a);
        prop_assert_eq!(&wb, &b);
        let fast = mst::diff(&Mst::new(&store, ra), &Mst::new(&store, rb)).unwrap();
        prop_assert_eq!(&fast, &naive(&wa, &wb));
        let back = mst::diff(&Mst::new(&store, rb), &Mst::new(&store, ra)).unwrap();
        prop_assert_eq!(back, naive(&wb, &wa));
    }

    /// Two unrelated random trees.
    #[test]
    fn diff_of_unrelated_trees(
        x in prop::collection::btree_map(0u16..300, 0u8..3, 0..80),
        y in prop::collection::btree_map(0u16..300, 0u8..3, 0..80),
    ) {
        let a: BTreeMap<String, Cid> = x.iter().map(|(k, v)| (key(*k), value(*v))).collect();
        let b: BTreeMap<String, Cid> = y.iter().map(|(k, v)| (key(*k), value(*v))).collect();
        let mut store = MemoryBlockStore::new();
        let (ra, rb) = (build(&mut store, &a), build(&mut store, &b));
        let fast = mst::diff(&Mst::new(&store, ra), &Mst::new(&store, rb)).unwrap();
        prop_assert_eq!(fast, naive(&a, &b));
    }
}

/// A store that counts reads.
struct Counting<'a>(&'a MemoryBlockStore, Cell<usize>);

impl BlockStore for Counting<'_> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.1.set(self.1.get() + 1);
        self.0.get_block(cid)
    }
}

#[test]
fn diff_reads_only_the_nodes_that_differ() {
    let a: BTreeMap<String, Cid> = (0..5000).map(|i| (key(i), value(0))).collect();
    let mut b = a.clone();
    b.insert(key(2500), value(1));
    b.insert(key(9000), value(1));
    let mut store = MemoryBlockStore::new();
    let (ra, rb) = (build(&mut store, &a), build(&mut store, &b));
    let counting = Counting(&store, Cell::new(0));
    let changes = mst::diff(&Mst::new(&counting, ra), &Mst::new(&counting, rb)).unwrap();
    assert_eq!(changes, naive(&a, &b));
    assert_eq!(changes.len(), 2);
    let nodes = Mst::new(&store, ra).walk();
    let mut walk = nodes;
    walk.by_ref().for_each(drop);
    let total = walk.nodes_read();
    // Two paths from the root down in each tree, at most.
    assert!(
        counting.1.get() < 40 && counting.1.get() * 20 < total,
        "read {} nodes of {total}",
        counting.1.get()
    );
}
