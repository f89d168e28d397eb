//! Nodes read from a store and checked: canonical prefixes, ASCII keys, one layer per
//! node, the empty-node and leaf rules.

use atmo_data::Cid;

use super::layer::{common_prefix_len, key_layer};
use super::node::{EntryData, NodeData};
use crate::error::MstError;
use crate::store::BlockStore;

/// A node with its keys expanded and its layer checked.
pub(super) struct Node {
    pub(super) cid: Cid,
    pub(super) layer: u8,
    pub(super) left: Option<Cid>,
    pub(super) entries: Vec<(String, Cid, Option<Cid>)>,
}

/// Loads and checks one node: canonical prefixes, ASCII keys, one layer for all keys
/// (equal to `expected` if given), the empty-node rules, no children on layer 0.
pub(super) fn load_node<S: BlockStore + ?Sized>(
    store: &S,
    cid: Cid,
    expected: Option<u8>,
) -> Result<Node, MstError> {
    load_node_reusing(store, cid, expected, Vec::new(), &mut Vec::new())
}

/// [`load_node`] filling `entries` (empty) and decoding through `scratch` (its contents do
/// not matter): vectors a walk reuses from node to node.
pub(super) fn load_node_reusing<'b, S: BlockStore + ?Sized>(
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
pub(super) type Entry = (String, Cid, Option<Cid>);

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
