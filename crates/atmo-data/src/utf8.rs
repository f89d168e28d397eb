//! UTF-8 validation for text strings: the standard library's check for short strings
//! (where its per-call cost is lowest), SIMD (`simdutf8`) for longer ones.

/// Strings shorter than this go to the standard library's check (`simdutf8` does the
/// same below one 64-byte SIMD block, but only after a dispatch through a function
/// pointer).
const SIMD_MIN: usize = 64;

/// The bytes as a `&str`, if they are UTF-8.
#[inline]
pub(crate) fn str(b: &[u8]) -> Option<&str> {
    if b.len() < SIMD_MIN {
        std::str::from_utf8(b).ok()
    } else {
        simdutf8::basic::from_utf8(b).ok()
    }
}

/// `f` of the bytes as a `&str` (of a copy for short strings), if they are UTF-8. Short
/// strings are checked with SIMD in a padded block, as in [`string`].
#[inline]
pub(crate) fn with_str<T>(b: &[u8], f: impl FnOnce(&str) -> T) -> Option<T> {
    if b.len() < PAD || b.len() >= SIMD_MIN {
        return str(b).map(f);
    }
    let mut block = [b' '; SIMD_MIN];
    block.get_mut(..b.len())?.copy_from_slice(b);
    let s = simdutf8::basic::from_utf8(&block).ok()?;
    s.get(..b.len()).map(f)
}

/// Below this length the standard library's check is cheaper than a padded SIMD block.
const PAD: usize = 16;

/// An owned copy of the bytes, if they are UTF-8. Short strings are checked with SIMD too:
/// copied into a 64-byte block padded with ASCII spaces (padding cannot complete a cut
/// multi-byte sequence, so the block is UTF-8 exactly when the string is), then cut back
/// at the string's length, which must fall on a character boundary.
#[inline]
pub(crate) fn string(b: &[u8]) -> Option<crate::Str> {
    if b.len() < PAD || b.len() >= SIMD_MIN {
        return str(b).map(crate::Str::new);
    }
    let mut block = [b' '; SIMD_MIN];
    block.get_mut(..b.len())?.copy_from_slice(b);
    let s = simdutf8::basic::from_utf8(&block).ok()?;
    s.get(..b.len()).map(crate::Str::new)
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_std() {
        let long_ok = "naïve café 🦋 ".repeat(10);
        let mut long_bad = long_ok.clone().into_bytes();
        long_bad[70] = 0xff;
        let cases: [&[u8]; 10] = [
            b"",
            b"ascii",
            b"2024-01-01T00:11:39.496Z",
            "naïve café 🦋 straße".as_bytes(),
            b"cut in the middle \xf0\x9f\xa6",
            b"lone continuation \x80 byte",
            "straße".as_bytes(),
            b"\xc3",
            long_ok.as_bytes(),
            &long_bad,
        ];
        for c in cases {
            assert_eq!(super::str(c), std::str::from_utf8(c).ok(), "{c:?}");
            assert_eq!(
                super::string(c).as_deref(),
                std::str::from_utf8(c).ok(),
                "{c:?}"
            );
            assert_eq!(
                super::with_str(c, str::to_owned).as_deref(),
                std::str::from_utf8(c).ok(),
                "{c:?}"
            );
        }
    }
}
