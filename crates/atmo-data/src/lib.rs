//! The atproto data model: strict DAG-CBOR, atproto JSON, CIDs and blobs.
//!
//! # First: a record's bytes and CID
//!
//! ```
//! use atmo_data::{Cid, cbor, json};
//!
//! // atproto JSON in (links and bytes as {"$link"} and {"$bytes"}), the data model out.
//! let post = json::record_from_str(
//!     r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-05-01T12:00:00Z"}"#,
//! )?;
//! let bytes = cbor::encode(&post);       // strict, canonical DAG-CBOR
//! let cid = Cid::for_dag_cbor(&bytes);   // what a repository stores it under
//! assert!(cid.to_string().starts_with("bafyrei"));
//! assert_eq!(cbor::decode(&bytes)?, post); // and it reads back the same
//! # Ok::<(), atmo_data::Error>(())
//! ```
//!
//! # Overview
//!
//! - [`Cid`]: a compact, `Copy` CIDv1 (digest up to 64 bytes inline). [`Cid::for_dag_cbor`]
//!   and [`Cid::for_raw`] compute CIDs; [`Cid::verify`] checks bytes against one;
//!   [`Cid::from_bytes`], [`Cid::read_prefix`], [`Cid::to_bytes`], `FromStr` and `Display`
//!   convert (base32 lower case, `b` prefix).
//! - [`Value`]: an owned data model value (null, bool, `i64`, string, bytes, link, array,
//!   [`Map`]). A [`Map`] is a vector of entries kept in DAG-CBOR key order. Strings are
//!   [`Str`], which keeps short strings inline (no heap allocation).
//! - [`ValueRef`]: a borrowed, lazy view of validated input (no copies, no allocation);
//!   [`MapRef::get`], [`ArrayRef::iter`], [`MapRef::iter`] read it on demand.
//! - [`cbor`]: the strict decoder ([`cbor::decode`], [`cbor::decode_ref`],
//!   [`cbor::validate`], [`cbor::decode_prefix`]) with [`cbor::DecodeLimits`], and the
//!   deterministic encoder ([`cbor::encode`], [`cbor::encode_into`]).
//! - [`json`]: atproto JSON to and from [`Value`] (`$link`, `$bytes`, blobs, no floats).
//! - serde: [`to_cbor`], [`from_cbor`], [`to_json`], [`from_json`], [`to_value`],
//!   [`from_value`]; a [`Cid`] field is tag 42 in CBOR and `{"$link"}` in JSON, a field
//!   marked `#[serde(with = "atmo_data::bytes")]` is a byte string or `{"$bytes"}`.
//! - [`Blob`]: a blob reference, current and legacy forms.
//! - [`Error`]: the one error type, wrapping [`cbor::DecodeError`] (with byte offset),
//!   [`json::JsonError`] and [`CidError`].
//!
//! ```
//! # fn main() -> Result<(), atmo_data::Error> {
//! let record = atmo_data::json::record_from_str(
//!     r#"{"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2024-01-01T00:00:00Z"}"#,
//! )?;
//! let bytes = atmo_data::cbor::encode(&record);
//! let cid = atmo_data::Cid::for_dag_cbor(&bytes);
//! assert!(cid.verify(&bytes));
//! assert_eq!(atmo_data::cbor::decode(&bytes)?, record);
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

mod base32;
mod blob;
pub mod cbor;
pub mod cid;
mod error;
pub mod json;
mod serde_impl;
mod str;
mod utf8;
mod value;
mod value_ref;

pub use blob::Blob;
pub use cid::{Cid, CidError};
pub use error::Error;
pub use serde_impl::{
    ArrayReader, CborReader, FromCbor, MapReader, ReadError, TEXT_BYTES, bytes, from_cbor,
    from_cbor_with, from_json, from_value, read_cbor, read_cbor_with, to_cbor, to_json, to_value,
};
pub use str::{INLINE_LEN, Str};
pub use value::{Map, Value, key_cmp};
pub use value_ref::{ArrayIter, ArrayRef, CidRef, MapIter, MapRef, ValueRef};
