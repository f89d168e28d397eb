//! MST: node codec, builder and walker, and one hand-built malformed tree per rejection.

use atmo_data::Cid;
use atmo_repo::mst::{self, EntryData, Mst, NodeData};
use atmo_repo::{MemoryBlockStore, MstError};

fn leaf() -> Cid {
    Cid::for_dag_cbor(b"\xa0")
}

/// The first `n` keys `com.example.record/k<i>` on layer `layer`.
fn keys_on(layer: u8, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("com.example.record/k{i}"))
        .filter(|k| mst::key_layer(k.as_bytes()) == layer)
        .take(n)
        .collect()
}

fn entry<'a>(prefix_len: usize, suffix: &'a str, right: Option<Cid>) -> EntryData<'a> {
    EntryData {
        prefix_len,
        key_suffix: suffix.as_bytes(),
        value: leaf(),
        right,
    }
}

/// Stores a node and returns its CID.
fn put(store: &mut MemoryBlockStore, node: &NodeData<'_>) -> Cid {
    store.put_dag_cbor(node.encode())
}

fn walk_err(store: &MemoryBlockStore, root: Cid) -> MstError {
    let err = Mst::new(store, root)
        .walk()
        .find_map(Result::err)
        .expect("the tree must be rejected");
    // The parallel walk finds the same problem, on any number of threads.
    for threads in [1, 2, 3] {
        let par = Mst::new(store, root)
            .par_walk(threads, |_, _| Ok::<(), MstError>(()))
            .expect_err("the parallel walk must reject the tree");
        assert_eq!(par, err, "{threads} threads");
    }
    err
}

/// A node holding full keys (prefix-compressed canonically).
fn node_of<'a>(keys: &'a [String], left: Option<Cid>) -> NodeData<'a> {
    let mut prev = "";
    let entries = keys
        .iter()
        .map(|k| {
            let p = mst::common_prefix_len(prev.as_bytes(), k.as_bytes());
            prev = k;
            entry(p, &k[p..], None)
        })
        .collect();
    NodeData { left, entries }
}

#[test]
fn node_codec_round_trips_through_the_strict_decoder() {
    let keys = keys_on(0, 5);
    let built = mst::build(keys.iter().map(|k| (k.clone(), leaf()))).unwrap();
    for (cid, bytes) in &built.blocks {
        assert_eq!(Cid::for_dag_cbor(bytes), *cid);
        let node = NodeData::decode(bytes).unwrap();
        assert_eq!(node.encode(), *bytes);
        // Same bytes as the general DAG-CBOR encoder.
        assert_eq!(
            atmo_data::cbor::encode(&atmo_data::cbor::decode(bytes).unwrap()),
            *bytes
        );
    }
}

#[test]
fn empty_tree() {
    let built = mst::build(std::iter::empty()).unwrap();
    assert_eq!(built.blocks.len(), 1);
    let mut store = MemoryBlockStore::new();
    for (_, b) in built.blocks {
        store.put_dag_cbor(b);
    }
    assert_eq!(Mst::new(&store, built.root).walk().count(), 0);
    // The empty node {e: [], l: null} is the well-known empty root.
    assert_eq!(
        built.root.to_string(),
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
    );
}

#[test]
fn build_walk_get_many_layers() {
    let mut keys: Vec<String> = (0..2000)
        .map(|i| format!("app.bsky.feed.post/{i:08}"))
        .collect();
    keys.sort();
    let built = mst::build(
        keys.iter()
            .map(|k| (k.clone(), Cid::for_dag_cbor(k.as_bytes()))),
    )
    .unwrap();
    let mut store = MemoryBlockStore::new();
    for (_, b) in built.blocks {
        store.put_dag_cbor(b);
    }
    let tree = Mst::new(&store, built.root);
    let mut walk = tree.walk();
    let got: Vec<(String, Cid)> = walk.by_ref().map(Result::unwrap).collect();
    assert!(walk.nodes_read() > 100);
    assert_eq!(got.len(), keys.len());
    for ((k, v), want) in got.iter().zip(&keys) {
        assert_eq!(k, want);
        assert_eq!(*v, Cid::for_dag_cbor(k.as_bytes()));
    }
    for k in keys.iter().step_by(97) {
        assert_eq!(tree.get(k).unwrap(), Some(Cid::for_dag_cbor(k.as_bytes())));
    }
    assert_eq!(tree.get("app.bsky.feed.post/zzz").unwrap(), None);
    assert_eq!(tree.list("app.bsky.feed.like").count(), 0);
    assert_eq!(tree.list("app.bsky.feed.post").count(), 2000);
}

#[test]
fn builder_rejects_unsorted_duplicate_and_invalid_keys() {
    let k = |s: &str| (s.to_string(), leaf());
    assert_eq!(
        mst::build([k("a.b.c/2"), k("a.b.c/1")]).unwrap_err(),
        MstError::UnsortedInput {
            key: "a.b.c/1".into()
        }
    );
    assert_eq!(
        mst::build([k("a.b.c/1"), k("a.b.c/1")]).unwrap_err(),
        MstError::UnsortedInput {
            key: "a.b.c/1".into()
        }
    );
    assert!(matches!(
        mst::build([k("nocollection")]).unwrap_err(),
        MstError::InvalidKey { .. }
    ));
    assert!(matches!(
        mst::build([k("a.b.c/..")]).unwrap_err(),
        MstError::InvalidKey { .. }
    ));
}

#[test]
fn missing_node() {
    let store = MemoryBlockStore::new();
    let cid = leaf();
    assert_eq!(walk_err(&store, cid), MstError::MissingNode { cid });
}

#[test]
fn node_not_strict_cbor() {
    let mut store = MemoryBlockStore::new();
    // {"l": null, "e": []}: keys out of DAG-CBOR order.
    let cid = store.put_dag_cbor(vec![0xa2, 0x61, b'l', 0xf6, 0x61, b'e', 0x80]);
    assert!(matches!(walk_err(&store, cid), MstError::NodeCbor { cid: c, .. } if c == cid));
}

#[test]
fn node_shapes() {
    let cases: [(&[u8], &str); 4] = [
        // {"e": []} (l missing)
        (
            &[0xa1, 0x61, b'e', 0x80],
            "node keys are not exactly {e, l}",
        ),
        // {"e": 1, "l": null}
        (
            &[0xa2, 0x61, b'e', 0x01, 0x61, b'l', 0xf6],
            "e is not an array",
        ),
        // {"e": [], "l": 1}
        (
            &[0xa2, 0x61, b'e', 0x80, 0x61, b'l', 0x01],
            "l is neither a link nor null",
        ),
        // {"e": [{"k": h'61', "p": 0, "v": null}], "l": null}: t missing
        (
            &[
                0xa2, 0x61, b'e', 0x81, 0xa3, 0x61, b'k', 0x41, b'a', 0x61, b'p', 0x00, 0x61, b'v',
                0xf6, 0x61, b'l', 0xf6,
            ],
            "entry keys are not exactly {k, p, t, v}",
        ),
    ];
    for (bytes, reason) in cases {
        let mut store = MemoryBlockStore::new();
        let cid = store.put_dag_cbor(bytes.to_vec());
        assert_eq!(
            walk_err(&store, cid),
            MstError::NodeShape { cid, reason },
            "{reason}"
        );
        assert_eq!(
            NodeData::decode(bytes).unwrap_err(),
            MstError::NodeShape { cid, reason }
        );
    }
    // p negative: {"e": [{"k": h'61', "p": -1, "t": null, "v": <cid>}], "l": null}
    let mut bytes = vec![
        0xa2, 0x61, b'e', 0x81, 0xa4, 0x61, b'k', 0x41, b'a', 0x61, b'p', 0x20, 0x61, b't', 0xf6,
        0x61, b'v',
    ];
    bytes.extend_from_slice(&[0xd8, 0x2a, 0x58, 0x25, 0x00]);
    bytes.extend_from_slice(&leaf().to_bytes());
    bytes.extend_from_slice(&[0x61, b'l', 0xf6]);
    let cid = Cid::for_dag_cbor(&bytes);
    assert_eq!(
        NodeData::decode(&bytes).unwrap_err(),
        MstError::NodeShape {
            cid,
            reason: "p is not a non-negative integer"
        }
    );
}

#[test]
fn prefix_rules() {
    let keys = keys_on(0, 2);
    let (a, b) = (&keys[0], &keys[1]);
    let common = mst::common_prefix_len(a.as_bytes(), b.as_bytes());
    assert!(common > 3);

    let mut store = MemoryBlockStore::new();
    let too_long = NodeData {
        left: None,
        entries: vec![entry(0, a, None), entry(a.len() + 1, "x", None)],
    };
    let cid = put(&mut store, &too_long);
    assert_eq!(
        walk_err(&store, cid),
        MstError::PrefixTooLong {
            cid,
            index: 1,
            prefix: a.len() as u64 + 1
        }
    );

    let first_p = NodeData {
        left: None,
        entries: vec![entry(1, a, None)],
    };
    let cid = put(&mut store, &first_p);
    assert_eq!(
        walk_err(&store, cid),
        MstError::PrefixTooLong {
            cid,
            index: 0,
            prefix: 1
        }
    );

    // Prefix shorter than the common prefix: same key, not canonically compressed.
    let short = NodeData {
        left: None,
        entries: vec![entry(0, a, None), entry(common - 2, &b[common - 2..], None)],
    };
    let cid = put(&mut store, &short);
    assert_eq!(
        walk_err(&store, cid),
        MstError::PrefixNotCanonical {
            cid,
            index: 1,
            found: common - 2,
            expected: common
        }
    );
}

#[test]
fn invalid_keys() {
    let mut store = MemoryBlockStore::new();
    // A key without a collection, on layer 0 in the lax check too.
    let bad: Vec<String> = (0..)
        .map(|i| format!("nocollection{i}"))
        .filter(|k| mst::key_layer(k.as_bytes()) == 0)
        .take(1)
        .collect();
    let cid = put(&mut store, &node_of(&bad, None));
    assert!(matches!(walk_err(&store, cid), MstError::InvalidKey { key, .. } if key == bad[0]));
    // Accepted when any keys are allowed.
    assert_eq!(Mst::new(&store, cid).any_keys().walk().count(), 1);
    // Non-ASCII bytes are never keys.
    let node = NodeData {
        left: None,
        entries: vec![EntryData {
            prefix_len: 0,
            key_suffix: "a.b.c/é".as_bytes(),
            value: leaf(),
            right: None,
        }],
    };
    let cid = put(&mut store, &node);
    assert!(
        matches!(walk_err(&store, cid), MstError::InvalidKey { reason, .. } if reason == "not ASCII")
    );
}

#[test]
fn wrong_layer() {
    let mut keys = keys_on(0, 1);
    keys.extend(keys_on(1, 1));
    keys.sort();
    let mut store = MemoryBlockStore::new();
    let cid = put(&mut store, &node_of(&keys, None));
    assert!(matches!(walk_err(&store, cid), MstError::WrongLayer { .. }));

    // A layer-1 key in a child of a layer-1 root (children must be one layer down).
    let l1 = keys_on(1, 2);
    let child = put(&mut store, &node_of(&l1[..1], None));
    let root = put(&mut store, &node_of(&l1[1..], Some(child)));
    assert_eq!(
        walk_err(&store, root),
        MstError::WrongLayer {
            key: l1[0].clone(),
            key_layer: 1,
            node_layer: 0
        }
    );
}

#[test]
fn key_order() {
    let keys = keys_on(0, 2);
    let reversed = vec![keys[1].clone(), keys[0].clone()];
    let mut store = MemoryBlockStore::new();
    let cid = put(&mut store, &node_of(&reversed, None));
    assert_eq!(
        walk_err(&store, cid),
        MstError::KeyOrder {
            previous: keys[1].clone(),
            key: keys[0].clone()
        }
    );
    // Across subtrees: a left child whose key is after the parent's first key.
    let l1 = keys_on(1, 1);
    let l0: Vec<String> = keys_on(0, 50)
        .into_iter()
        .filter(|k| k > &l1[0])
        .take(1)
        .collect();
    let child = put(&mut store, &node_of(&l0, None));
    let root = put(&mut store, &node_of(&l1, Some(child)));
    assert_eq!(
        walk_err(&store, root),
        MstError::KeyOrder {
            previous: l0[0].clone(),
            key: l1[0].clone()
        }
    );
}

#[test]
fn child_of_leaf_and_empty_nodes() {
    let mut store = MemoryBlockStore::new();
    let l0 = keys_on(0, 2);
    let child = put(&mut store, &node_of(&l0[..1], None));
    let root = put(&mut store, &node_of(&l0[1..], Some(child)));
    assert_eq!(walk_err(&store, root), MstError::ChildOfLeaf { cid: root });

    // A root with no entries that only points down must be pruned.
    let leaf_node = put(&mut store, &node_of(&l0[..1], None));
    let root = put(
        &mut store,
        &NodeData {
            left: Some(leaf_node),
            entries: vec![],
        },
    );
    assert_eq!(walk_err(&store, root), MstError::EmptyNode { cid: root });

    // A non-root node with no entries and no subtree.
    let empty = put(&mut store, &NodeData::default());
    let l1 = keys_on(1, 1);
    let root = put(&mut store, &node_of(&l1, Some(empty)));
    assert_eq!(walk_err(&store, root), MstError::EmptyNode { cid: empty });

    // An empty intermediate node that points further down is canonical (no skipped layer).
    let l2: Vec<String> = keys_on(2, 20)
        .into_iter()
        .filter(|k| k > &l0[0])
        .take(1)
        .collect();
    let bottom = put(&mut store, &node_of(&l0[..1], None));
    let middle = put(
        &mut store,
        &NodeData {
            left: Some(bottom),
            entries: vec![],
        },
    );
    let root = put(&mut store, &node_of(&l2, Some(middle)));
    let walked: Vec<String> = Mst::new(&store, root)
        .walk()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(walked, vec![l0[0].clone(), l2[0].clone()]);
    // ... and it is what the builder makes.
    let built = mst::build([(l0[0].clone(), leaf()), (l2[0].clone(), leaf())]).unwrap();
    assert_eq!(built.root, root);
    // Skipping the empty layer is not canonical.
    let skipping = put(&mut store, &node_of(&l2, Some(bottom)));
    assert!(matches!(
        walk_err(&store, skipping),
        MstError::WrongLayer { .. }
    ));
}

#[test]
fn parallel_walk_matches_the_walk_on_a_large_tree() {
    let keys: Vec<(String, Cid)> = (0..3000)
        .map(|i| {
            let collection = [
                "app.bsky.feed.like",
                "app.bsky.feed.post",
                "app.bsky.graph.follow",
            ][i % 3];
            (
                format!("{collection}/3k{i:06}"),
                Cid::for_dag_cbor(&[0x18, (i % 200) as u8 + 24]),
            )
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let built = mst::build(keys.clone()).unwrap();
    let store_without = |skip: &[Cid]| {
        let mut store = MemoryBlockStore::new();
        for (cid, bytes) in &built.blocks {
            if !skip.contains(cid) {
                store.put_dag_cbor(bytes.clone());
            }
        }
        store
    };
    let store = store_without(&[]);
    for threads in [1, 2, 4, 7] {
        let seen = std::sync::Mutex::new(Vec::new());
        Mst::new(&store, built.root)
            .par_walk(threads, |k, v| {
                seen.lock().unwrap().push((k, v));
                Ok::<(), MstError>(())
            })
            .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, keys, "{threads} threads");
    }
    // Missing nodes anywhere (one, or two far apart): the same first error as the walk.
    let nodes: Vec<Cid> = built.blocks.iter().map(|(c, _)| *c).collect();
    for pick in [
        vec![0],
        vec![nodes.len() / 2],
        vec![nodes.len() - 2],
        vec![5, nodes.len() - 3],
        vec![nodes.len() - 3, 5],
    ] {
        let skip: Vec<Cid> = pick.iter().map(|&i| nodes[i]).collect();
        let store = store_without(&skip);
        assert!(matches!(
            walk_err(&store, built.root),
            MstError::MissingNode { .. }
        ));
    }
    // The walk reads ahead of what it hands out (to fetch records side by side), but an
    // error it meets ahead still comes after every key before it, then nothing more.
    let missing = nodes[nodes.len() / 2];
    let store = store_without(&[missing]);
    let items: Vec<_> = Mst::new(&store, built.root).walk().collect();
    let (last, before) = items.split_last().unwrap();
    assert_eq!(last, &Err(MstError::MissingNode { cid: missing }));
    assert!(before.len() > 300, "{} keys before the gap", before.len());
    let before: Vec<_> = before.iter().map(|r| r.clone().unwrap()).collect();
    assert_eq!(before, keys[..before.len()]);
    let mut walk = Mst::new(&store, built.root).walk();
    assert_eq!(walk.next(), Some(Ok(keys[0].clone())));
    // An error from `f` stops the walk and comes back, the first in key order.
    for threads in [1, 3] {
        let r = Mst::new(&store, built.root).par_walk(threads, |k, _| {
            if k.ends_with("0777") || k.ends_with("2777") {
                Err(MstError::InvalidKey {
                    key: k,
                    reason: "test".into(),
                })
            } else {
                Ok(())
            }
        });
        assert_eq!(
            r,
            Err(MstError::InvalidKey {
                key: "app.bsky.feed.like/3k000777".into(),
                reason: "test".into()
            })
        );
    }
}
