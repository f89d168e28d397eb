//! Generic URIs (the Lexicon `uri` string format).

use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A URI in the sense of the Lexicon `uri` format, such as `https://example.com/path`
/// or `dns:example.com`.
///
/// Syntax: an RFC 3986 scheme (an ASCII letter, then letters, digits, `+`, `-` or `.`),
/// `:`, then one or more characters that are neither whitespace nor control characters
/// (nor U+FEFF); at most 8 KiB. Non-ASCII characters are allowed after the scheme, as in
/// an IRI (RFC 3987): records hold links such as `https://ja.wikipedia.org/wiki/日本`,
/// and the reference implementation's record validator accepts them. The rest of
/// RFC 3986 is not enforced, as the Lexicon format is deliberately flexible.
///
/// ```
/// use atmo_syntax::Uri;
///
/// let uri = Uri::new("https://example.com/path?q=1")?;
/// assert_eq!(uri.scheme(), "https");
/// assert!(Uri::new("example.com").is_err());
/// # Ok::<(), atmo_syntax::UriError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Uri(crate::text::Text);

/// Why a string is not a valid [`Uri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// Longer than [`Uri::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No `scheme:` prefix.
    #[error("missing scheme")]
    MissingScheme,
    /// A character that can not appear in a scheme.
    #[error("invalid character {ch:?} in scheme at byte {at}")]
    BadSchemeChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// Nothing after `scheme:`.
    #[error("nothing after the scheme")]
    EmptyAfterScheme,
    /// Whitespace, a control character or a non-ASCII character.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
}

impl Uri {
    /// Maximum length in bytes (8 KiB).
    pub const MAX_LEN: usize = 8192;

    /// The scheme, as written (e.g. `https`).
    #[must_use]
    pub fn scheme(&self) -> &str {
        self.0.split_once(':').map(|(s, _)| s).unwrap_or_default()
    }
}

fn validate(s: &str) -> Result<(), UriError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(UriError::Empty);
    }
    if bytes.len() > Uri::MAX_LEN {
        return Err(UriError::TooLong {
            len: bytes.len(),
            max: Uri::MAX_LEN,
        });
    }
    let mut colon = None;
    for (at, &b) in bytes.iter().enumerate() {
        let ok = if at == 0 {
            b.is_ascii_alphabetic()
        } else if b == b':' {
            colon = Some(at);
            break;
        } else {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
        };
        if !ok {
            return Err(UriError::BadSchemeChar {
                at,
                ch: char_at(s, at),
            });
        }
    }
    let colon = colon.ok_or(UriError::MissingScheme)?;
    let rest_start = colon + 1;
    let rest = bytes.get(rest_start..).unwrap_or_default();
    if rest.is_empty() {
        return Err(UriError::EmptyAfterScheme);
    }
    let tail = s.get(rest_start..).unwrap_or_default();
    let bad = |c: char| {
        if c.is_ascii() {
            !c.is_ascii_graphic()
        } else {
            c.is_whitespace() || c.is_control() || c == '\u{feff}'
        }
    };
    if let Some((off, ch)) = tail.char_indices().find(|&(_, c)| bad(c)) {
        return Err(UriError::BadChar {
            at: rest_start + off,
            ch,
        });
    }
    Ok(())
}

string_type_impls!(Uri, UriError, "a URI string");
validated_string!(Uri, UriError, "URI");
order_by_str!(Uri);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_positions() {
        assert_eq!(Uri::new(""), Err(UriError::Empty));
        assert_eq!(Uri::new("example"), Err(UriError::MissingScheme));
        assert_eq!(
            Uri::new("example.com/x"),
            Err(UriError::BadSchemeChar { at: 11, ch: '/' })
        );
        assert_eq!(
            Uri::new("12345"),
            Err(UriError::BadSchemeChar { at: 0, ch: '1' })
        );
        assert_eq!(
            Uri::new("//example.com"),
            Err(UriError::BadSchemeChar { at: 0, ch: '/' })
        );
        assert_eq!(Uri::new("https:"), Err(UriError::EmptyAfterScheme));
        assert_eq!(
            Uri::new("https://example.com/path gap"),
            Err(UriError::BadChar { at: 24, ch: ' ' })
        );
        assert_eq!(
            Uri::new("https://example.com/\u{a0}x"),
            Err(UriError::BadChar {
                at: 20,
                ch: '\u{a0}'
            })
        );
        assert_eq!(
            Uri::new("https://example.com/\u{85}"),
            Err(UriError::BadChar {
                at: 20,
                ch: '\u{85}'
            })
        );
        // Non-ASCII characters after the scheme (an IRI) are allowed.
        assert!(Uri::new("https://ja.wikipedia.org/wiki/日本").is_ok());
        assert!(Uri::new("https://exämple.com").is_ok());
    }

    #[test]
    fn length_limit() {
        let prefix = "https://example.com/";
        let ok = format!("{prefix}{}", "x".repeat(Uri::MAX_LEN - prefix.len()));
        assert!(Uri::new(&ok).is_ok());
        let long = format!("{ok}x");
        assert_eq!(
            Uri::new(&long),
            Err(UriError::TooLong {
                len: 8193,
                max: 8192
            })
        );
    }

    #[test]
    fn scheme() {
        assert_eq!(
            Uri::new("microsoft.windows.camera:thing").unwrap().scheme(),
            "microsoft.windows.camera"
        );
    }
}
