//! Decentralized identifiers (`did:method:identifier`).

use crate::charset;
use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A syntactically valid DID, such as `did:plc:ewvi7nxzyoun6zhxrhs64oiz`.
///
/// Syntax (atproto DID spec): `did:`, a method of lower-case ASCII letters, `:`, then an
/// identifier of ASCII letters, digits and `._:%-` that does not end in `:` or `%`;
/// at most 2048 bytes in total. Any method is accepted here; whether a method is
/// supported ("blessed") is a question for identity resolution, not for syntax.
///
/// ```
/// use atmo_syntax::Did;
///
/// let did = Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?;
/// assert_eq!(did.method(), "plc");
/// assert_eq!(did.identifier(), "ewvi7nxzyoun6zhxrhs64oiz");
/// assert!(Did::new("did:PLC:abc").is_err());
/// # Ok::<(), atmo_syntax::DidError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Did(crate::text::Text);

/// Why a string is not a valid [`Did`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`Did::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input does not start with `did:`.
    #[error("does not start with \"did:\"")]
    MissingPrefix,
    /// The method name is empty.
    #[error("empty method name")]
    EmptyMethod,
    /// The method name holds something other than `a-z`.
    #[error("invalid character {ch:?} in method name at byte {at}")]
    BadMethodChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// No `:` after the method name.
    #[error("missing ':' after the method name")]
    MissingIdentifier,
    /// Nothing after `did:method:`.
    #[error("empty method-specific identifier")]
    EmptyIdentifier,
    /// A character outside `A-Za-z0-9._:%-` in the identifier.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// The identifier ends with `:` or `%`.
    #[error("ends with {ch:?} (byte {at})")]
    BadEnd {
        /// Byte offset of the last character.
        at: usize,
        /// The character.
        ch: char,
    },
}

impl Did {
    /// Maximum length of a DID in bytes (2 KiB).
    pub const MAX_LEN: usize = 2048;

    /// The method name, e.g. `plc` or `web`.
    #[must_use]
    pub fn method(&self) -> &str {
        self.0
            .get(4..)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_default()
    }

    /// The method-specific identifier (everything after `did:<method>:`).
    #[must_use]
    pub fn identifier(&self) -> &str {
        let skip = 4 + self.method().len() + 1;
        self.0.get(skip..).unwrap_or_default()
    }
}

pub(crate) fn validate(s: &str) -> Result<(), DidError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(DidError::Empty);
    }
    if bytes.len() > Did::MAX_LEN {
        return Err(DidError::TooLong {
            len: bytes.len(),
            max: Did::MAX_LEN,
        });
    }
    let Some(rest) = bytes.strip_prefix(b"did:") else {
        return Err(DidError::MissingPrefix);
    };
    let mut method_len = None;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'a'..=b'z' => {}
            b':' => {
                method_len = Some(i);
                break;
            }
            _ => {
                let at = 4 + i;
                return Err(DidError::BadMethodChar {
                    at,
                    ch: char_at(s, at),
                });
            }
        }
    }
    let method_len = method_len.ok_or(if rest.is_empty() {
        DidError::EmptyMethod
    } else {
        DidError::MissingIdentifier
    })?;
    if method_len == 0 {
        return Err(DidError::EmptyMethod);
    }
    let start = 4 + method_len + 1;
    let ident = bytes.get(start..).unwrap_or_default();
    if ident.is_empty() {
        return Err(DidError::EmptyIdentifier);
    }
    if let Some(i) = charset::first_outside(ident, charset::DID_IDENT) {
        let at = start + i;
        return Err(DidError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    if let Some(&last @ (b':' | b'%')) = ident.last() {
        return Err(DidError::BadEnd {
            at: bytes.len() - 1,
            ch: char::from(last),
        });
    }
    Ok(())
}

/// Whether `b`, every byte of which the caller found in [`charset::DID_IDENT`], is a
/// valid DID: what [`validate`] checks beyond the identifier's characters (the prefix,
/// the method, a non-empty identifier, its last character, the length), without
/// scanning the identifier again.
#[inline]
pub(crate) fn valid_scanned(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"did:") else {
        return false;
    };
    let Some(colon) = rest.iter().position(|&c| c == b':') else {
        return false;
    };
    let (method, ident) = rest.split_at(colon);
    b.len() <= Did::MAX_LEN
        && !method.is_empty()
        && method.iter().all(u8::is_ascii_lowercase)
        && ident.len() > 1
        && !matches!(ident.last(), Some(b':' | b'%'))
}

string_type_impls!(Did, DidError, "a DID string");
validated_string!(Did, DidError, "DID");
order_by_str!(Did);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_scanned_agrees_with_validate() {
        let parts = [
            "did", ":", "plc", "web", "PLC", "", "x", "%", "-", ".", "_", "ab:c",
        ];
        // Every string of up to five parts whose bytes are all in the identifier's set.
        let mut all = vec![String::new()];
        for _ in 0..5 {
            let next: Vec<String> = all
                .iter()
                .flat_map(|s| parts.iter().map(move |p| format!("{s}{p}")))
                .collect();
            all.extend(next);
            all.sort();
            all.dedup();
        }
        for s in &all {
            let b = s.as_bytes();
            if charset::first_outside(b, charset::DID_IDENT).is_none() {
                assert_eq!(valid_scanned(b), validate(s).is_ok(), "{s:?}");
            }
        }
        assert!(valid_scanned(b"did:plc:ewvi7nxzyoun6zhxrhs64oiz"));
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(Did::new(""), Err(DidError::Empty));
        assert_eq!(Did::new("DID:plc:x"), Err(DidError::MissingPrefix));
        assert_eq!(Did::new("did"), Err(DidError::MissingPrefix));
        assert_eq!(Did::new("did:"), Err(DidError::EmptyMethod));
        assert_eq!(Did::new("did::x"), Err(DidError::EmptyMethod));
        assert_eq!(Did::new("did:plc"), Err(DidError::MissingIdentifier));
        assert_eq!(Did::new("did:plc:"), Err(DidError::EmptyIdentifier));
        assert_eq!(
            Did::new("did:m123:val"),
            Err(DidError::BadMethodChar { at: 5, ch: '1' })
        );
        assert_eq!(
            Did::new("did:method:val?two"),
            Err(DidError::BadChar { at: 14, ch: '?' })
        );
        assert_eq!(
            Did::new("did:method:vé"),
            Err(DidError::BadChar { at: 12, ch: 'é' })
        );
        assert_eq!(
            Did::new("did:method:val:"),
            Err(DidError::BadEnd { at: 14, ch: ':' })
        );
        assert_eq!(
            Did::new("did:method:val%"),
            Err(DidError::BadEnd { at: 14, ch: '%' })
        );
    }

    #[test]
    fn length_limit() {
        let ok = format!("did:plc:{}", "a".repeat(Did::MAX_LEN - 8));
        assert_eq!(ok.len(), Did::MAX_LEN);
        assert!(Did::new(&ok).is_ok());
        let long = format!("{ok}a");
        assert_eq!(
            Did::new(&long),
            Err(DidError::TooLong {
                len: Did::MAX_LEN + 1,
                max: Did::MAX_LEN
            })
        );
    }

    #[test]
    fn accessors() {
        let d = Did::new("did:web:example.com:path").unwrap();
        assert_eq!(d.method(), "web");
        assert_eq!(d.identifier(), "example.com:path");
        assert_eq!(d, "did:web:example.com:path");
    }

    #[test]
    fn messages() {
        assert_eq!(
            DidError::BadChar { at: 3, ch: 'x' }.to_string(),
            "invalid character 'x' at byte 3"
        );
        assert_eq!(
            DidError::TooLong {
                len: 3000,
                max: 2048
            }
            .to_string(),
            "too long: 3000 bytes, at most 2048"
        );
    }
}
