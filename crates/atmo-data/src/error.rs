//! The crate's error type.

use crate::cbor::DecodeError;
use crate::cid::CidError;
use crate::json::JsonError;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes are not strict DAG-CBOR (or exceed the decode limits).
    #[error(transparent)]
    Cbor(#[from] DecodeError),
    /// Text is not atproto JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Bytes or a string are not a supported CID.
    #[error(transparent)]
    Cid(#[from] CidError),
    /// A Rust value could not be converted to or from a data model [`Value`](crate::Value)
    /// (a float, a non-string map key, a missing field, a wrong type...).
    #[error("{0}")]
    Serde(String),
}
