//! Errors: [`Error`] wraps the precise [`KeyError`] and [`VerifyError`].

use crate::Curve;

/// Any error from this crate.
///
/// Parsing functions return [`KeyError`], verification returns [`VerifyError`]; both convert
/// into this type with `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key string or key bytes were invalid.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A signature did not verify, or is not acceptable in atproto.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {reason}")]
    Randomness {
        /// What the operating system reported.
        reason: String,
    },
    /// Signing failed. With a valid key and a 32-byte hash this happens with negligible
    /// probability (an RFC 6979 nonce giving `r = 0` or `s = 0`).
    #[error("ECDSA signing failed on {curve}")]
    Sign {
        /// The curve of the signing key.
        curve: Curve,
    },
}

/// Why a key (a `did:key`, Multikey, multibase or hex string, or raw key bytes) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A `did:key` did not start with `did:key:`.
    #[error("not a did:key (it must start with \"did:key:\")")]
    NotDidKey,
    /// A multibase string did not start with `z` (base58btc), the only base atproto uses.
    #[error("multibase prefix must be 'z' (base58btc), found {found:?}")]
    NotBase58btc {
        /// The first character, if any.
        found: Option<char>,
    },
    /// The string is longer than any key encoding can be.
    #[error("key string is {len} bytes long, more than the limit of {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },
    /// A character that is not in the base58btc alphabet.
    #[error("invalid base58btc character {ch:?} at byte {at}")]
    Base58 {
        /// The offending character (`'\u{fffd}'` if not reported).
        ch: char,
        /// Byte offset in the input string (counting any prefix).
        at: usize,
    },
    /// The decoded bytes do not start with a multicodec varint: they are empty, the
    /// varint is cut off, longer than 9 bytes, or not minimally encoded.
    #[error(
        "no multicodec prefix: the {len} decoded bytes do not start with a complete, minimal varint"
    )]
    BadMulticodecVarint {
        /// How many bytes the multibase string decoded to.
        len: usize,
    },
    /// The decoded bytes start with an unknown or unsupported multicodec.
    #[error(
        "unsupported multicodec prefix {code:#x} (expected 0xe7 secp256k1-pub or 0x1200 p256-pub)"
    )]
    UnsupportedPublicCodec {
        /// The code read from the leading varint.
        code: u64,
    },
    /// The decoded bytes start with an unknown or unsupported private-key multicodec.
    #[error(
        "unsupported multicodec prefix {code:#x} (expected 0x1301 secp256k1-priv or 0x1306 p256-priv)"
    )]
    UnsupportedPrivateCodec {
        /// The code read from the leading varint.
        code: u64,
    },
    /// An uncompressed point (65 bytes, `0x04` prefix) where atproto requires a compressed one.
    #[error(
        "{curve} public key is uncompressed (65 bytes); did:key and Multikey use 33-byte compressed points"
    )]
    Uncompressed {
        /// The curve named by the multicodec.
        curve: Curve,
    },
    /// The public key bytes have the wrong length.
    #[error("{curve} public key is {len} bytes, expected {expected}")]
    PublicKeyLength {
        /// The curve.
        curve: Curve,
        /// The length found.
        len: usize,
        /// The length expected.
        expected: usize,
    },
    /// The bytes have the right length but are not a point on the curve.
    #[error("not a valid {curve} public key (the point is not on the curve)")]
    InvalidPoint {
        /// The curve.
        curve: Curve,
    },
    /// The private key has the wrong length.
    #[error("{curve} private key is {len} bytes, expected 32")]
    PrivateKeyLength {
        /// The curve.
        curve: Curve,
        /// The length found.
        len: usize,
    },
    /// The private key is zero or not below the curve order.
    #[error("not a valid {curve} private key (zero, or not below the curve order)")]
    InvalidScalar {
        /// The curve.
        curve: Curve,
    },
    /// A character that is not a hexadecimal digit.
    #[error("invalid hex character {ch:?} at byte {at}")]
    Hex {
        /// The offending character.
        ch: char,
        /// Byte offset in the input.
        at: usize,
    },
    /// A hex string with an odd number of digits.
    #[error("hex string has an odd number of digits ({len})")]
    HexOddLength {
        /// Number of characters.
        len: usize,
    },
    /// A curve name that is neither k256 nor p256.
    #[error("unknown curve (expected k256/secp256k1 or p256/P-256)")]
    UnknownCurve,
}

/// Why a signature was rejected by [`PublicKey::verify`](crate::PublicKey::verify).
///
/// Every variant means "invalid"; the variants say why, so a tool can print the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature is DER-encoded (ASN.1 `SEQUENCE { r, s }`); atproto requires the
    /// 64-byte compact form.
    #[error("signature is DER-encoded ({len} bytes); atproto requires 64-byte compact r||s")]
    Der {
        /// Length of the signature in bytes.
        len: usize,
    },
    /// The signature is not 64 bytes long.
    #[error("signature is {len} bytes, expected 64 (compact r||s)")]
    BadLength {
        /// Length of the signature in bytes.
        len: usize,
    },
    /// `r` or `s` is zero or not below the curve order.
    #[error("signature scalar r or s is zero or not below the curve order")]
    ScalarOutOfRange,
    /// `s` is in the upper half of the curve order (a malleable "high-S" signature), which
    /// atproto forbids on both curves.
    #[error("signature has a high S value (not low-S normalised), which atproto rejects")]
    HighS,
    /// The signature is well-formed but does not match this key and message.
    #[error("signature does not match the key and message")]
    Invalid,
}
