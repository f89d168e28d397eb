//! rsky-repo driver: CAR file -> every record decoded. `read_car_with_root` (iroh-car)
//! does not check blocks against their CIDs, so this driver hashes every block itself
//! (SHA-256, compared with the CID's digest) to do the same work as the others. Records
//! are decoded with `get_and_parse_record` (rsky's own record decoder).
use std::sync::Arc;

use rsky_repo::readable_repo::ReadableRepo;
use rsky_repo::storage::memory_blockstore::MemoryBlockstore;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

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
        car.blocks
            .for_each(|data, cid| {
                assert_eq!(cid.hash().code(), 0x12, "sha2-256");
                assert_eq!(
                    cid.hash().digest(),
                    Sha256::digest(data).as_slice(),
                    "hash mismatch"
                );
            })
            .expect("blocks");
        let blocks = car.blocks.clone();
        let store = MemoryBlockstore::new(Some(car.blocks))
            .await
            .expect("store");
        let repo = ReadableRepo::load(Arc::new(RwLock::new(store)), car.root)
            .await
            .expect("load");
        let leaves = repo.data.leaves().await.expect("walk tree");
        let mut n = 0usize;
        for leaf in leaves {
            let r =
                rsky_repo::parse::get_and_parse_record(&blocks, leaf.value).expect("decode record");
            std::hint::black_box(r.record);
            n += 1;
        }
        n
    });
    println!("{n}");
}
