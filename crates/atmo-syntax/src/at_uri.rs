//! AT-URIs (`at://authority/collection/rkey`).

use core::fmt;

use crate::macros::{order_by_str, string_type_impls};
use crate::{AtIdentifier, AtIdentifierError, Nsid, NsidError, RecordKey, RecordKeyError};

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
#[derive(Clone)]
pub struct AtUri {
    uri: String,
    authority: AtIdentifier,
    collection: Option<Nsid>,
    rkey: Option<RecordKey>,
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
        let (authority, collection, rkey) = parse(s)?;
        let as_written = s.get(PREFIX.len()..PREFIX.len() + authority.as_str().len());
        let uri = if as_written == Some(authority.as_str()) {
            s.to_owned()
        } else {
            // A handle authority was normalised to lower case.
            build(&authority, collection.as_ref(), rkey.as_ref())
        };
        Ok(Self {
            uri,
            authority,
            collection,
            rkey,
        })
    }

    fn from_string(mut s: String) -> Result<Self, AtUriError> {
        let (authority, collection, rkey) = parse(&s)?;
        let auth_range = PREFIX.len()..PREFIX.len() + authority.as_str().len();
        if s.get(auth_range.clone()) != Some(authority.as_str()) {
            // Only ASCII case can differ (handle normalisation): fix it in place.
            if let Some(auth) = s.get_mut(auth_range) {
                auth.make_ascii_lowercase();
            }
        }
        Ok(Self {
            uri: s,
            authority,
            collection,
            rkey,
        })
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
        Ok(Self {
            uri: build(&authority, collection.as_ref(), rkey.as_ref()),
            authority,
            collection,
            rkey,
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

    /// The authority: the repository's DID or handle.
    #[must_use]
    pub fn authority(&self) -> &AtIdentifier {
        &self.authority
    }

    /// The collection, if present.
    #[must_use]
    pub fn collection(&self) -> Option<&Nsid> {
        self.collection.as_ref()
    }

    /// The record key, if present.
    #[must_use]
    pub fn rkey(&self) -> Option<&RecordKey> {
        self.rkey.as_ref()
    }

    /// Splits the URI into its parts.
    #[must_use]
    pub fn into_parts(self) -> (AtIdentifier, Option<Nsid>, Option<RecordKey>) {
        (self.authority, self.collection, self.rkey)
    }
}

fn build(authority: &AtIdentifier, collection: Option<&Nsid>, rkey: Option<&RecordKey>) -> String {
    let len = PREFIX.len()
        + authority.as_str().len()
        + collection.map_or(0, |c| c.as_str().len() + 1)
        + rkey.map_or(0, |r| r.as_str().len() + 1);
    let mut uri = String::with_capacity(len);
    uri.push_str(PREFIX);
    uri.push_str(authority.as_str());
    if let Some(c) = collection {
        uri.push('/');
        uri.push_str(c.as_str());
        if let Some(r) = rkey {
            uri.push('/');
            uri.push_str(r.as_str());
        }
    }
    uri
}

type Parts = (AtIdentifier, Option<Nsid>, Option<RecordKey>);

fn parse(s: &str) -> Result<Parts, AtUriError> {
    if s.len() > AtUri::MAX_LEN {
        return Err(AtUriError::TooLong {
            len: s.len(),
            max: AtUri::MAX_LEN,
        });
    }
    let Some(rest) = s.strip_prefix(PREFIX) else {
        return Err(AtUriError::BadScheme);
    };
    if let Some(at) = s.bytes().position(|b| b == b'?' || b == b'#') {
        return Err(AtUriError::QueryOrFragment { at });
    }
    let mut segments = rest.split('/');
    let mut at = PREFIX.len();
    let authority_str = segments.next().unwrap_or_default();
    let authority =
        AtIdentifier::new(authority_str).map_err(|source| AtUriError::Authority { at, source })?;
    at += authority_str.len() + 1;
    let mut collection = None;
    let mut rkey = None;
    if let Some(seg) = segments.next() {
        if seg.is_empty() {
            return Err(AtUriError::EmptySegment { at });
        }
        collection = Some(Nsid::new(seg).map_err(|source| AtUriError::Collection { at, source })?);
        at += seg.len() + 1;
        if let Some(seg) = segments.next() {
            if seg.is_empty() {
                return Err(AtUriError::EmptySegment { at });
            }
            rkey =
                Some(RecordKey::new(seg).map_err(|source| AtUriError::RecordKey { at, source })?);
            at += seg.len() + 1;
            if segments.next().is_some() {
                return Err(AtUriError::TooManySegments { at: at - 1 });
            }
        }
    }
    Ok((authority, collection, rkey))
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
            uri: build(&authority, Some(&collection), Some(&rkey)),
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
        let AtUri {
            uri,
            authority,
            collection,
            rkey,
        } = uri;
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
        Self {
            uri: uri.uri,
            authority: uri.authority,
            collection: Some(uri.collection),
            rkey: Some(uri.rkey),
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
