//! atproto keys and signatures.
//!
//! # First: a key, a signature, a did:key
//!
//! ```
//! use atmo_crypto::{Curve, Keypair, PublicKey};
//!
//! let key = Keypair::generate(Curve::K256)?;
//! let sig = key.sign(b"a commit's bytes")?;
//! let did_key = key.public_key().to_did_key(); // "did:key:zQ3s..."
//! let public = PublicKey::from_did_key(&did_key)?;
//! assert!(public.verify(b"a commit's bytes", &sig).is_ok());
//! assert!(public.verify(b"other bytes", &sig).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! atproto signs with ECDSA over two curves: secp256k1 ("k256", JWT `ES256K`) and NIST P-256
//! ("p256", JWT `ES256`). This crate hides the RustCrypto generics behind two small enums:
//!
//! - [`PublicKey`]: parse and format `did:key` and Multikey strings, and [`verify`](PublicKey::verify)
//!   signatures with the atproto rules;
//! - [`Keypair`]: generate keys from OS randomness, import and export private keys (hex and
//!   multibase), and [`sign`](Keypair::sign).
//!
//! The rules, as the atproto cryptography spec states them:
//!
//! - the signed bytes are hashed with SHA-256 first (use the `_prehashed` variants if you
//!   already hold the hash);
//! - a signature is exactly 64 bytes, `r || s` big-endian ("compact"); DER encodings are
//!   rejected, and so is any other length;
//! - `s` must be in the lower half of the curve order ("low-S"). Signing always produces
//!   low-S; [`PublicKey::verify`] rejects high-S on **both** curves. (RustCrypto's k256 already
//!   rejects high-S, its p256 does not: the check here is explicit for both.)
//! - signing is deterministic (RFC 6979): the same key and message give the same signature.
//! - public keys in `did:key` / Multikey form are compressed SEC1 points (33 bytes) behind the
//!   multicodec varint `0xe7` (secp256k1-pub) or `0x1200` (p256-pub), base58btc with the
//!   multibase prefix `z`.
//!
//! ```
//! use atmo_crypto::{Curve, Keypair, PublicKey};
//!
//! # fn main() -> Result<(), atmo_crypto::Error> {
//! let keypair = Keypair::generate(Curve::K256)?;
//! let did_key = keypair.public_key().to_did_key();
//!
//! let signature = keypair.sign(b"hello atproto")?;
//! let public = PublicKey::from_did_key(&did_key)?;
//! public.verify(b"hello atproto", &signature)?;
//! assert!(public.verify(b"another message", &signature).is_err());
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod encoding;
mod error;
mod keypair;
mod public;
#[cfg(feature = "secp256k1")]
mod secp;

pub use crate::error::{Error, KeyError, VerifyError};
pub use crate::keypair::Keypair;
pub use crate::public::PublicKey;

/// The RustCrypto secp256k1 crate whose key types [`PublicKey::K256`] and [`Keypair::K256`]
/// wrap, re-exported so the versions always match.
pub use k256;
/// The RustCrypto P-256 crate whose key types [`PublicKey::P256`] and [`Keypair::P256`]
/// wrap, re-exported so the versions always match.
pub use p256;

use std::fmt;
use std::str::FromStr;

/// Length in bytes of an atproto signature: `r || s`, 32 bytes each.
pub const SIGNATURE_LEN: usize = 64;

/// Length in bytes of a compressed SEC1 public key (`0x02`/`0x03` then `x`).
pub const COMPRESSED_PUBLIC_KEY_LEN: usize = 33;

/// Length in bytes of a private key (a scalar, big-endian).
pub const PRIVATE_KEY_LEN: usize = 32;

/// The `did:key:` prefix.
pub const DID_KEY_PREFIX: &str = "did:key:";

/// One of the two elliptic curves atproto uses.
///
/// Parses from (and displays as) `k256` or `p256`; [`FromStr`] also accepts `secp256k1`,
/// `p-256`, `secp256r1`, `ES256K` and `ES256`, ignoring ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Curve {
    /// secp256k1 ("k256"): JWT algorithm `ES256K`, multicodec `0xe7`.
    K256,
    /// NIST P-256 ("p256", secp256r1, prime256v1): JWT algorithm `ES256`, multicodec `0x1200`.
    P256,
}

impl Curve {
    /// Both curves, secp256k1 first.
    pub const ALL: [Curve; 2] = [Curve::K256, Curve::P256];

    /// The short name: `"k256"` or `"p256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::K256 => "k256",
            Curve::P256 => "p256",
        }
    }

    /// The JWT / JWS `alg` value for signatures on this curve: `"ES256K"` or `"ES256"`.
    pub fn jwt_alg(self) -> &'static str {
        match self {
            Curve::K256 => "ES256K",
            Curve::P256 => "ES256",
        }
    }

    /// The multicodec code of a public key on this curve (`0xe7` or `0x1200`).
    pub fn public_multicodec(self) -> u64 {
        match self {
            Curve::K256 => encoding::SECP256K1_PUB,
            Curve::P256 => encoding::P256_PUB,
        }
    }

    /// The multicodec code of a private key on this curve (`0x1301` or `0x1306`).
    pub fn private_multicodec(self) -> u64 {
        match self {
            Curve::K256 => encoding::SECP256K1_PRIV,
            Curve::P256 => encoding::P256_PRIV,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Curve {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: [&str; 3] = ["k256", "secp256k1", "es256k"];
        const P: [&str; 5] = ["p256", "p-256", "secp256r1", "prime256v1", "es256"];
        if K.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            Ok(Curve::K256)
        } else if P.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            Ok(Curve::P256)
        } else {
            Err(KeyError::UnknownCurve)
        }
    }
}

/// Which implementation checks secp256k1 (k256) signatures in this build:
/// `"libsecp256k1"` with the `secp256k1` feature, else `"rustcrypto"`. Both apply the
/// same rules (64-byte compact, scalars in range, low-S unless lax) and give the same
/// verdicts; libsecp256k1 is faster.
///
/// ```
/// let backend = atmo_crypto::k256_backend();
/// assert!(backend == "libsecp256k1" || backend == "rustcrypto");
/// ```
pub fn k256_backend() -> &'static str {
    match public::Backend::DEFAULT {
        public::Backend::RustCrypto => "rustcrypto",
        #[cfg(feature = "secp256k1")]
        public::Backend::Libsecp256k1 => "libsecp256k1",
    }
}

/// SHA-256 of `msg`: the hash atproto signs.
pub fn sha256(msg: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(msg).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_names() {
        for c in Curve::ALL {
            assert_eq!(c.as_str().parse::<Curve>(), Ok(c));
            assert_eq!(c.jwt_alg().parse::<Curve>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!("SECP256K1".parse::<Curve>(), Ok(Curve::K256));
        assert_eq!("P-256".parse::<Curve>(), Ok(Curve::P256));
        assert_eq!("ed25519".parse::<Curve>(), Err(KeyError::UnknownCurve));
        assert_eq!(Curve::K256.jwt_alg(), "ES256K");
        assert_eq!(Curve::P256.jwt_alg(), "ES256");
    }

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 "abc".
        let h = sha256(b"abc");
        assert_eq!(
            encoding::hex_encode(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
