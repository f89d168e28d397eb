//! jacquard-repo driver: CAR file -> every record decoded.
//!
//! - `car::parse_car_bytes` (iroh-car underneath) splits the CAR into a map of blocks but
//!   does NOT check any block against its CID, nor does anything later in jacquard-repo,
//!   so this driver hashes every block itself (SHA-256, compared with the CID's digest) to
//!   do the same work as the others.
//! - `Repository::from_commit` decodes the commit; `Mst::leaves` walks the tree (it spawns
//!   a task per subtree; on this single-threaded runtime they run on one core, like the
//!   other drivers).
//! - Each record is decoded (DAG-CBOR, by serde_ipld_dagcbor) to `Data`,
//!   jacquard's own atproto data-model value type.
//! - No commit signature check (like the atmo, atrium and rsky drivers).
use std::sync::Arc;

use jacquard_common::{Data, DefaultStr};
use jacquard_repo::{BlockStore, MemoryBlockStore, Repository};
use sha2::{Digest, Sha256};

/// SHA-256 multihash code.
const SHA2_256: u64 = 0x12;

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
            assert_eq!(cid.hash().code(), SHA2_256, "{cid}: not SHA-256");
            assert_eq!(
                cid.hash().digest(),
                &Sha256::digest(data)[..],
                "{cid}: bytes do not hash to the CID"
            );
        }
        let store = Arc::new(MemoryBlockStore::new_from_blocks(parsed.blocks));
        let repo = Repository::<DefaultStr, _>::from_commit(store.clone(), &parsed.root)
            .await
            .expect("load commit");
        let leaves = repo.mst().leaves().await.expect("walk tree");
        let mut n = 0usize;
        for (_key, cid) in leaves {
            let block = store.get(&cid).await.expect("get").expect("record block");
            let v: Data = serde_ipld_dagcbor::from_slice(&block).expect("decode record");
            std::hint::black_box(v);
            n += 1;
        }
        n
    });
    println!("{n}");
}
