//! The changes between two trees, reading only the nodes that differ: [`diff`].

use atmo_data::Cid;

use super::check::load_node;
use super::layer::check_key;
use super::walk::Mst;
use crate::error::MstError;
use crate::store::BlockStore;

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
