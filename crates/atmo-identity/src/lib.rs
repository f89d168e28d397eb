//! atproto identity: handle and DID resolution, DID documents, bidirectional checks.
//!
//! # First: who is this handle?
//!
//! ```no_run
//! # async fn demo() -> Result<(), atmo_identity::Error> {
//! use atmo_identity::{Resolver, ResolverConfig};
//!
//! let resolver = Resolver::new(ResolverConfig::default())?;
//! let id = resolver.resolve("atproto.com").await?; // a handle or a DID
//! println!("{} lives on {}, signs with {}", id.did, id.pds, id.signing_key.to_did_key());
//! // `id.handle` is Some only when the handle and the DID document agree both ways.
//! # Ok(()) }
//! ```
//!
//! The pure core is always built and has no I/O:
//! - [`DidDocument`]: the document model, bounded parsing, and the accessors atproto
//!   needs ([`handle`](DidDocument::handle), [`signing_key`](DidDocument::signing_key),
//!   [`pds_endpoint`](DidDocument::pds_endpoint)).
//! - [`handle`]: the handle resolution rules (DNS TXT records, well-known bodies).
//! - [`ssrf`]: which addresses resolvers refuse to reach.
//! - [`plc`]: did:plc operations, the audit log and its full verification, building and
//!   signing operations.
//!
//! With the default features `resolve-http` (tokio, hyper, rustls with webpki roots and
//! the ring provider) and `resolve-dns` (hickory-resolver), [`Resolver`] resolves handles
//! (DNS TXT, HTTPS well-known, or a `com.atproto.identity.resolveHandle` service) and DIDs
//! (did:plc from a configurable directory, did:web), checks both directions, caches the
//! answers with a time to live and shares concurrent lookups of one key. It refuses
//! private, loopback and link-local addresses after DNS resolution unless
//! [`ResolverConfig::allow_private_network`] is set.
//!
//! Resolving a handle or DID from a tokio runtime:
//!
#![cfg_attr(feature = "resolve-http", doc = "```no_run")]
#![cfg_attr(not(feature = "resolve-http"), doc = "```ignore")]
//! use atmo_identity::{Resolver, ResolverConfig};
//!
//! # async fn run() -> Result<(), atmo_identity::Error> {
//! let resolver = Resolver::new(ResolverConfig::default())?;
//! let id = resolver.resolve("atproto.com").await?;
//! println!("{} is {} on {}", id.handle_or_invalid(), id.did, id.pds);
//! # Ok(())
//! # }
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

pub mod document;
mod error;
pub mod handle;
#[cfg(feature = "resolve-http")]
mod net;
pub mod plc;
pub mod ssrf;

pub use document::{DidDocument, DocumentLimits, Service, VerificationMethod};
pub use error::{Error, PlcRule};
pub use handle::HandleSource;
#[cfg(feature = "resolve-http")]
pub use net::{CacheStats, MAX_WELL_KNOWN_REDIRECTS, ResolvedIdentity, Resolver, ResolverConfig};

/// The public did:plc directory.
pub const DEFAULT_PLC_URL: &str = "https://plc.directory";
