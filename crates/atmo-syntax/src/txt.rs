//! The `did=` DNS TXT rule shared by handle resolution (`_atproto.<handle>`) and lexicon
//! authority resolution (`_lexicon.<authority>`): [`did_from_txt`].
//!
//! The rule, from the handle and lexicon specs and the reference implementation
//! (`@atproto/identity`'s handle resolver and `@atproto/lex-resolver`, which share it):
//!
//! - Each TXT record is one string (its character strings joined, as DNS resolvers give
//!   them). Only strings starting with `did=` (exactly, case-sensitive, nothing before
//!   it) count; every other string is ignored. Strings are not trimmed: the spec's value
//!   is `did=<DID>` and nothing else, and the reference does not trim either, so
//!   `" did=..."` is not a `did=` string and `"did=did:plc:x "` holds an invalid DID.
//! - No `did=` string: there is no answer (`Ok(None)`; a handle then tries HTTPS).
//! - Two `did=` strings with different values: an error, whatever the values (the spec:
//!   "if multiple valid records with different DIDs are present, resolution should
//!   fail"; the reference fails on any second `did=` string). The same value repeated
//!   is one answer, as the spec has it (the reference is stricter here).
//! - The one value must be a valid [`Did`]: a malformed `did=` string is an error, not
//!   skipped (the reference resolves to the malformed value and fails later; it never
//!   falls back to another method).
//! - At most [`MAX_TXT_STRINGS`] strings: a longer answer is an error rather than read
//!   in part, so the verdict never depends on the order the strings came in.

use crate::{Did, DidError};

/// Most TXT strings [`did_from_txt`] accepts at one name. Neither spec nor the reference
/// sets a bound (a DNS message does); 64 is far beyond a dedicated `_atproto` or
/// `_lexicon` name's needs.
pub const MAX_TXT_STRINGS: usize = 64;

/// Why the TXT strings at a name give no DID. Indices are positions in the strings given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxtError {
    /// More than [`MAX_TXT_STRINGS`] strings.
    #[error("{count} TXT strings, at most {max} are read")]
    TooMany {
        /// How many strings there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two `did=` strings with different values.
    #[error("more than one did= TXT string (strings {first} and {second} differ)")]
    Ambiguous {
        /// Index of the first `did=` string.
        first: usize,
        /// Index of the first one with another value.
        second: usize,
    },
    /// The one `did=` value is not a DID.
    #[error("the did= TXT string {index} does not hold a DID: {error}")]
    BadDid {
        /// Index of the string.
        index: usize,
        /// Why it is not a DID.
        error: DidError,
    },
}

/// The DID named by the TXT strings at `_atproto.<handle>` or `_lexicon.<authority>`
/// (the rule is in the [module docs](self)): `Ok(None)` without a `did=` string.
///
/// ```
/// use atmo_syntax::txt::{TxtError, did_from_txt};
/// let did = did_from_txt(&["v=spf1 -all", "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz"])?;
/// assert_eq!(did.map(|d| d.to_string()).as_deref(), Some("did:plc:ewvi7nxzyoun6zhxrhs64oiz"));
/// assert_eq!(did_from_txt(&["v=spf1 -all"])?, None);
/// assert!(matches!(
///     did_from_txt(&["did=did:plc:aaa", "did=did:web:example.com"]),
///     Err(TxtError::Ambiguous { first: 0, second: 1 })
/// ));
/// assert!(matches!(did_from_txt(&["did=nope"]), Err(TxtError::BadDid { index: 0, .. })));
/// # Ok::<(), TxtError>(())
/// ```
///
/// # Errors
/// [`TxtError`]: too many strings, two different `did=` values, or a value that is not a
/// DID.
pub fn did_from_txt<S: AsRef<str>>(records: &[S]) -> Result<Option<Did>, TxtError> {
    if records.len() > MAX_TXT_STRINGS {
        return Err(TxtError::TooMany {
            count: records.len(),
            max: MAX_TXT_STRINGS,
        });
    }
    let mut found: Option<(usize, &str)> = None;
    for (i, r) in records.iter().enumerate() {
        let Some(value) = r.as_ref().strip_prefix("did=") else {
            continue;
        };
        match found {
            Some((first, prev)) if prev != value => {
                return Err(TxtError::Ambiguous { first, second: i });
            }
            Some(_) => {}
            None => found = Some((i, value)),
        }
    }
    match found {
        None => Ok(None),
        Some((index, value)) => Did::new(value)
            .map(Some)
            .map_err(|error| TxtError::BadDid { index, error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    fn did(records: &[&str]) -> Result<Option<String>, TxtError> {
        did_from_txt(records).map(|d| d.map(String::from))
    }

    #[test]
    fn one_did_string_is_the_answer_others_are_ignored() {
        assert_eq!(did(&[]), Ok(None));
        assert_eq!(
            did(&["v=spf1 -all", "DID=did:plc:x", "did:plc:x"]),
            Ok(None)
        );
        let one = format!("did={A}");
        assert_eq!(did(&["v=spf1 -all", &one]), Ok(Some(A.into())));
        // The same value repeated is one answer.
        assert_eq!(did(&[&one, "x", &one]), Ok(Some(A.into())));
    }

    #[test]
    fn different_did_values_are_ambiguous_whatever_they_are() {
        let one = format!("did={A}");
        assert_eq!(
            did(&[&one, "did=did:web:example.com"]),
            Err(TxtError::Ambiguous {
                first: 0,
                second: 1
            })
        );
        // A malformed second value makes it ambiguous too, in either order.
        for records in [[one.as_str(), "did=nope"], ["did=nope", one.as_str()]] {
            assert!(matches!(did(&records), Err(TxtError::Ambiguous { .. })));
        }
        // A value with whitespace differs from the value without.
        assert!(matches!(
            did(&[&one, &format!("{one} ")]),
            Err(TxtError::Ambiguous { .. })
        ));
    }

    #[test]
    fn a_bad_did_is_an_error_not_skipped() {
        for bad in ["did=", "did=nope", "did=did:plc:", "did=did:PLC:abc"] {
            assert!(
                matches!(did(&[bad]), Err(TxtError::BadDid { index: 0, .. })),
                "{bad}"
            );
        }
        let e = did(&["x", "did=nope"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the did= TXT string 1 does not hold a DID: does not start with \"did:\""
        );
    }

    #[test]
    fn strings_are_not_trimmed() {
        let padded = format!("did={A} ");
        assert!(matches!(did(&[&padded]), Err(TxtError::BadDid { .. })));
        let tab = format!("did=\t{A}");
        assert!(matches!(did(&[&tab]), Err(TxtError::BadDid { .. })));
        // Leading whitespace: not a did= string at all.
        assert_eq!(did(&[&format!(" did={A}")]), Ok(None));
    }

    #[test]
    fn more_than_the_cap_is_an_error() {
        let one = format!("did={A}");
        let mut records = vec!["x"; MAX_TXT_STRINGS - 1];
        records.push(&one);
        assert_eq!(did(&records), Ok(Some(A.into())));
        records.push("x");
        assert_eq!(
            did(&records),
            Err(TxtError::TooMany {
                count: MAX_TXT_STRINGS + 1,
                max: MAX_TXT_STRINGS
            })
        );
    }
}
