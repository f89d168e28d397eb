//! Record keys: the last path segment of a record's AT-URI.

use crate::charset;
use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A syntactically valid record key, such as `self` or a TID like `3jwdwj2ctlk26`.
///
/// Syntax (atproto record-key spec): 1 to 512 bytes of ASCII letters, digits and `._:~-`;
/// not `.` and not `..`.
///
/// ```
/// use atmo_syntax::RecordKey;
///
/// let rkey = RecordKey::new("self")?;
/// assert_eq!(rkey.as_str(), "self");
/// assert!(RecordKey::new("..").is_err());
/// assert!(RecordKey::new("a/b").is_err());
/// # Ok::<(), atmo_syntax::RecordKeyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordKey(crate::text::Text);

/// Why a string is not a valid [`RecordKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordKeyError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`RecordKey::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `A-Za-z0-9._:~-`.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// The key is `.` or `..`.
    #[error("\".\" and \"..\" are not record keys")]
    DotKey,
}

impl RecordKey {
    /// Maximum length of a record key in bytes.
    pub const MAX_LEN: usize = 512;
}

impl From<crate::Tid> for RecordKey {
    fn from(tid: crate::Tid) -> Self {
        Self(crate::text::Text::new(tid.as_str()))
    }
}

pub(crate) fn validate(s: &str) -> Result<(), RecordKeyError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(RecordKeyError::Empty);
    }
    if bytes.len() > RecordKey::MAX_LEN {
        return Err(RecordKeyError::TooLong {
            len: bytes.len(),
            max: RecordKey::MAX_LEN,
        });
    }
    if let Some(at) = charset::first_outside(bytes, charset::RKEY) {
        return Err(RecordKeyError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    if bytes.len() <= 2 && (s == "." || s == "..") {
        return Err(RecordKeyError::DotKey);
    }
    Ok(())
}

string_type_impls!(RecordKey, RecordKeyError, "a record key string");
validated_string!(RecordKey, RecordKeyError, "record key");
order_by_str!(RecordKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_positions() {
        assert_eq!(RecordKey::new(""), Err(RecordKeyError::Empty));
        assert_eq!(RecordKey::new("."), Err(RecordKeyError::DotKey));
        assert_eq!(RecordKey::new(".."), Err(RecordKeyError::DotKey));
        assert!(RecordKey::new("...").is_ok());
        assert_eq!(
            RecordKey::new("alpha/beta"),
            Err(RecordKeyError::BadChar { at: 5, ch: '/' })
        );
        assert_eq!(
            RecordKey::new("number[3]"),
            Err(RecordKeyError::BadChar { at: 6, ch: '[' })
        );
    }

    #[test]
    fn length_limit() {
        assert!(RecordKey::new(&"o".repeat(512)).is_ok());
        assert_eq!(
            RecordKey::new(&"o".repeat(513)),
            Err(RecordKeyError::TooLong { len: 513, max: 512 })
        );
    }

    #[test]
    fn from_tid() {
        let tid = crate::Tid::new("3jzfcijpj2z2a").unwrap();
        assert_eq!(RecordKey::from(tid), "3jzfcijpj2z2a");
    }
}
