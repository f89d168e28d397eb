//! RFC 4648 base32, lower case, no padding (the multibase `b` alphabet).

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Maps an ASCII byte to its 5-bit value, or 0xff if it is not in the alphabet.
#[allow(clippy::indexing_slicing)] // const evaluation: i < 32, and u8 indexes 256 entries
const DECODE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 32 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The symbol for the low five bits of `v`.
#[inline]
fn sym(v: u64) -> char {
    char::from(ALPHABET.get((v & 31) as usize).copied().unwrap_or(b'a'))
}

/// Appends the base32 form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(5) * 8);
    let mut buf: u64 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        buf = (buf << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(sym(buf >> bits));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(sym(buf << (5 - bits)));
    }
}

/// Decodes lower-case unpadded base32. Returns the position of the first bad
/// character on failure, or `s.len()` if the trailing bits are not zero or the
/// length is impossible.
pub(crate) fn decode(s: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut buf: u32 = 0;
    let mut bits: u32 = 0;
    for (i, &c) in s.iter().enumerate() {
        let v = DECODE.get(usize::from(c)).copied().unwrap_or(0xff);
        if v == 0xff {
            return Err(i);
        }
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be fewer than 5 (else a whole character was wasted) and zero.
    if bits >= 5 || buf != 0 {
        return Err(s.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "my"),
            (b"fo", "mzxq"),
            (b"foo", "mzxw6"),
            (b"foob", "mzxw6yq"),
            (b"fooba", "mzxw6ytb"),
            (b"foobar", "mzxw6ytboi"),
        ];
        for (raw, enc) in cases {
            let mut s = String::new();
            encode_into(raw, &mut s);
            assert_eq!(s, enc);
            assert_eq!(decode(enc.as_bytes()).unwrap(), raw);
        }
    }

    #[test]
    fn rejects_bad_chars_and_trailing_bits() {
        assert_eq!(decode(b"mZ"), Err(1));
        assert_eq!(decode(b"mz"), Err(2)); // 'z' leaves non-zero trailing bits
        assert_eq!(decode(b"m"), Err(1)); // 5 bits cannot be a byte
    }
}
