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

use atmo_data::cbor;
use atmo_data::{Cid, ValueRef};
use sha2::{Digest, Sha256};

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use crate::error::MstError;
use crate::store::BlockStore;

mod edit;
mod proof;

pub use edit::{EditedTree, Editor};

/// Highest possible layer: 256 bits of SHA-256 / 2.
pub const MAX_LAYER: u8 = 128;

/// The layer of a key: leading zero bits of SHA-256(key), divided by two.
///
/// ```
/// assert_eq!(atmo_repo::mst::key_layer(b"blue"), 1);
/// assert_eq!(atmo_repo::mst::key_layer(b"app.bsky.feed.post/9adeb165882c"), 8);
/// ```
pub fn key_layer(key: &[u8]) -> u8 {
    // Keys of up to 55 bytes (nearly all) fit one padded SHA-256 block: compress it
    // directly and count the zeros in the state words.
    if let Some(state) = one_block_sha256(key) {
        let mut zeros = 0u32;
        for w in state {
            zeros += w.leading_zeros();
            if w != 0 {
                break;
            }
        }
        return (zeros / 2) as u8;
    }
    let h: [u8; 32] = Sha256::digest(key).into();
    let mut zeros = 0u32;
    for b in h {
        zeros += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    (zeros / 2) as u8
}

/// SHA-256 of at most 55 bytes as its eight state words (the digest, big-endian), or
/// `None` for longer input.
fn one_block_sha256(msg: &[u8]) -> Option<[u32; 8]> {
    if msg.len() > 55 {
        return None;
    }
    let mut block = [0u8; 64];
    block.get_mut(..msg.len())?.copy_from_slice(msg);
    *block.get_mut(msg.len())? = 0x80;
    let bits = (msg.len() as u64) * 8;
    block.get_mut(56..)?.copy_from_slice(&bits.to_be_bytes());
    let mut state: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    sha2::compress256(&mut state, &[block.into()]);
    Some(state)
}

/// Length of the common prefix of two byte strings.
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Checks that a key is `collection/rkey` with a valid NSID and record key.
///
/// # Errors
/// [`MstError::InvalidKey`] saying what is wrong.
pub fn check_key(key: &str) -> Result<(), MstError> {
    let bad = |reason: String| MstError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let (collection, rkey) = key
        .split_once('/')
        .ok_or_else(|| bad("no '/' between collection and record key".into()))?;
    atmo_syntax::Nsid::new(collection).map_err(|e| bad(format!("collection: {e}")))?;
    atmo_syntax::RecordKey::new(rkey).map_err(|e| bad(format!("record key: {e}")))?;
    Ok(())
}

/// One decoded entry of a node, borrowing its key suffix from the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryData<'a> {
    /// `p`: bytes shared with the previous key of the node.
    pub prefix_len: usize,
    /// `k`: the rest of the key.
    pub key_suffix: &'a [u8],
    /// `v`: the record's CID.
    pub value: Cid,
    /// `t`: the subtree between this entry and the next, if any.
    pub right: Option<Cid>,
}

/// One decoded node, `{l, e}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeData<'a> {
    /// `l`: the subtree before the first entry, if any.
    pub left: Option<Cid>,
    /// `e`: the entries.
    pub entries: Vec<EntryData<'a>>,
}

fn shape(bytes: &[u8], reason: &'static str) -> MstError {
    MstError::NodeShape {
        cid: Cid::for_dag_cbor(bytes),
        reason,
    }
}

fn opt_link(v: &ValueRef<'_>) -> Option<Option<Cid>> {
    match v {
        ValueRef::Null => Some(None),
        ValueRef::Link(c) => Some(Some(c.to_cid())),
        _ => None,
    }
}

impl<'a> NodeData<'a> {
    /// Decodes a node block (strict DAG-CBOR, exactly the fields `l`, `e`, and `p`, `k`,
    /// `v`, `t` per entry, `l` and `t` present even when null).
    ///
    /// # Errors
    /// [`MstError::NodeCbor`] or [`MstError::NodeShape`] (with the block's CID).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, MstError> {
        // Nearly every node is in the one canonical layout with 36-byte CIDs: read that
        // directly; anything else (including every malformed block) takes the general
        // decoder, which accepts exactly the same nodes and says what is wrong.
        if let Some(node) = fast::decode(bytes) {
            return Ok(node);
        }
        Self::decode_general(bytes)
    }

    /// [`Self::decode`] into a reused vector of entries (cleared first); returns `l`.
    fn decode_into(
        bytes: &'a [u8],
        entries: &mut Vec<EntryData<'a>>,
    ) -> Result<Option<Cid>, MstError> {
        entries.clear();
        if let Some(left) = fast::decode_into(bytes, entries) {
            return Ok(left);
        }
        entries.clear();
        let node = Self::decode_general(bytes)?;
        entries.extend(node.entries);
        Ok(node.left)
    }

    fn decode_general(bytes: &'a [u8]) -> Result<Self, MstError> {
        let v = cbor::decode_ref(bytes).map_err(|source| MstError::NodeCbor {
            cid: Cid::for_dag_cbor(bytes),
            source,
        })?;
        let m = v
            .as_map()
            .ok_or_else(|| shape(bytes, "node is not a map"))?;
        let mut it = m.iter();
        let (2, Some(("e", e)), Some(("l", l))) = (m.len(), it.next(), it.next()) else {
            return Err(shape(bytes, "node keys are not exactly {e, l}"));
        };
        let left = opt_link(&l).ok_or_else(|| shape(bytes, "l is neither a link nor null"))?;
        let e = e
            .as_array()
            .ok_or_else(|| shape(bytes, "e is not an array"))?;
        let mut entries = Vec::with_capacity(e.len());
        for entry in e.iter() {
            let m = entry
                .as_map()
                .ok_or_else(|| shape(bytes, "entry is not a map"))?;
            let mut it = m.iter();
            let (4, Some(("k", k)), Some(("p", p)), Some(("t", t)), Some(("v", v))) =
                (m.len(), it.next(), it.next(), it.next(), it.next())
            else {
                return Err(shape(bytes, "entry keys are not exactly {k, p, t, v}"));
            };
            let key_suffix = k
                .as_bytes()
                .ok_or_else(|| shape(bytes, "k is not a byte string"))?;
            let prefix_len = p
                .as_integer()
                .and_then(|p| usize::try_from(p).ok())
                .ok_or_else(|| shape(bytes, "p is not a non-negative integer"))?;
            let value = v.as_link().ok_or_else(|| shape(bytes, "v is not a link"))?;
            let right = opt_link(&t).ok_or_else(|| shape(bytes, "t is neither a link nor null"))?;
            entries.push(EntryData {
                prefix_len,
                key_suffix,
                value,
                right,
            });
        }
        Ok(Self { left, entries })
    }

    /// Encodes the node as DAG-CBOR (the inverse of [`NodeData::decode`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.entries.len() * 80);
        out.push(0xa2);
        out.extend_from_slice(b"\x61e");
        head(4, self.entries.len() as u64, &mut out);
        for e in &self.entries {
            out.push(0xa4);
            out.extend_from_slice(b"\x61k");
            head(2, e.key_suffix.len() as u64, &mut out);
            out.extend_from_slice(e.key_suffix);
            out.extend_from_slice(b"\x61p");
            head(0, e.prefix_len as u64, &mut out);
            out.extend_from_slice(b"\x61t");
            opt_cid(e.right.as_ref(), &mut out);
            out.extend_from_slice(b"\x61v");
            cid(&e.value, &mut out);
        }
        out.extend_from_slice(b"\x61l");
        opt_cid(self.left.as_ref(), &mut out);
        out
    }
}

/// The direct reader of canonical node blocks behind [`NodeData::decode`].
mod fast {
    use super::{EntryData, NodeData};
    use atmo_data::Cid;

    struct Bytes<'a>(&'a [u8]);

    impl<'a> Bytes<'a> {
        fn lit<const N: usize>(&mut self, want: &[u8; N]) -> Option<()> {
            let (h, rest) = self.0.split_first_chunk::<N>()?;
            (h == want).then(|| self.0 = rest)
        }

        fn byte(&mut self) -> Option<u8> {
            let (b, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(*b)
        }

        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (h, rest) = self.0.split_at_checked(n)?;
            self.0 = rest;
            Some(h)
        }

        /// A head of `major` in its shortest form, with a value below 65,536.
        fn head(&mut self, major: u8) -> Option<usize> {
            let b = self.byte()?;
            if b >> 5 != major {
                return None;
            }
            match b & 0x1f {
                v @ 0..=23 => Some(usize::from(v)),
                24 => Some(usize::from(self.byte()?)).filter(|v| *v >= 24),
                25 => {
                    let [hi, lo] = *self.take(2)?.first_chunk::<2>()?;
                    Some(usize::from(u16::from_be_bytes([hi, lo]))).filter(|v| *v >= 256)
                }
                _ => None,
            }
        }

        /// Tag 42 over 37 bytes: 0x00 then a CIDv1 (dag-cbor or raw, SHA-256).
        fn link(&mut self) -> Option<Cid> {
            self.lit(&[0xd8, 0x2a, 0x58, 0x25, 0x00])?;
            let raw = self.take(36)?;
            match raw {
                [0x01, 0x71 | 0x55, 0x12, 0x20, ..] => {
                    let (cid, rest) = Cid::read_prefix(raw).ok()?;
                    rest.is_empty().then_some(cid)
                }
                _ => None,
            }
        }

        fn opt_link(&mut self) -> Option<Option<Cid>> {
            if self.0.first() == Some(&0xf6) {
                self.0 = self.0.get(1..)?;
                Some(None)
            } else {
                self.link().map(Some)
            }
        }
    }

    /// `{"e": [{"k", "p", "t", "v"}...], "l"}` exactly as strict DAG-CBOR lays it out, or
    /// `None` for anything else.
    pub(super) fn decode(bytes: &[u8]) -> Option<NodeData<'_>> {
        let mut entries = Vec::new();
        let left = decode_into(bytes, &mut entries)?;
        Some(NodeData { left, entries })
    }

    /// [`decode`] appending the entries to `entries`; returns `l`.
    pub(super) fn decode_into<'a>(
        bytes: &'a [u8],
        entries: &mut Vec<EntryData<'a>>,
    ) -> Option<Option<Cid>> {
        let mut r = Bytes(bytes);
        r.lit(b"\xa2\x61e")?;
        let n = r.head(4)?;
        // Every entry takes at least 50 bytes (four keys, a key suffix head and a link), so
        // the input left bounds what is worth reserving.
        entries.reserve(n.min(r.0.len() / 50));
        for _ in 0..n {
            r.lit(b"\xa4\x61k")?;
            let len = r.head(2)?;
            let key_suffix = r.take(len)?;
            r.lit(b"\x61p")?;
            let prefix_len = r.head(0)?;
            r.lit(b"\x61t")?;
            let right = r.opt_link()?;
            r.lit(b"\x61v")?;
            let value = r.link()?;
            entries.push(EntryData {
                prefix_len,
                key_suffix,
                value,
                right,
            });
        }
        r.lit(b"\x61l")?;
        let left = r.opt_link()?;
        r.0.is_empty().then_some(left)
    }
}

fn head(major: u8, v: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if v < 24 {
        out.push(m | v as u8);
    } else if v < 0x100 {
        out.extend_from_slice(&[m | 24, v as u8]);
    } else if v < 0x1_0000 {
        out.push(m | 25);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v < 0x1_0000_0000 {
        out.push(m | 26);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn cid(c: &Cid, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xd8, 0x2a]);
    head(2, c.encoded_len() as u64 + 1, out);
    out.push(0);
    c.write_bytes(out);
}

fn opt_cid(c: Option<&Cid>, out: &mut Vec<u8>) {
    match c {
        Some(c) => cid(c, out),
        None => out.push(0xf6),
    }
}

/// A node with its keys expanded and its layer checked.
struct Node {
    cid: Cid,
    layer: u8,
    left: Option<Cid>,
    entries: Vec<(String, Cid, Option<Cid>)>,
}

/// Loads and checks one node: canonical prefixes, ASCII keys, one layer for all keys
/// (equal to `expected` if given), the empty-node rules, no children on layer 0.
fn load_node<S: BlockStore + ?Sized>(
    store: &S,
    cid: Cid,
    expected: Option<u8>,
) -> Result<Node, MstError> {
    load_node_reusing(store, cid, expected, Vec::new(), &mut Vec::new())
}

/// [`load_node`] filling `entries` (empty) and decoding through `scratch` (its contents do
/// not matter): vectors a walk reuses from node to node.
fn load_node_reusing<'b, S: BlockStore + ?Sized>(
    store: &'b S,
    cid: Cid,
    expected: Option<u8>,
    mut entries: Vec<Entry>,
    scratch: &mut Vec<EntryData<'b>>,
) -> Result<Node, MstError> {
    let bytes = store.get_block(&cid).ok_or(MstError::MissingNode { cid })?;
    let left = NodeData::decode_into(bytes, scratch)?;
    let data = NodeData {
        left,
        entries: std::mem::take(scratch),
    };
    let checked = check_node(cid, expected, &data, &mut entries);
    let left = data.left;
    *scratch = data.entries;
    Ok(Node {
        cid,
        layer: checked?,
        left,
        entries,
    })
}

/// A node entry with its whole key: key, value, right subtree.
type Entry = (String, Cid, Option<Cid>);

/// Expands and checks the keys of `data` into `entries`: canonical prefixes, ASCII keys,
/// one layer for all keys (equal to `expected` if given), the empty-node rules, no
/// children on layer 0. Returns the node's layer.
fn check_node(
    cid: Cid,
    expected: Option<u8>,
    data: &NodeData<'_>,
    entries: &mut Vec<Entry>,
) -> Result<u8, MstError> {
    entries.reserve(data.entries.len());
    let mut layer = expected;
    for (index, e) in data.entries.iter().enumerate() {
        // Keys before this one are ASCII: any prefix of them is a `str`.
        let prev: &str = entries.last().map_or("", |e| e.0.as_str());
        if e.prefix_len > prev.len() {
            return Err(MstError::PrefixTooLong {
                cid,
                index,
                prefix: e.prefix_len as u64,
            });
        }
        let shared = prev.get(..e.prefix_len).unwrap_or_default();
        let suffix = match std::str::from_utf8(e.key_suffix) {
            Ok(s) if s.is_ascii() => s,
            _ => {
                return Err(MstError::InvalidKey {
                    key: String::from_utf8_lossy(&[shared.as_bytes(), e.key_suffix].concat())
                        .into_owned(),
                    reason: "not ASCII".into(),
                });
            }
        };
        let mut key = String::with_capacity(shared.len() + suffix.len());
        key.push_str(shared);
        key.push_str(suffix);
        let canonical = common_prefix_len(prev.as_bytes(), key.as_bytes());
        if e.prefix_len != canonical {
            return Err(MstError::PrefixNotCanonical {
                cid,
                index,
                found: e.prefix_len,
                expected: canonical,
            });
        }
        let kl = key_layer(key.as_bytes());
        match layer {
            None => layer = Some(kl),
            Some(l) if l != kl => {
                return Err(MstError::WrongLayer {
                    key,
                    key_layer: kl,
                    node_layer: l,
                });
            }
            Some(_) => {}
        }
        entries.push((key, e.value, e.right));
    }
    let is_root = expected.is_none();
    if data.entries.is_empty() && (is_root == data.left.is_some()) {
        return Err(MstError::EmptyNode { cid });
    }
    let layer = layer.unwrap_or(0);
    if layer == 0 && (data.left.is_some() || entries.iter().any(|e| e.2.is_some())) {
        return Err(MstError::ChildOfLeaf { cid });
    }
    Ok(layer)
}

/// A Merkle Search Tree over a [`BlockStore`].
#[derive(Debug, Clone, Copy)]
pub struct Mst<'s, S: ?Sized> {
    store: &'s S,
    root: Cid,
    any_keys: bool,
}

impl<'s, S: BlockStore + ?Sized> Mst<'s, S> {
    /// The tree whose root node has this CID. Nothing is read until it is used.
    pub fn new(store: &'s S, root: Cid) -> Self {
        Self {
            store,
            root,
            any_keys: false,
        }
    }

    /// Accepts any ASCII keys instead of only `collection/rkey` repository paths (for
    /// generic trees such as the interop test vectors). Every structural check stays.
    pub fn any_keys(mut self) -> Self {
        self.any_keys = true;
        self
    }

    /// The root node's CID.
    pub fn root(&self) -> Cid {
        self.root
    }

    /// Every `(key, value CID)` in key order, checking the whole tree's canonical form on
    /// the way (see [`MstError`]). The first error ends the walk.
    pub fn walk(&self) -> Walk<'s, S> {
        Walk {
            store: self.store,
            stack: Vec::new(),
            start: Some((self.root, None)),
            last_key: String::new(),
            last_collection_len: 0,
            any_keys: self.any_keys,
            started: false,
            failed: false,
            nodes: 0,
            ahead: Vec::new(),
            spare: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The walk of the subtree at `cid`, which must be on `layer`.
    fn walk_subtree(&self, cid: Cid, layer: Option<u8>) -> Walk<'s, S> {
        let mut walk = self.walk();
        walk.start = Some((cid, layer));
        walk
    }

    /// Every `(key, value CID)` handed to `f` on up to `threads` threads (the calling one
    /// included), in no particular order, with the checks of [`Mst::walk`]. The tree is
    /// cut into independent subtrees that the threads take in turn; the keys where they
    /// meet are checked for order at the end.
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_repo::Error> {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use atmo_data::Cid;
    /// use atmo_repo::{MemoryBlockStore, MstError, mst};
    ///
    /// let record = Cid::for_dag_cbor(&[0xa0]);
    /// let keys = (0..500).map(|i| (format!("app.bsky.feed.like/3k{i:04}"), record));
    /// let built = mst::build(keys)?;
    /// let mut store = MemoryBlockStore::new();
    /// for (_cid, bytes) in built.blocks {
    ///     store.put_dag_cbor(bytes);
    /// }
    /// let seen = AtomicUsize::new(0);
    /// mst::Mst::new(&store, built.root).par_walk(2, |_key, _cid| {
    ///     seen.fetch_add(1, Ordering::Relaxed);
    ///     Ok::<(), MstError>(())
    /// })?;
    /// assert_eq!(seen.into_inner(), 500);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// An error (of the tree, or returned by `f`) whenever [`Mst::walk`] would meet one:
    /// the first in key order, unless the tree has several problems on one key. Once one
    /// is found the work after it is abandoned, but `f` may already have seen keys after
    /// it.
    pub fn par_walk<E, F>(&self, threads: usize, f: F) -> Result<(), E>
    where
        S: Sync,
        E: From<MstError> + Send,
        F: Fn(String, Cid) -> Result<(), E> + Sync,
    {
        let parts = self.parts(threads.saturating_mul(16));
        let next = AtomicUsize::new(0);
        // Index of the first part that failed so far: later parts are not worth finishing.
        let failed = AtomicUsize::new(usize::MAX);
        let run = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Relaxed);
                let Some(part) = parts.get(i) else { break };
                if i > failed.load(Relaxed) {
                    break;
                }
                let out = self.run_part(part, || i > failed.load(Relaxed), &f);
                if out.error.is_some() {
                    failed.fetch_min(i, Relaxed);
                }
                done.push((i, out));
            }
            done
        };
        let mut done = std::thread::scope(|scope| {
            // The parts are shared out as threads ask: a thread that cannot be started
            // (a platform without threads) leaves its share to the others.
            let handles: Vec<_> = (1..threads.max(1))
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, run).ok())
                .collect();
            let mut done = run();
            for h in handles {
                done.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            done
        });
        done.sort_unstable_by_key(|(i, _)| *i);
        // Every part before the first failure ran to its end: check them in key order.
        let mut last: Option<String> = None;
        for (_, out) in done {
            // The order of a part's first key against the key before it is checked before
            // anything found after that key.
            if let (Some(prev), Some(first)) = (&last, &out.first) {
                if first <= prev {
                    return Err(MstError::KeyOrder {
                        previous: prev.clone(),
                        key: first.clone(),
                    }
                    .into());
                }
            }
            if let Some(e) = out.error {
                return Err(e);
            }
            if out.last.is_some() {
                last = out.last;
            }
        }
        Ok(())
    }

    /// The tree as a sequence of keys and subtrees in key order, opening nodes from the
    /// root down until there are at least `want` items (or only keys are left).
    fn parts(&self, want: usize) -> Vec<Part> {
        let mut parts = vec![Part::Tree(self.root, None)];
        while parts.len() < want && parts.iter().any(|p| matches!(p, Part::Tree(..))) {
            let mut opened = Vec::with_capacity(parts.len() * 4);
            for part in parts {
                let Part::Tree(cid, expected) = part else {
                    opened.push(part);
                    continue;
                };
                // A bad node stays in its place: errors before it in key order come first.
                let node = match load_node(self.store, cid, expected) {
                    Ok(node) => node,
                    Err(e) => {
                        opened.push(Part::Bad(e));
                        continue;
                    }
                };
                // load_node rejects children on layer 0, so `child` is `Some` below.
                let child = node.layer.checked_sub(1);
                let tree = |c: Cid| match child {
                    Some(l) => Part::Tree(c, Some(l)),
                    None => Part::Bad(MstError::ChildOfLeaf { cid: c }),
                };
                opened.extend(node.left.map(tree));
                for (key, value, right) in node.entries {
                    opened.push(Part::Key(key, value));
                    opened.extend(right.map(tree));
                }
            }
            parts = opened;
        }
        parts
    }

    /// Walks one part, handing its keys to `f`, until it ends, fails or `stop` says so.
    fn run_part<E, F>(&self, part: &Part, stop: impl Fn() -> bool, f: &F) -> PartOutcome<E>
    where
        E: From<MstError>,
        F: Fn(String, Cid) -> Result<(), E>,
    {
        let mut out = PartOutcome {
            first: None,
            last: None,
            error: None,
        };
        match part {
            Part::Bad(e) => out.error = Some(e.clone().into()),
            Part::Key(key, value) => {
                let checked = if self.any_keys {
                    Ok(())
                } else {
                    check_key(key)
                };
                out.error = match checked {
                    Ok(()) => f(key.clone(), *value).err(),
                    Err(e) => Some(e.into()),
                };
                out.first = Some(key.clone());
                out.last = out.first.clone();
            }
            Part::Tree(cid, layer) => {
                let mut walk = self.walk_subtree(*cid, *layer);
                let mut n = 0u32;
                for item in walk.by_ref() {
                    let r = item.map_err(E::from).and_then(|(key, value)| {
                        if out.first.is_none() {
                            out.first = Some(key.clone());
                        }
                        f(key, value)
                    });
                    if let Err(e) = r {
                        out.error = Some(e);
                        break;
                    }
                    n = n.wrapping_add(1);
                    if n % 256 == 0 && stop() {
                        break;
                    }
                }
                if walk.started {
                    out.last = Some(walk.last_key);
                }
            }
        }
        out
    }

    /// The value CID stored under `key`, if any. Reads only the nodes on the key's path.
    ///
    /// # Errors
    /// [`MstError`] if a node on the path is missing or malformed.
    pub fn get(&self, key: &str) -> Result<Option<Cid>, MstError> {
        let mut cid = self.root;
        let mut expected = None;
        loop {
            let node = load_node(self.store, cid, expected)?;
            let idx = node.entries.partition_point(|(k, _, _)| k.as_str() < key);
            if let Some((k, v, _)) = node.entries.get(idx) {
                if k == key {
                    return Ok(Some(*v));
                }
            }
            let child = if idx == 0 {
                node.left
            } else {
                node.entries.get(idx - 1).and_then(|e| e.2)
            };
            match (child, node.layer.checked_sub(1)) {
                (Some(c), Some(l)) => {
                    cid = c;
                    expected = Some(l);
                }
                _ => return Ok(None),
            }
        }
    }

    /// Every `(key, value CID)` of one collection (keys starting with `collection/`), in
    /// key order. Walks from the start of the tree and stops after the collection.
    pub fn list(
        &self,
        collection: &str,
    ) -> impl Iterator<Item = Result<(String, Cid), MstError>> + use<'s, S> {
        let prefix = format!("{collection}/");
        let mut done = false;
        self.walk().filter_map(move |r| {
            if done {
                return None;
            }
            match r {
                Err(e) => {
                    done = true;
                    Some(Err(e))
                }
                Ok((k, v)) if k.starts_with(&prefix) => Some(Ok((k, v))),
                Ok((k, _)) => {
                    if k.as_str() > prefix.as_str() {
                        done = true;
                    }
                    None
                }
            }
        })
    }
}

/// A piece of the tree for [`Mst::par_walk`].
enum Part {
    /// A key of an opened node and its value.
    Key(String, Cid),
    /// A subtree not opened yet and the layer it must be on (`None` for the root).
    Tree(Cid, Option<u8>),
    /// A subtree under a layer-0 node (an error once reached).
    Bad(MstError),
}

/// What one thread found in one [`Part`].
struct PartOutcome<E> {
    first: Option<String>,
    last: Option<String>,
    error: Option<E>,
}

struct Frame {
    layer: u8,
    /// The node's entries; those before `next` were handed out (their keys taken).
    entries: Vec<Entry>,
    next: usize,
    next_child: Option<Cid>,
}

/// In-order walk of a tree; see [`Mst::walk`].
#[derive(Debug)]
pub struct Walk<'s, S: ?Sized> {
    store: &'s S,
    stack: Vec<Frame>,
    /// The node to start from and the layer it must be on (`None` for the root).
    start: Option<(Cid, Option<u8>)>,
    last_key: String,
    last_collection_len: usize,
    any_keys: bool,
    started: bool,
    failed: bool,
    nodes: usize,
    /// The CIDs handed to [`BlockStore::prefetch`] (kept to reuse its allocation).
    ahead: Vec<Cid>,
    /// Emptied entry vectors of nodes walked, for the next nodes.
    spare: Vec<Vec<Entry>>,
    /// The decoder's entry vector, reused from node to node.
    scratch: Vec<EntryData<'s>>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame").field("layer", &self.layer).finish()
    }
}

impl<'s, S: BlockStore + ?Sized> Walk<'s, S> {
    /// Number of nodes read so far.
    pub fn nodes_read(&self) -> usize {
        self.nodes
    }

    fn enter(&mut self, cid: Cid, expected: Option<u8>) -> Result<(), MstError> {
        let entries = self.spare.pop().unwrap_or_default();
        let node = load_node_reusing(self.store, cid, expected, entries, &mut self.scratch)?;
        self.nodes += 1;
        let _ = node.cid;
        // The node's records and subtrees are what the walk reads next.
        self.ahead.clear();
        self.ahead.extend(node.left);
        for (_, value, right) in &node.entries {
            self.ahead.push(*value);
            self.ahead.extend(*right);
        }
        self.store.prefetch(&self.ahead);
        self.stack.push(Frame {
            layer: node.layer,
            entries: node.entries,
            next: 0,
            next_child: node.left,
        });
        Ok(())
    }

    fn check_key(&mut self, key: &str) -> Result<(), MstError> {
        if self.started && key <= self.last_key.as_str() {
            return Err(MstError::KeyOrder {
                previous: self.last_key.clone(),
                key: key.to_owned(),
            });
        }
        self.started = true;
        if self.any_keys {
            self.last_key.clear();
            self.last_key.push_str(key);
            return Ok(());
        }
        // Keys of one collection are adjacent: check the NSID only when it changes.
        let same_collection = self.last_collection_len > 0
            && key.as_bytes().get(..self.last_collection_len)
                == self.last_key.as_bytes().get(..self.last_collection_len);
        if same_collection {
            let rkey = key.get(self.last_collection_len..).unwrap_or_default();
            atmo_syntax::RecordKey::new(rkey).map_err(|e| MstError::InvalidKey {
                key: key.to_owned(),
                reason: format!("record key: {e}"),
            })?;
        } else {
            check_key(key)?;
        }
        self.last_collection_len = key.find('/').map_or(0, |i| i + 1);
        self.last_key.clear();
        self.last_key.push_str(key);
        Ok(())
    }

    fn step(&mut self) -> Option<Result<(String, Cid), MstError>> {
        if let Some((root, layer)) = self.start.take() {
            if let Err(e) = self.enter(root, layer) {
                return Some(Err(e));
            }
        }
        loop {
            let top = self.stack.last_mut()?;
            if let Some(child) = top.next_child.take() {
                let Some(layer) = top.layer.checked_sub(1) else {
                    // load_node rejects children on layer 0.
                    return Some(Err(MstError::ChildOfLeaf { cid: child }));
                };
                if let Err(e) = self.enter(child, Some(layer)) {
                    return Some(Err(e));
                }
                continue;
            }
            match top.entries.get_mut(top.next) {
                Some((key, value, right)) => {
                    let (key, value) = (std::mem::take(key), *value);
                    top.next += 1;
                    top.next_child = *right;
                    if let Err(e) = self.check_key(&key) {
                        return Some(Err(e));
                    }
                    return Some(Ok((key, value)));
                }
                None => {
                    if let Some(mut done) = self.stack.pop().map(|f| f.entries) {
                        done.clear();
                        self.spare.push(done);
                    }
                }
            }
        }
    }
}

impl<S: BlockStore + ?Sized> Iterator for Walk<'_, S> {
    type Item = Result<(String, Cid), MstError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}

/// The nodes of a tree built by [`build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltTree {
    /// The root node's CID.
    pub root: Cid,
    /// Every node block `(CID, DAG-CBOR bytes)`, children before parents, the root last.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Builds the canonical tree for a set of `(key, value CID)` pairs, given in strictly
/// increasing key order.
///
/// # Errors
/// [`MstError::UnsortedInput`] if the keys are not sorted and unique, and
/// [`MstError::InvalidKey`] for a key that is not `collection/rkey`.
pub fn build(entries: impl IntoIterator<Item = (String, Cid)>) -> Result<BuiltTree, MstError> {
    build_inner(entries, true)
}

/// Like [`build`], accepting any keys (sorted and unique still), for generic trees such
/// as the interop test vectors.
///
/// # Errors
/// [`MstError::UnsortedInput`] if the keys are not sorted and unique.
pub fn build_any_keys(
    entries: impl IntoIterator<Item = (String, Cid)>,
) -> Result<BuiltTree, MstError> {
    build_inner(entries, false)
}

fn build_inner(
    entries: impl IntoIterator<Item = (String, Cid)>,
    check_keys: bool,
) -> Result<BuiltTree, MstError> {
    let mut items: Vec<(String, Cid, u8)> = Vec::new();
    for (key, value) in entries {
        if let Some((prev, _, _)) = items.last() {
            if key.as_str() <= prev.as_str() {
                return Err(MstError::UnsortedInput { key });
            }
        }
        if check_keys {
            check_key(&key)?;
        }
        let layer = key_layer(key.as_bytes());
        items.push((key, value, layer));
    }
    let top = items.iter().map(|i| i.2).max().unwrap_or(0);
    let mut blocks = Vec::new();
    let root = build_node(&items, top, &mut blocks);
    Ok(BuiltTree { root, blocks })
}

fn build_node(items: &[(String, Cid, u8)], layer: u8, out: &mut Vec<(Cid, Vec<u8>)>) -> Cid {
    // A non-empty segment of lower keys becomes a subtree one layer down (an empty node
    // pointing further down if none of its keys is on that layer).
    let sub = |seg: &[(String, Cid, u8)], out: &mut Vec<(Cid, Vec<u8>)>| {
        (!seg.is_empty()).then(|| build_node(seg, layer.saturating_sub(1), out))
    };
    let here: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.2 == layer)
        .map(|(i, _)| i)
        .collect();
    let first = here.first().copied().unwrap_or(items.len());
    let mut node = NodeData {
        left: sub(items.get(..first).unwrap_or(&[]), out),
        entries: Vec::with_capacity(here.len()),
    };
    let mut prev: &[u8] = &[];
    for (n, &i) in here.iter().enumerate() {
        let Some((key, value, _)) = items.get(i) else {
            continue;
        };
        let end = here.get(n + 1).copied().unwrap_or(items.len());
        let right = sub(items.get(i + 1..end).unwrap_or(&[]), out);
        let p = common_prefix_len(prev, key.as_bytes());
        node.entries.push(EntryData {
            prefix_len: p,
            key_suffix: key.as_bytes().get(p..).unwrap_or(&[]),
            value: *value,
            right,
        });
        prev = key.as_bytes();
    }
    let bytes = node.encode();
    let cid = Cid::for_dag_cbor(&bytes);
    out.push((cid, bytes));
    cid
}

/// One difference between two trees, as [`diff`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key only in the new tree.
    Created {
        /// The key.
        key: String,
        /// Its value in the new tree.
        cid: Cid,
    },
    /// A key in both trees with different values.
    Updated {
        /// The key.
        key: String,
        /// Its value in the old tree.
        old: Cid,
        /// Its value in the new tree.
        new: Cid,
    },
    /// A key only in the old tree.
    Deleted {
        /// The key.
        key: String,
        /// Its value in the old tree.
        cid: Cid,
    },
}

impl Change {
    /// The key this change is about.
    pub fn key(&self) -> &str {
        match self {
            Self::Created { key, .. } | Self::Updated { key, .. } | Self::Deleted { key, .. } => {
                key
            }
        }
    }
}

/// The changes from `old` to `new`, in key order.
///
/// Both trees are walked in step and a subtree whose CID is the same on both sides is
/// skipped without being read (its keys and values are equal), so the work is
/// proportional to the nodes that differ, not to the size of the trees. Every node that
/// is read gets the checks of [`load_node`](Mst::walk) (shape, prefixes, layers) and the
/// keys met are checked for order and, unless the tree is [`Mst::any_keys`], for the
/// `collection/rkey` form. Equal roots give no changes without reading anything.
///
/// ```
/// # fn main() -> Result<(), atmo_repo::Error> {
/// use atmo_data::Cid;
/// use atmo_repo::{MemoryBlockStore, mst::{self, Change, Mst}};
///
/// let (a, b) = (Cid::for_dag_cbor(&[0xa0]), Cid::for_dag_cbor(&[0xa1, 0x61, 0x61, 0x01]));
/// let old = mst::build([("app.bsky.feed.like/3k2".to_string(), a)])?;
/// let new = mst::build([("app.bsky.feed.like/3k2".to_string(), b), ("app.bsky.feed.post/3k3".to_string(), a)])?;
/// let mut store = MemoryBlockStore::new();
/// for (_, bytes) in old.blocks.into_iter().chain(new.blocks) {
///     store.put_dag_cbor(bytes);
/// }
/// let changes = mst::diff(&Mst::new(&store, old.root), &Mst::new(&store, new.root))?;
/// assert_eq!(changes, [
///     Change::Updated { key: "app.bsky.feed.like/3k2".into(), old: a, new: b },
///     Change::Created { key: "app.bsky.feed.post/3k3".into(), cid: a },
/// ]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// The first [`MstError`] met in either tree.
pub fn diff<A: BlockStore + ?Sized, B: BlockStore + ?Sized>(
    old: &Mst<'_, A>,
    new: &Mst<'_, B>,
) -> Result<Vec<Change>, MstError> {
    let mut out = Vec::new();
    if old.root == new.root {
        return Ok(out);
    }
    let mut a = Cursor::new(old);
    let mut b = Cursor::new(new);
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return Ok(out),
            // Same subtree on both sides: identical keys and values, skip it.
            (Some(Item::Tree(x, _)), Some(Item::Tree(y, _))) if x == y => {
                a.pop();
                b.pop();
            }
            // Different subtrees: open the higher one (both if on one layer), so that
            // equal subtrees further down line up again.
            (Some(Item::Tree(_, la)), Some(Item::Tree(_, lb))) => {
                let (la, lb) = (*la, *lb);
                match (la, lb) {
                    (Some(x), Some(y)) if x > y => a.expand()?,
                    (Some(x), Some(y)) if x < y => b.expand()?,
                    _ => {
                        a.expand()?;
                        b.expand()?;
                    }
                }
            }
            (Some(Item::Tree(..)), _) => a.expand()?,
            (_, Some(Item::Tree(..))) => b.expand()?,
            (Some(Item::Leaf(..)), None) => {
                if let Some((key, cid)) = a.take_leaf()? {
                    out.push(Change::Deleted { key, cid });
                }
            }
            (None, Some(Item::Leaf(..))) => {
                if let Some((key, cid)) = b.take_leaf()? {
                    out.push(Change::Created { key, cid });
                }
            }
            (Some(Item::Leaf(ka, _)), Some(Item::Leaf(kb, _))) => match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    if let Some((key, cid)) = a.take_leaf()? {
                        out.push(Change::Deleted { key, cid });
                    }
                }
                std::cmp::Ordering::Greater => {
                    if let Some((key, cid)) = b.take_leaf()? {
                        out.push(Change::Created { key, cid });
                    }
                }
                std::cmp::Ordering::Equal => {
                    let x = a.take_leaf()?;
                    let y = b.take_leaf()?;
                    if let (Some((key, old)), Some((_, new))) = (x, y) {
                        if old != new {
                            out.push(Change::Updated { key, old, new });
                        }
                    }
                }
            },
        }
    }
}

/// What a [`Cursor`] holds next: a key, or a subtree not read yet (with the layer it
/// must be on; `None` for the root).
enum Item {
    Leaf(String, Cid),
    Tree(Cid, Option<u8>),
}

/// A tree seen as a sequence of keys and unread subtrees, in key order.
struct Cursor<'s, S: ?Sized> {
    store: &'s S,
    /// Items in reverse order: the next one is last.
    stack: Vec<Item>,
    last_key: Option<String>,
    any_keys: bool,
}

impl<'s, S: BlockStore + ?Sized> Cursor<'s, S> {
    fn new(tree: &Mst<'s, S>) -> Self {
        Self {
            store: tree.store,
            stack: vec![Item::Tree(tree.root, None)],
            last_key: None,
            any_keys: tree.any_keys,
        }
    }

    fn peek(&self) -> Option<&Item> {
        self.stack.last()
    }

    fn pop(&mut self) {
        self.stack.pop();
    }

    /// Replaces the subtree on top with the contents of its node.
    fn expand(&mut self) -> Result<(), MstError> {
        let Some(Item::Tree(cid, expected)) = self.stack.pop() else {
            return Ok(());
        };
        let node = load_node(self.store, cid, expected)?;
        let child = node.layer.checked_sub(1);
        let start = self.stack.len();
        if let Some(left) = node.left {
            self.stack.push(Item::Tree(left, child));
        }
        for (key, value, right) in node.entries {
            self.stack.push(Item::Leaf(key, value));
            if let Some(right) = right {
                self.stack.push(Item::Tree(right, child));
            }
        }
        if let Some(pushed) = self.stack.get_mut(start..) {
            pushed.reverse();
        }
        // load_node rejects children on layer 0, so `child` is `Some` for every subtree.
        Ok(())
    }

    /// Takes the key on top, checking it comes after the previous one and its form.
    fn take_leaf(&mut self) -> Result<Option<(String, Cid)>, MstError> {
        let Some(Item::Leaf(key, cid)) = self.stack.pop() else {
            return Ok(None);
        };
        if let Some(prev) = &self.last_key {
            if key.as_str() <= prev.as_str() {
                return Err(MstError::KeyOrder {
                    previous: prev.clone(),
                    key,
                });
            }
        }
        if !self.any_keys {
            check_key(&key)?;
        }
        self.last_key = Some(key.clone());
        Ok(Some((key, cid)))
    }
}

#[cfg(test)]
mod layer_tests {
    use sha2::{Digest, Sha256};

    /// The one-block shortcut gives the digest of the general hasher, at every length
    /// around the 55-byte limit.
    #[test]
    fn one_block_sha256_is_sha256() {
        for len in 0..=80usize {
            let msg: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let want: [u8; 32] = Sha256::digest(&msg).into();
            match super::one_block_sha256(&msg) {
                Some(state) => {
                    let got: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
                    assert_eq!(got, want, "{len}");
                }
                None => assert!(len > 55, "{len}"),
            }
        }
        let keys = (0..2000).map(|i| format!("app.bsky.feed.post/3k{i:011}"));
        let layers: Vec<u8> = keys.map(|k| super::key_layer(k.as_bytes())).collect();
        assert!(layers.iter().any(|l| *l >= 2), "{layers:?}");
    }
}

#[cfg(test)]
mod fast_tests {
    use super::{NodeData, fast};

    /// Whenever the direct reader accepts a block, the general decoder accepts it too and
    /// gives the same node: on every block of the fixtures, and on every one-byte change
    /// of their tree nodes.
    #[test]
    fn direct_reader_agrees_with_the_general_decoder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut nodes = 0;
        for name in ["oracle-k256.car", "oracle-p256.car", "refpds-medium.car"] {
            let car = std::fs::read(dir.join(name)).unwrap();
            for block in crate::car::CarReader::new(&car).unwrap() {
                let (_, bytes) = block.unwrap();
                let Some(node) = fast::decode(bytes) else {
                    assert!(NodeData::decode_general(bytes).is_err());
                    continue;
                };
                nodes += 1;
                assert_eq!(NodeData::decode_general(bytes).unwrap(), node);
                for at in 0..bytes.len() {
                    for flip in [0x01, 0x20, 0x80] {
                        let mut bad = bytes.to_vec();
                        bad[at] ^= flip;
                        if let Some(n) = fast::decode(&bad) {
                            assert_eq!(NodeData::decode_general(&bad).unwrap(), n);
                        }
                    }
                    if let Some(n) = fast::decode(&bytes[..at]) {
                        panic!("truncated node accepted: {n:?}");
                    }
                }
            }
        }
        assert!(nodes > 20, "{nodes}");
    }
}
