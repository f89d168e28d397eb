//! Typed Rust for the atproto lexicons, generated from the vendored `lexicons/` by
//! `cargo xtask codegen`.
//!
//! One module per NSID, one cargo feature per namespace (`com_atproto` by default;
//! `app_bsky`, `chat_bsky`, `tools_ozone`, `site_standard`... and `full`):
//!
//! - a record lexicon gives a `Record` struct with `Record::NSID`
//!   (`app_bsky::feed::post::Record`) that implements [`Collection`]; [`record_value`]
//!   gives it with its `$type` for writing;
//! - a query or procedure gives `Params`, `Input`, `Output`, an `Error` enum of the
//!   declared errors, and a marker type implementing [`atmo_xrpc::Endpoint`]
//!   (`app_bsky::feed::get_likes::GetLikes`);
//! - objects are structs with `Option` for fields that are not required (or nullable),
//!   and every struct keeps the fields it does not know in `extra`, so re-encoding gives
//!   the same bytes and CID. Their serde impls are short generated calls into
//!   [`rt::MapSer`]/[`rt::object`] rather than derives, which keeps this crate quick to
//!   compile. Reading is one pass: each map is read once, each key matched to a field
//!   and its value read straight from the input (`atmo_data::from_cbor` and `from_json`
//!   build no `Value` on the way); only unknown fields become `Value`s. A record read
//!   from data keeps its `$type` in `extra`; union members do not (the enum variant is the `$type`). An explicit `null`
//!   in a field that is neither required nor nullable reads as `None` and is not written
//!   back (no official record carries one);
//! - unions are enums tagged by `$type` (read with [`rt::union`], which keeps only the
//!   entries before `$type` aside, since DAG-CBOR's key order need not put it first); open unions have an `Unknown` variant holding
//!   the value as found, so data newer than these lexicons never fails a read;
//! - string formats are atmo-syntax types (`Did`, `Handle`, `AtUri`...), except
//!   `datetime`, which is [`atmo_syntax::LenientDatetime`]: old records with a sloppy
//!   timestamp still decode, and keep their exact text;
//! - tokens, and the known values of string definitions, are string constants;
//! - only data types and constants: no builders, no client, derives limited to `Debug`,
//!   `Clone`, `PartialEq` (and `Copy`, `Eq`, `Hash` on markers and error enums).
//!
#![cfg_attr(feature = "com_atproto", doc = "```")]
#![cfg_attr(not(feature = "com_atproto"), doc = "```ignore")]
//! # fn main() -> Result<(), atmo_data::Error> {
//! use atmo_api::com_atproto::repo::strong_ref::StrongRef;
//! let json = r#"{"uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b",
//!     "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm", "note": "kept"}"#;
//! let r: StrongRef = atmo_data::from_json(json)?;
//! assert_eq!(r.uri.as_str(), "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b");
//! assert!(r.extra.contains_key("note"));
//! # Ok(()) }
//! ```

pub mod rt;

pub use rt::{Collection, record_value};

// Generated code: lints that do not fit code written from lexicon JSON.
#[allow(
    missing_docs,                     // lexicons describe most fields, not all
    clippy::large_enum_variant,       // union payloads are boxed; Unknown holds a Value
    clippy::doc_markdown,             // descriptions are lexicon prose
    clippy::doc_lazy_continuation,    // descriptions are lexicon prose
    rustdoc::bare_urls,               // descriptions are lexicon prose
    rustdoc::broken_intra_doc_links,  // descriptions are lexicon prose
    rustdoc::invalid_html_tags        // descriptions are lexicon prose
)]
mod generated;

#[allow(
    unused_imports,
    unreachable_pub,
    reason = "empty when no namespace feature is on"
)]
pub use generated::*;
