//! jacquard-repo driver: CAR file -> every record decoded. `parse_car_bytes` (iroh-car)
//! does not check blocks against their CIDs, so this driver hashes every block itself
//! (SHA-256, compared with the CID's digest) to do the same work as the others.
use std::sync::Arc;

use ipld_core::ipld::Ipld;
use jacquard_repo::{BlockStore, MemoryBlockStore, Mst};
use sha2::{Digest, Sha256};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-jacquard FILE.car");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n = rt.block_on(async {
        let bytes = std::fs::read(&path).expect("read");
        let parsed = jacquard_repo::car::parse_car_bytes(&bytes)
            .await
            .expect("parse CAR");
        drop(bytes);
        for (cid, data) in &parsed.blocks {
            let digest = Sha256::digest(data);
            assert_eq!(cid.hash().code(), 0x12, "sha2-256");
            assert_eq!(cid.hash().digest(), digest.as_slice(), "hash mismatch");
        }
        let root = parsed.root;
        let store = Arc::new(MemoryBlockStore::new_from_blocks(parsed.blocks));
        let commit = store.get(&root).await.expect("get").expect("commit block");
        let commit: Ipld = serde_ipld_dagcbor::from_slice(&commit).expect("decode commit");
        let Ipld::Link(data) = commit.get("data").expect("data").expect("data").clone() else {
            panic!("data is not a link")
        };
        let mst = Mst::load(store.clone(), data, None);
        let leaves = mst.leaves().await.expect("walk tree");
        let mut n = 0usize;
        for (_key, cid) in leaves {
            let block = store.get(&cid).await.expect("get").expect("record block");
            let v: Ipld = serde_ipld_dagcbor::from_slice(&block).expect("decode record");
            std::hint::black_box(v);
            n += 1;
        }
        n
    });
    println!("{n}");
}
