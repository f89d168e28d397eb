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

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_std() {
        let long_ok = "naïve café 🦋 ".repeat(10);
        let mut long_bad = long_ok.clone().into_bytes();
        long_bad[70] = 0xff;
        let cases: [&[u8]; 6] = [
            b"",
            b"ascii",
            "straße".as_bytes(),
            b"\xc3",
            long_ok.as_bytes(),
            &long_bad,
        ];
        for c in cases {
            assert_eq!(super::str(c), std::str::from_utf8(c).ok(), "{c:?}");
        }
    }
}
