//! atproto lexicons: the document model, document checks, runtime record validation,
//! # First: is this record valid?
//!
//! ```
//! # fn main() -> Result<(), atmo_lexicon::Error> {
//! let mut catalog = atmo_lexicon::Catalog::new();
//! catalog.add_json(r#"{"lexicon": 1, "id": "com.example.status", "defs": {"main": {
//!     "type": "record", "key": "tid", "record": {"type": "object", "required": ["status"],
//!     "properties": {"status": {"type": "string", "maxGraphemes": 1, "maxLength": 32}}}}}}"#)?;
//! let ok = r#"{"$type": "com.example.status", "status": "🦀"}"#;
//! catalog.validate_record_json("com.example.status", ok)?;
//! let long = r#"{"$type": "com.example.status", "status": "too long"}"#;
//! let err = catalog.validate_record_json("com.example.status", long).unwrap_err();
//! assert!(err.to_string().contains("$.status"));
//! # Ok(()) }
//! ```
//!
//! and local lexicon resolution.
//!
//! - [`LexiconDoc::from_json`] parses and checks a lexicon document; errors name the JSON
//!   path of the problem (`$.defs.main.record.type`).
//! - [`Catalog`] holds documents by NSID ([`Catalog::load_dir`], [`Catalog::add_json`],
//!   and [`Catalog::bundled`] with the `bundled` feature) and validates records against
//!   them: [`Catalog::validate_record`] reports the path of the first bad field
//!   (`$.embed.images[0].alt`).
//! - [`Resolver`] finds one lexicon: the user's search paths, the bundled set, a cache
//!   directory, then the network through a caller-supplied [`LexiconFetcher`] (the pure
//!   parts are here: [`dns_name`], [`parse_dns_txt`], [`check_schema_record`],
//!   [`write_cache`]).
//! - [`Lockfile`] pins NSIDs to the CIDs of the schema records they were pulled from
//!   (`lexicons.lock`, see [`lock`]), and reads exactly the locked documents of a
//!   directory, each checked against its CID ([`Lockfile::catalog`]).
//!
//! The [`model`] is what a code generator walks: [`Def`] and [`Schema`] are enums with one
//! variant per lexicon type, and every reference is already absolute ([`RefTarget`] ->
//! [`DefId`]), to be looked up with [`Catalog::def`].
//!
//! ```
//! # fn main() -> Result<(), atmo_lexicon::Error> {
//! use atmo_lexicon::{Def, LexiconDoc, Schema};
//! let doc = LexiconDoc::from_json(r#"{"lexicon": 1, "id": "com.example.status", "defs": {
//!     "main": {"type": "record", "key": "tid", "record": {"type": "object",
//!         "required": ["status"], "properties": {
//!             "status": {"type": "string", "maxGraphemes": 1, "maxLength": 32}}}}}}"#)?;
//! let Some(Def::Record(rec)) = doc.main() else { panic!("a record") };
//! assert!(matches!(rec.record.properties.get("status"), Some(Schema::String(_))));
//!
//! let bad = LexiconDoc::from_json(r#"{"lexicon": 1, "id": "com.example.x",
//!     "defs": {"other": {"type": "query"}}}"#).unwrap_err();
//! assert_eq!(bad.to_string(),
//!     "invalid lexicon at $.defs.other: a query definition must be named `main`, not `other`");
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

pub mod bundled;
mod catalog;
#[cfg(feature = "codegen")]
pub mod codegen;
mod error;
pub mod lock;
pub mod model;
mod parse;
mod path;
mod resolve;
mod validate;

pub use catalog::{Catalog, MAX_DIR_DEPTH, MAX_FILE_SIZE, MAX_FILES, def_refs, schema_refs};
pub use error::{DocError, Error, ValidationError, Violation};
pub use lock::{LockEntry, Lockfile};
pub use model::{Def, DefId, LexiconDoc, RefError, RefTarget, Schema};
pub use parse::MAX_ENTRIES;
pub use resolve::{
    Fetched, LexiconFetcher, MAX_TXT_RECORDS, Provenance, Resolved, Resolver, SCHEMA_COLLECTION,
    Source, check_schema_record, dns_name, parse_dns_txt, read_provenance, write_cache,
};
pub use validate::{MAX_DEPTH, ValidateOptions, mime_matches};

impl LexiconDoc {
    /// Parses a lexicon document from JSON text and checks it against the lexicon
    /// language rules (version 1, a valid NSID, primary types only as `main`, valid
    /// references, known types and formats, consistent limits...).
    ///
    /// # Errors
    /// [`Error::Json`] if the text is not JSON; [`Error::Doc`] with the JSON path of the
    /// first problem otherwise.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        parse::doc_from_str(text)
    }

    /// As [`LexiconDoc::from_json`], from an already parsed JSON value.
    ///
    /// # Errors
    /// [`DocError`] with the JSON path of the first problem.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self, DocError> {
        parse::doc_from_value(value)
    }
}
