//! UTF-8 validation for text strings: the standard library's check for short strings
//! (where its per-call cost is lowest), SIMD (`simdutf8`) for longer ones.

/// Strings shorter than this go to the standard library's check (`simdutf8` does the
/// same below one 64-byte SIMD block, but only after a dispatch through a function
/// pointer).
pub(crate) const SIMD_MIN: usize = 64;

/// The bytes as a `&str`, if they are UTF-8.
#[inline]
pub(crate) fn str(b: &[u8]) -> Option<&str> {
    if b.len() < SIMD_MIN {
        std::str::from_utf8(b).ok()
    } else {
        simdutf8::basic::from_utf8(b).ok()
    }
}

/// Lengths checked in a padded block ([`in_block`]): below, the standard library's check
/// is cheaper; from [`SIMD_MIN`] on, `simdutf8` checks the bytes where they are.
pub(crate) const BLOCK_LENS: std::ops::Range<usize> = 16..SIMD_MIN;

/// The bytes, copied into `block` (a 64-byte block padded with ASCII spaces) and checked
/// there with SIMD, as a `&str` of the copy, if they are UTF-8 (and fit: callers pick the
/// [`BLOCK_LENS`]). Padding cannot complete a cut multi-byte sequence, so the block is
/// UTF-8 exactly when the string is; the string's end must then fall on a character
/// boundary.
#[inline]
pub(crate) fn in_block<'b>(b: &[u8], block: &'b mut [u8; SIMD_MIN]) -> Option<&'b str> {
    block.get_mut(..b.len())?.copy_from_slice(b);
    let s = simdutf8::basic::from_utf8(&block[..]).ok()?;
    s.get(..b.len())
}

/// The bytes as a `&str` handed to `f` (which copies what it keeps), if they are UTF-8.
/// Strings of the [`BLOCK_LENS`] are checked in a padded block ([`in_block`]), and `f`
/// sees the copy there.
#[inline]
pub(crate) fn copied<T>(b: &[u8], f: impl FnOnce(&str) -> T) -> Option<T> {
    if !BLOCK_LENS.contains(&b.len()) {
        return str(b).map(f);
    }
    let mut block = [b' '; SIMD_MIN];
    in_block(b, &mut block).map(f)
}

/// An owned copy of the bytes, if they are UTF-8 (see [`copied`]).
#[inline]
pub(crate) fn string(b: &[u8]) -> Option<crate::Str> {
    copied(b, crate::Str::new)
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
            if c.len() <= super::SIMD_MIN {
                let mut block = [b' '; super::SIMD_MIN];
                assert_eq!(
                    super::in_block(c, &mut block),
                    std::str::from_utf8(c).ok(),
                    "{c:?}"
                );
            }
        }
    }
}
