//! The Merkle Search Tree (MST) that maps `collection/rkey` keys to record CIDs.
//!
//! A node is the DAG-CBOR map `{l, e: [{p, k, v, t}]}`: `l` links the subtree of keys
//! before the first entry (or is null), and each entry holds a key (`k`, the bytes after
//! the `p` bytes it shares with the previous key of the node), the record CID `v`, and
//! `t`, the subtree of keys between it and the next entry (or null). A key's layer is the
//! number of leading zero bits of its SHA-256 divided by two (fanout 4); a node holds the
//! keys of one layer and its subtrees sit exactly one layer below. The shape is therefore
//! a function of the key set alone, and [`Mst::walk`] rejects any other shape.
//!
//! ```
//! # fn main() -> Result<(), atmo_repo::Error> {
//! use atmo_data::Cid;
//! use atmo_repo::{MemoryBlockStore, mst};
//!
//! let record = Cid::for_dag_cbor(&[0xa0]);
//! let keys = ["app.bsky.feed.like/3k2", "app.bsky.feed.post/3k1", "app.bsky.feed.post/3k3"];
//! let built = mst::build(keys.iter().map(|k| (k.to_string(), record)))?;
//!
//! let mut store = MemoryBlockStore::new();
//! for (_cid, bytes) in built.blocks {
//!     store.put_dag_cbor(bytes);
//! }
//! let tree = mst::Mst::new(&store, built.root);
//! assert_eq!(tree.get("app.bsky.feed.post/3k3")?, Some(record));
//! let posts: Vec<String> = tree.list("app.bsky.feed.post").map(|r| r.map(|(k, _)| k)).collect::<Result<_, _>>()?;
//! assert_eq!(posts, ["app.bsky.feed.post/3k1", "app.bsky.feed.post/3k3"]);
//! # Ok(()) }
//! ```

mod builder;
mod check;
mod diff;
mod edit;
mod layer;
mod node;
mod proof;
mod walk;

pub use builder::{BuiltTree, build, build_any_keys};
pub use diff::{Change, diff};
pub use edit::{EditedTree, Editor};
pub use layer::{MAX_LAYER, check_key, common_prefix_len, key_layer};
pub use node::{EntryData, NodeData};
pub use walk::{Mst, Walk};
