//! Persistent mutation of a tree: [`Editor`].

use std::collections::HashSet;
use std::sync::Arc;

use atmo_data::Cid;

use super::check::load_node;
use super::layer::{check_key, common_prefix_len, key_layer};
use super::node::{EntryData, NodeData};
use crate::error::MstError;
use crate::store::BlockStore;

/// A subtree: either still in the store, or an in-memory node (new or changed).
#[derive(Debug, Clone)]
enum Sub {
    Stored(Cid),
    Node(Arc<MNode>),
}

#[derive(Debug, Clone, Default)]
struct MNode {
    left: Option<Sub>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: Cid,
    right: Option<Sub>,
}

impl MNode {
    /// The subtree just before entry `idx` (`l` for 0, else the previous entry's `t`).
    fn slot(&self, idx: usize) -> Option<&Sub> {
        match idx.checked_sub(1) {
            None => self.left.as_ref(),
            Some(i) => self.entries.get(i).and_then(|e| e.right.as_ref()),
        }
    }

    fn set_slot(&mut self, idx: usize, sub: Option<Sub>) {
        match idx.checked_sub(1) {
            None => self.left = sub,
            Some(i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.right = sub;
                }
            }
        }
    }

    /// `None` for a node with no entries and no subtree (it has no place in the tree).
    fn into_sub(self) -> Option<Sub> {
        if self.entries.is_empty() && self.left.is_none() {
            None
        } else {
            Some(Sub::Node(Arc::new(self)))
        }
    }
}

/// What [`Editor::finish`] produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedTree {
    /// The new root node's CID.
    pub root: Cid,
    /// Exactly the node blocks of the new tree that were not in the old one, children
    /// before parents (the root last, unless the root itself is an old node).
    pub blocks: Vec<(Cid, Vec<u8>)>,
    /// The nodes of the old tree that the new tree no longer contains (among those the
    /// editor read).
    pub removed: Vec<Cid>,
}

/// Inserts, updates and deletes keys of a tree, persistently: the store is only read,
/// the old nodes stay as they are, and [`Editor::finish`] gives the new root and exactly
/// the new node blocks. Only the nodes on the paths of the changed keys are read.
///
/// The result is the canonical tree of the final key set: the same root as
/// [`build`](super::build) from scratch, whatever the order of the operations. A failed
/// operation (a missing or malformed node) changes nothing.
///
/// ```
/// # fn main() -> Result<(), atmo_repo::Error> {
/// use atmo_data::Cid;
/// use atmo_repo::{MemoryBlockStore, mst};
///
/// let v = Cid::for_dag_cbor(&[0xa0]);
/// let mut store = MemoryBlockStore::new();
/// let empty = mst::build(std::iter::empty())?;
/// for (_, bytes) in empty.blocks {
///     store.put_dag_cbor(bytes);
/// }
/// let mut editor = mst::Editor::new(&store, empty.root)?;
/// editor.insert("app.bsky.feed.post/3k1", v)?;
/// editor.insert("app.bsky.feed.post/3k2", v)?;
/// assert_eq!(editor.remove("app.bsky.feed.post/3k1")?, Some(v));
/// let edited = editor.finish();
///
/// let rebuilt = mst::build([("app.bsky.feed.post/3k2".to_string(), v)])?;
/// assert_eq!(edited.root, rebuilt.root);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Editor<'s, S: ?Sized> {
    store: &'s S,
    root: Option<Sub>,
    layer: u8,
    loaded: HashSet<Cid>,
    any_keys: bool,
}

impl<'s, S: BlockStore + ?Sized> Editor<'s, S> {
    /// An editor over the tree rooted at `root` (the root node is read and checked).
    ///
    /// # Errors
    /// [`MstError`] if the root node is missing or malformed.
    pub fn new(store: &'s S, root: Cid) -> Result<Self, MstError> {
        let node = load_node(store, root, None)?;
        let mut loaded = HashSet::new();
        loaded.insert(root);
        let empty = node.entries.is_empty() && node.left.is_none();
        Ok(Self {
            store,
            root: (!empty).then_some(Sub::Stored(root)),
            layer: node.layer,
            loaded,
            any_keys: false,
        })
    }

    /// An editor over the empty tree.
    pub fn empty(store: &'s S) -> Self {
        Self {
            store,
            root: None,
            layer: 0,
            loaded: HashSet::new(),
            any_keys: false,
        }
    }

    /// Accepts any ASCII keys, not only `collection/rkey` paths.
    pub fn any_keys(mut self) -> Self {
        self.any_keys = true;
        self
    }

    /// The value under `key` in the edited tree.
    ///
    /// # Errors
    /// [`MstError`] for a missing or malformed node on the key's path.
    pub fn get(&self, key: &str) -> Result<Option<Cid>, MstError> {
        let mut sub = self.root.clone();
        let mut layer = self.layer;
        let mut scratch = Vec::new();
        while let Some(s) = sub {
            let n = self.open(&s, layer, &mut scratch)?;
            let idx = n.entries.partition_point(|e| e.key.as_str() < key);
            if let Some(e) = n.entries.get(idx) {
                if e.key == key {
                    return Ok(Some(e.value));
                }
            }
            let Some(l) = layer.checked_sub(1) else {
                break;
            };
            sub = n.slot(idx).cloned();
            layer = l;
        }
        Ok(None)
    }

    /// Sets `key` to `value`, returning the value it replaced, if any.
    ///
    /// # Errors
    /// [`MstError::InvalidKey`] for a bad key, or an error for a missing or malformed
    /// node on the key's path (then nothing changes).
    pub fn insert(&mut self, key: &str, value: Cid) -> Result<Option<Cid>, MstError> {
        self.check(key)?;
        let kl = key_layer(key.as_bytes());
        let mut loaded = Vec::new();
        let (root, layer) = match self.root.clone() {
            None => (None, kl),
            Some(mut r) => {
                let mut layer = self.layer;
                while layer < kl {
                    r = Sub::Node(Arc::new(MNode {
                        left: Some(r),
                        entries: Vec::new(),
                    }));
                    layer += 1;
                }
                (Some(r), layer)
            }
        };
        let (new_root, old) = self.ins(root.as_ref(), layer, key, kl, value, &mut loaded)?;
        self.root = Some(new_root);
        self.layer = layer;
        self.loaded.extend(loaded);
        Ok(old)
    }

    /// Deletes `key`, returning its value, or `None` (and changing nothing) if absent.
    ///
    /// # Errors
    /// [`MstError`] for a missing or malformed node on the key's path or next to it
    /// (then nothing changes).
    pub fn remove(&mut self, key: &str) -> Result<Option<Cid>, MstError> {
        let Some(root) = self.root.clone() else {
            return Ok(None);
        };
        let mut loaded = Vec::new();
        let (mut sub, old) = self.del(&root, self.layer, key, &mut loaded)?;
        if old.is_none() {
            return Ok(None);
        }
        // Trim empty top layers.
        let mut layer = self.layer;
        while let Some(s) = sub.clone() {
            let n = self.open(&s, layer, &mut loaded)?;
            if !n.entries.is_empty() {
                break;
            }
            sub = n.left.clone();
            match layer.checked_sub(1) {
                Some(l) => layer = l,
                None => break,
            }
        }
        if sub.is_none() {
            layer = 0;
        }
        self.root = sub;
        self.layer = layer;
        self.loaded.extend(loaded);
        Ok(old)
    }

    /// The new root and the new node blocks (the editor stays usable for more edits).
    pub fn finish(&self) -> EditedTree {
        let mut blocks = Vec::new();
        let mut kept = HashSet::new();
        let root = match &self.root {
            None => {
                let bytes = NodeData::default().encode();
                let cid = Cid::for_dag_cbor(&bytes);
                kept.insert(cid);
                if !self.loaded.contains(&cid) {
                    blocks.push((cid, bytes));
                }
                cid
            }
            Some(s) => self.encode(s, &mut blocks, &mut kept),
        };
        let mut seen = HashSet::new();
        blocks.retain(|(c, _)| {
            kept.insert(*c);
            !self.loaded.contains(c) && seen.insert(*c)
        });
        let mut removed: Vec<Cid> = self
            .loaded
            .iter()
            .filter(|c| !kept.contains(c))
            .copied()
            .collect();
        removed.sort_unstable_by_key(|c| c.to_bytes());
        EditedTree {
            root,
            blocks,
            removed,
        }
    }

    fn encode(&self, sub: &Sub, out: &mut Vec<(Cid, Vec<u8>)>, kept: &mut HashSet<Cid>) -> Cid {
        let n = match sub {
            Sub::Stored(c) => {
                kept.insert(*c);
                return *c;
            }
            Sub::Node(n) => n,
        };
        let left = n.left.as_ref().map(|s| self.encode(s, out, kept));
        let mut entries = Vec::with_capacity(n.entries.len());
        let mut prev: &[u8] = &[];
        for e in &n.entries {
            let right = e.right.as_ref().map(|s| self.encode(s, out, kept));
            let p = common_prefix_len(prev, e.key.as_bytes());
            entries.push(EntryData {
                prefix_len: p,
                key_suffix: e.key.as_bytes().get(p..).unwrap_or(&[]),
                value: e.value,
                right,
            });
            prev = e.key.as_bytes();
        }
        let bytes = NodeData { left, entries }.encode();
        let cid = Cid::for_dag_cbor(&bytes);
        out.push((cid, bytes));
        cid
    }

    fn check(&self, key: &str) -> Result<(), MstError> {
        if self.any_keys {
            if key.is_empty() || !key.is_ascii() {
                return Err(MstError::InvalidKey {
                    key: key.to_owned(),
                    reason: "empty or not ASCII".into(),
                });
            }
            Ok(())
        } else {
            check_key(key)
        }
    }

    fn open(&self, sub: &Sub, layer: u8, loaded: &mut Vec<Cid>) -> Result<Arc<MNode>, MstError> {
        match sub {
            Sub::Node(n) => Ok(n.clone()),
            Sub::Stored(cid) => {
                let node = load_node(self.store, *cid, Some(layer))?;
                loaded.push(*cid);
                Ok(Arc::new(MNode {
                    left: node.left.map(Sub::Stored),
                    entries: node
                        .entries
                        .into_iter()
                        .map(|(key, value, right)| Entry {
                            key,
                            value,
                            right: right.map(Sub::Stored),
                        })
                        .collect(),
                }))
            }
        }
    }

    /// Inserts into the subtree `sub` on `layer` (`kl <= layer`).
    fn ins(
        &self,
        sub: Option<&Sub>,
        layer: u8,
        key: &str,
        kl: u8,
        value: Cid,
        loaded: &mut Vec<Cid>,
    ) -> Result<(Sub, Option<Cid>), MstError> {
        let below = layer.checked_sub(1);
        let Some(s) = sub else {
            let mut n = MNode::default();
            match below {
                Some(l) if kl < layer => {
                    n.left = Some(self.ins(None, l, key, kl, value, loaded)?.0);
                }
                _ => n.entries.push(Entry {
                    key: key.to_owned(),
                    value,
                    right: None,
                }),
            }
            return Ok((Sub::Node(Arc::new(n)), None));
        };
        let n = self.open(s, layer, loaded)?;
        let idx = n.entries.partition_point(|e| e.key.as_str() < key);
        if let Some(e) = n.entries.get(idx) {
            if e.key == key {
                let old = e.value;
                let mut m = (*n).clone();
                if let Some(e) = m.entries.get_mut(idx) {
                    e.value = value;
                }
                return Ok((Sub::Node(Arc::new(m)), Some(old)));
            }
        }
        let mut m = (*n).clone();
        match below {
            Some(l) if kl < layer => {
                let (c, old) = self.ins(n.slot(idx), l, key, kl, value, loaded)?;
                m.set_slot(idx, Some(c));
                Ok((Sub::Node(Arc::new(m)), old))
            }
            _ => {
                let (lo, hi) = match below {
                    Some(l) => self.split(n.slot(idx), l, key, loaded)?,
                    None => (None, None),
                };
                m.set_slot(idx, lo);
                m.entries.insert(
                    idx,
                    Entry {
                        key: key.to_owned(),
                        value,
                        right: hi,
                    },
                );
                Ok((Sub::Node(Arc::new(m)), None))
            }
        }
    }

    /// Splits a subtree into the keys before `key` and those after it (absent).
    fn split(
        &self,
        sub: Option<&Sub>,
        layer: u8,
        key: &str,
        loaded: &mut Vec<Cid>,
    ) -> Result<(Option<Sub>, Option<Sub>), MstError> {
        let Some(s) = sub else {
            return Ok((None, None));
        };
        let n = self.open(s, layer, loaded)?;
        let idx = n.entries.partition_point(|e| e.key.as_str() < key);
        let (lo, hi) = match layer.checked_sub(1) {
            Some(l) => self.split(n.slot(idx), l, key, loaded)?,
            None => (None, None),
        };
        let mut left = MNode {
            left: n.left.clone(),
            entries: n.entries.get(..idx).unwrap_or_default().to_vec(),
        };
        left.set_slot(idx, lo);
        let right = MNode {
            left: hi,
            entries: n.entries.get(idx..).unwrap_or_default().to_vec(),
        };
        Ok((left.into_sub(), right.into_sub()))
    }

    fn del(
        &self,
        sub: &Sub,
        layer: u8,
        key: &str,
        loaded: &mut Vec<Cid>,
    ) -> Result<(Option<Sub>, Option<Cid>), MstError> {
        let n = self.open(sub, layer, loaded)?;
        let idx = n.entries.partition_point(|e| e.key.as_str() < key);
        let below = layer.checked_sub(1);
        let mut m = (*n).clone();
        match n.entries.get(idx) {
            Some(e) if e.key == key => {
                let merged = match below {
                    Some(l) => self.merge(n.slot(idx), e.right.as_ref(), l, loaded)?,
                    None => None,
                };
                let old = e.value;
                m.entries.remove(idx);
                m.set_slot(idx, merged);
                Ok((m.into_sub(), Some(old)))
            }
            _ => {
                let (Some(child), Some(l)) = (n.slot(idx), below) else {
                    return Ok((Some(sub.clone()), None));
                };
                let (c, old) = self.del(child, l, key, loaded)?;
                if old.is_none() {
                    return Ok((Some(sub.clone()), None));
                }
                m.set_slot(idx, c);
                Ok((m.into_sub(), old))
            }
        }
    }

    /// Joins two adjacent subtrees of one layer (all keys of `a` before those of `b`).
    fn merge(
        &self,
        a: Option<&Sub>,
        b: Option<&Sub>,
        layer: u8,
        loaded: &mut Vec<Cid>,
    ) -> Result<Option<Sub>, MstError> {
        let (a, b) = match (a, b) {
            (None, x) | (x, None) => return Ok(x.cloned()),
            (Some(a), Some(b)) => (a, b),
        };
        let na = self.open(a, layer, loaded)?;
        let nb = self.open(b, layer, loaded)?;
        let inner_a = na.slot(na.entries.len());
        let mid = match layer.checked_sub(1) {
            Some(l) => self.merge(inner_a, nb.left.as_ref(), l, loaded)?,
            None => None,
        };
        let mut m = (*na).clone();
        let last = m.entries.len();
        m.set_slot(last, mid);
        m.entries.extend(nb.entries.iter().cloned());
        Ok(m.into_sub())
    }
}
