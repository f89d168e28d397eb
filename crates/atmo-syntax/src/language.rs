//! BCP 47 language tags.

use crate::macros::{char_at, order_by_str, string_type_impls, validated_string};

/// A well-formed BCP 47 language tag, such as `en`, `pt-BR` or `de-CH-1901`.
///
/// Two levels, as in the reference implementation (`@atproto/syntax`'s `isValidLanguage`
/// and `parseLanguageString`):
///
/// - [`Language::new`] (also `FromStr`, `TryFrom` and serde): the RFC 5646 §2.1 grammar
///   (language with up to three extended languages, script, region, variants,
///   extensions, private use; private-use-only tags like `x-foo`; the grandfathered
///   tags). Subtags are case-insensitive (RFC 5646 §2.1.1) and the primary language
///   subtag may have 2-3, 4 (reserved) or 5-8 (registered) letters, so `JA` and `jaja`
///   are well-formed. This is the lexicon `language` format: the lexicon spec asks for a
///   "well-formed" BCP 47 tag, and it is what the reference's record validator
///   (`@atproto/lexicon`) accepts, so a record the reference stores is never refused
///   here.
/// - [`Language::new_strict`]: additionally the primary language subtag is 2 or 3
///   lower-case letters (RFC 5646 recommends lower case; the interop suite rejects `JA`
///   and `jaja`), and no variant or extension singleton appears twice (RFC 5646 §2.2.9
///   validity, compared case-insensitively). Use it for tags you write.
///
/// At most 256 bytes. The tag is kept exactly as given; no case folding is applied.
///
/// ```
/// use atmo_syntax::Language;
///
/// let lang = Language::new("pt-BR")?;
/// assert_eq!(lang.primary(), "pt");
/// assert!(Language::new("x-private").is_ok());
/// assert!(Language::new("EN-gb").is_ok());
/// assert!(Language::new_strict("EN-gb").is_err());
/// assert!(Language::new_strict("de-DE-1901-1901").is_err());
/// # Ok::<(), atmo_syntax::LanguageError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Language(crate::text::Text);

/// Why a string is not a valid [`Language`] tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LanguageError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`Language::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character other than an ASCII letter, digit or `-`.
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// An empty subtag (leading, trailing or doubled `-`).
    #[error("empty subtag at byte {at}")]
    EmptySubtag {
        /// Byte offset where the subtag should start.
        at: usize,
    },
    /// The primary language subtag is not 2-8 letters, or (strict check) not 2 or 3
    /// lower-case letters.
    #[error("primary language subtag must be 2 or 3 lower-case letters")]
    BadPrimary,
    /// A subtag that does not fit the grammar at its position.
    #[error("unexpected subtag at byte {at}")]
    BadSubtag {
        /// Byte offset of the subtag.
        at: usize,
    },
    /// A singleton (`x`, or an extension letter) without a following subtag.
    #[error("singleton at byte {at} needs a following subtag")]
    EmptyExtension {
        /// Byte offset of the singleton.
        at: usize,
    },
    /// A variant subtag appears twice.
    #[error("duplicate variant subtag at byte {at}")]
    DuplicateVariant {
        /// Byte offset of the second occurrence.
        at: usize,
    },
    /// An extension singleton appears twice.
    #[error("duplicate extension singleton at byte {at}")]
    DuplicateSingleton {
        /// Byte offset of the second occurrence.
        at: usize,
    },
}

/// The grandfathered tags of RFC 5646 (irregular and regular).
const GRANDFATHERED: [&str; 26] = [
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

impl Language {
    /// Maximum length of a language tag in bytes.
    pub const MAX_LEN: usize = 256;

    /// The first subtag: the primary language (`pt` in `pt-BR`), `x` for a private-use
    /// tag, or `i` for some grandfathered tags.
    #[must_use]
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }

    /// Parses a language tag with the strict check (see the type's docs): a lower-case
    /// primary subtag of 2 or 3 letters and no repeated variant or extension singleton.
    ///
    /// # Errors
    ///
    /// Returns a [`LanguageError`] saying what is wrong and where.
    pub fn new_strict(s: &str) -> Result<Self, LanguageError> {
        if !common_shape(s.as_bytes()) {
            validate_full(s, true)?;
        }
        Ok(Self(crate::text::Text::new(s)))
    }

    /// Whether this tag also passes [`Language::new_strict`].
    #[must_use]
    pub fn is_strict(&self) -> bool {
        common_shape(self.0.as_bytes()) || validate_full(&self.0, true).is_ok()
    }
}

fn is_alpha(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_alphabetic)
}

fn is_digit(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

fn is_variant(t: &[u8]) -> bool {
    (5..=8).contains(&t.len()) || (t.len() == 4 && t.first().is_some_and(u8::is_ascii_digit))
}

fn is_private_singleton(t: &[u8]) -> bool {
    matches!(t, b"x" | b"X")
}

fn validate(s: &str) -> Result<(), LanguageError> {
    if common_shape(s.as_bytes()) {
        return Ok(());
    }
    validate_full(s, false)
}

/// The usual tags, valid without the full walk: a primary subtag of 2 or 3 lower-case
/// letters, then at most one subtag that is a script (4 letters) or a region (2 letters
/// or 3 digits).
#[inline]
fn common_shape(b: &[u8]) -> bool {
    let (primary, rest) = match b.iter().position(|&c| c == b'-') {
        Some(i) => (b.get(..i).unwrap_or_default(), b.get(i + 1..)),
        None => (b, None),
    };
    if !(2..=3).contains(&primary.len()) || !primary.iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    match rest {
        None => true,
        Some(t) => match t.len() {
            2 | 4 => is_alpha(t),
            3 => is_digit(t),
            _ => false,
        },
    }
}

/// The full grammar walk; `strict` adds the lower-case 2-3 letter primary subtag and the
/// no-duplicates rules.
fn validate_full(s: &str, strict: bool) -> Result<(), LanguageError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(LanguageError::Empty);
    }
    if bytes.len() > Language::MAX_LEN {
        return Err(LanguageError::TooLong {
            len: bytes.len(),
            max: Language::MAX_LEN,
        });
    }
    if let Some(at) = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(LanguageError::BadChar {
            at,
            ch: char_at(s, at),
        });
    }
    // Subtags with their byte offsets; none may be empty.
    let subtags = || {
        let mut at = 0;
        bytes.split(|&b| b == b'-').map(move |t| {
            let start = at;
            at += t.len() + 1;
            (start, t)
        })
    };
    if let Some((at, _)) = subtags().find(|(_, t)| t.is_empty()) {
        return Err(LanguageError::EmptySubtag { at });
    }
    let mut tags = subtags().peekable();

    let Some((_, primary)) = tags.next() else {
        return Err(LanguageError::Empty);
    };
    if is_private_singleton(primary) {
        return private_use(0, tags);
    }
    if !is_alpha(primary) || (strict && !primary.iter().all(u8::is_ascii_lowercase)) {
        return Err(LanguageError::BadPrimary);
    }
    // The grandfathered tags are 5 to 11 bytes long.
    if (5..=11).contains(&s.len()) && GRANDFATHERED.iter().any(|g| g.eq_ignore_ascii_case(s)) {
        return Ok(());
    }
    let primary_ok = if strict {
        (2..=3).contains(&primary.len())
    } else {
        (2..=8).contains(&primary.len())
    };
    if !primary_ok {
        return Err(LanguageError::BadPrimary);
    }

    // Up to three extended language subtags (only after a 2-3 letter primary subtag).
    for _ in 0..3 {
        if primary.len() > 3 || tags.next_if(|(_, t)| t.len() == 3 && is_alpha(t)).is_none() {
            break;
        }
    }
    // Script.
    let _ = tags.next_if(|(_, t)| t.len() == 4 && is_alpha(t));
    // Region.
    let _ = tags.next_if(|(_, t)| (t.len() == 2 && is_alpha(t)) || (t.len() == 3 && is_digit(t)));
    // Variants, each at most once (compared with the variants before it).
    let mut variants_start = None;
    while let Some((at, t)) = tags.next_if(|(_, t)| is_variant(t)) {
        let start = *variants_start.get_or_insert(at);
        let before = bytes.get(start..at.saturating_sub(1)).unwrap_or_default();
        if strict
            && at > start
            && before
                .split(|&b| b == b'-')
                .any(|v| v.eq_ignore_ascii_case(t))
        {
            return Err(LanguageError::DuplicateVariant { at });
        }
    }
    // Extensions: a singleton, then one or more subtags of 2-8 characters; each singleton
    // at most once.
    let mut singletons = [false; 36];
    while let Some((at, t)) = tags.next_if(|(_, t)| t.len() == 1 && !is_private_singleton(t)) {
        let idx = match t.first().map(u8::to_ascii_lowercase) {
            Some(d @ b'0'..=b'9') => usize::from(d - b'0'),
            Some(l) => usize::from(l.saturating_sub(b'a')) + 10,
            None => return Err(LanguageError::BadSubtag { at }),
        };
        match singletons.get_mut(idx) {
            Some(true) if strict => return Err(LanguageError::DuplicateSingleton { at }),
            Some(seen) => *seen = true,
            None => return Err(LanguageError::BadSubtag { at }),
        }
        let mut count = 0;
        while tags.next_if(|(_, t)| (2..=8).contains(&t.len())).is_some() {
            count += 1;
        }
        if count == 0 {
            return Err(LanguageError::EmptyExtension { at });
        }
    }
    // Private use.
    match tags.next() {
        Some((at, t)) if is_private_singleton(t) => private_use(at, tags),
        Some((at, _)) => Err(LanguageError::BadSubtag { at }),
        None => Ok(()),
    }
}

/// Checks the subtags after an `x` singleton at `at`: one or more of 1-8 characters.
fn private_use<'a>(
    at: usize,
    mut rest: impl Iterator<Item = (usize, &'a [u8])>,
) -> Result<(), LanguageError> {
    let mut count = 0;
    for (sub_at, t) in rest.by_ref() {
        if t.len() > 8 {
            return Err(LanguageError::BadSubtag { at: sub_at });
        }
        count += 1;
    }
    if count == 0 {
        return Err(LanguageError::EmptyExtension { at });
    }
    Ok(())
}

string_type_impls!(Language, LanguageError, "a BCP 47 language tag");
validated_string!(Language, LanguageError, "language tag");
order_by_str!(Language);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes_are_valid() {
        for t in [
            "en", "pt", "ast", "pt-BR", "en-us", "zh-Hant", "es-419", "sr-Latn",
        ] {
            assert!(common_shape(t.as_bytes()), "{t}");
            assert_eq!(validate_full(t, true), Ok(()), "{t}");
        }
        for t in [
            "EN",
            "e",
            "engl",
            "en-",
            "en-x",
            "en-12",
            "x-a",
            "en-US-x",
            "i-ami",
            "en-GB-oed",
        ] {
            assert!(!common_shape(t.as_bytes()), "{t}");
        }
    }

    #[test]
    fn errors_and_positions() {
        use LanguageError as E;
        assert_eq!(Language::new_strict(""), Err(E::Empty));
        assert_eq!(
            Language::new_strict("."),
            Err(E::BadChar { at: 0, ch: '.' })
        );
        assert_eq!(Language::new_strict("ja-"), Err(E::EmptySubtag { at: 3 }));
        assert_eq!(Language::new_strict("-ja"), Err(E::EmptySubtag { at: 0 }));
        assert_eq!(Language::new_strict("JA"), Err(E::BadPrimary));
        assert_eq!(Language::new_strict("jaja"), Err(E::BadPrimary));
        assert_eq!(Language::new_strict("j"), Err(E::BadPrimary));
        assert_eq!(Language::new_strict("123"), Err(E::BadPrimary));
        assert_eq!(
            Language::new_strict("i-bad-grandfathered"),
            Err(E::BadPrimary)
        );
        assert_eq!(
            Language::new_strict("de-419-DE"),
            Err(E::BadSubtag { at: 7 })
        );
        assert_eq!(Language::new_strict("x"), Err(E::EmptyExtension { at: 0 }));
        assert_eq!(
            Language::new_strict("en-x"),
            Err(E::EmptyExtension { at: 3 })
        );
        assert_eq!(
            Language::new_strict("en-a-x-b"),
            Err(E::EmptyExtension { at: 3 })
        );
        assert_eq!(
            Language::new_strict("x-abcdefghi"),
            Err(E::BadSubtag { at: 2 })
        );
        assert_eq!(
            Language::new_strict("de-DE-1901-1901"),
            Err(E::DuplicateVariant { at: 11 })
        );
        assert_eq!(
            Language::new_strict("en-rozaj-ROZAJ"),
            Err(E::DuplicateVariant { at: 9 })
        );
        assert_eq!(
            Language::new_strict("en-a-foo-a-bar"),
            Err(E::DuplicateSingleton { at: 9 })
        );
        assert_eq!(
            Language::new_strict("en-u-co-phonebk-U-ca-buddhist"),
            Err(E::DuplicateSingleton { at: 16 })
        );
    }

    #[test]
    fn well_formed_is_what_records_may_hold() {
        // Accepted by `new` (the lexicon format, as the reference's record validator) but
        // not by `new_strict`.
        for t in [
            "JA",
            "Ja-de",
            "jaja",
            "abcde",
            "abcdefgh-DE",
            "EN-GB",
            "de-DE-1901-1901",
            "en-rozaj-ROZAJ",
            "en-a-foo-a-bar",
            "I-DEFAULT",
        ] {
            let l = Language::new(t).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert!(!l.is_strict() || t == "I-DEFAULT", "{t}");
            assert!(Language::new_strict(t).is_err() || t == "I-DEFAULT", "{t}");
        }
        // Not well-formed at all.
        use LanguageError as E;
        assert_eq!(Language::new("abcdefghi"), Err(E::BadPrimary));
        assert_eq!(Language::new("j"), Err(E::BadPrimary));
        assert_eq!(Language::new("j1"), Err(E::BadPrimary));
        assert_eq!(Language::new("jaja-abc"), Err(E::BadSubtag { at: 5 }));
        assert_eq!(Language::new("ja-"), Err(E::EmptySubtag { at: 3 }));
        assert!(Language::new("pt-BR").unwrap().is_strict());
    }

    #[test]
    fn grammar() {
        for ok in [
            "zh-yue",
            "zh-yue-abc-def",
            "zh-Hant-TW",
            "sr-Latn-RS",
            "es-419",
            "en-US-u-ca-gregory",
            "en-a-bb-b-cc",
            "sl-rozaj-biske-1994",
            "en-GB-oed",
            "i-klingon",
            "zh-min-nan",
            "art-lojban",
            "en-x-a-x-b",
            "de-X-foo",
            "hy-Latn-IT-arevela",
            "x-a-12345678",
        ] {
            assert!(Language::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(Language::new("pt-BR").unwrap().primary(), "pt");
    }

    #[test]
    fn length_limit() {
        let ok = format!("x{}-ab", "-abcdefgh".repeat(28));
        assert_eq!(ok.len(), Language::MAX_LEN);
        assert!(Language::new(&ok).is_ok());
        let long = format!("{ok}c");
        assert_eq!(
            Language::new(&long),
            Err(LanguageError::TooLong { len: 257, max: 256 })
        );
    }
}
