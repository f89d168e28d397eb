//! MST node decoding of arbitrary bytes. Invariants: no panic; on `Ok`, encoding the node
//! gives the input back (so equal nodes have equal CIDs), and walking a one-node tree made
//! of it never panics and yields keys in strictly increasing order.
#![no_main]

use atmo_repo::MemoryBlockStore;
use atmo_repo::mst::{Mst, NodeData};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(node) = NodeData::decode(data) else {
        return;
    };
    assert_eq!(node.encode(), data);
    let mut store = MemoryBlockStore::new();
    let root = store.put_dag_cbor(data.to_vec());
    let mut last: Option<String> = None;
    for r in Mst::new(&store, root).any_keys().walk() {
        let Ok((key, _)) = r else { break };
        if let Some(prev) = &last {
            assert!(key > *prev);
        }
        last = Some(key);
    }
});
