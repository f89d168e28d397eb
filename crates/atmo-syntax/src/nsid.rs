//! Namespaced identifiers (NSIDs) naming lexicons, collections and XRPC methods.

use crate::charset;
use crate::handle::label_ok;
use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A syntactically valid NSID, such as `app.bsky.feed.post`.
///
/// Syntax (atproto NSID spec): at most 317 bytes of ASCII letters, digits, `.` and `-`; at
/// least three `.`-separated segments, each 1 to 63 bytes. The leading segments form a
/// reversed domain name (the authority): each segment may not start or end with `-`,
/// and the first one may not start with a digit. The last segment (the name) holds only
/// letters and digits and does not start with a digit. NSIDs are case-sensitive and
/// are kept exactly as given.
///
/// ```
/// use atmo_syntax::Nsid;
///
/// let nsid = Nsid::new("app.bsky.feed.post")?;
/// assert_eq!(nsid.authority(), "app.bsky.feed");
/// assert_eq!(nsid.name(), "post");
/// assert_eq!(nsid.domain_authority(), "feed.bsky.app");
/// assert!(Nsid::new("com.example").is_err());
/// # Ok::<(), atmo_syntax::NsidError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Nsid(crate::text::Text);

/// Why a string is not a valid [`Nsid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NsidError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`Nsid::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `A-Za-z0-9.-`.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// Fewer than three segments.
    #[error("needs at least three segments, found {count}")]
    TooFewSegments {
        /// Number of segments found.
        count: usize,
    },
    /// An empty segment (leading, trailing or doubled `.`).
    #[error("empty segment at byte {at}")]
    EmptySegment {
        /// Byte offset where the segment should start.
        at: usize,
    },
    /// A segment longer than [`Nsid::MAX_SEGMENT_LEN`].
    #[error("segment at byte {at} too long: {len} bytes, at most {max}")]
    SegmentTooLong {
        /// Byte offset of the segment.
        at: usize,
        /// Length of the segment.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An authority segment starts or ends with `-`.
    #[error("segment starts or ends with '-' at byte {at}")]
    HyphenAtSegmentEdge {
        /// Byte offset of the hyphen.
        at: usize,
    },
    /// The first segment or the name segment starts with a digit.
    #[error("segment starts with a digit at byte {at}")]
    LeadingDigit {
        /// Byte offset of the segment.
        at: usize,
    },
    /// The name segment holds something other than letters and digits.
    #[error("invalid character {ch:?} in the name segment at byte {at}")]
    BadNameChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
}

impl Nsid {
    /// Maximum length of an NSID in bytes (253 for the authority, 1 for the `.`, 63 for the
    /// name).
    pub const MAX_LEN: usize = 317;
    /// Maximum length of one segment in bytes.
    pub const MAX_SEGMENT_LEN: usize = 63;

    /// Everything before the last `.`, as written: `app.bsky.feed` for
    /// `app.bsky.feed.post`.
    #[must_use]
    pub fn authority(&self) -> &str {
        self.0.rsplit_once('.').map(|(a, _)| a).unwrap_or_default()
    }

    /// The name segment: `post` for `app.bsky.feed.post`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.0.rsplit_once('.').map(|(_, n)| n).unwrap_or_default()
    }

    /// The authority as a DNS domain name (segments reversed, lower case):
    /// `feed.bsky.app` for `app.bsky.feed.post`. Lexicon resolution looks up
    /// `_lexicon.<domain_authority>`.
    #[must_use]
    pub fn domain_authority(&self) -> String {
        let mut out = String::with_capacity(self.authority().len());
        for (i, seg) in self.authority().rsplit('.').enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(seg);
        }
        out.make_ascii_lowercase();
        out
    }
}

pub(crate) fn validate(s: &str) -> Result<(), NsidError> {
    if common(s.as_bytes()) || valid_fast(s.as_bytes()) {
        return Ok(());
    }
    validate_slow(s)
}

/// The collections most records and AT-URIs name (valid NSIDs, so accepting them
/// unchecked changes nothing): one comparison instead of a pass over the bytes.
#[inline]
fn common(b: &[u8]) -> bool {
    matches!(
        b,
        b"app.bsky.feed.post"
            | b"app.bsky.feed.like"
            | b"app.bsky.feed.repost"
            | b"app.bsky.graph.follow"
            | b"app.bsky.graph.block"
            | b"app.bsky.actor.profile"
            | b"app.bsky.feed.generator"
            | b"app.bsky.graph.list"
            | b"app.bsky.graph.listitem"
    )
}

/// One pass over the bytes, accepting exactly what [`validate_slow`] accepts; that one
/// says what is wrong.
#[inline]
fn valid_fast(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > Nsid::MAX_LEN {
        return false;
    }
    let mut start = 0;
    let mut count = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            let seg = b.get(start..i).unwrap_or_default();
            let ok = match (seg.first(), seg.last()) {
                (Some(&first), Some(&last)) => {
                    seg.len() <= Nsid::MAX_SEGMENT_LEN
                        && first != b'-'
                        && last != b'-'
                        && !(count == 0 && first.is_ascii_digit())
                }
                _ => false,
            };
            if !ok {
                return false;
            }
            count += 1;
            start = i + 1;
        } else if !charset::is(c, charset::ALNUM | charset::DASH) {
            return false;
        }
    }
    let name = b.get(start..).unwrap_or_default();
    count >= 2
        && name.len() <= Nsid::MAX_SEGMENT_LEN
        && name.first().is_some_and(|c| !c.is_ascii_digit())
        && name.iter().all(u8::is_ascii_alphanumeric)
}

fn validate_slow(s: &str) -> Result<(), NsidError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(NsidError::Empty);
    }
    if bytes.len() > Nsid::MAX_LEN {
        return Err(NsidError::TooLong {
            len: bytes.len(),
            max: Nsid::MAX_LEN,
        });
    }
    if let Some(at) = charset::first_outside(bytes, charset::DOMAIN) {
        return Err(NsidError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    // One pass: a segment is checked as part of the authority when the next one starts,
    // and the last one as the name.
    let mut count = 0;
    let mut at = 0;
    let mut last: &[u8] = &[];
    let mut last_at = 0;
    for seg in bytes.split(|&b| b == b'.') {
        if count > 0 {
            check_authority_segment(last, last_at, count == 1)?;
        }
        last = seg;
        last_at = at;
        count += 1;
        at += seg.len() + 1;
    }
    if count < 3 {
        return Err(NsidError::TooFewSegments { count });
    }
    check_segment_len(last, last_at)?;
    if last.first().is_some_and(u8::is_ascii_digit) {
        return Err(NsidError::LeadingDigit { at: last_at });
    }
    if let Some(off) = last.iter().position(|&b| !b.is_ascii_alphanumeric()) {
        return Err(NsidError::BadNameChar {
            at: last_at + off,
            ch: char_at(s, last_at + off),
        });
    }
    Ok(())
}

fn check_segment_len(seg: &[u8], at: usize) -> Result<(), NsidError> {
    if seg.is_empty() {
        return Err(NsidError::EmptySegment { at });
    }
    if seg.len() > Nsid::MAX_SEGMENT_LEN {
        return Err(NsidError::SegmentTooLong {
            at,
            len: seg.len(),
            max: Nsid::MAX_SEGMENT_LEN,
        });
    }
    Ok(())
}

fn check_authority_segment(seg: &[u8], at: usize, first: bool) -> Result<(), NsidError> {
    check_segment_len(seg, at)?;
    if !label_ok(seg) {
        let off = if seg.first() == Some(&b'-') {
            0
        } else {
            seg.len() - 1
        };
        return Err(NsidError::HyphenAtSegmentEdge { at: at + off });
    }
    if first && seg.first().is_some_and(u8::is_ascii_digit) {
        return Err(NsidError::LeadingDigit { at });
    }
    Ok(())
}

string_type_impls!(Nsid, NsidError, "an NSID string");
validated_string!(Nsid, NsidError, "NSID");
order_by_str!(Nsid);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_collections_are_valid() {
        for n in [
            "app.bsky.feed.post",
            "app.bsky.feed.like",
            "app.bsky.feed.repost",
            "app.bsky.graph.follow",
            "app.bsky.graph.block",
            "app.bsky.actor.profile",
            "app.bsky.feed.generator",
            "app.bsky.graph.list",
            "app.bsky.graph.listitem",
        ] {
            assert!(super::common(n.as_bytes()));
            assert_eq!(super::validate_slow(n), Ok(()), "{n}");
        }
        assert!(!super::common(b"app.bsky.feed.posts"));
    }

    #[test]
    fn fast_path_accepts_exactly_what_the_checked_path_accepts() {
        let alphabet = [b'a', b'1', b'-', b'.', b'Z', b'_'];
        let mut buf = Vec::new();
        for len in 0..=7u32 {
            for mut n in 0..alphabet.len().pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let s = std::str::from_utf8(&buf).unwrap();
                assert_eq!(valid_fast(&buf), validate_slow(s).is_ok(), "{s:?}");
            }
        }
        let long = format!("a.b.{}", "c".repeat(64));
        assert_eq!(valid_fast(long.as_bytes()), validate_slow(&long).is_ok());
    }

    proptest::proptest! {
        /// Longer inputs than the exhaustive test.
        #[test]
        fn fast_path_agrees_on_long_inputs(s in "[a-c0-9.-]{0,40}|[a-z]{1,9}(\\.[a-z0-9-]{0,12}){1,5}") {
            proptest::prop_assert_eq!(valid_fast(s.as_bytes()), validate_slow(&s).is_ok(), "{:?}", s);
        }
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(Nsid::new(""), Err(NsidError::Empty));
        assert_eq!(
            Nsid::new("com.example"),
            Err(NsidError::TooFewSegments { count: 2 })
        );
        assert_eq!(
            Nsid::new("com.atproto.feed.p@st"),
            Err(NsidError::BadChar { at: 18, ch: '@' })
        );
        assert_eq!(
            Nsid::new("one.two..three"),
            Err(NsidError::EmptySegment { at: 8 })
        );
        assert_eq!(
            Nsid::new(".one.two.three"),
            Err(NsidError::EmptySegment { at: 0 })
        );
        assert_eq!(
            Nsid::new("0two.example.foo"),
            Err(NsidError::LeadingDigit { at: 0 })
        );
        assert_eq!(
            Nsid::new("com.example.fooBar.2"),
            Err(NsidError::LeadingDigit { at: 19 })
        );
        assert_eq!(
            Nsid::new("a-0.b-1.c-o"),
            Err(NsidError::BadNameChar { at: 9, ch: '-' })
        );
        assert_eq!(
            Nsid::new("com.-ex.foo"),
            Err(NsidError::HyphenAtSegmentEdge { at: 4 })
        );
        assert_eq!(
            Nsid::new("com.ex-.foo"),
            Err(NsidError::HyphenAtSegmentEdge { at: 6 })
        );
    }

    #[test]
    fn limits() {
        let seg63 = format!("com.{}.foo", "o".repeat(63));
        assert!(Nsid::new(&seg63).is_ok());
        let seg64 = format!("com.{}.foo", "o".repeat(64));
        assert_eq!(
            Nsid::new(&seg64),
            Err(NsidError::SegmentTooLong {
                at: 4,
                len: 64,
                max: 63
            })
        );
        // Build exactly 317 bytes: authority segments then a name.
        let mut s = String::from("com");
        while s.len() + 1 + 63 + 1 + 20 < Nsid::MAX_LEN {
            s.push('.');
            s.push_str(&"a".repeat(63));
        }
        let name_len = Nsid::MAX_LEN - s.len() - 1;
        let ok = format!("{s}.{}", "n".repeat(name_len));
        assert_eq!(ok.len(), Nsid::MAX_LEN);
        assert!(Nsid::new(&ok).is_ok());
        let long = format!("{ok}n");
        assert_eq!(
            Nsid::new(&long),
            Err(NsidError::TooLong { len: 318, max: 317 })
        );
    }

    #[test]
    fn accessors() {
        let n = Nsid::new("com.Example.fooBar").unwrap();
        assert_eq!(n.authority(), "com.Example");
        assert_eq!(n.name(), "fooBar");
        assert_eq!(n.domain_authority(), "example.com");
    }
}
