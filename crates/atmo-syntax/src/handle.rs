//! Handles: DNS domain names used as account names.

use crate::charset;
use crate::macros::{char_at, order_by_str, string_type_impls};

/// A syntactically valid handle, such as `alice.bsky.social`, normalised to lower case.
///
/// Syntax (atproto handle spec): at most 253 bytes; two or more labels separated by `.`;
/// each label 1 to 63 ASCII letters, digits or hyphens, not starting or ending with a
/// hyphen; the last label (the TLD) does not start with a digit.
///
/// Some TLDs are syntactically valid but never resolve (see
/// [`is_disallowed_tld`](Self::is_disallowed_tld)); parsing accepts them.
///
/// ```
/// use atmo_syntax::Handle;
///
/// let handle = Handle::new("Alice.Test")?;
/// assert_eq!(handle.as_str(), "alice.test");
/// assert!(!handle.is_disallowed_tld());
/// assert!(Handle::new("laptop.local")?.is_disallowed_tld());
/// assert!(Handle::new("john..test").is_err());
/// # Ok::<(), atmo_syntax::HandleError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Handle(crate::text::Text);

/// Why a string is not a valid [`Handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`Handle::MAX_LEN`].
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
    /// An empty label (leading, trailing or doubled `.`).
    #[error("empty label at byte {at}")]
    EmptyLabel {
        /// Byte offset where the label should start.
        at: usize,
    },
    /// A label longer than [`Handle::MAX_LABEL_LEN`].
    #[error("label at byte {at} too long: {len} bytes, at most {max}")]
    LabelTooLong {
        /// Byte offset of the label.
        at: usize,
        /// Length of the label.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A label starts or ends with `-`.
    #[error("label starts or ends with '-' at byte {at}")]
    HyphenAtLabelEdge {
        /// Byte offset of the hyphen.
        at: usize,
    },
    /// Only one label: a handle needs at least two.
    #[error("needs at least two labels separated by '.'")]
    TooFewLabels,
    /// The last label starts with a digit.
    #[error("top-level domain starts with a digit at byte {at}")]
    TldStartsWithDigit {
        /// Byte offset of the top-level domain.
        at: usize,
    },
}

/// TLDs that are syntactically valid in a handle but disallowed for use (they never resolve).
pub const DISALLOWED_TLDS: [&str; 8] = [
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

impl Handle {
    /// Wraps a string already validated and normalised (a part of a valid AT-URI).
    pub(crate) fn from_valid(s: &str) -> Self {
        Self(crate::text::Text::new(s))
    }

    /// Maximum length of a handle in bytes.
    pub const MAX_LEN: usize = 253;
    /// Maximum length of one label in bytes.
    pub const MAX_LABEL_LEN: usize = 63;
    /// The special handle shown for an account whose handle does not verify.
    pub const INVALID: &'static str = "handle.invalid";

    /// Parses and validates a handle, normalising it to lower case.
    ///
    /// # Errors
    ///
    /// Returns a [`HandleError`] saying what is wrong and where.
    pub fn new(s: &str) -> Result<Self, HandleError> {
        validate(s)?;
        let mut t = crate::text::Text::new(s);
        t.make_ascii_lowercase();
        Ok(Self(t))
    }

    fn from_string(mut s: String) -> Result<Self, HandleError> {
        validate(&s)?;
        s.make_ascii_lowercase();
        Ok(Self(crate::text::Text::from_string(s)))
    }

    /// The handle as a (lower-case) string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the handle, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0.into_string()
    }

    /// The last label, e.g. `social` for `alice.bsky.social`.
    #[must_use]
    pub fn tld(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or_default()
    }

    /// Whether the TLD is one the spec disallows for handles (`.local`, `.arpa`,
    /// `.invalid`, `.localhost`, `.internal`, `.example`, `.onion`, `.alt`): such a handle
    /// is syntactically valid but can not be resolved or registered.
    ///
    /// ```
    /// use atmo_syntax::Handle;
    /// assert!(Handle::new("handle.invalid")?.is_disallowed_tld());
    /// assert!(!Handle::new("alice.test")?.is_disallowed_tld());
    /// # Ok::<(), atmo_syntax::HandleError>(())
    /// ```
    #[must_use]
    pub fn is_disallowed_tld(&self) -> bool {
        DISALLOWED_TLDS.contains(&self.tld())
    }
}

pub(crate) fn validate(s: &str) -> Result<(), HandleError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(HandleError::Empty);
    }
    if bytes.len() > Handle::MAX_LEN {
        return Err(HandleError::TooLong {
            len: bytes.len(),
            max: Handle::MAX_LEN,
        });
    }
    if let Some(at) = charset::first_outside(bytes, charset::DOMAIN) {
        return Err(HandleError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    let mut start = 0;
    let mut labels = 0usize;
    let mut last_start = 0;
    for label in bytes.split(|&b| b == b'.') {
        check_label(label, start)?;
        labels += 1;
        last_start = start;
        start += label.len() + 1;
    }
    if labels < 2 {
        return Err(HandleError::TooFewLabels);
    }
    if bytes.get(last_start).is_some_and(u8::is_ascii_digit) {
        return Err(HandleError::TldStartsWithDigit { at: last_start });
    }
    Ok(())
}

fn check_label(label: &[u8], at: usize) -> Result<(), HandleError> {
    match (label.first(), label.last()) {
        (None, _) | (_, None) => Err(HandleError::EmptyLabel { at }),
        _ if label.len() > Handle::MAX_LABEL_LEN => Err(HandleError::LabelTooLong {
            at,
            len: label.len(),
            max: Handle::MAX_LABEL_LEN,
        }),
        (Some(b'-'), _) => Err(HandleError::HyphenAtLabelEdge { at }),
        (_, Some(b'-')) => Err(HandleError::HyphenAtLabelEdge {
            at: at + label.len() - 1,
        }),
        _ => Ok(()),
    }
}

/// Checks one DNS-style label for an NSID authority segment (same rules as a handle label).
pub(crate) fn label_ok(label: &[u8]) -> bool {
    check_label(label, 0).is_ok()
}

string_type_impls!(Handle, HandleError, "a handle string");
order_by_str!(Handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        let h = Handle::new("XX.LCS.MIT.EDU").unwrap();
        assert_eq!(h.as_str(), "xx.lcs.mit.edu");
        let h = Handle::try_from(String::from("Jan.Test")).unwrap();
        assert_eq!(h, "jan.test");
        assert_eq!(h.tld(), "test");
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(Handle::new(""), Err(HandleError::Empty));
        assert_eq!(
            Handle::new("jo!hn.test"),
            Err(HandleError::BadChar { at: 2, ch: '!' })
        );
        assert_eq!(
            Handle::new("john.tést"),
            Err(HandleError::BadChar { at: 6, ch: 'é' })
        );
        assert_eq!(
            Handle::new("john..test"),
            Err(HandleError::EmptyLabel { at: 5 })
        );
        assert_eq!(Handle::new(".john"), Err(HandleError::EmptyLabel { at: 0 }));
        assert_eq!(
            Handle::new("john.test."),
            Err(HandleError::EmptyLabel { at: 10 })
        );
        assert_eq!(
            Handle::new("-john.test"),
            Err(HandleError::HyphenAtLabelEdge { at: 0 })
        );
        assert_eq!(
            Handle::new("john-.test"),
            Err(HandleError::HyphenAtLabelEdge { at: 4 })
        );
        assert_eq!(Handle::new("john"), Err(HandleError::TooFewLabels));
        assert_eq!(
            Handle::new("cn.8"),
            Err(HandleError::TldStartsWithDigit { at: 3 })
        );
    }

    #[test]
    fn label_limit() {
        let ok = format!("short.{}.test", "o".repeat(63));
        assert!(Handle::new(&ok).is_ok());
        let bad = format!("short.{}.test", "o".repeat(64));
        assert_eq!(
            Handle::new(&bad),
            Err(HandleError::LabelTooLong {
                at: 6,
                len: 64,
                max: 63
            })
        );
    }

    #[test]
    fn length_limit() {
        // 4 labels of 61 + ".test" style padding up to exactly 253 bytes.
        let mut ok = String::new();
        while ok.len() + 64 < Handle::MAX_LEN {
            ok.push_str(&"a".repeat(63));
            ok.push('.');
        }
        let rest = Handle::MAX_LEN - ok.len();
        ok.push_str(&"b".repeat(rest));
        assert_eq!(ok.len(), Handle::MAX_LEN);
        assert!(Handle::new(&ok).is_ok());
        let long = format!("{ok}b");
        assert_eq!(
            Handle::new(&long),
            Err(HandleError::TooLong { len: 254, max: 253 })
        );
    }

    #[test]
    fn disallowed_tlds() {
        for tld in DISALLOWED_TLDS {
            let h = Handle::new(&format!("name.{}", tld.to_uppercase())).unwrap();
            assert!(h.is_disallowed_tld(), "{h}");
        }
        assert!(!Handle::new("name.social").unwrap().is_disallowed_tld());
    }
}
