//! Building the canonical tree of a sorted key set in one pass: [`build`].

use atmo_data::Cid;

use super::layer::{check_key, common_prefix_len, key_layer};
use super::node::{EntryData, NodeData};
use crate::error::MstError;

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
