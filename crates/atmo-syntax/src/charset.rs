//! One 256-entry table of byte classes, so the validators test a byte with one load.

/// `a-z`, `A-Z`, `0-9`.
pub(crate) const ALNUM: u8 = 1;
/// `-`.
pub(crate) const DASH: u8 = 2;
/// `.`.
pub(crate) const DOT: u8 = 4;
/// `_`.
pub(crate) const UNDERSCORE: u8 = 8;
/// `:`.
pub(crate) const COLON: u8 = 16;
/// `%`.
pub(crate) const PERCENT: u8 = 32;
/// `~`.
pub(crate) const TILDE: u8 = 64;
/// `+` and `=`.
pub(crate) const PLUS_EQ: u8 = 128;

/// The characters of a DID's method-specific identifier.
pub(crate) const DID_IDENT: u8 = ALNUM | DOT | UNDERSCORE | COLON | PERCENT | DASH;
/// The characters of a record key.
pub(crate) const RKEY: u8 = ALNUM | DOT | UNDERSCORE | COLON | TILDE | DASH;
/// The characters of a handle or an NSID.
pub(crate) const DOMAIN: u8 = ALNUM | DASH | DOT;
/// The characters of a CID string.
pub(crate) const CID: u8 = ALNUM | PLUS_EQ;

static CLASSES: [u8; 256] = build();

#[allow(clippy::indexing_slicing)] // evaluated at compile time, `i` < 256
const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphanumeric() {
            ALNUM
        } else {
            match b {
                b'-' => DASH,
                b'.' => DOT,
                b'_' => UNDERSCORE,
                b':' => COLON,
                b'%' => PERCENT,
                b'~' => TILDE,
                b'+' | b'=' => PLUS_EQ,
                _ => 0,
            }
        };
        i += 1;
    }
    t
}

/// Whether `b` is in one of the `classes`.
#[inline(always)]
pub(crate) fn is(b: u8, classes: u8) -> bool {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0) & classes != 0
}

/// The class sets the validators test whole strings against, one bit each in [`SETS`].
const SET_LIST: [u8; 4] = [DID_IDENT, RKEY, DOMAIN, CID];

/// For each byte, a bit per set of [`SET_LIST`] (bit `i` for `SET_LIST[i]`) that holds
/// it: the bitwise AND of several bytes' entries keeps the sets that hold them all.
static SETS: [u8; 256] = build_sets();

#[allow(clippy::indexing_slicing)] // evaluated at compile time, `i` < 256, `k` < 4
const fn build_sets() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut k = 0;
        while k < SET_LIST.len() {
            if CLASSES[i] & SET_LIST[k] != 0 {
                t[i] |= 1 << k;
            }
            k += 1;
        }
        i += 1;
    }
    t
}

/// The bit of `classes` in [`SETS`], if it is one of [`SET_LIST`].
#[allow(clippy::indexing_slicing)] // `k` < 4; folded at compile time for a constant
#[inline(always)]
const fn set_bit(classes: u8) -> Option<u8> {
    let mut k = 0;
    while k < SET_LIST.len() {
        if SET_LIST[k] == classes {
            return Some(1 << k);
        }
        k += 1;
    }
    None
}

/// The offset of the first byte of `bytes` outside `classes`.
///
/// For the sets of [`SET_LIST`], eight bytes at a time: their [`SETS`] entries are
/// ANDed (loads and ANDs with no branch between them), and only a block that fails is
/// searched byte by byte.
#[inline(always)]
pub(crate) fn first_outside(bytes: &[u8], classes: u8) -> Option<usize> {
    let Some(bit) = set_bit(classes) else {
        return bytes.iter().position(|&b| !is(b, classes));
    };
    let blocks = bytes.chunks_exact(8);
    let rest = blocks.remainder();
    let mut at = 0;
    for block in blocks {
        let all = block.iter().fold(0xff, |acc, &b| {
            acc & SETS.get(usize::from(b)).copied().unwrap_or(0)
        });
        if all & bit == 0 {
            return block.iter().position(|&b| !is(b, classes)).map(|i| at + i);
        }
        at += 8;
    }
    rest.iter().position(|&b| !is(b, classes)).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_agree_with_the_classes() {
        for (k, &set) in SET_LIST.iter().enumerate() {
            assert_eq!(set_bit(set), Some(1 << k));
            for b in 0..=255u8 {
                assert_eq!(
                    SETS[usize::from(b)] & (1 << k) != 0,
                    is(b, set),
                    "{b} in {set:#x}"
                );
            }
        }
        assert_eq!(set_bit(DOT), None);
    }

    #[test]
    fn first_outside_at_every_offset() {
        for classes in [DID_IDENT, DOT] {
            for len in 0..40 {
                let clean = vec![b'.'; len];
                assert_eq!(first_outside(&clean, classes), None);
                for at in 0..len {
                    let mut v = clean.clone();
                    v[at] = b'/';
                    assert_eq!(first_outside(&v, classes), Some(at), "len {len}");
                    v[len - 1] = b'?';
                    assert_eq!(first_outside(&v, classes), Some(at), "len {len}");
                }
            }
        }
    }
}
