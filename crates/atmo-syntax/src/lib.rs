//! Validated atproto syntax types.
//!
//! # First: check what a user or a server gave you
//!
//! ```
//! use atmo_syntax::{AtUri, Handle};
//!
//! let handle = Handle::new("Alice.Example.COM").expect("a valid handle");
//! assert_eq!(handle.as_str(), "alice.example.com"); // normalised to lower case
//! assert!(Handle::new("not a handle").is_err());    // the error says why
//!
//! let uri = AtUri::new("at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k2a")
//!     .expect("a valid AT-URI");
//! assert_eq!(uri.collection().map(|c| c.as_str()), Some("app.bsky.feed.post"));
//! ```
//!
//! # The reference
//!
//! Every string that the AT Protocol gives a syntax (DIDs, handles, NSIDs, AT-URIs,
//! TIDs, record keys, datetimes, language tags, CID strings, URIs) has a type here. A
//! value of such a type is valid by construction: there is exactly one way in, `T::new`,
//! and every other constructor (`FromStr`, `TryFrom<&str>`, `TryFrom<String>`, serde
//! `Deserialize`) goes through the same check. The rules follow the atproto
//! specifications and the official interop test vectors. The crate is pure: no I/O, no
//! async, no unsafe code, and no panics on any input.
//!
//! | type | example | notes |
//! |---|---|---|
//! | [`Did`] | `did:plc:ewvi7nxzyoun6zhxrhs64oiz` | any method; at most 2048 bytes |
//! | [`Handle`] | `alice.bsky.social` | normalised to lower case |
//! | [`AtIdentifier`] | either of the above | `did:` prefix decides |
//! | [`Nsid`] | `app.bsky.feed.post` | kept as written (case-sensitive) |
//! | [`AtUri`] / [`RecordUri`] | `at://did:plc:.../app.bsky.feed.post/3jwdwj2ctlk26` | Lexicon `at-uri` syntax |
//! | [`Tid`] / [`TidClock`] | `3jzfcijpj2z2a` | `Copy`; monotonic generator |
//! | [`RecordKey`] | `self` | |
//! | [`Datetime`] / [`LenientDatetime`] | `1985-04-12T23:20:50.123Z` | ordered by instant |
//! | [`Language`] | `pt-BR` | BCP 47 |
//! | [`CidString`] | `bafyrei...` | syntax only; decoding is in `atmo-data` |
//! | [`Uri`] | `https://example.com` | Lexicon `uri` format |
//! | [`ServiceUrl`] | `https://pds.example.com` | a service's base URL; normalised |
//!
//! Each type offers: `new(&str) -> Result<T, TError>`, `FromStr`, `TryFrom<&str>`,
//! `TryFrom<String>` (reusing the allocation), `as_str()`, `Display` (the normalised
//! form), `Debug`, `Clone`, `Eq`, `Ord`, `Hash`, `AsRef<str>`, `From<T> for String`,
//! `PartialEq<str>`, and serde `Serialize` (as a string) / `Deserialize` (validated).
//! Each parser has its own small error enum with byte offsets and limits; [`Error`] wraps
//! them all.
//!
//! # Examples
//!
//! ```
//! use atmo_syntax::{AtUri, Did, Handle, Nsid, RecordKey, Tid};
//!
//! let did: Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz".parse()?;
//! let handle = Handle::new("Alice.Bsky.Social")?;
//! assert_eq!(handle.to_string(), "alice.bsky.social");
//!
//! let uri = AtUri::new("at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jwdwj2ctlk26")?;
//! assert_eq!(uri.authority().as_did(), Some(&did));
//! assert_eq!(uri.collection(), Some(&Nsid::new("app.bsky.feed.post")?));
//! assert_eq!(uri.rkey(), Some(&RecordKey::new("3jwdwj2ctlk26")?));
//!
//! let tid = Tid::now();
//! assert!(tid < Tid::now());
//!
//! // Errors say what is wrong and where.
//! let err = Handle::new("jo!hn.test").unwrap_err();
//! assert_eq!(err.to_string(), "invalid character '!' at byte 2");
//! # Ok::<(), atmo_syntax::Error>(())
//! ```
//!
//! Serde round-trips through the string form and validates on the way in:
//!
//! ```
//! use atmo_syntax::{Datetime, Nsid};
//!
//! let nsid: Nsid = serde_json::from_str("\"app.bsky.feed.post\"")?;
//! assert_eq!(serde_json::to_string(&nsid)?, "\"app.bsky.feed.post\"");
//! assert!(serde_json::from_str::<Datetime>("\"1985-04-12\"").is_err());
//! # Ok::<(), serde_json::Error>(())
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

mod charset;
mod macros;

mod at_identifier;
mod at_uri;
mod cid;
mod datetime;
mod did;
mod handle;
mod language;
mod nsid;
mod record_key;
mod service_url;
mod text;
mod tid;
pub mod txt;
mod uri;

pub use at_identifier::{AtIdentifier, AtIdentifierError};
pub use at_uri::{AtUri, AtUriError, RecordUri, RecordUriError};
pub use cid::{CidString, CidStringError};
pub use datetime::{Datetime, DatetimeError, DatetimeField, LenientDatetime};
pub use did::{Did, DidError};
pub use handle::{DISALLOWED_TLDS, Handle, HandleError};
pub use language::{Language, LanguageError};
pub use nsid::{Nsid, NsidError};
pub use record_key::{RecordKey, RecordKeyError};
pub use service_url::{ServiceUrl, ServiceUrlError};
pub use tid::{Tid, TidClock, TidError};
pub use uri::{Uri, UriError};

/// Any error from this crate: which kind of value was invalid, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid [`Did`].
    #[error("invalid DID: {0}")]
    Did(#[from] DidError),
    /// An invalid [`Handle`].
    #[error("invalid handle: {0}")]
    Handle(#[from] HandleError),
    /// An invalid [`AtIdentifier`].
    #[error("invalid DID or handle: {0}")]
    AtIdentifier(#[from] AtIdentifierError),
    /// An invalid [`Nsid`].
    #[error("invalid NSID: {0}")]
    Nsid(#[from] NsidError),
    /// An invalid [`AtUri`].
    #[error("invalid AT-URI: {0}")]
    AtUri(#[from] AtUriError),
    /// An invalid [`RecordUri`].
    #[error("invalid record AT-URI: {0}")]
    RecordUri(#[from] RecordUriError),
    /// An invalid [`Tid`].
    #[error("invalid TID: {0}")]
    Tid(#[from] TidError),
    /// An invalid [`RecordKey`].
    #[error("invalid record key: {0}")]
    RecordKey(#[from] RecordKeyError),
    /// An invalid [`Datetime`].
    #[error("invalid datetime: {0}")]
    Datetime(#[from] DatetimeError),
    /// An invalid [`Language`] tag.
    #[error("invalid language tag: {0}")]
    Language(#[from] LanguageError),
    /// An invalid [`CidString`].
    #[error("invalid CID string: {0}")]
    CidString(#[from] CidStringError),
    /// An invalid [`Uri`].
    #[error("invalid URI: {0}")]
    Uri(#[from] UriError),
    /// An invalid [`ServiceUrl`].
    #[error("invalid service URL: {0}")]
    ServiceUrl(#[from] ServiceUrlError),
    /// DNS TXT strings that name no single DID ([`txt::did_from_txt`]).
    #[error("invalid did= TXT answer: {0}")]
    Txt(#[from] txt::TxtError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_error_messages() {
        assert_eq!(
            Error::from(DidError::Empty).to_string(),
            "invalid DID: empty string"
        );
        let err = AtUri::new("at://did:plc:").unwrap_err();
        assert_eq!(
            Error::from(err).to_string(),
            "invalid AT-URI: invalid authority at byte 5: invalid DID: empty method-specific identifier"
        );
        assert_eq!(
            RecordUri::new("at:/x"),
            Err(RecordUriError::AtUri(AtUriError::BadScheme))
        );
        assert_eq!(
            Error::from(RecordUriError::MissingRecordKey).to_string(),
            "invalid record AT-URI: missing record key"
        );
        assert_eq!(
            Error::from(HandleError::TooLong { len: 300, max: 253 }).to_string(),
            "invalid handle: too long: 300 bytes, at most 253"
        );
    }
}
