//! atrium-repo driver: CAR file -> every record decoded. `CarStore::open` reads every
//! block and checks it against its CID (SHA-256); records are decoded to `Ipld`.
use atrium_repo::{
    Repository,
    blockstore::{AsyncBlockStoreRead, CarStore},
};
use futures::TryStreamExt;
use ipld_core::ipld::Ipld;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-atrium FILE.car");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n = rt.block_on(async {
        let bytes = std::fs::read(&path).expect("read");
        let mut store = CarStore::open(std::io::Cursor::new(bytes))
            .await
            .expect("open CAR");
        let root = store.roots().next().expect("a root");
        let mut repo = Repository::open(&mut store, root).await.expect("open repo");
        let entries: Vec<(String, ipld_core::cid::Cid)> = repo
            .tree()
            .entries()
            .try_collect()
            .await
            .expect("walk tree");
        drop(repo);
        let mut n = 0usize;
        let mut buf = Vec::new();
        for (_key, cid) in entries {
            store
                .read_block_into(cid, &mut buf)
                .await
                .expect("record block");
            let v: Ipld = serde_ipld_dagcbor::from_slice(&buf).expect("decode record");
            std::hint::black_box(v);
            n += 1;
        }
        n
    });
    println!("{n}");
}
