//! atrium-repo driver: CAR file -> every record decoded. `CarStore::open` reads every
//! block and checks it against its CID (SHA-256). `ATRIUM_MODE` says what each record is
//! decoded to (with `serde_ipld_dagcbor`):
//! - `ipld` (default): `Ipld`, atrium-repo's owned value;
//! - `typed`: each `app.bsky.*` record as its atrium-api type
//!   (`atrium_api::app::bsky::feed::post::Record`...), a record of another collection as
//!   `Ipld`.
//!
//! atrium-repo is async and sequential: everything runs on one thread.
use atrium_api::app::bsky::{actor, feed, graph};
use atrium_repo::{
    Repository,
    blockstore::{AsyncBlockStoreRead, CarStore},
};
use futures::TryStreamExt;
use ipld_core::ipld::Ipld;
use std::hint::black_box;

fn typed(key: &str, buf: &[u8]) {
    let collection = key.split_once('/').map_or("", |(c, _)| c);
    match collection {
        "app.bsky.feed.post" => drop(black_box(
            serde_ipld_dagcbor::from_slice::<feed::post::Record>(buf).expect("post"),
        )),
        "app.bsky.feed.like" => drop(black_box(
            serde_ipld_dagcbor::from_slice::<feed::like::Record>(buf).expect("like"),
        )),
        "app.bsky.graph.follow" => drop(black_box(
            serde_ipld_dagcbor::from_slice::<graph::follow::Record>(buf).expect("follow"),
        )),
        "app.bsky.feed.repost" => drop(black_box(
            serde_ipld_dagcbor::from_slice::<feed::repost::Record>(buf).expect("repost"),
        )),
        "app.bsky.actor.profile" => drop(black_box(
            serde_ipld_dagcbor::from_slice::<actor::profile::Record>(buf).expect("profile"),
        )),
        _ => drop(black_box(
            serde_ipld_dagcbor::from_slice::<Ipld>(buf).expect("decode record"),
        )),
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-atrium FILE.car");
    let typed_mode = match std::env::var("ATRIUM_MODE").as_deref() {
        Ok("typed") => true,
        Ok("ipld") | Err(_) => false,
        Ok(other) => panic!("ATRIUM_MODE: ipld or typed, not {other:?}"),
    };
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
        for (key, cid) in entries {
            store
                .read_block_into(cid, &mut buf)
                .await
                .expect("record block");
            if typed_mode {
                typed(&key, &buf);
            } else {
                let v: Ipld = serde_ipld_dagcbor::from_slice(&buf).expect("decode record");
                black_box(v);
            }
            n += 1;
        }
        n
    });
    println!("{n}");
}
