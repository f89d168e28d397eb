//! Reading a tree: [`Mst`] (lookups, listings, sequential and parallel walks) and the
//! in-order [`Walk`].

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use atmo_data::Cid;

use super::check::{Entry, load_node, load_node_reusing};
use super::layer::check_key;
use super::node::EntryData;
use crate::error::MstError;
use crate::store::BlockStore;

/// A Merkle Search Tree over a [`BlockStore`].
#[derive(Debug, Clone, Copy)]
pub struct Mst<'s, S: ?Sized> {
    pub(super) store: &'s S,
    pub(super) root: Cid,
    pub(super) any_keys: bool,
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
    /// the way (see [`MstError`]). The first error ends the walk. The walk reads up to 128
    /// keys ahead of those it has handed out and hands their values to
    /// [`BlockStore::prefetch`] together; an error met ahead comes after the keys before
    /// it.
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
            ready: std::collections::VecDeque::new(),
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
    /// Keys walked and checked but not handed out yet (at most [`LOOKAHEAD`]), ending
    /// with the walk's error if it met one.
    ready: std::collections::VecDeque<Result<(String, Cid), MstError>>,
    /// The CIDs handed to [`BlockStore::prefetch`] (kept to reuse its allocation): a
    /// node's subtrees as it is entered, then the values of `ready`.
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
    /// Number of nodes read so far (the walk reads up to 128 keys ahead of those it has
    /// handed out).
    pub fn nodes_read(&self) -> usize {
        self.nodes
    }

    fn enter(&mut self, cid: Cid, expected: Option<u8>) -> Result<(), MstError> {
        let entries = self.spare.pop().unwrap_or_default();
        let node = load_node_reusing(self.store, cid, expected, entries, &mut self.scratch)?;
        self.nodes += 1;
        let _ = node.cid;
        // The node's subtrees are what the walk reads next (its values are fetched with
        // the batch they end up in: see `fill`).
        self.ahead.clear();
        self.ahead.extend(node.left);
        self.ahead
            .extend(node.entries.iter().filter_map(|(_, _, right)| *right));
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

/// How many keys [`Walk`] reads ahead of the ones it has handed out. Their values are
/// prefetched together: a store then has that many blocks to fetch side by side instead
/// of a node's few (a block store in memory is bound by cache misses on records that are
/// not in key order in the file), while the keys held stay few.
pub(crate) const LOOKAHEAD: usize = 128;
// The docs of `Mst::walk` and `Walk::nodes_read` give the number.
const _: () = assert!(LOOKAHEAD == 128);

impl<S: BlockStore + ?Sized> Walk<'_, S> {
    /// Walks up to [`LOOKAHEAD`] keys ahead (`ready` is empty), stopping at the end or an
    /// error, and hands their values to [`BlockStore::prefetch`].
    fn fill(&mut self) {
        while self.ready.len() < LOOKAHEAD {
            let Some(item) = self.step() else { break };
            let failed = item.is_err();
            self.ready.push_back(item);
            if failed {
                break;
            }
        }
        self.ahead.clear();
        let values = self
            .ready
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(_, v)| *v));
        self.ahead.extend(values);
        self.store.prefetch(&self.ahead);
    }
}

impl<S: BlockStore + ?Sized> Iterator for Walk<'_, S> {
    type Item = Result<(String, Cid), MstError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.ready.is_empty() {
            self.fill();
        }
        let r = self.ready.pop_front();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}
