//! Errors: [`Error`] wraps one precise error per layer ([`CarError`], [`MstError`],
//! [`CommitError`], [`RepoError`]).

use atmo_data::Cid;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CAR file is malformed, exceeds a limit, or a block does not match its CID.
    #[error(transparent)]
    Car(#[from] CarError),
    /// The Merkle Search Tree is malformed or not in canonical form (boxed: it holds a
    /// key and a CID).
    #[error(transparent)]
    Mst(Box<MstError>),
    /// The commit object is malformed or its signature does not verify.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The repository as a whole is inconsistent (missing blocks, bad records...), boxed.
    #[error(transparent)]
    Repo(Box<RepoError>),
    /// A commit's operations do not check out, or writes cannot be applied (boxed).
    #[error(transparent)]
    Sync(Box<SyncError>),
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Self {
        Self::Sync(Box::new(e))
    }
}

impl From<MstError> for Error {
    fn from(e: MstError) -> Self {
        Self::Mst(Box::new(e))
    }
}

impl From<RepoError> for Error {
    fn from(e: RepoError) -> Self {
        Self::Repo(Box::new(e))
    }
}

/// Why a CAR v1 file was rejected. Offsets count bytes from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CarError {
    /// The input ended inside a varint, the header or a block section.
    #[error("CAR truncated at byte {at}: {needed} more bytes needed")]
    Truncated {
        /// Offset where the missing bytes should start.
        at: usize,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// A length varint longer than [`CarLimits::max_varint_len`](crate::car::CarLimits).
    #[error("varint at byte {at} is longer than {max} bytes")]
    VarintTooLong {
        /// Offset of the varint.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// A length varint not in its shortest form (a trailing zero byte).
    #[error("varint at byte {at} is not in its shortest form")]
    VarintNotMinimal {
        /// Offset of the varint.
        at: usize,
    },
    /// The header length exceeds [`CarLimits::max_header_len`](crate::car::CarLimits).
    #[error("CAR header of {len} bytes exceeds the limit of {max}")]
    HeaderTooLong {
        /// Declared header length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The header is empty (length 0).
    #[error("CAR header is empty")]
    EmptyHeader,
    /// The header is not strict DAG-CBOR.
    #[error("CAR header at byte {at} is not strict DAG-CBOR: {source}")]
    HeaderCbor {
        /// Offset of the header's first byte.
        at: usize,
        /// The decoder's error (its offset is relative to the header).
        source: atmo_data::cbor::DecodeError,
    },
    /// The header is DAG-CBOR but not `{version: 1, roots: [CID...]}`.
    #[error("CAR header is not {{version, roots}}: {reason}")]
    HeaderShape {
        /// What is wrong.
        reason: &'static str,
    },
    /// A header version other than 1 (CAR v2 and others are not read).
    #[error("CAR version {version} is not supported (only 1)")]
    Version {
        /// The version found.
        version: i64,
    },
    /// The header has more roots than [`CarLimits::max_roots`](crate::car::CarLimits).
    #[error("CAR header has {len} roots, more than the limit of {max}")]
    TooManyRoots {
        /// Number of roots.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Reading the input failed (only the async reader reads from I/O; an unexpected end
    /// of input is [`CarError::Truncated`] instead).
    #[error("I/O error reading the CAR at byte {at}: {kind}")]
    Io {
        /// Offset of the first byte that could not be read.
        at: usize,
        /// The kind of the I/O error.
        kind: std::io::ErrorKind,
    },
    /// A block section of length 0 (it must at least hold a CID).
    #[error("empty block section at byte {at}")]
    EmptySection {
        /// Offset of the section's length varint.
        at: usize,
    },
    /// A block section longer than [`CarLimits::max_block_len`](crate::car::CarLimits).
    #[error("block section at byte {at} is {len} bytes, more than the limit of {max}")]
    BlockTooLong {
        /// Offset of the section's length varint.
        at: usize,
        /// Declared section length (CID and data).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// More blocks than [`CarLimits::max_blocks`](crate::car::CarLimits).
    #[error("more than {max} blocks (at byte {at})")]
    TooManyBlocks {
        /// Offset of the first block past the limit.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// The section does not start with a valid CIDv1.
    #[error("bad CID at byte {at}: {source}")]
    Cid {
        /// Offset of the CID.
        at: usize,
        /// Why the CID is invalid.
        source: atmo_data::CidError,
    },
    /// The block's bytes do not hash to its CID.
    #[error("block at byte {at} does not match its CID {cid}")]
    HashMismatch {
        /// Offset of the section's length varint.
        at: usize,
        /// The CID the section claims.
        cid: Cid,
    },
    /// The block's CID uses a hash function that cannot be checked (only SHA2-256 can).
    #[error("block at byte {at} has CID {cid} with a hash other than SHA2-256")]
    UnsupportedHash {
        /// Offset of the section's length varint.
        at: usize,
        /// The CID.
        cid: Cid,
    },
}

/// Why a Merkle Search Tree node or tree was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MstError {
    /// A node block referenced by the tree is not in the block store.
    #[error("MST node {cid} is missing from the block store")]
    MissingNode {
        /// The node's CID.
        cid: Cid,
    },
    /// A node block is not strict DAG-CBOR.
    #[error("MST node {cid} is not strict DAG-CBOR: {source}")]
    NodeCbor {
        /// The node's CID.
        cid: Cid,
        /// The decoder's error.
        source: atmo_data::cbor::DecodeError,
    },
    /// A node is DAG-CBOR but not `{l, e: [{p, k, v, t}]}`.
    #[error("MST node {cid} is malformed: {reason}")]
    NodeShape {
        /// The node's CID.
        cid: Cid,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry's prefix length is longer than the previous key.
    #[error("MST node {cid} entry {index}: prefix length {prefix} exceeds the previous key")]
    PrefixTooLong {
        /// The node's CID.
        cid: Cid,
        /// Entry index in the node.
        index: usize,
        /// The prefix length found.
        prefix: u64,
    },
    /// An entry's prefix length is not the full common prefix with the previous key.
    #[error("MST node {cid} entry {index}: prefix length {found}, canonical is {expected}")]
    PrefixNotCanonical {
        /// The node's CID.
        cid: Cid,
        /// Entry index in the node.
        index: usize,
        /// The prefix length found.
        found: usize,
        /// The common prefix length with the previous key.
        expected: usize,
    },
    /// A key is not `collection/rkey` with a valid NSID and record key.
    #[error("invalid MST key {key:?}: {reason}")]
    InvalidKey {
        /// The key (lossy UTF-8).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A key is not on the layer of its node (layer = leading zero bits of its SHA-256 / 2).
    #[error("MST key {key:?} has layer {key_layer} but sits in a node of layer {node_layer}")]
    WrongLayer {
        /// The key.
        key: String,
        /// The key's layer.
        key_layer: u8,
        /// The layer of the node holding it.
        node_layer: u8,
    },
    /// Keys not in strictly increasing order (unsorted or duplicated), within a node or
    /// across subtrees.
    #[error("MST key {key:?} is not after the previous key {previous:?}")]
    KeyOrder {
        /// The previous key.
        previous: String,
        /// The key out of order.
        key: String,
    },
    /// A node on layer 0 links to a subtree.
    #[error("MST node {cid} on layer 0 links to a subtree")]
    ChildOfLeaf {
        /// The node's CID.
        cid: Cid,
    },
    /// A node without entries that is not the root of an empty tree and does not point to
    /// a subtree, or a root without entries that only points to a subtree (not pruned).
    #[error("MST node {cid} is empty where the canonical tree has no node")]
    EmptyNode {
        /// The node's CID.
        cid: Cid,
    },
    /// Input to [`build`](crate::mst::build) is not sorted or has duplicate keys.
    #[error("keys passed to the MST builder are not sorted and unique at {key:?}")]
    UnsortedInput {
        /// The first key out of order.
        key: String,
    },
}

/// Why a commit object was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The commit block is not strict DAG-CBOR.
    #[error("commit is not strict DAG-CBOR: {0}")]
    Cbor(atmo_data::cbor::DecodeError),
    /// The commit is DAG-CBOR but a field is missing, of the wrong type, or unknown.
    #[error("malformed commit: {reason}")]
    Shape {
        /// What is wrong.
        reason: &'static str,
    },
    /// A version other than 2 or 3.
    #[error("unsupported commit version {version} (2 and 3 are read)")]
    Version {
        /// The version found.
        version: i64,
    },
    /// The `did` field is not a valid DID.
    #[error("commit did is invalid: {0}")]
    Did(atmo_syntax::DidError),
    /// The `rev` field is not a valid TID.
    #[error("commit rev is invalid: {0}")]
    Rev(atmo_syntax::TidError),
    /// The signature does not verify against the given key.
    #[error("commit signature does not verify: {0}")]
    Signature(atmo_crypto::VerifyError),
    /// Signing failed.
    #[error("signing the commit failed: {0}")]
    Sign(atmo_crypto::Error),
}

/// Why a repository as a whole was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// The CAR has no root.
    #[error("the CAR file has no root (a repository's first root is its commit)")]
    NoRoot,
    /// A block the repository needs is not in the CAR.
    #[error("{what} block {cid} is missing")]
    MissingBlock {
        /// What the block is (`"commit"`, `"record"`).
        what: &'static str,
        /// Its CID.
        cid: Cid,
    },
    /// A record block is not strict DAG-CBOR.
    #[error("record {path} ({cid}) is not strict DAG-CBOR: {source}")]
    RecordCbor {
        /// The record's path (`collection/rkey`).
        path: String,
        /// The record's CID.
        cid: Cid,
        /// The decoder's error.
        source: atmo_data::cbor::DecodeError,
    },
    /// A record does not fit the type it was decoded into (see
    /// [`Record::decode`](crate::Record::decode)).
    #[error("record {path} ({cid}) does not fit the type: {message}")]
    RecordType {
        /// The record's path (`collection/rkey`).
        path: String,
        /// The record's CID.
        cid: Cid,
        /// What does not fit, naming the field.
        message: String,
    },
    /// A record whose DAG-CBOR block would exceed the CAR readers' default block limit
    /// ([`CarLimits::max_block_len`](crate::car::CarLimits::max_block_len)): a repository
    /// holding it could be written but not read back.
    #[error("record {path} is {len} bytes of DAG-CBOR, more than the block limit of {max}")]
    RecordTooLarge {
        /// The record's path (`collection/rkey`).
        path: String,
        /// Its block section's size (CID and DAG-CBOR).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A record is not a map.
    #[error("record {path} ({cid}) is not a map")]
    RecordNotMap {
        /// The record's path.
        path: String,
        /// The record's CID.
        cid: Cid,
    },
    /// The commit's DID is not the one expected.
    #[error("commit is for {found}, expected {expected}")]
    DidMismatch {
        /// The DID expected by the caller.
        expected: String,
        /// The DID in the commit.
        found: String,
    },
    /// A record path given to the builder is not `collection/rkey`.
    #[error("invalid record path {path:?}: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The same record path was given twice to the builder.
    #[error("duplicate record path {path:?}")]
    DuplicatePath {
        /// The path.
        path: String,
    },
}

/// Why a commit's operations do not check out against its blocks (sync 1.1 inversion),
/// or why a batch of writes cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A tree node needed to check or invert the operations is not among the blocks
    /// (or is malformed).
    #[error("operation on {path}: {source}")]
    Tree {
        /// The path of the operation being checked.
        path: String,
        /// The tree error (for a missing block, [`MstError::MissingNode`]), boxed.
        source: Box<MstError>,
    },
    /// The new tree does not hold what the operation says (`cid` for a create or update,
    /// nothing for a delete).
    #[error("operation on {path}: the tree holds {found:?}, the operation says {expected:?}")]
    OpMismatch {
        /// The path.
        path: String,
        /// What the operation says the new tree holds.
        expected: Option<Cid>,
        /// What the tree holds.
        found: Option<Cid>,
    },
    /// An operation whose fields do not fit its action (a create with `prev`, an update
    /// or delete without it, a delete with `cid`...).
    #[error("operation on {path} is malformed: {reason}")]
    OpShape {
        /// The path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two operations on the same path in one commit.
    #[error("two operations on {path} in one commit")]
    DuplicateOp {
        /// The path.
        path: String,
    },
    /// A created or updated record's block is not among the blocks.
    #[error("record block {cid} for {path} is missing")]
    MissingRecord {
        /// The path.
        path: String,
        /// The record CID.
        cid: Cid,
    },
    /// Undoing the operations does not give the previous tree root.
    #[error("inverted operations give tree root {found}, the commit's prevData is {expected}")]
    PrevDataMismatch {
        /// `prevData` of the commit.
        expected: Cid,
        /// The root after inverting the operations.
        found: Cid,
    },
    /// A write creates a record that exists.
    #[error("record {path} already exists")]
    RecordExists {
        /// The path.
        path: String,
    },
    /// A write updates or deletes a record that does not exist.
    #[error("record {path} does not exist")]
    RecordNotFound {
        /// The path.
        path: String,
    },
    /// The revision given for a new commit is not after the previous one.
    #[error("rev {rev} is not after the previous rev {prev}")]
    RevNotAfter {
        /// The new rev.
        rev: String,
        /// The previous rev.
        prev: String,
    },
}
