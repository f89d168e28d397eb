//! Writes and sync 1.1: apply a batch of writes as a new signed commit with the blocks of
//! its firehose `#commit` ([`apply_writes`]), and check a `#commit` by inverting its
//! operations on the partial tree its blocks hold ([`verify_commit_ops`],
//! [`verify_commit`]).

use std::collections::{HashMap, HashSet};

use atmo_crypto::{Keypair, PublicKey};
use atmo_data::{Cid, Value, cbor};
use atmo_syntax::Tid;

use crate::car::write_car;
use crate::commit::Commit;
use crate::error::{Error, MstError, RepoError, SyncError};
use crate::mst::{self, Editor, Mst};
use crate::store::{BlockStore, CarBlockStore};

/// One record write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Creates a record; the path must be free.
    Create {
        /// `collection/rkey`.
        path: String,
        /// The record.
        value: Value,
    },
    /// Replaces an existing record.
    Update {
        /// `collection/rkey`.
        path: String,
        /// The new record.
        value: Value,
    },
    /// Deletes an existing record.
    Delete {
        /// `collection/rkey`.
        path: String,
    },
}

impl Write {
    /// The record path.
    pub fn path(&self) -> &str {
        match self {
            Self::Create { path, .. } | Self::Update { path, .. } | Self::Delete { path } => path,
        }
    }
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `"create"`.
    Create,
    /// `"update"`.
    Update,
    /// `"delete"`.
    Delete,
}

impl Action {
    /// The firehose spelling: `"create"`, `"update"` or `"delete"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// One operation of a `#commit` (`repoOp`): `cid` is the new value (none for a delete),
/// `prev` the old one (none for a create).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoOp {
    /// What happened.
    pub action: Action,
    /// `collection/rkey`.
    pub path: String,
    /// The record's CID after the commit.
    pub cid: Option<Cid>,
    /// The record's CID before the commit.
    pub prev: Option<Cid>,
}

/// A new commit made by [`apply_writes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitData {
    /// The signed commit.
    pub commit: Commit,
    /// Its CID.
    pub cid: Cid,
    /// The previous commit's CID.
    pub prev_commit: Cid,
    /// The previous commit's rev (`since` on the firehose).
    pub since: Option<Tid>,
    /// The previous tree root (`prevData`).
    pub prev_data: Cid,
    /// The operations, in the order of the writes.
    pub ops: Vec<RepoOp>,
    /// The blocks of the firehose `#commit`: the commit block first, then the new tree
    /// nodes, the new record blocks, and the other tree nodes needed to invert the
    /// operations (sync 1.1). No duplicates.
    pub blocks: Vec<(Cid, Vec<u8>)>,
    /// The blocks a store must add: the commit, the new tree nodes and the new records.
    pub new_blocks: usize,
    /// Tree nodes of the previous version that the new tree no longer uses (among those
    /// read).
    pub removed_nodes: Vec<Cid>,
}

impl CommitData {
    /// The `#commit`'s `blocks` field: a CAR with the commit as its root.
    pub fn car(&self) -> Vec<u8> {
        write_car(
            &[self.cid],
            self.blocks.iter().map(|(c, b)| (*c, b.as_slice())),
        )
    }

    /// The blocks a store must add for this commit (a prefix of [`CommitData::blocks`]).
    pub fn stored_blocks(&self) -> &[(Cid, Vec<u8>)] {
        self.blocks.get(..self.new_blocks).unwrap_or(&self.blocks)
    }
}

/// The next revision after `prev`: the current time as a TID, or `prev` + 1 if the clock
/// is not past it.
pub fn next_rev(prev: Option<&Tid>) -> Tid {
    let now = Tid::now();
    match prev {
        Some(p) if now <= *p => Tid::from_u64(p.to_u64().saturating_add(1)),
        _ => now,
    }
}

/// A store with extra blocks on top.
struct Overlay<'a, S: ?Sized> {
    base: &'a S,
    extra: HashMap<Cid, &'a [u8]>,
}

impl<S: BlockStore + ?Sized> BlockStore for Overlay<'_, S> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.extra
            .get(cid)
            .copied()
            .or_else(|| self.base.get_block(cid))
    }
}

fn bad_path(path: &str, e: MstError) -> Error {
    match e {
        MstError::InvalidKey { reason, .. } => RepoError::InvalidPath {
            path: path.to_owned(),
            reason,
        }
        .into(),
        other => other.into(),
    }
}

/// Applies a batch of writes to the repository whose head commit is `head` (the store
/// must hold it and the tree nodes on the written paths), signs the new commit with
/// `key`, and returns it with exactly the blocks of its firehose `#commit` and its
/// operations. The store is only read.
///
/// `rev` is the new commit's revision; `None` takes [`next_rev`] of the previous one.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_crypto::{Curve, Keypair};
/// use atmo_repo::{CarBlockStore, Write, apply_writes, build_repo, verify_commit};
///
/// let key = Keypair::generate(Curve::K256)?;
/// let like = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.like"}"#)?;
/// let built = build_repo(&"did:plc:abcdefghijklmnopqrstuvwx".parse()?, &key,
///     "3kabcdefghij2".parse()?, [("app.bsky.feed.like/3kabcdefghij2".to_string(), like.clone())])?;
/// let store = CarBlockStore::from_car(&built.car)?;
///
/// let writes = vec![
///     Write::Create { path: "app.bsky.feed.like/3kabcdefghij3".into(), value: like },
///     Write::Delete { path: "app.bsky.feed.like/3kabcdefghij2".into() },
/// ];
/// let next = apply_writes(&store, built.commit_cid, writes, &key, None)?;
/// assert_eq!(next.ops.len(), 2);
///
/// // A firehose consumer checks it from the #commit alone.
/// let commit = verify_commit(&next.car(), &next.ops, next.prev_data, Some(&key.public_key()))?;
/// assert_eq!(commit.rev, next.commit.rev);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`RepoError::MissingBlock`] or [`Error::Commit`] for the head commit,
/// [`RepoError::InvalidPath`] for a bad path, [`RepoError::RecordTooLarge`] for a record
/// the CAR readers' default block limit would refuse, [`SyncError::RecordExists`],
/// [`SyncError::RecordNotFound`], [`SyncError::DuplicateOp`] for writes that do not fit
/// the repository, [`SyncError::RevNotAfter`] for a `rev` not after the previous one,
/// [`Error::Mst`] for a missing or malformed node.
pub fn apply_writes<S: BlockStore + ?Sized>(
    store: &S,
    head: Cid,
    writes: impl IntoIterator<Item = Write>,
    key: &Keypair,
    rev: Option<Tid>,
) -> Result<CommitData, Error> {
    let prev_bytes = store.get_block(&head).ok_or(RepoError::MissingBlock {
        what: "commit",
        cid: head,
    })?;
    let prev = Commit::decode(prev_bytes)?;
    let rev = match rev {
        None => next_rev(prev.rev.as_ref()),
        Some(r) => {
            if let Some(p) = &prev.rev {
                if r <= *p {
                    return Err(SyncError::RevNotAfter {
                        rev: r.to_string(),
                        prev: p.to_string(),
                    }
                    .into());
                }
            }
            r
        }
    };
    let mut ed = Editor::new(store, prev.data)?;
    let mut ops = Vec::new();
    let mut records: Vec<(Cid, Vec<u8>)> = Vec::new();
    let mut paths = HashSet::new();
    for w in writes {
        let path = w.path().to_owned();
        mst::check_key(&path).map_err(|e| bad_path(&path, e))?;
        if !paths.insert(path.clone()) {
            return Err(SyncError::DuplicateOp { path }.into());
        }
        let old = ed.get(&path)?;
        let (action, cid) = match (&w, old) {
            (Write::Create { .. }, Some(_)) => return Err(SyncError::RecordExists { path }.into()),
            (Write::Update { .. } | Write::Delete { .. }, None) => {
                return Err(SyncError::RecordNotFound { path }.into());
            }
            (Write::Create { value, .. } | Write::Update { value, .. }, _) => {
                let bytes = cbor::encode(value);
                let cid = Cid::for_dag_cbor(&bytes);
                // What atmo writes, atmo reads: a block the CAR readers would refuse is
                // refused here, before anything is signed.
                let len = bytes.len() + cid.encoded_len();
                let max = crate::car::CarLimits::DEFAULT.max_block_len;
                if len > max {
                    return Err(RepoError::RecordTooLarge { path, len, max }.into());
                }
                ed.insert(&path, cid)?;
                records.push((cid, bytes));
                let action = if old.is_some() {
                    Action::Update
                } else {
                    Action::Create
                };
                (action, Some(cid))
            }
            (Write::Delete { .. }, Some(_)) => {
                ed.remove(&path)?;
                (Action::Delete, None)
            }
        };
        ops.push(RepoOp {
            action,
            path,
            cid,
            prev: old,
        });
    }
    let edited = ed.finish();
    let commit = Commit::sign(prev.did.clone(), edited.root, rev, None, key)?;
    let commit_bytes = commit.encode();
    let cid = Cid::for_dag_cbor(&commit_bytes);

    let mut seen = HashSet::new();
    let mut blocks = Vec::with_capacity(1 + edited.blocks.len() + records.len());
    for (c, b) in std::iter::once((cid, commit_bytes))
        .chain(edited.blocks)
        .chain(records)
    {
        if seen.insert(c) {
            blocks.push((c, b));
        }
    }
    let new_blocks = blocks.len();
    let proof = {
        let overlay = Overlay {
            base: store,
            extra: blocks.iter().map(|(c, b)| (*c, b.as_slice())).collect(),
        };
        let cids = Mst::new(&overlay, edited.root).proof(ops.iter().map(|o| o.path.as_str()))?;
        let mut extra = Vec::new();
        for c in cids {
            if !seen.contains(&c) {
                let bytes = overlay
                    .get_block(&c)
                    .ok_or(MstError::MissingNode { cid: c })?;
                extra.push((c, bytes.to_vec()));
            }
        }
        extra
    };
    for (c, b) in proof {
        if seen.insert(c) {
            blocks.push((c, b));
        }
    }
    Ok(CommitData {
        since: prev.rev,
        prev_data: prev.data,
        commit,
        cid,
        prev_commit: head,
        ops,
        blocks,
        new_blocks,
        removed_nodes: edited.removed,
    })
}

/// Checks a `#commit`'s operations against its blocks (sync 1.1): starting from the new
/// tree root `data` on a tree that holds only `blocks`, each operation's path must hold
/// its `cid` (nothing for a delete) and each record block must be present; then the
/// operations are undone (a create deleted, an update or delete set back to `prev`), and
/// the resulting root must be `prev_data`. So the operations are exactly the
/// difference between the tree at `prev_data` and the tree at `data`, proven by the
/// blocks. A path may appear in several operations, as the reference PDS writes them for
/// a batch that writes one record twice: then the path's first `prev` and last `cid` are
/// what is checked.
///
/// Pure: no I/O, nothing but `blocks` is read.
///
/// # Errors
/// [`SyncError::Tree`] for a missing or malformed node (a missing proof block shows as
/// [`MstError::MissingNode`]), [`SyncError::OpMismatch`], [`SyncError::MissingRecord`],
/// [`SyncError::OpShape`], [`SyncError::PrevDataMismatch`].
// Errors are rare and carry two CIDs to say what differs; boxing would only move them.
#[allow(clippy::result_large_err)]
pub fn verify_commit_ops<S: BlockStore + ?Sized>(
    blocks: &S,
    data: Cid,
    prev_data: Cid,
    ops: &[RepoOp],
) -> Result<(), SyncError> {
    let tree = |path: &str| {
        let path = path.to_owned();
        move |source| SyncError::Tree {
            path,
            source: Box::new(source),
        }
    };
    let mut ed = Editor::new(blocks, data).map_err(tree("(commit data)"))?;
    // Each path's state before the commit (the first op's `prev`) and after it (the last
    // op's `cid`). Several ops on one path come from a batch that wrote a record twice;
    // the reference PDS gives the later ones the state before the commit as `prev`
    // (an update of a record the same batch created has none), so only the ends count.
    let mut net: Vec<(&str, Option<Cid>, Option<Cid>)> = Vec::with_capacity(ops.len());
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(ops.len());
    for op in ops {
        let path = op.path.as_str();
        let shape = |reason| SyncError::OpShape {
            path: path.to_owned(),
            reason,
        };
        match index.get(path) {
            None => {
                match (op.action, op.cid, op.prev) {
                    (Action::Create, Some(_), None)
                    | (Action::Update, Some(_), Some(_))
                    | (Action::Delete, None, Some(_)) => {}
                    (Action::Create, _, _) => return Err(shape("a create has a cid and no prev")),
                    (Action::Update, _, _) => return Err(shape("an update has a cid and a prev")),
                    (Action::Delete, _, _) => return Err(shape("a delete has a prev and no cid")),
                }
                index.insert(path, net.len());
                net.push((path, op.prev, op.cid));
            }
            Some(&i) => {
                match (op.action, op.cid) {
                    (Action::Create | Action::Update, Some(_)) | (Action::Delete, None) => {}
                    (Action::Delete, Some(_)) => return Err(shape("a delete has no cid")),
                    _ => return Err(shape("a create or update has a cid")),
                }
                if let Some(entry) = net.get_mut(i) {
                    entry.2 = op.cid;
                }
            }
        }
    }
    for (path, before, after) in net {
        let found = ed.get(path).map_err(tree(path))?;
        if found != after {
            return Err(SyncError::OpMismatch {
                path: path.to_owned(),
                expected: after,
                found,
            });
        }
        if let Some(cid) = after {
            if blocks.get_block(&cid).is_none() {
                return Err(SyncError::MissingRecord {
                    path: path.to_owned(),
                    cid,
                });
            }
        }
        match before {
            None => ed.remove(path).map(drop),
            Some(prev) => ed.insert(path, prev).map(drop),
        }
        .map_err(tree(path))?;
    }
    let found = ed.finish().root;
    if found != prev_data {
        return Err(SyncError::PrevDataMismatch {
            expected: prev_data,
            found,
        });
    }
    Ok(())
}

/// Checks a whole `#commit`: its `blocks` CAR (every block's hash), the commit block (its
/// first root), the signature if `key` is given, and the operations by inversion
/// ([`verify_commit_ops`]) against `prev_data`. Returns the commit.
///
/// # Errors
/// [`Error::Car`], [`RepoError::NoRoot`], [`RepoError::MissingBlock`], [`Error::Commit`]
/// (including a bad signature) or [`Error::Sync`].
pub fn verify_commit(
    car: &[u8],
    ops: &[RepoOp],
    prev_data: Cid,
    key: Option<&PublicKey>,
) -> Result<Commit, Error> {
    let store = CarBlockStore::from_car(car)?;
    let cid = *store.roots().first().ok_or(RepoError::NoRoot)?;
    let bytes = store.get(&cid).ok_or(RepoError::MissingBlock {
        what: "commit",
        cid,
    })?;
    let commit = Commit::decode(bytes)?;
    if let Some(key) = key {
        commit.verify(key)?;
    }
    verify_commit_ops(&store, commit.data, prev_data, ops)?;
    Ok(commit)
}
