//! The one error type of atmo-p2p.

use std::path::PathBuf;

use atmo_data::Cid;
#[cfg(feature = "node")]
use atmo_syntax::Did;
#[cfg(feature = "node")]
use libp2p::{Multiaddr, PeerId};

/// Everything that can go wrong in atmo-p2p.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Bitswap message (or its length prefix) is malformed.
    #[error("bitswap message: {reason} at byte {offset}")]
    Message {
        /// What was wrong.
        reason: &'static str,
        /// Where, in bytes from the start of the message.
        offset: usize,
    },
    /// A Bitswap message is larger than the limit.
    #[error("bitswap message of {len} bytes is over the limit of {max}")]
    MessageTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A key cannot be turned into a libp2p public key.
    #[cfg(feature = "node")]
    #[error("the key cannot be a libp2p key: {reason}")]
    Key {
        /// Why.
        reason: &'static str,
    },
    /// A multiaddr did not parse.
    #[cfg(feature = "node")]
    #[error("{input:?} is not a multiaddr: {source}")]
    Multiaddr {
        /// The text given.
        input: String,
        /// The parser's error.
        source: libp2p::multiaddr::Error,
    },
    /// The node could not listen on an address.
    #[cfg(feature = "node")]
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// The transport's error.
        source: libp2p::TransportError<std::io::Error>,
    },
    /// The node could not be built (transport or behaviour setup).
    #[cfg(feature = "node")]
    #[error("cannot start the libp2p node: {kind:?}")]
    Start {
        /// The kind of I/O failure behind it.
        kind: std::io::ErrorKind,
    },
    /// Dialling a peer failed.
    #[cfg(feature = "node")]
    #[error("cannot connect to {addr}: {source}")]
    Dial {
        /// The address dialled.
        addr: Multiaddr,
        /// libp2p's reason.
        source: Box<libp2p::swarm::DialError>,
    },
    /// A Bitswap stream could not be opened or written.
    #[cfg(feature = "node")]
    #[error("bitswap stream to {peer}: {kind:?}")]
    Stream {
        /// The peer.
        peer: PeerId,
        /// The I/O failure.
        kind: std::io::ErrorKind,
    },
    /// A peer sent a block whose bytes hash to a CID it was not asked for: the wrong bytes
    /// for a wanted block, or a block nobody asked for. The peer is disconnected.
    #[cfg(feature = "node")]
    #[error("{peer} sent a block nobody asked it for (its bytes hash to {got}); peer dropped")]
    UnwantedBlock {
        /// The misbehaving peer.
        peer: PeerId,
        /// The CID its bytes hash to (under the prefix it sent; boxed to keep the error
        /// small).
        got: Box<Cid>,
    },
    /// A peer sent a block whose CID prefix atmo cannot verify (not a CIDv1 with SHA-256).
    /// The peer is disconnected.
    #[cfg(feature = "node")]
    #[error("{peer} sent a block that cannot be verified (not a CIDv1 with SHA-256); peer dropped")]
    UnverifiableBlock {
        /// The misbehaving peer.
        peer: PeerId,
    },
    /// A peer broke the protocol (a malformed or oversized message); it is disconnected.
    #[cfg(feature = "node")]
    #[error("{peer} broke the Bitswap protocol; peer dropped: {reason}")]
    BadPeer {
        /// The peer.
        peer: PeerId,
        /// What it did.
        reason: &'static str,
    },
    /// No peer had the block within the time allowed.
    #[cfg(feature = "node")]
    #[error("no peer sent {cid} in time")]
    Timeout {
        /// The block.
        cid: Cid,
    },
    /// No source had the block (every peer said it does not have it, and the PDS was not
    /// asked or did not have it either).
    #[cfg(feature = "node")]
    #[error("no source has block {cid}")]
    NotFound {
        /// The block.
        cid: Cid,
    },
    /// A block from the PDS or a file does not match its CID.
    #[error("block {cid} from {source_name} does not match its CID")]
    BadBlock {
        /// The CID.
        cid: Cid,
        /// Where it came from.
        source_name: &'static str,
    },
    /// The node has stopped.
    #[cfg(feature = "node")]
    #[error("the libp2p node has stopped")]
    Stopped,
    /// An HTTP request to the PDS failed.
    #[cfg(feature = "node")]
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The transport's error.
        source: Box<atmo_http::Error>,
    },
    /// The PDS answered with an error status.
    #[cfg(feature = "node")]
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The PDS answered with a body that does not parse.
    #[cfg(feature = "node")]
    #[error("{url} answered with a body that does not parse: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A DID did not resolve, or its document lacks what is needed.
    #[cfg(feature = "node")]
    #[error("identity: {0}")]
    Identity(#[from] Box<atmo_identity::Error>),
    /// The DID's document names no PDS and no root was given.
    #[cfg(feature = "node")]
    #[error("{did} names no PDS to ask for its head; give a root CID")]
    NoPds {
        /// The DID.
        did: Did,
    },
    /// A block, CAR or commit is malformed or does not verify.
    #[error("repository: {0}")]
    Repo(#[from] Box<atmo_repo::Error>),
    /// The commit belongs to another repository.
    #[cfg(feature = "node")]
    #[error("the commit {commit} is for {found}, not {expected}")]
    WrongRepo {
        /// The commit's CID (boxed to keep the error small).
        commit: Box<Cid>,
        /// The DID asked for.
        expected: Did,
        /// The DID in the commit.
        found: Did,
    },
    /// A limit was reached.
    #[cfg(feature = "node")]
    #[error("more {what} than the limit of {max}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: u64,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

#[cfg(feature = "node")]
impl From<atmo_identity::Error> for Error {
    fn from(e: atmo_identity::Error) -> Self {
        Error::Identity(Box::new(e))
    }
}

impl From<atmo_repo::Error> for Error {
    fn from(e: atmo_repo::Error) -> Self {
        Error::Repo(Box::new(e))
    }
}
