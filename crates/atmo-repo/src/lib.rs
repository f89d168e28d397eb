//! atproto repositories: CAR files, the Merkle Search Tree, signed commits.
//!
//! # First: open a CAR and read its records
//!
//! A repository arrives as a CAR file (`com.atproto.sync.getRepo`, `atmo repo export`).
//! [`Repo::from_car`] checks every block against its CID; [`Repo::records`] walks the
//! records in key order; [`Record::decode`] reads one into any serde type (an atmo-api
//! record type, or [`atmo_data::Value`]), and a record that does not fit says which one
//! and where (`app.bsky.feed.post/3k... ($.embed.images[0])`):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let car = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/refpds-small.car"))?;
//! // let car = std::fs::read("repo.car")?;
//! let repo = atmo_repo::Repo::from_car(&car)?;
//! println!("{} at rev {:?}", repo.commit().did, repo.commit().rev);
//! for record in repo.records() {
//!     let record = record?;
//!     let value: atmo_data::Value = record.decode()?;
//!     println!("{} {}", record.path(), atmo_data::json::to_string(&value));
//! }
//! // With the signing key from the DID document, also check the commit's signature:
//! // repo.verify(&atmo_repo::VerifyOptions::new().key(key).did(did))?;
//! # Ok(()) }
//! ```
//!
//! # The reference
//!
//! - [`car`]: a zero-copy CAR v1 reader over `&[u8]` ([`car::CarReader`]) that checks
//!   every block against its CID unless told to trust the input, bounded by
//!   [`car::CarLimits`]; a writer ([`car::CarWriter`], [`car::write_car`]).
//! - [`BlockStore`]: where blocks come from; [`MemoryBlockStore`] and [`CarBlockStore`];
//!   [`CarFile`] reads a CAR file and indexes it in the same pass (the fastest way to
//!   open a repository on disk).
//! - [`mst`]: node codec ([`mst::NodeData`]), key layers, the tree ([`mst::Mst`]: walk in
//!   key order with canonical-form checks, get, list a collection) and the builder
//!   ([`mst::build`]).
//! - [`Commit`]: decode (v3, and v2), sign with an atmo-crypto [`Keypair`](atmo_crypto::Keypair),
//!   verify with a [`PublicKey`](atmo_crypto::PublicKey).
//! - [`Repo`]: a whole repository from a CAR: records in key order ([`Repo::records`]) or
//!   on several threads ([`Repo::for_each_record`]), each decoded on demand as a borrowed
//!   [`ValueRef`](atmo_data::ValueRef), an owned [`Value`](atmo_data::Value) or straight
//!   into a typed value such as an atmo-api record type ([`Record::decode`], one pass, no
//!   `Value` in between); [`Repo::verify`]; and [`build_repo`]: records and a key to a
//!   signed repository CAR.
//! - Threads are always your explicit choice: nothing starts a thread unless given a
//!   count above 1 ([`car::CarReader::threads`] to read and hash-check a large CAR,
//!   [`car::read_file_threads`] to load a file, [`CarFile::open`] to do both at once,
//!   [`Repo::for_each_record`]; a count to
//!   pass: [`car::default_threads`]). The threads are scoped, so these calls block until
//!   done: inside an async runtime make them where blocking is allowed (tokio's
//!   `spawn_blocking`). [`car::read_file`] loads a file on the calling thread (on Linux
//!   into transparent huge pages: [`car::FileBytes`]).
//! - Edits and sync 1.1: [`mst::Editor`] (insert, update, delete: the new root and exactly
//!   the new nodes), [`mst::Mst::proof`] (the nodes covering keys), [`apply_writes`] (a
//!   batch of writes to a new signed commit with the blocks and operations of its
//!   firehose `#commit`), [`verify_commit_ops`] / [`verify_commit`] (check a `#commit` by
//!   inverting its operations on the partial tree its blocks hold).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use atmo_crypto::{Curve, Keypair};
//! let key = Keypair::generate(Curve::K256)?;
//! let like = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.like"}"#)?;
//! let built = atmo_repo::build_repo(
//!     &"did:plc:abcdefghijklmnopqrstuvwx".parse()?,
//!     &key,
//!     atmo_syntax::Tid::now(),
//!     [("app.bsky.feed.like/3kabcdefghij2".to_string(), like)],
//! )?;
//! let repo = atmo_repo::Repo::from_car(&built.car)?;
//! assert_eq!(repo.records().count(), 1);
//! # Ok(()) }
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod car;
mod commit;
mod error;
pub mod mst;
mod repo;
mod store;
mod sync;

pub use commit::{Commit, VERSION};
pub use error::{CarError, CommitError, Error, MstError, RepoError, SyncError};
pub use repo::{
    BuiltRepo, Record, Records, Repo, VerifyOptions, VerifyReport, build_repo, verify_record_proof,
};
pub use store::{BlockStore, CarBlockStore, CarFile, MemoryBlockStore};
pub use sync::{
    Action, CommitData, RepoOp, Write, apply_writes, next_rev, verify_commit, verify_commit_ops,
};
