//! rsky-repo driver: CAR file -> every record decoded.
//!
//! - `car::read_car_with_root` (iroh-car underneath) splits the CAR into a `BlockMap` but
//!   does NOT check any block against its CID, so this driver hashes every block itself
//!   (SHA-256, compared with the CID's digest) to do the same work as the others. (It also
//!   stops quietly at the first malformed block section instead of failing.)
//! - `ReadableRepo::load` decodes the commit; `MST::leaves` walks the tree (rsky's walker
//!   treats a missing or undecodable node as empty, so the count is the check here).
//! - Each record is read through the repo's storage with `read_record` and decoded to
//!   rsky's own record type (`RepoRecord`, a map of `Lex` values, by way of `Ipld`).
//! - No commit signature check (like the atmo, atrium and jacquard drivers).
use std::cell::Cell;
use std::sync::Arc;

use rsky_repo::readable_repo::ReadableRepo;
use rsky_repo::storage::memory_blockstore::MemoryBlockstore;
use rsky_repo::storage::readable_blockstore::ReadableBlockstore;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

/// SHA-256 multihash code.
const SHA2_256: u64 = 0x12;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-rsky FILE.car");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n = rt.block_on(async {
        let bytes = std::fs::read(&path).expect("read");
        let car = rsky_repo::car::read_car_with_root(bytes)
            .await
            .expect("parse CAR");
        let blocks = Cell::new(0usize);
        car.blocks
            .for_each(|data, cid| {
                assert_eq!(cid.hash().code(), SHA2_256, "{cid}: not SHA-256");
                assert_eq!(
                    cid.hash().digest(),
                    &Sha256::digest(data)[..],
                    "{cid}: bytes do not hash to the CID"
                );
                blocks.set(blocks.get() + 1);
            })
            .expect("blocks");
        assert!(blocks.get() > 0, "no blocks");
        let store = Arc::new(RwLock::new(
            MemoryBlockstore::new(Some(car.blocks))
                .await
                .expect("store"),
        ));
        let repo = ReadableRepo::load(store.clone(), car.root)
            .await
            .expect("load commit");
        let leaves = repo.data.leaves().await.expect("walk tree");
        let store = store.read().await;
        let mut n = 0usize;
        for leaf in leaves {
            let record = store.read_record(&leaf.value).await.expect("decode record");
            std::hint::black_box(record);
            n += 1;
        }
        n
    });
    println!("{n}");
}
