//! Typed Rust for the atproto lexicons, generated from the vendored `lexicons/` by
//! # First: a post, typed
//!
//! ```
//! # #[cfg(feature = "app_bsky")] {
//! use atmo_api::app_bsky::feed::post;
//!
//! let p = post::Record::new("hello", atmo_syntax::Datetime::now().into());
//! let value = atmo_api::record_value(&p).expect("fits the data model"); // with its $type
//! let back: post::Record = atmo_data::from_value(value).expect("reads back");
//! assert_eq!(back.text, "hello");
//! # }
//! ```
//!
//! Calls are typed too: `client.call(get_record::Params::new(...)).await` returns that
//! endpoint's `Output`, or its own `Error` enum (see [`records::Records`] for records).
//!
//! `cargo xtask codegen`.
//!
//! One module per NSID, one cargo feature per namespace (`com_atproto` by default;
//! `app_bsky`, `chat_bsky`, `tools_ozone`, `site_standard`... and `full`):
//!
//! - a record lexicon gives a `Record` struct with `Record::NSID`
//!   (`app_bsky::feed::post::Record`) that implements [`Collection`]; [`record_value`]
//!   gives it with its `$type` for writing;
//! - a query or procedure gives `Params`, `Input`, `Output`, an `Error` enum of the
//!   declared errors (implementing [`atmo_xrpc::EndpointError`]), and a marker type
//!   implementing [`atmo_xrpc::Endpoint`] (`app_bsky::feed::get_likes::GetLikes`) whose
//!   `Error` is that enum ([`std::convert::Infallible`] when none is declared). The value
//!   that names a whole call implements [`atmo_xrpc::Call`]: the `Params` of a query,
//!   the `Input` of a procedure without parameters, the marker of a method that takes
//!   neither; `client.call(call)` returns the `Output` or an
//!   [`atmo_xrpc::CallError`] with the endpoint's error typed. Methods that take both
//!   parameters and an input, or a binary input, are called with a tuple
//!   (`client.call((UploadBlob, BinaryInput::new(bytes)))`, `(Marker, params, input)`)
//!   or `client.call_endpoint::<Marker>(&params, Some(&input))`;
//! - binary bodies (blobs, CAR files, videos) say so in `INPUT_ENCODING` /
//!   `OUTPUT_ENCODING`: the input is an [`atmo_xrpc::BinaryInput`], the output the whole
//!   body as `bytes::Bytes`, read under the client's body cap (for large repos and blobs
//!   atmo-xrpc's `BlobStream` downloads stream instead);
//! - a query with a `cursor` parameter and a `cursor` output implements
//!   [`atmo_xrpc::Paginated`], so `client.paginate(params)` streams its pages;
//! - objects are structs with `Option` for fields that are not required (or nullable),
//!   and every struct keeps the fields it does not know in `extra`, so re-encoding gives
//!   the same bytes and CID. Structs (and `Params`) are `#[non_exhaustive]`: build one
//!   with `new(required fields...)` (in the lexicon's `required` order; string formats
//!   take their exact atmo-syntax type, other fields anything `Into` theirs) and a
//!   `with_<field>` setter per optional field, so code keeps compiling when a lexicon
//!   adds an optional field; one with no required field is also `Default`. Their serde
//!   impls are short generated calls into [`rt::MapSer`]/[`rt::object`] rather than
//!   derives, which keeps this crate quick to compile. Reading is one pass: each map is
//!   read once, each key matched to a field and its value read straight from the input
//!   (`atmo_data::from_cbor` and `from_json` build no `Value` on the way); only unknown
//!   fields become `Value`s. A record read from data keeps its `$type` in `extra`; union
//!   members do not (the enum variant is the `$type`). An explicit `null` in a field
//!   that is neither required nor nullable reads as `None` and is not written back (no
//!   official record carries one);
//! - unions are enums tagged by `$type` (read with [`rt::union`], which keeps only the
//!   entries before `$type` aside, since DAG-CBOR's key order need not put it first);
//!   open unions have an `Unknown` variant holding
//!   the value as found, so data newer than these lexicons never fails a read;
//! - string formats are atmo-syntax types (`Did`, `Handle`, `AtUri`...), except
//!   `datetime`, which is [`atmo_syntax::LenientDatetime`]: old records with a sloppy
//!   timestamp still decode, and keep their exact text;
//! - tokens, and the known values of string definitions, are string constants.
//!
//! With the `client` feature, `records::Records` gives typed create / get / put /
//! delete / list of any [`Collection`] on one repo, returning `AtUri` and `Cid`.
//!
#![cfg_attr(all(feature = "app_bsky", feature = "client"), doc = "```no_run")]
#![cfg_attr(not(all(feature = "app_bsky", feature = "client")), doc = "```ignore")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use atmo_api::app_bsky::feed::post;
//! use atmo_api::com_atproto::repo::{create_record, get_record};
//! use atmo_api::com_atproto::server::describe_server::DescribeServer;
//! use atmo_syntax::LenientDatetime;
//!
//! let public = atmo_xrpc::Client::new("https://pds.example")?;
//! let session = atmo_xrpc::PasswordSession::login(&public, "alice.example", "app-password").await?;
//! let client = session.client();
//! let did = session.did().clone();
//!
//! // Any endpoint: the call value in, the typed output out.
//! let server = client.call(DescribeServer).await?;
//! println!("{}", server.did);
//!
//! // A post, built without naming its optional fields.
//! let post = post::Record::new("hello from atmo", LenientDatetime::new("2024-05-01T12:00:00Z"))
//!     .with_langs(vec!["en".parse()?]);
//! let input = create_record::Input::new(did.clone().into(), post::Record::NSID.parse()?,
//!     atmo_api::record_value(&post)?);
//! let created = client.call(&input).await?;
//!
//! // Declared errors come back typed; `?` still gives an atmo_xrpc::Error.
//! let Some(rkey) = created.uri.rkey().cloned() else { return Ok(()) };
//! let params = get_record::Params::new(did.into(), post::Record::NSID.parse()?, rkey);
//! match client.call(&params).await {
//!     Ok(found) => println!("{:?}", found.value),
//!     Err(e) if e.is_endpoint(&get_record::Error::RecordNotFound) => println!("gone"),
//!     Err(e) => return Err(atmo_xrpc::Error::from(e).into()),
//! }
//! # Ok(()) }
//! ```
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

#[cfg(all(feature = "com_atproto", feature = "client"))]
pub mod records;

pub use rt::{Collection, record_value};

// Generated code: lints that do not fit code written from lexicon JSON.
#[allow(
    missing_docs,                     // lexicons describe most fields, not all
    clippy::large_enum_variant,       // union payloads are boxed; Unknown holds a Value
    clippy::too_many_arguments,       // `new` takes every required field
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
