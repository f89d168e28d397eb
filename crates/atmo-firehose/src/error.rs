//! The crate's error type and the typed reasons it carries.

use std::time::Duration;

use atmo_data::cbor::DecodeError;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame that is not a valid event-stream frame.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// The server sent an error frame (`op: -1`).
    #[error("the server sent an error frame: {error}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    ErrorFrame {
        /// The error name, e.g. `FutureCursor` or `ConsumerTooSlow`.
        error: String,
        /// The message, if any.
        message: Option<String>,
    },
    /// A commit or sync event that failed verification.
    #[error("verification failed: {0}")]
    Verify(Box<VerifyError>),
    /// A URL that cannot be subscribed to.
    #[error("bad URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Connecting (policy, DNS, TCP, TLS) failed.
    #[error("connecting to {url}: {source}")]
    Connect {
        /// The URL.
        url: String,
        /// The transport error.
        source: Box<atmo_http::Error>,
    },
    /// The websocket handshake or the connection failed.
    #[error("websocket {url}: {message}")]
    WebSocket {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// No frame arrived for this long (even after a ping).
    #[error("stalled: no frame for {after:?}")]
    Stalled {
        /// The silence.
        after: Duration,
    },
    /// The server closed the connection.
    #[error("the server closed the connection")]
    ClosedByServer,
    /// Reading or writing the cursor store failed.
    #[error("cursor store {path}: {message}")]
    CursorStore {
        /// The file, or the store's name.
        path: String,
        /// What happened.
        message: String,
    },
    /// Resolving a signing key failed.
    #[error("identity: {0}")]
    Identity(Box<atmo_identity::Error>),
    /// Jetstream subscriber options that cannot be used.
    #[error("jetstream options: {0}")]
    Options(#[from] crate::jetstream::OptionsError),
    /// A file of the Jetstream server's buffer could not be read or written.
    #[error("{}: {kind}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What went wrong.
        kind: std::io::ErrorKind,
    },
    /// A verification thread could not be started.
    #[error("starting a verification thread: {kind}")]
    Thread {
        /// What the operating system said.
        kind: std::io::ErrorKind,
    },
    /// The other end of a verification pool is gone (its receiver was dropped, or a
    /// worker ended).
    #[error("the verification pool is closed")]
    PoolClosed,
    /// The Jetstream server could not listen.
    #[error("listening on {addr}: {kind}")]
    Listen {
        /// The address.
        addr: String,
        /// What went wrong.
        kind: std::io::ErrorKind,
    },
}

/// Why bytes are not a valid frame or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is larger than the limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header or the body is not strict DAG-CBOR.
    #[error("{part}: {source}")]
    Cbor {
        /// `"header"` or `"body"`.
        part: &'static str,
        /// The decoder's error.
        source: DecodeError,
    },
    /// The header is not `{op, t}` as the protocol says.
    #[error("header: {reason}")]
    Header {
        /// What is wrong.
        reason: &'static str,
    },
    /// A field of a body is missing or malformed.
    #[error("{kind}: field {field}: {reason}")]
    Field {
        /// The message type, e.g. `#commit`.
        kind: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A list in a body is longer than the limit.
    #[error("{kind}: {field} has {len} entries, the limit is {max}")]
    TooMany {
        /// The message type.
        kind: String,
        /// The field.
        field: &'static str,
        /// The length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a commit (or `#sync`) is rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The `blocks` CAR is malformed, or a block does not hash to its CID.
    #[error("blocks: {0}")]
    Blocks(Box<atmo_repo::Error>),
    /// The CAR's root is not the event's commit CID.
    #[error("the CAR's root {found:?} is not the commit {expected}")]
    Root {
        /// The event's `commit`.
        expected: String,
        /// The CAR's first root.
        found: Option<String>,
    },
    /// The commit block is missing or malformed.
    #[error("commit block: {0}")]
    Commit(Box<atmo_repo::CommitError>),
    /// The commit block names another repository, or another rev, than the event.
    #[error("the commit block says {field} {found}, the event says {expected}")]
    Mismatch {
        /// `"did"` or `"rev"`.
        field: &'static str,
        /// What the event says.
        expected: String,
        /// What the commit block says.
        found: String,
    },
    /// The signature does not verify with the repository's signing key.
    #[error("bad signature: {0}")]
    Signature(Box<atmo_repo::CommitError>),
    /// The signing key could not be resolved.
    #[error("no signing key: {message}")]
    NoKey {
        /// Why.
        message: String,
    },
    /// The rev is not after the last rev seen for the repository.
    #[error("rev {rev} is not after the last rev {last}")]
    RevNotIncreasing {
        /// The event's rev.
        rev: String,
        /// The last rev seen.
        last: String,
    },
    /// The event has no `prevData`, so its operations cannot be checked (sync 1.1).
    #[error("no prevData: the operations cannot be checked")]
    NoPrevData,
    /// The operations do not match the blocks (sync 1.1 inversion).
    #[error("operations: {0}")]
    Ops(Box<atmo_repo::SyncError>),
    /// A `tooBig` commit carries no usable blocks.
    #[error("tooBig commit: cannot be verified")]
    TooBig,
    /// The check itself failed (a bug in atmo: it panicked); the event is not delivered.
    #[error("the check failed unexpectedly: {message}")]
    Internal {
        /// The panic's message.
        message: String,
    },
    /// A record block is not valid DAG-CBOR.
    #[error("record {path}: {source}")]
    Record {
        /// The record's path.
        path: String,
        /// The decoder's error.
        source: DecodeError,
    },
}

impl From<VerifyError> for Error {
    fn from(e: VerifyError) -> Self {
        Self::Verify(Box::new(e))
    }
}
