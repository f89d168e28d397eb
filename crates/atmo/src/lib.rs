//! atmo: the AT Protocol toolkit in one dependency.
//!
//! Every layer of atmo is a module here behind a cargo feature, so a program names one
//! dependency and turns on what it uses:
//!
//! | feature | module | what it is |
//! |---|---|---|
//! | (always) | [`syntax`], [`data`], [`crypto`] | validated identifiers, the data model, keys |
//! | `repo` (default) | `repo` | CAR files, the Merkle Search Tree, commits, verification |
//! | `http` | `http` | the one HTTP transport and its connect policy |
//! | `identity` | `identity` | handle and DID resolution |
//! | `xrpc` | `xrpc` | the XRPC client, app-password sessions |
//! | `api` / `bluesky` | `api` | generated types and typed calls |
//! | `oauth` | `oauth` | the OAuth client with DPoP |
//! | `oauth-sqlite` | `oauth::SqliteStore` | OAuth stores in SQLite (bundled, C) |
//! | `firehose` | `firehose` | verified, resumable event streams |
//! | `lexicon` | `lexicon` | lexicon validation and resolution |
//! | `richtext` | `richtext` | facet detection and resolution, grapheme counts, segments, a builder |
//! | `service-auth` | `service_auth` | inter-service JWTs: create and verify |
//! | `agent` | `agent` | the high-level `Agent` |
//! | `full` | all of the above | |
//! | `secp256k1` | (none) | libsecp256k1 (C) checks secp256k1 signatures, same verdicts, faster |
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub use atmo_crypto as crypto;
pub use atmo_data as data;
pub use atmo_syntax as syntax;

#[cfg(feature = "api")]
pub use atmo_api as api;
#[cfg(feature = "firehose")]
pub use atmo_firehose as firehose;
#[cfg(feature = "http")]
pub use atmo_http as http;
#[cfg(feature = "identity")]
pub use atmo_identity as identity;
#[cfg(feature = "lexicon")]
pub use atmo_lexicon as lexicon;
#[cfg(feature = "oauth")]
pub use atmo_oauth as oauth;
#[cfg(feature = "p2p")]
pub use atmo_p2p as p2p;
#[cfg(feature = "repo")]
pub use atmo_repo as repo;
#[cfg(feature = "richtext")]
pub mod richtext;
#[cfg(feature = "xrpc")]
pub use atmo_xrpc as xrpc;

mod error;
pub use error::{Error, Result, TokenProblem};

#[cfg(feature = "service-auth")]
pub mod service_auth;

#[cfg(feature = "agent")]
pub mod agent;
#[cfg(feature = "agent")]
pub use agent::Agent;

#[cfg(all(feature = "full", any(doc, doctest)))]
pub mod guide;
