//! Proofs: the nodes that cover keys ([`Mst::proof`]).

use std::collections::HashSet;

use atmo_data::Cid;

use super::check::load_node;
use super::walk::Mst;
use crate::error::MstError;
use crate::store::BlockStore;

impl<S: BlockStore + ?Sized> Mst<'_, S> {
    /// The CIDs of the nodes that cover `keys` (deduplicated, in the order first met),
    /// enough to check each key's value or absence and to insert or delete any of them
    /// on a tree holding only these nodes (what a sync 1.1 `#commit` carries so that its
    /// operations can be inverted):
    ///
    /// - the root, always;
    /// - for each key, every node on the path from the root to the key's entry, or to
    ///   the lowest node whose key range holds it (an inclusion or exclusion proof);
    /// - for a key that is present, also the nodes along the right edge of the subtree
    ///   just before it and the left edge of the subtree just after it (deleting the key
    ///   merges those two).
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_repo::Error> {
    /// use atmo_data::Cid;
    /// use atmo_repo::{MemoryBlockStore, mst};
    /// let v = Cid::for_dag_cbor(&[0xa0]);
    /// let built = mst::build((0..50).map(|i| (format!("com.example.thing/k{i:02}"), v)))?;
    /// let mut store = MemoryBlockStore::new();
    /// for (_, bytes) in built.blocks {
    ///     store.put_dag_cbor(bytes);
    /// }
    /// let tree = mst::Mst::new(&store, built.root);
    /// let proof = tree.proof(["com.example.thing/k07", "com.example.thing/zz"])?;
    /// assert_eq!(proof.first(), Some(&built.root));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`MstError`] for a missing or malformed node among those needed.
    pub fn proof<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<Vec<Cid>, MstError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        load_node(self.store, self.root, None)?;
        seen.insert(self.root);
        out.push(self.root);
        for key in keys {
            self.proof_one(key, &mut out, &mut seen)?;
        }
        Ok(out)
    }

    fn proof_one(
        &self,
        key: &str,
        out: &mut Vec<Cid>,
        seen: &mut HashSet<Cid>,
    ) -> Result<(), MstError> {
        let mut cid = self.root;
        let mut expected = None;
        loop {
            let node = load_node(self.store, cid, expected)?;
            if seen.insert(cid) {
                out.push(cid);
            }
            let idx = node.entries.partition_point(|(k, _, _)| k.as_str() < key);
            let before = match idx.checked_sub(1) {
                None => node.left,
                Some(i) => node.entries.get(i).and_then(|e| e.2),
            };
            let Some(below) = node.layer.checked_sub(1) else {
                return Ok(());
            };
            match node.entries.get(idx) {
                Some((k, _, after)) if k == key => {
                    self.edge(before, below, true, out, seen)?;
                    self.edge(*after, below, false, out, seen)?;
                    return Ok(());
                }
                _ => match before {
                    Some(c) => {
                        cid = c;
                        expected = Some(below);
                    }
                    None => return Ok(()),
                },
            }
        }
    }

    /// The nodes along the right (or left) edge of a subtree, down to the bottom.
    fn edge(
        &self,
        mut sub: Option<Cid>,
        mut layer: u8,
        rightmost: bool,
        out: &mut Vec<Cid>,
        seen: &mut HashSet<Cid>,
    ) -> Result<(), MstError> {
        while let Some(cid) = sub {
            let node = load_node(self.store, cid, Some(layer))?;
            if seen.insert(cid) {
                out.push(cid);
            }
            sub = if rightmost {
                node.entries.last().map_or(node.left, |e| e.2)
            } else {
                node.left
            };
            match layer.checked_sub(1) {
                Some(l) => layer = l,
                None => break,
            }
        }
        Ok(())
    }
}
