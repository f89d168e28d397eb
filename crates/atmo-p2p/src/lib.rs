//! atproto repositories over libp2p.
//!
//! # First: mirror a repository from a peer
//!
//! ```no_run
//! # #[cfg(feature = "node")]
//! # async fn run() -> Result<(), atmo_p2p::Error> {
//! use atmo_p2p::{Mirror, MirrorOptions};
//! let did: atmo_syntax::Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz".parse().expect("a DID");
//! let mut options = MirrorOptions::new(did);
//! options.peers.push("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA".parse().expect("a multiaddr"));
//! let mirrored = Mirror::new(options)?.run().await?;
//! std::fs::write("repo.car", &mirrored.car).expect("written");
//! println!("{} records at rev {}", mirrored.records, mirrored.rev);
//! # Ok(()) }
//! ```
//!
//! # The reference
//!
//! With the default `node` feature (libp2p, tokio, the HTTP transport):
//!
//! - [`peer_id_for_did`], [`peer_id_for_key`], [`peer_belongs_to_did`]: an atproto
//!   identity as a libp2p PeerID (the PeerID of the DID's `#atproto` signing key), and
//!   [`libp2p_keypair`] for a node that answers as its DID.
//! - [`message`]: Bitswap 1.2.0 messages, sans-IO (encode, a strict bounded decoder, the
//!   length prefix).
//! - [`Node`]: a libp2p node (TCP, Noise, Yamux, identify, ping) speaking Bitswap as a
//!   server of any [`BlockSource`] (e.g. [`Blocks`] loaded from CAR files) and as a
//!   client that checks every block against its CID and drops peers that send blocks
//!   nobody asked for.
//! - [`Fetcher`]: `get_block(cid)`: the local store, then Bitswap from peers, then the
//!   PDS (`com.atproto.sync.getBlocks`), each step optional.
//! - [`Mirror`]: a whole repository: its head (`com.atproto.sync.getLatestCommit`, or a
//!   given root), then commit, tree and records fetched through a [`Fetcher`], the
//!   signature checked against the DID's key and the whole repository verified as
//!   atmo-repo does, written as a CAR; given the previous mirror, only new blocks are
//!   fetched.
//!
//! Always (sans-IO, no tokio, no libp2p): [`message`] and [`Blocks`].
//!
//! Where peers are found: the addresses given. atproto DID documents define services
//! such as `#atproto_pds` (type `AtprotoPersonalDataServer`); no service type for a libp2p
//! peer is defined by the specifications, so this crate reads none and invents none.
// The front page names the node's items, which exist only with the `node` feature.
#![cfg_attr(not(feature = "node"), allow(rustdoc::broken_intra_doc_links))]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod error;
#[cfg(feature = "node")]
mod fetch;
pub mod message;
#[cfg(feature = "node")]
mod mirror;
#[cfg(feature = "node")]
mod node;
#[cfg(feature = "node")]
mod peer_id;
mod store;

pub use error::Error;
#[cfg(feature = "node")]
pub use fetch::{FetchStats, Fetcher, Pds};
#[cfg(feature = "node")]
pub use libp2p::{Multiaddr, PeerId, identity};
#[cfg(feature = "node")]
pub use mirror::{Mirror, MirrorOptions, Mirrored};
#[cfg(feature = "node")]
pub use node::{Misbehaviour, MisbehaviourKind, Node, NodeConfig, NodeStats};
#[cfg(feature = "node")]
pub use peer_id::{
    libp2p_keypair, libp2p_public_key, peer_belongs_to_did, peer_id_for_did, peer_id_for_key,
};
pub use store::{BlockSource, Blocks};
