//! The crate's error types.

use std::fmt;

use crate::model::StringFormat;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON (or not atproto JSON, for data).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// A lexicon document breaks the lexicon language rules.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// Data does not match its lexicon.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The catalog has no lexicon (or no definition) with this name.
    #[error("lexicon not found: {0}")]
    NotFound(String),
    /// Two documents with the same NSID were added to one catalog.
    #[error("two lexicon documents define {nsid}")]
    Duplicate {
        /// The NSID.
        nsid: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {msg}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        msg: String,
    },
    /// A lexicon file holds a different NSID than its path promises.
    #[error("{path} defines {found}, expected {expected}")]
    IdMismatch {
        /// The file.
        path: String,
        /// The NSID looked for.
        expected: String,
        /// The NSID in the file.
        found: String,
    },
    /// Resolution reached the network step, but the resolver has no network fetcher
    /// ([`crate::Resolver::fetcher`]).
    #[error(
        "lexicon {nsid} was not found in the search paths, the bundled set or the cache, and \
         network resolution (_lexicon DNS TXT -> DID -> PDS -> com.atproto.lexicon.schema) is \
         not enabled"
    )]
    NetworkResolutionUnavailable {
        /// The NSID that was looked for.
        nsid: String,
    },
    /// The network step failed: no `_lexicon` DNS record, an unreachable PDS, no schema
    /// record, or a record that is not a lexicon schema.
    #[error("cannot resolve lexicon {nsid} from the network: {reason}")]
    Fetch {
        /// The NSID that was looked for.
        nsid: String,
        /// What went wrong, and where.
        reason: String,
    },
    /// A fetched schema record is not proven by its repository: the signed commit, the
    /// tree path from the commit's data root to the record key, or the record's CID do
    /// not check out (or the proof could not be read).
    #[error(
        "lexicon {nsid}: the record {uri} is not proven by its repository's signed commit: {reason}"
    )]
    Proof {
        /// The NSID that was looked for.
        nsid: String,
        /// The schema record's `at://` URI.
        uri: String,
        /// What does not check out.
        reason: String,
    },
    /// Following references would fetch more than `max` documents in one pull
    /// ([`crate::lock::fetch_closure`]).
    #[error(
        "pulling {nsid} would fetch more than {max} lexicons in one pull (references are \
         followed; name fewer NSIDs or raise the limit)"
    )]
    TooManyLexicons {
        /// The NSID that would have been one too many.
        nsid: String,
        /// The limit.
        max: usize,
    },
    /// A lockfile is malformed (see [`crate::lock`] for the format).
    #[error("invalid lockfile at {path}: {reason}")]
    Lock {
        /// Where: the file (when read from one) and a JSON path into it.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A lexicon differs from what the lockfile pins: its record CID is another.
    #[error("{nsid}: {origin} has CID {found}, but the lock pins CID {locked}")]
    Locked {
        /// The NSID.
        nsid: String,
        /// What was checked: a file, or a record's `at://` URI.
        origin: String,
        /// The CID in the lockfile.
        locked: String,
        /// The CID found.
        found: String,
    },
    /// The bundled lexicon set was asked for but the `bundled` feature is off.
    #[error("the bundled lexicons are not compiled in (enable the `bundled` feature)")]
    BundledUnavailable,
}

/// Why a lexicon document is invalid, and where (a JSON path into the document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid lexicon at {path}: {reason}")]
#[non_exhaustive]
pub struct DocError {
    /// Where, as a JSON path (`$.defs.main.record.properties.text.maxLength`).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Why data does not match its lexicon, and where (a JSON path into the data, as
/// `$.embed.images[0].alt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {kind}")]
#[non_exhaustive]
pub struct ValidationError {
    /// The path to the first bad field.
    pub path: String,
    /// What is wrong with it.
    pub kind: Violation,
}

/// One way data can break a lexicon.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The value has the wrong kind.
    WrongType {
        /// What the lexicon asks for.
        expected: &'static str,
        /// What the data has.
        found: &'static str,
    },
    /// A required field is missing.
    MissingRequired,
    /// `null` where the field is not nullable.
    NotNullable,
    /// The value differs from the lexicon's `const`.
    Const {
        /// The only allowed value.
        expected: String,
    },
    /// The value is not one of the lexicon's `enum`.
    NotInEnum,
    /// A length is below the minimum.
    TooShort {
        /// `bytes`, `graphemes` or `elements`.
        unit: &'static str,
        /// The minimum.
        min: u64,
        /// The actual length.
        len: u64,
    },
    /// A length is above the maximum.
    TooLong {
        /// `bytes`, `graphemes` or `elements`.
        unit: &'static str,
        /// The maximum.
        max: u64,
        /// The actual length.
        len: u64,
    },
    /// An integer is outside `minimum..=maximum`.
    OutOfRange {
        /// The value.
        value: i64,
    },
    /// A string does not follow its `format`.
    Format {
        /// The format.
        format: StringFormat,
        /// Why, from the syntax parser.
        reason: String,
    },
    /// A union member (or a record) has no `$type`.
    MissingType,
    /// A `$type` that is not allowed here (closed union, or a record of another type).
    UnexpectedType {
        /// The `$type` found.
        found: String,
    },
    /// A blob is larger than `maxSize`.
    BlobTooLarge {
        /// The limit.
        max: u64,
        /// The blob's size.
        size: u64,
    },
    /// A blob's MIME type is not accepted.
    BlobMimeType {
        /// The blob's MIME type.
        mime_type: String,
    },
    /// A blob reference is malformed.
    BadBlob {
        /// Why.
        reason: String,
    },
    /// A reference names a definition the catalog does not have.
    UnresolvedRef {
        /// The reference.
        target: String,
    },
    /// A reference names a definition that cannot describe data (a query...).
    NotADataType {
        /// The reference.
        target: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A token value that differs from the token's name.
    WrongToken {
        /// The token's name.
        expected: String,
    },
    /// A record key that the record's key type does not allow.
    BadRecordKey {
        /// Why.
        reason: String,
    },
    /// The data nests deeper than the validator follows.
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Self::MissingRequired => f.write_str("required field is missing"),
            Self::NotNullable => f.write_str("null is not allowed here"),
            Self::Const { expected } => write!(f, "must be the constant {expected}"),
            Self::NotInEnum => f.write_str("value is not one of the allowed values"),
            Self::TooShort { unit, min, len } => {
                write!(f, "too short: {len} {unit}, at least {min} allowed")
            }
            Self::TooLong { unit, max, len } => {
                write!(f, "too long: {len} {unit}, at most {max} allowed")
            }
            Self::OutOfRange { value } => write!(f, "integer {value} is out of range"),
            Self::Format { format, reason } => write!(f, "not a valid {format}: {reason}"),
            Self::MissingType => f.write_str("object has no $type"),
            Self::UnexpectedType { found } => write!(f, "$type {found:?} is not allowed here"),
            Self::BlobTooLarge { max, size } => {
                write!(f, "blob is {size} bytes, at most {max} allowed")
            }
            Self::BlobMimeType { mime_type } => {
                write!(f, "blob MIME type {mime_type:?} is not accepted")
            }
            Self::BadBlob { reason } => write!(f, "not a blob: {reason}"),
            Self::UnresolvedRef { target } => write!(f, "reference {target} is not in the catalog"),
            Self::NotADataType { target, kind } => {
                write!(
                    f,
                    "reference {target} is a {kind}, which cannot describe data"
                )
            }
            Self::WrongToken { expected } => write!(f, "must be the token {expected}"),
            Self::BadRecordKey { reason } => write!(f, "record key not allowed: {reason}"),
            Self::TooDeep { limit } => write!(f, "data nests deeper than {limit} levels"),
        }
    }
}
