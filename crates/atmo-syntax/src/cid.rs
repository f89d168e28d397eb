//! CID strings (syntax only).

use crate::charset;
use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A string that looks like a CID, such as
/// `bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a`.
///
/// This is the Lexicon `cid` string format: 8 to 256 ASCII letters, digits, `+` or `=`,
/// and not a legacy CIDv0 (`Qm...`). It does not decode the CID; parsing the multibase,
/// codec and multihash belongs to `atmo-data`.
///
/// ```
/// use atmo_syntax::CidString;
///
/// let cid = CidString::new("bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")?;
/// assert!(cid.as_str().starts_with("bafy"));
/// assert!(CidString::new("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR").is_err());
/// # Ok::<(), atmo_syntax::CidStringError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CidString(crate::text::Text);

/// Why a string is not a valid [`CidString`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidStringError {
    /// Shorter than [`CidString::MIN_LEN`].
    #[error("too short: {len} bytes, at least {min}")]
    TooShort {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        min: usize,
    },
    /// Longer than [`CidString::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `A-Za-z0-9+=`.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// A legacy CIDv0 (base58 `Qm...`), not allowed in atproto.
    #[error("CIDv0 (\"Qm...\") is not supported")]
    CidV0,
}

impl CidString {
    /// Minimum length in bytes.
    pub const MIN_LEN: usize = 8;
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 256;
}

fn validate(s: &str) -> Result<(), CidStringError> {
    let bytes = s.as_bytes();
    if bytes.len() < CidString::MIN_LEN {
        return Err(CidStringError::TooShort {
            len: bytes.len(),
            min: CidString::MIN_LEN,
        });
    }
    if bytes.len() > CidString::MAX_LEN {
        return Err(CidStringError::TooLong {
            len: bytes.len(),
            max: CidString::MAX_LEN,
        });
    }
    if let Some(at) = charset::first_outside(bytes, charset::CID) {
        return Err(CidStringError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    if bytes.starts_with(b"Qm") {
        return Err(CidStringError::CidV0);
    }
    Ok(())
}

string_type_impls!(CidString, CidStringError, "a CID string");
validated_string!(CidString, CidStringError, "CID string");
order_by_str!(CidString);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_positions() {
        assert_eq!(
            CidString::new("12345"),
            Err(CidStringError::TooShort { len: 5, min: 8 })
        );
        assert_eq!(
            CidString::new("cid:bafybeigdyrzt"),
            Err(CidStringError::BadChar { at: 3, ch: ':' })
        );
        assert_eq!(
            CidString::new("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"),
            Err(CidStringError::CidV0)
        );
    }

    #[test]
    fn limits() {
        assert!(CidString::new(&"b".repeat(8)).is_ok());
        assert!(CidString::new(&"b".repeat(256)).is_ok());
        assert_eq!(
            CidString::new(&"b".repeat(257)),
            Err(CidStringError::TooLong { len: 257, max: 256 })
        );
        assert_eq!(
            CidString::new(&"b".repeat(7)),
            Err(CidStringError::TooShort { len: 7, min: 8 })
        );
    }
}
