//! `atmo repo mst FILE.car [--json]`: the repository's Merkle Search Tree as it is stored,
//! node by node (layer, CID, subtrees) with each entry's full key and record CID.
//!
//! A node's layer is its keys' layer, or for a node with only a subtree (no keys of its
//! own) one below its parent's. Nodes missing from the CAR (a partial export) are shown
//! as missing, not an error.
//! Blocks that are not MST nodes, impossible key prefixes, keys that are not UTF-8,
//! entries of one node on different layers or not one below the parent's, subtrees under
//! layer 0, a node reached twice and trees deeper than any SHA-256 layer are errors that
//! name the node.

use std::collections::HashSet;
use std::path::Path;

use atmo_data::{Cid, Map, Value, json};
use atmo_repo::Repo;
use atmo_repo::mst::{MAX_LAYER, NodeData, key_layer};

use crate::error::CliError;
use crate::io::{println, read_input, write_stdout};

/// One step of the depth-first walk, in output order.
enum Step {
    /// A node to read, at a nesting depth (the root is 0), on the layer below its parent's
    /// (unknown for the root).
    Node {
        cid: Cid,
        depth: usize,
        layer: Option<u8>,
    },
    /// A record entry of the node just above it.
    Entry {
        key: String,
        value: Cid,
        depth: usize,
    },
}

/// A node as read from the CAR, for the JSON form.
struct NodeOut {
    cid: Cid,
    depth: usize,
    /// `None` when the block is not in the CAR.
    body: Option<NodeBody>,
}

struct NodeBody {
    layer: Option<u8>,
    left: Option<Cid>,
    entries: Vec<(String, Cid, Option<Cid>)>,
}

/// Runs `atmo repo mst`.
pub(crate) fn mst(file: &Path, root: Option<&str>, as_json: bool) -> Result<(), CliError> {
    let bytes = read_input(Some(file))?;
    let at = |e: String| CliError::failed(format!("{}: {e}", file.display()));
    let repo = Repo::from_car(&bytes).map_err(|e| at(e.to_string()))?;
    let root = match root {
        Some(r) => r
            .parse::<Cid>()
            .map_err(|e| CliError::usage(format!("--root {r:?}: {e}")))?,
        None => repo.commit().data,
    };
    let store = repo.store();

    let mut seen: HashSet<Cid> = HashSet::new();
    let mut stack = vec![Step::Node {
        cid: root,
        depth: 0,
        layer: None,
    }];
    let mut text = String::new();
    let mut nodes: Vec<NodeOut> = Vec::new();
    let (mut node_count, mut entry_count, mut missing) = (0usize, 0usize, 0usize);
    while let Some(step) = stack.pop() {
        match step {
            Step::Entry { key, value, depth } => {
                entry_count += 1;
                if !as_json {
                    text.push_str(&format!("{}{key} {value}\n", indent(depth)));
                }
            }
            Step::Node { cid, depth, layer } => {
                if depth > usize::from(MAX_LAYER) + 1 {
                    return Err(at(format!(
                        "the tree is deeper than {} levels at node {cid}",
                        usize::from(MAX_LAYER) + 1
                    )));
                }
                if !seen.insert(cid) {
                    return Err(at(format!("node {cid} appears twice in the tree")));
                }
                node_count += 1;
                let Some(block) = store.get(&cid) else {
                    missing += 1;
                    if as_json {
                        nodes.push(NodeOut {
                            cid,
                            depth,
                            body: None,
                        });
                    } else {
                        text.push_str(&format!(
                            "{}node {cid} (missing from the CAR)\n",
                            indent(depth)
                        ));
                    }
                    continue;
                };
                let node = NodeData::decode(block).map_err(|e| at(e.to_string()))?;
                let mut body = read_node(&cid, &node).map_err(at)?;
                match (body.layer, layer) {
                    (Some(keys), Some(expected)) if keys != expected => {
                        return Err(at(format!(
                            "node {cid}: its keys are on layer {keys}, but it sits on layer {expected}"
                        )));
                    }
                    (None, Some(_)) => body.layer = layer,
                    _ => {}
                }
                let has_children =
                    body.left.is_some() || body.entries.iter().any(|e| e.2.is_some());
                let below = match body.layer {
                    Some(0) if has_children => {
                        return Err(at(format!("node {cid} is on layer 0 but has subtrees")));
                    }
                    Some(l) => l.checked_sub(1),
                    None => None,
                };
                if !as_json {
                    let layer = match body.layer {
                        Some(l) => format!("layer {l}"),
                        None if has_children => "layer unknown: no keys".to_owned(),
                        None => "empty".to_owned(),
                    };
                    text.push_str(&format!("{}node {cid} ({layer})\n", indent(depth)));
                }
                // Push in reverse of the output order: left, then each entry and its right.
                for (key, value, right) in body.entries.iter().rev() {
                    if let Some(r) = right {
                        stack.push(Step::Node {
                            cid: *r,
                            depth: depth + 1,
                            layer: below,
                        });
                    }
                    stack.push(Step::Entry {
                        key: key.clone(),
                        value: *value,
                        depth: depth + 1,
                    });
                }
                if let Some(l) = body.left {
                    stack.push(Step::Node {
                        cid: l,
                        depth: depth + 1,
                        layer: below,
                    });
                }
                if as_json {
                    nodes.push(NodeOut {
                        cid,
                        depth,
                        body: Some(body),
                    });
                }
            }
        }
        if !as_json && text.len() > 1 << 16 {
            write_stdout(text.as_bytes())?;
            text.clear();
        }
    }
    if as_json {
        let mut m = Map::with_capacity(7);
        m.insert("did", Value::from(repo.commit().did.as_str()));
        m.insert("commit", Value::from(repo.commit_cid().to_string()));
        m.insert("root", Value::from(root.to_string()));
        m.insert("nodes", Value::Array(nodes.iter().map(node_json).collect()));
        m.insert("records", int(entry_count));
        m.insert("missing", int(missing));
        return println(&json::to_string(&Value::Map(m)));
    }
    text.push_str(&format!(
        "{node_count} node{}, {entry_count} record{}{}\n",
        if node_count == 1 { "" } else { "s" },
        if entry_count == 1 { "" } else { "s" },
        if missing > 0 {
            format!(
                ", {missing} node{} missing",
                if missing == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    ));
    write_stdout(text.as_bytes())
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn int(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The full keys of a node's entries and the node's layer, checked.
fn read_node(cid: &Cid, node: &NodeData<'_>) -> Result<NodeBody, String> {
    let mut entries = Vec::with_capacity(node.entries.len());
    let mut prev: Vec<u8> = Vec::new();
    let mut layer: Option<(u8, String)> = None;
    for (i, e) in node.entries.iter().enumerate() {
        let Some(shared) = prev.get(..e.prefix_len) else {
            return Err(format!(
                "node {cid} entry {i}: prefix length {} is longer than the previous key ({} bytes)",
                e.prefix_len,
                prev.len()
            ));
        };
        let mut key = shared.to_vec();
        key.extend_from_slice(e.key_suffix);
        let text = String::from_utf8(key.clone())
            .map_err(|_| format!("node {cid} entry {i}: the key is not UTF-8"))?;
        let l = key_layer(&key);
        match &layer {
            None => layer = Some((l, text.clone())),
            Some((first, k)) if *first != l => {
                return Err(format!(
                    "node {cid}: key {k:?} is on layer {first} but key {text:?} on layer {l}"
                ));
            }
            Some(_) => {}
        }
        entries.push((text, e.value, e.right));
        prev = key;
    }
    Ok(NodeBody {
        layer: layer.map(|(l, _)| l),
        left: node.left,
        entries,
    })
}

fn link(c: Option<Cid>) -> Value {
    c.map_or(Value::Null, |c| Value::from(c.to_string()))
}

/// `{"cid","depth","layer","left","entries":[{"key","value","right"}]}`, or
/// `{"cid","depth","missing":true}`.
fn node_json(n: &NodeOut) -> Value {
    let mut m = Map::with_capacity(5);
    m.insert("cid", Value::from(n.cid.to_string()));
    m.insert("depth", int(n.depth));
    match &n.body {
        None => {
            m.insert("missing", Value::Bool(true));
        }
        Some(b) => {
            m.insert(
                "layer",
                b.layer
                    .map_or(Value::Null, |l| Value::Integer(i64::from(l))),
            );
            m.insert("left", link(b.left));
            let entries = b
                .entries
                .iter()
                .map(|(k, v, r)| {
                    let mut e = Map::with_capacity(3);
                    e.insert("key", Value::from(k.as_str()));
                    e.insert("value", Value::from(v.to_string()));
                    e.insert("right", link(*r));
                    Value::Map(e)
                })
                .collect();
            m.insert("entries", Value::Array(entries));
        }
    }
    Value::Map(m)
}
