//! Handle resolution rules (pure): reading DNS TXT answers and well-known bodies, and
//! choosing between them.
//!
//! The spec's rules, as implemented here:
//! - DNS: the TXT records of `_atproto.<handle>`, read by the rule lexicon resolution
//!   shares ([`atmo_syntax::txt::did_from_txt`]): only strings starting with `did=` count
//!   (not trimmed); none is no answer; two different values, a value that is not a DID,
//!   or more than [`MAX_TXT_STRINGS`](atmo_syntax::txt::MAX_TXT_STRINGS) strings make
//!   resolution fail (the same DID repeated is one).
//! - HTTPS: `GET https://<handle>/.well-known/atproto-did`, status 2xx, the body trimmed of
//!   surrounding whitespace is a valid DID.
//! - When both give a result the DNS one is preferred, so the HTTPS lookup is only made when
//!   DNS has no `did=` record.

use atmo_syntax::{Did, Handle};

use crate::Error;
use crate::error::clip;

/// Largest well-known body accepted (a DID is at most 2 KiB, plus whitespace).
pub const MAX_WELL_KNOWN_BODY: usize = 4 * 1024;

/// Where a handle's DID came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandleSource {
    /// The `_atproto.<handle>` DNS TXT record.
    Dns,
    /// `https://<handle>/.well-known/atproto-did`.
    WellKnown,
    /// A `com.atproto.identity.resolveHandle` service.
    Xrpc,
}

/// The DNS name to query for TXT records: `_atproto.<handle>`.
#[must_use]
pub fn dns_txt_name(handle: &Handle) -> String {
    format!("_atproto.{}", handle.as_str())
}

/// Reads the TXT records of `_atproto.<handle>` by the shared `did=` rule
/// ([`atmo_syntax::txt::did_from_txt`]): `Ok(None)` when no string starts with `did=`,
/// `Ok(Some(did))` when every `did=` string holds the same valid DID.
///
/// ```
/// use atmo_identity::handle::parse_dns_txt;
/// use atmo_syntax::Handle;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let h = Handle::new("alice.test")?;
/// let did = parse_dns_txt(&h, ["v=spf1 -all", "did=did:plc:aymhh2c47ldyafhgr4dj6o5r"])?;
/// assert_eq!(did.map(|d| d.to_string()).as_deref(), Some("did:plc:aymhh2c47ldyafhgr4dj6o5r"));
/// assert!(parse_dns_txt(&h, ["did=did:plc:aaa", "did=did:plc:bbb"]).is_err());
/// assert!(parse_dns_txt(&h, ["did=not a did"]).is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::DnsAmbiguous`] when `did=` strings hold different values;
/// [`Error::InvalidDid`] when the one value is not a DID; [`Error::DnsTxt`] for more than
/// [`MAX_TXT_STRINGS`](atmo_syntax::txt::MAX_TXT_STRINGS) strings.
pub fn parse_dns_txt<I, S>(handle: &Handle, records: I) -> Result<Option<Did>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    use atmo_syntax::txt::{MAX_TXT_STRINGS, TxtError, did_from_txt};
    // One more than the limit is enough to know it is exceeded.
    let records: Vec<S> = records.into_iter().take(MAX_TXT_STRINGS + 1).collect();
    match did_from_txt(&records) {
        Ok(found) => Ok(found),
        Err(TxtError::Ambiguous { .. }) => {
            let mut values: Vec<&str> = Vec::new();
            for v in records
                .iter()
                .filter_map(|r| r.as_ref().strip_prefix("did="))
            {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            Err(Error::DnsAmbiguous {
                handle: handle.to_string(),
                count: values.len(),
            })
        }
        Err(TxtError::BadDid { index, error }) => {
            let value = records
                .get(index)
                .map_or("", |r| r.as_ref().strip_prefix("did=").unwrap_or_default());
            Err(Error::InvalidDid {
                input: clip(value, 256),
                source_name: format!("DNS TXT {}", dns_txt_name(handle)),
                error,
            })
        }
        Err(error) => Err(Error::DnsTxt {
            handle: handle.to_string(),
            error,
        }),
    }
}

/// Reads the body of `/.well-known/atproto-did`: UTF-8, trimmed, a valid DID.
///
/// ```
/// use atmo_identity::handle::parse_well_known;
/// use atmo_syntax::Handle;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let h = Handle::new("alice.test")?;
/// let did = parse_well_known(&h, b"did:plc:aymhh2c47ldyafhgr4dj6o5r\n")?;
/// assert_eq!(did.as_str(), "did:plc:aymhh2c47ldyafhgr4dj6o5r");
/// assert!(parse_well_known(&h, b"<html>not found</html>").is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::WellKnownBody`] for a body that is too large, not UTF-8, or not a DID.
pub fn parse_well_known(handle: &Handle, body: &[u8]) -> Result<Did, Error> {
    let fail = |reason: String| Error::WellKnownBody {
        handle: handle.to_string(),
        reason,
    };
    if body.len() > MAX_WELL_KNOWN_BODY {
        return Err(fail(format!(
            "body is {} bytes, more than {MAX_WELL_KNOWN_BODY}",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body).map_err(|e| fail(format!("body is not UTF-8: {e}")))?;
    let text = text.trim();
    Did::new(text).map_err(|e| fail(format!("{:?} is not a DID: {e}", clip(text, 128))))
}

/// Whether a handle may be looked up at all: not `handle.invalid` and not under a TLD the
/// spec disallows (`.local`, `.arpa`, `.invalid`, `.localhost`, `.internal`, `.example`,
/// `.onion`, `.alt`).
#[must_use]
pub fn is_resolvable(handle: &Handle) -> bool {
    !handle.is_disallowed_tld()
}

/// Whether a DID document lists `handle` back: some `at://` entry of its `alsoKnownAs`
/// equals the handle (case-insensitively). This is the reverse half of the bidirectional
/// check.
#[must_use]
pub fn document_claims(doc: &crate::DidDocument, handle: &Handle) -> bool {
    doc.handles().any(|h| h.as_str() == handle.as_str())
}
