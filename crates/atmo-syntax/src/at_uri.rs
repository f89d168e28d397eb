//! AT-URIs (`at://authority/collection/rkey`).

use core::fmt;
use std::sync::OnceLock;

use crate::charset;
use crate::macros::{order_by_str, string_type_impls};
use crate::{
    AtIdentifier, AtIdentifierError, Did, Handle, Nsid, NsidError, RecordKey, RecordKeyError,
};

/// An AT-URI in the syntax Lexicon's `at-uri` format accepts:
/// `at://AUTHORITY[/COLLECTION[/RKEY]]`.
///
/// The authority is a DID or a handle (handles are normalised to lower case), the
/// collection an [`Nsid`], the record key a [`RecordKey`]; no trailing slash, no empty
/// or extra path segments, no query or fragment (the spec reserves them; current
/// Lexicon use does not allow them); at most 8 KiB.
///
/// ```
/// use atmo_syntax::AtUri;
///
/// let uri = AtUri::new("at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/3jwdwj2ctlk26")?;
/// assert_eq!(uri.authority().as_str(), "did:plc:44ybard66vv44zksje25o7dz");
/// assert_eq!(uri.collection().map(|c| c.as_str()), Some("app.bsky.feed.post"));
/// assert_eq!(uri.rkey().map(|r| r.as_str()), Some("3jwdwj2ctlk26"));
///
/// let repo = AtUri::new("at://Alice.Test")?;
/// assert_eq!(repo.as_str(), "at://alice.test");
/// assert!(repo.collection().is_none());
/// # Ok::<(), atmo_syntax::AtUriError>(())
/// ```
///
/// One allocation: the URI string, with the offsets of its parts. The typed parts
/// ([`Self::authority`], [`Self::collection`], [`Self::rkey`]) are built on first use;
/// [`Self::authority_str`], [`Self::collection_str`] and [`Self::rkey_str`] borrow them.
#[derive(Clone)]
pub struct AtUri {
    uri: String,
    at: Offsets,
    /// The typed parts, built on first use (boxed: the URI stays small).
    parts: OnceLock<Box<Parts>>,
}

/// Where the parts of a valid URI end (byte offsets; [`AtUri::MAX_LEN`] fits in `u16`).
#[derive(Clone, Copy)]
struct Offsets {
    /// End of the authority.
    auth_end: u16,
    /// End of the collection (`auth_end` without one).
    coll_end: u16,
    /// Whether the authority is a DID (else a handle).
    did: bool,
}

impl Offsets {
    fn authority(self, uri: &str) -> &str {
        uri.get(PREFIX.len()..usize::from(self.auth_end))
            .unwrap_or_default()
    }

    fn collection(self, uri: &str) -> Option<&str> {
        (self.coll_end > self.auth_end)
            .then(|| uri.get(usize::from(self.auth_end) + 1..usize::from(self.coll_end)))
            .flatten()
    }

    fn rkey(self, uri: &str) -> Option<&str> {
        uri.get(usize::from(self.coll_end) + 1..)
    }

    /// The typed parts, from a URI already validated.
    fn parts(self, uri: &str) -> Parts {
        let a = self.authority(uri);
        let authority = if self.did {
            AtIdentifier::Did(Did::from_valid(a))
        } else {
            AtIdentifier::Handle(Handle::from_valid(a))
        };
        (
            authority,
            self.collection(uri).map(Nsid::from_valid),
            self.rkey(uri).map(RecordKey::from_valid),
        )
    }
}

/// Why a string is not a valid [`AtUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AtUriError {
    /// Longer than [`AtUri::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Does not start with `at://`.
    #[error("does not start with \"at://\"")]
    BadScheme,
    /// A `?` or `#`: query and fragment parts are not supported.
    #[error("query or fragment at byte {at} is not supported")]
    QueryOrFragment {
        /// Byte offset of the `?` or `#`.
        at: usize,
    },
    /// The authority is not a valid DID or handle.
    #[error("invalid authority at byte {at}: {source}")]
    Authority {
        /// Byte offset of the authority.
        at: usize,
        /// What is wrong with it.
        source: AtIdentifierError,
    },
    /// The collection is not a valid NSID.
    #[error("invalid collection at byte {at}: {source}")]
    Collection {
        /// Byte offset of the collection.
        at: usize,
        /// What is wrong with it.
        source: NsidError,
    },
    /// The record key is not valid.
    #[error("invalid record key at byte {at}: {source}")]
    RecordKey {
        /// Byte offset of the record key.
        at: usize,
        /// What is wrong with it.
        source: RecordKeyError,
    },
    /// An empty path segment (a trailing or doubled `/`).
    #[error("empty path segment at byte {at}")]
    EmptySegment {
        /// Byte offset where the segment should start.
        at: usize,
    },
    /// More than two path segments.
    #[error("too many path segments: unexpected '/' at byte {at}")]
    TooManySegments {
        /// Byte offset of the extra `/`.
        at: usize,
    },
    /// [`AtUri::from_parts`] got a record key without a collection.
    #[error("a record key needs a collection")]
    RecordKeyWithoutCollection,
}

const PREFIX: &str = "at://";

impl AtUri {
    /// Maximum length in bytes (8 KiB).
    pub const MAX_LEN: usize = 8192;

    /// Parses and validates an AT-URI, normalising a handle authority to lower case.
    ///
    /// # Errors
    ///
    /// Returns an [`AtUriError`] saying what is wrong and where.
    pub fn new(s: &str) -> Result<Self, AtUriError> {
        let at = parse(s)?;
        let mut uri = s.to_owned();
        if !at.did {
            // A handle authority is normalised to lower case.
            if let Some(auth) = uri.get_mut(PREFIX.len()..usize::from(at.auth_end)) {
                auth.make_ascii_lowercase();
            }
        }
        Ok(Self::from_valid(uri, at))
    }

    fn from_string(mut s: String) -> Result<Self, AtUriError> {
        let at = parse(&s)?;
        if !at.did {
            if let Some(auth) = s.get_mut(PREFIX.len()..usize::from(at.auth_end)) {
                auth.make_ascii_lowercase();
            }
        }
        Ok(Self::from_valid(s, at))
    }

    fn from_valid(uri: String, at: Offsets) -> Self {
        Self {
            uri,
            at,
            parts: OnceLock::new(),
        }
    }

    /// Builds an AT-URI from its parts.
    ///
    /// # Errors
    ///
    /// [`AtUriError::RecordKeyWithoutCollection`] if `rkey` is given without
    /// `collection`.
    ///
    /// ```
    /// use atmo_syntax::{AtIdentifier, AtUri, Nsid, RecordKey};
    ///
    /// let uri = AtUri::from_parts(
    ///     AtIdentifier::new("alice.test")?,
    ///     Some(Nsid::new("app.bsky.actor.profile")?),
    ///     Some(RecordKey::new("self")?),
    /// )?;
    /// assert_eq!(uri.as_str(), "at://alice.test/app.bsky.actor.profile/self");
    /// # Ok::<(), atmo_syntax::Error>(())
    /// ```
    pub fn from_parts(
        authority: AtIdentifier,
        collection: Option<Nsid>,
        rkey: Option<RecordKey>,
    ) -> Result<Self, AtUriError> {
        if collection.is_none() && rkey.is_some() {
            return Err(AtUriError::RecordKeyWithoutCollection);
        }
        // Cannot exceed MAX_LEN: 5 + 2048 + 1 + 317 + 1 + 512 < 8192.
        let (uri, at) = build(&authority, collection.as_ref(), rkey.as_ref());
        Ok(Self {
            uri,
            at,
            parts: OnceLock::from(Box::new((authority, collection, rkey))),
        })
    }

    /// The URI as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// Consumes the URI, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.uri
    }

    fn parts(&self) -> &Parts {
        self.parts
            .get_or_init(|| Box::new(self.at.parts(&self.uri)))
    }

    /// The authority: the repository's DID or handle.
    #[must_use]
    pub fn authority(&self) -> &AtIdentifier {
        &self.parts().0
    }

    /// The collection, if present.
    #[must_use]
    pub fn collection(&self) -> Option<&Nsid> {
        self.parts().1.as_ref()
    }

    /// The record key, if present.
    #[must_use]
    pub fn rkey(&self) -> Option<&RecordKey> {
        self.parts().2.as_ref()
    }

    /// The authority as a string (no allocation).
    #[must_use]
    pub fn authority_str(&self) -> &str {
        self.at.authority(&self.uri)
    }

    /// Whether the authority is a DID (else a handle).
    #[must_use]
    pub fn authority_is_did(&self) -> bool {
        self.at.did
    }

    /// The collection as a string, if present (no allocation).
    #[must_use]
    pub fn collection_str(&self) -> Option<&str> {
        self.at.collection(&self.uri)
    }

    /// The record key as a string, if present (no allocation).
    #[must_use]
    pub fn rkey_str(&self) -> Option<&str> {
        self.at.rkey(&self.uri)
    }

    /// Splits the URI into its parts.
    #[must_use]
    pub fn into_parts(self) -> (AtIdentifier, Option<Nsid>, Option<RecordKey>) {
        match self.parts.into_inner() {
            Some(parts) => *parts,
            None => self.at.parts(&self.uri),
        }
    }
}

fn build(
    authority: &AtIdentifier,
    collection: Option<&Nsid>,
    rkey: Option<&RecordKey>,
) -> (String, Offsets) {
    let len = PREFIX.len()
        + authority.as_str().len()
        + collection.map_or(0, |c| c.as_str().len() + 1)
        + rkey.map_or(0, |r| r.as_str().len() + 1);
    let mut uri = String::with_capacity(len);
    uri.push_str(PREFIX);
    uri.push_str(authority.as_str());
    let auth_end = offset(uri.len());
    let mut coll_end = auth_end;
    if let Some(c) = collection {
        uri.push('/');
        uri.push_str(c.as_str());
        coll_end = offset(uri.len());
        if let Some(r) = rkey {
            uri.push('/');
            uri.push_str(r.as_str());
        }
    }
    let at = Offsets {
        auth_end,
        coll_end,
        did: authority.is_did(),
    };
    (uri, at)
}

/// An offset into a URI of at most [`AtUri::MAX_LEN`] bytes.
fn offset(at: usize) -> u16 {
    u16::try_from(at).unwrap_or(u16::MAX)
}

type Parts = (AtIdentifier, Option<Nsid>, Option<RecordKey>);

/// Validates `s`, allocating nothing: the parts are found with `memchr`-style searches
/// for `/` and checked by their own validators. None of those accepts `?` or `#`, so a
/// URI whose parts are all valid has neither; only on an error is the string searched
/// for them (a query or fragment is reported first, wherever it is).
fn parse(s: &str) -> Result<Offsets, AtUriError> {
    if let Some(at) = parse_common(s) {
        return Ok(at);
    }
    if s.len() > AtUri::MAX_LEN {
        return Err(AtUriError::TooLong {
            len: s.len(),
            max: AtUri::MAX_LEN,
        });
    }
    if !s.starts_with(PREFIX) {
        return Err(AtUriError::BadScheme);
    }
    parse_parts(s).map_err(|e| match s.bytes().position(|b| b == b'?' || b == b'#') {
        Some(at) => AtUriError::QueryOrFragment { at },
        None => e,
    })
}

/// The usual shape, `at://DID/COLLECTION/RKEY` (or a prefix of it), in one scan per
/// part: each part's characters are checked a block at a time up to the first one
/// outside its set, which must be the `/` that ends it (no DID, NSID or record key
/// character is a `/`); then the part's own validator runs. `None` for anything else,
/// valid or not, which [`parse_parts`] then reads step by step.
#[inline]
fn parse_common(s: &str) -> Option<Offsets> {
    let b = s.as_bytes();
    if b.len() > AtUri::MAX_LEN {
        return None;
    }
    let rest = b.strip_prefix(PREFIX.as_bytes())?;
    if !rest.starts_with(b"did:") {
        return None;
    }
    // Where each part ends: at the first byte outside its set (a `/`), or at the end.
    let end = |from: usize, set: u8| -> Option<usize> {
        let part = b.get(from..)?;
        match charset::first_outside(part, set) {
            None => Some(b.len()),
            Some(i) if part.get(i) == Some(&b'/') => Some(from + i),
            Some(_) => None,
        }
    };
    let auth_end = end(PREFIX.len(), charset::DID_IDENT)?;
    // The scan that found the DID's end checked its characters.
    if !crate::did::valid_scanned(b.get(PREFIX.len()..auth_end)?) {
        return None;
    }
    let mut coll_end = auth_end;
    if auth_end < b.len() {
        coll_end = end(auth_end + 1, charset::DOMAIN)?;
        crate::nsid::validate(s.get(auth_end + 1..coll_end)?).ok()?;
        if coll_end < b.len() {
            let rkey = s.get(coll_end + 1..)?;
            crate::record_key::validate(rkey).ok()?;
        }
    }
    Some(Offsets {
        auth_end: offset(auth_end),
        coll_end: offset(coll_end),
        did: true,
    })
}

/// The end of `s` or the next `/` from `from`.
fn next_slash(s: &str, from: usize) -> usize {
    s.get(from..)
        .and_then(|rest| rest.find('/'))
        .map_or(s.len(), |i| from + i)
}

fn parse_parts(s: &str) -> Result<Offsets, AtUriError> {
    let at = PREFIX.len();
    let s1 = next_slash(s, at);
    let authority = s.get(at..s1).unwrap_or_default();
    let did = authority.starts_with("did:");
    let checked = if did {
        crate::did::validate(authority).map_err(AtIdentifierError::Did)
    } else {
        crate::handle::validate(authority).map_err(AtIdentifierError::Handle)
    };
    checked.map_err(|source| AtUriError::Authority { at, source })?;
    let mut coll_end = s1;
    if s1 < s.len() {
        let at = s1 + 1;
        let s2 = next_slash(s, at);
        let seg = s.get(at..s2).unwrap_or_default();
        if seg.is_empty() {
            return Err(AtUriError::EmptySegment { at });
        }
        crate::nsid::validate(seg).map_err(|source| AtUriError::Collection { at, source })?;
        coll_end = s2;
        if s2 < s.len() {
            let at = s2 + 1;
            let s3 = next_slash(s, at);
            let seg = s.get(at..s3).unwrap_or_default();
            if seg.is_empty() {
                return Err(AtUriError::EmptySegment { at });
            }
            crate::record_key::validate(seg)
                .map_err(|source| AtUriError::RecordKey { at, source })?;
            if s3 < s.len() {
                return Err(AtUriError::TooManySegments { at: s3 });
            }
        }
    }
    Ok(Offsets {
        auth_end: offset(s1),
        coll_end: offset(coll_end),
        did,
    })
}

string_type_impls!(AtUri, AtUriError, "an AT-URI string");
order_by_str!(AtUri);

impl fmt::Debug for AtUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AtUri").field(&self.uri).finish()
    }
}

/// An AT-URI naming one record: authority, collection and record key all present.
///
/// ```
/// use atmo_syntax::{AtUri, RecordUri};
///
/// let uri = RecordUri::new("at://alice.test/app.bsky.feed.post/3jwdwj2ctlk26")?;
/// assert_eq!(uri.collection().as_str(), "app.bsky.feed.post");
/// assert_eq!(uri.rkey().as_str(), "3jwdwj2ctlk26");
/// assert!(RecordUri::try_from(AtUri::new("at://alice.test")?).is_err());
/// # Ok::<(), atmo_syntax::Error>(())
/// ```
#[derive(Clone)]
pub struct RecordUri {
    uri: String,
    authority: AtIdentifier,
    collection: Nsid,
    rkey: RecordKey,
}

/// Why a string or [`AtUri`] is not a valid [`RecordUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordUriError {
    /// Not a valid AT-URI.
    #[error(transparent)]
    AtUri(#[from] AtUriError),
    /// The collection is missing.
    #[error("missing collection")]
    MissingCollection,
    /// The record key is missing.
    #[error("missing record key")]
    MissingRecordKey,
}

impl RecordUri {
    /// Parses a record AT-URI.
    ///
    /// # Errors
    ///
    /// Returns a [`RecordUriError`]: an invalid AT-URI, or a missing part.
    pub fn new(s: &str) -> Result<Self, RecordUriError> {
        Self::try_from(AtUri::new(s)?)
    }

    fn from_string(s: String) -> Result<Self, RecordUriError> {
        Self::try_from(AtUri::from_string(s)?)
    }

    /// Builds a record URI from its parts.
    #[must_use]
    pub fn from_parts(authority: AtIdentifier, collection: Nsid, rkey: RecordKey) -> Self {
        Self {
            uri: build(&authority, Some(&collection), Some(&rkey)).0,
            authority,
            collection,
            rkey,
        }
    }

    /// The URI as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// Consumes the URI, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.uri
    }

    /// The authority: the repository's DID or handle.
    #[must_use]
    pub fn authority(&self) -> &AtIdentifier {
        &self.authority
    }

    /// The collection.
    #[must_use]
    pub fn collection(&self) -> &Nsid {
        &self.collection
    }

    /// The record key.
    #[must_use]
    pub fn rkey(&self) -> &RecordKey {
        &self.rkey
    }

    /// Splits the URI into its parts.
    #[must_use]
    pub fn into_parts(self) -> (AtIdentifier, Nsid, RecordKey) {
        (self.authority, self.collection, self.rkey)
    }
}

impl TryFrom<AtUri> for RecordUri {
    type Error = RecordUriError;

    fn try_from(uri: AtUri) -> Result<Self, RecordUriError> {
        if uri.at.coll_end == uri.at.auth_end {
            return Err(RecordUriError::MissingCollection);
        }
        if usize::from(uri.at.coll_end) == uri.uri.len() {
            return Err(RecordUriError::MissingRecordKey);
        }
        let at = uri.at;
        let s = uri.uri;
        let (authority, collection, rkey) = match uri.parts.into_inner() {
            Some(parts) => *parts,
            None => at.parts(&s),
        };
        let uri = s;
        let collection = collection.ok_or(RecordUriError::MissingCollection)?;
        let rkey = rkey.ok_or(RecordUriError::MissingRecordKey)?;
        Ok(Self {
            uri,
            authority,
            collection,
            rkey,
        })
    }
}

impl From<RecordUri> for AtUri {
    fn from(uri: RecordUri) -> Self {
        let auth_end = PREFIX.len() + uri.authority.as_str().len();
        let at = Offsets {
            auth_end: offset(auth_end),
            coll_end: offset(auth_end + 1 + uri.collection.as_str().len()),
            did: uri.authority.is_did(),
        };
        let parts = (uri.authority, Some(uri.collection), Some(uri.rkey));
        Self {
            uri: uri.uri,
            at,
            parts: OnceLock::from(Box::new(parts)),
        }
    }
}

string_type_impls!(RecordUri, RecordUriError, "a record AT-URI string");
order_by_str!(RecordUri);

impl fmt::Debug for RecordUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RecordUri").field(&self.uri).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DidError, HandleError};

    proptest::proptest! {
        /// The one-scan-per-part path accepts only what the step-by-step parse accepts,
        /// with the same offsets, and takes the usual shape.
        #[test]
        fn the_common_shape_agrees_with_the_full_parse(
            did in "did:(plc|web|Plc|):[a-z2-7.%:_-]{0,30}",
            coll in proptest::option::of(proptest::prop_oneof![
                "(app|com|9x|a-|x)\\.[a-z-]{0,5}\\.[a-zA-Z0-9-]{0,6}(\\.[a-z0-9]{0,3})?",
                "[a-zA-Z0-9.-]{0,24}",
            ]),
            rkey in proptest::option::of("[a-zA-Z0-9.~:_/?-]{0,16}"),
            tail in "(|/|//|\\?x|#f)",
        ) {
            let mut s = format!("at://{did}");
            if let Some(c) = &coll {
                s.push('/');
                s.push_str(c);
                if let Some(r) = &rkey {
                    s.push('/');
                    s.push_str(r);
                }
            }
            s.push_str(&tail);
            let full = parse_parts(&s);
            if let Some(at) = parse_common(&s) {
                let full = full.expect("the common shape is a valid URI");
                proptest::prop_assert_eq!(
                    (at.auth_end, at.coll_end, at.did),
                    (full.auth_end, full.coll_end, full.did)
                );
            }
        }
    }

    #[test]
    fn the_common_shape_is_taken() {
        for s in [
            "at://did:plc:44ybard66vv44zksje25o7dz",
            "at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post",
            "at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/3jwdwj2ctlk26",
            "at://did:web:example.com/app.bsky.actor.profile/self",
        ] {
            assert!(parse_common(s).is_some(), "{s}");
        }
        for s in [
            "at://alice.test/app.bsky.feed.post/3jwdwj2ctlk26",
            "at://did:plc:44ybard66vv44zksje25o7dz/",
            "at://did:plc:44ybard66vv44zksje25o7dz//x",
            "at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/a/b",
            "at://did:plc:44ybard66vv44zksje25o7dz?q",
            "at://did:plc:",
        ] {
            assert!(parse_common(s).is_none(), "{s}");
        }
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(
            AtUri::new("a://did:plc:asdf123"),
            Err(AtUriError::BadScheme)
        );
        assert_eq!(
            AtUri::new("AT://did:plc:asdf123"),
            Err(AtUriError::BadScheme)
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123##"),
            Err(AtUriError::QueryOrFragment { at: 20 })
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123?x=1"),
            Err(AtUriError::QueryOrFragment { at: 20 })
        );
        assert_eq!(
            AtUri::new("at://did:plc:"),
            Err(AtUriError::Authority {
                at: 5,
                source: AtIdentifierError::Did(DidError::EmptyIdentifier)
            })
        );
        assert_eq!(
            AtUri::new("at://bsky"),
            Err(AtUriError::Authority {
                at: 5,
                source: AtIdentifierError::Handle(HandleError::TooFewLabels)
            })
        );
        assert_eq!(
            AtUri::new("at://user.bsky.social/"),
            Err(AtUriError::EmptySegment { at: 22 })
        );
        assert_eq!(
            AtUri::new("at://user.bsky.social//com.atproto.feed.post"),
            Err(AtUriError::EmptySegment { at: 22 })
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123/12345"),
            Err(AtUriError::Collection {
                at: 21,
                source: NsidError::TooFewSegments { count: 1 }
            })
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123/com.atproto.feed.post/record/"),
            Err(AtUriError::TooManySegments { at: 49 })
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123/com.atproto.feed.post/"),
            Err(AtUriError::EmptySegment { at: 43 })
        );
        assert_eq!(
            AtUri::new("at://did:plc:asdf123/com.atproto.feed.post/."),
            Err(AtUriError::RecordKey {
                at: 43,
                source: RecordKeyError::DotKey
            })
        );
    }

    #[test]
    fn length_limit() {
        // Exactly 8 KiB is only reachable with an over-long record key, which fails later.
        let base = "at://did:plc:asdf123/com.atproto.feed.post/";
        let at_max = format!("{base}{}", "o".repeat(AtUri::MAX_LEN - base.len()));
        assert!(matches!(
            AtUri::new(&at_max),
            Err(AtUriError::RecordKey { .. })
        ));
        let over = format!("{at_max}o");
        assert_eq!(
            AtUri::new(&over),
            Err(AtUriError::TooLong {
                len: 8193,
                max: 8192
            })
        );
        let did_max = format!("at://did:plc:{}", "a".repeat(crate::Did::MAX_LEN - 8));
        assert!(AtUri::new(&did_max).is_ok());
    }

    #[test]
    fn normalises_handle() {
        let u = AtUri::new("at://Alice.Test/app.bsky.feed.post/ABC").unwrap();
        assert_eq!(u.as_str(), "at://alice.test/app.bsky.feed.post/ABC");
        let u2 = AtUri::try_from(String::from("at://Alice.Test/app.bsky.feed.post/ABC")).unwrap();
        assert_eq!(u, u2);
        assert_eq!(u2.rkey().unwrap(), "ABC");
    }

    #[test]
    fn borrowed_parts_match_typed_parts() {
        for s in [
            "at://Alice.Test/app.bsky.feed.post/ABC",
            "at://did:plc:asdf123/app.bsky.feed.post",
            "at://did:plc:asdf123",
        ] {
            let u = AtUri::new(s).unwrap();
            assert_eq!(u.authority_str(), u.authority().as_str());
            assert_eq!(u.authority_is_did(), u.authority().is_did());
            assert_eq!(u.collection_str(), u.collection().map(Nsid::as_str));
            assert_eq!(u.rkey_str(), u.rkey().map(RecordKey::as_str));
            let (a, c, r) = u.clone().into_parts();
            assert_eq!(AtUri::from_parts(a, c, r).unwrap(), u);
            if let Ok(r) = RecordUri::try_from(u.clone()) {
                let back = AtUri::from(r);
                assert_eq!(back.rkey_str(), u.rkey_str());
                assert_eq!(back.collection_str(), u.collection_str());
            }
        }
    }

    #[test]
    fn parts() {
        let a = AtIdentifier::new("did:plc:asdf123").unwrap();
        assert_eq!(
            AtUri::from_parts(a.clone(), None, Some(RecordKey::new("x").unwrap())),
            Err(AtUriError::RecordKeyWithoutCollection)
        );
        let u = AtUri::from_parts(a.clone(), None, None).unwrap();
        assert_eq!(u.as_str(), "at://did:plc:asdf123");
        let r = RecordUri::from_parts(
            a,
            Nsid::new("app.bsky.feed.post").unwrap(),
            RecordKey::new("3jwdwj2ctlk26").unwrap(),
        );
        let back = AtUri::from(r.clone());
        assert_eq!(back.as_str(), r.as_str());
        assert_eq!(RecordUri::try_from(back).unwrap(), r);
        assert_eq!(
            RecordUri::new("at://did:plc:asdf123/app.bsky.feed.post"),
            Err(RecordUriError::MissingRecordKey)
        );
        assert_eq!(
            RecordUri::new("at://did:plc:asdf123"),
            Err(RecordUriError::MissingCollection)
        );
    }
}
