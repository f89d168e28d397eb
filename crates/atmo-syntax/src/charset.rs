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

/// The offset of the first byte of `bytes` outside `classes`.
#[inline]
pub(crate) fn first_outside(bytes: &[u8], classes: u8) -> Option<usize> {
    bytes.iter().position(|&b| !is(b, classes))
}
