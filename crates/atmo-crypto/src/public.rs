//! [`PublicKey`]: did:key / Multikey encoding and atproto signature verification.

use std::fmt;
use std::str::FromStr;

use k256::elliptic_curve::scalar::IsHigh;
use sha2::Digest;

use crate::encoding::{self, P256_PUB, SECP256K1_PUB};
use crate::{
    COMPRESSED_PUBLIC_KEY_LEN, Curve, DID_KEY_PREFIX, KeyError, SIGNATURE_LEN, VerifyError,
};

/// A public key on one of the two atproto curves.
///
/// Parse one with [`from_did_key`](Self::from_did_key) or [`from_multikey`](Self::from_multikey),
/// check signatures with [`verify`](Self::verify). [`Display`](fmt::Display) and
/// [`FromStr`] use the `did:key` form.
///
/// ```
/// use atmo_crypto::{Curve, PublicKey};
///
/// # fn main() -> Result<(), atmo_crypto::KeyError> {
/// let key: PublicKey = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme".parse()?;
/// assert_eq!(key.curve(), Curve::K256);
/// assert_eq!(key.jwt_alg(), "ES256K");
/// assert_eq!(key.to_multikey(), "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PublicKey {
    /// A secp256k1 key.
    K256(k256::ecdsa::VerifyingKey),
    /// A NIST P-256 key.
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Parses a `did:key:z...` string holding a secp256k1 or P-256 key.
    ///
    /// The key must be a 33-byte compressed point behind the multicodec varint `0xe7` or
    /// `0x1200`, as the atproto spec requires.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotDidKey`] without the `did:key:` prefix, otherwise as
    /// [`from_multikey`](Self::from_multikey) (with offsets counted from the start of the DID).
    pub fn from_did_key(did: &str) -> Result<Self, KeyError> {
        let multikey = did
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or(KeyError::NotDidKey)?;
        Self::parse_multikey(multikey, DID_KEY_PREFIX.len())
    }

    /// Formats the key as `did:key:z...` (compressed point, base58btc).
    pub fn to_did_key(&self) -> String {
        let mut s = String::with_capacity(DID_KEY_PREFIX.len() + 49);
        s.push_str(DID_KEY_PREFIX);
        s.push_str(&self.to_multikey());
        s
    }

    /// Parses a Multikey string (`publicKeyMultibase` of a `Multikey` verification method in
    /// a DID document): `z` + base58btc(varint(multicodec) || compressed point).
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_crypto::KeyError> {
    /// let key = atmo_crypto::PublicKey::from_multikey(
    ///     "zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo",
    /// )?;
    /// assert_eq!(key.curve(), atmo_crypto::Curve::P256);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::TooLong`], [`KeyError::NotBase58btc`], [`KeyError::Base58`] for a bad
    /// string; [`KeyError::UnsupportedPublicCodec`] for another key type;
    /// [`KeyError::Uncompressed`] or [`KeyError::PublicKeyLength`] for a point that is not
    /// 33 bytes; [`KeyError::InvalidPoint`] for bytes that are not a point on the curve.
    pub fn from_multikey(multikey: &str) -> Result<Self, KeyError> {
        Self::parse_multikey(multikey, 0)
    }

    fn parse_multikey(multikey: &str, offset: usize) -> Result<Self, KeyError> {
        let bytes = encoding::decode_multibase(multikey, offset)?;
        let Some((code, n)) = encoding::read_varint(&bytes) else {
            return Err(KeyError::BadMulticodecVarint { len: bytes.len() });
        };
        let curve = match code {
            SECP256K1_PUB => Curve::K256,
            P256_PUB => Curve::P256,
            code => return Err(KeyError::UnsupportedPublicCodec { code }),
        };
        let point = bytes.get(n..).unwrap_or_default();
        if point.len() == 65 && point.first() == Some(&0x04) {
            return Err(KeyError::Uncompressed { curve });
        }
        if point.len() != COMPRESSED_PUBLIC_KEY_LEN {
            return Err(KeyError::PublicKeyLength {
                curve,
                len: point.len(),
                expected: COMPRESSED_PUBLIC_KEY_LEN,
            });
        }
        Self::from_sec1_bytes(curve, point)
    }

    /// Formats the key as a Multikey string: `z` + base58btc(varint(multicodec) ||
    /// compressed point). This is the part of the `did:key` after `did:key:`.
    pub fn to_multikey(&self) -> String {
        encoding::encode_multicodec(self.curve().public_multicodec(), &self.to_sec1_compressed())
    }

    /// Parses the legacy `publicKeyMultibase` of the older `EcdsaSecp256k1VerificationKey2019`
    /// / `EcdsaSecp256r1VerificationKey2019` verification methods: `z` + base58btc of the SEC1
    /// point **without** a multicodec prefix, so the curve comes from the method's type.
    /// Both compressed and uncompressed points are accepted here, as old documents hold both.
    ///
    /// # Errors
    ///
    /// As [`from_multikey`](Self::from_multikey) for the string, and as
    /// [`from_sec1_bytes`](Self::from_sec1_bytes) for the point.
    pub fn from_legacy_multibase(curve: Curve, multibase: &str) -> Result<Self, KeyError> {
        let bytes = encoding::decode_multibase(multibase, 0)?;
        Self::from_sec1_bytes(curve, &bytes)
    }

    /// Builds a key from a SEC1 point: 33 bytes compressed or 65 bytes uncompressed.
    ///
    /// # Errors
    ///
    /// [`KeyError::PublicKeyLength`] for another length, [`KeyError::InvalidPoint`] if the
    /// bytes are not a point on `curve`.
    pub fn from_sec1_bytes(curve: Curve, bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 33 && bytes.len() != 65 {
            return Err(KeyError::PublicKeyLength {
                curve,
                len: bytes.len(),
                expected: COMPRESSED_PUBLIC_KEY_LEN,
            });
        }
        let bad = KeyError::InvalidPoint { curve };
        // Only the standard SEC1 tags: 0x02/0x03 compressed, 0x04 uncompressed. RustCrypto
        // also decodes other tags (0x05 "compact"), which would give one key several
        // encodings.
        let tag_ok = match bytes.first() {
            Some(0x02 | 0x03) => bytes.len() == COMPRESSED_PUBLIC_KEY_LEN,
            Some(0x04) => bytes.len() == 65,
            _ => false,
        };
        if !tag_ok {
            return Err(bad);
        }
        match curve {
            Curve::K256 => k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                .map(Self::K256)
                .map_err(|_| bad),
            Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                .map(Self::P256)
                .map_err(|_| bad),
        }
    }

    /// The 33-byte compressed SEC1 encoding (`0x02`/`0x03` then `x`).
    pub fn to_sec1_compressed(&self) -> [u8; COMPRESSED_PUBLIC_KEY_LEN] {
        let mut out = [0u8; COMPRESSED_PUBLIC_KEY_LEN];
        let point = match self {
            Self::K256(k) => k.to_encoded_point(true).to_bytes(),
            Self::P256(k) => k.to_encoded_point(true).to_bytes(),
        };
        if let Some(dst) = out.get_mut(..point.len()) {
            dst.copy_from_slice(&point);
        }
        out
    }

    /// The 65-byte uncompressed SEC1 encoding (`0x04`, `x`, `y`).
    pub fn to_sec1_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        let point = match self {
            Self::K256(k) => k.to_encoded_point(false).to_bytes(),
            Self::P256(k) => k.to_encoded_point(false).to_bytes(),
        };
        if let Some(dst) = out.get_mut(..point.len()) {
            dst.copy_from_slice(&point);
        }
        out
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        match self {
            Self::K256(_) => Curve::K256,
            Self::P256(_) => Curve::P256,
        }
    }

    /// The JWT `alg` for signatures by this key: `"ES256K"` or `"ES256"`.
    pub fn jwt_alg(&self) -> &'static str {
        self.curve().jwt_alg()
    }

    /// Verifies an atproto signature of `msg`: SHA-256 of `msg`, then ECDSA with a 64-byte
    /// compact low-S signature.
    ///
    /// ```
    /// use atmo_crypto::{Curve, Keypair, VerifyError};
    ///
    /// # fn main() -> Result<(), atmo_crypto::Error> {
    /// let keypair = Keypair::generate(Curve::P256)?;
    /// let sig = keypair.sign(b"msg")?;
    /// keypair.public_key().verify(b"msg", &sig)?;
    /// assert_eq!(keypair.public_key().verify(b"msg", &sig[..63]), Err(VerifyError::BadLength { len: 63 }));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Every error means "invalid"; the variant says why: [`VerifyError::Der`] for a DER
    /// signature, [`VerifyError::BadLength`] for any other length than 64,
    /// [`VerifyError::ScalarOutOfRange`] for `r` or `s` zero or too large,
    /// [`VerifyError::HighS`] for a high-S signature (on both curves),
    /// [`VerifyError::Invalid`] when it does not match the key and message.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
        self.verify_inner(&sha2::Sha256::digest(msg).into(), sig, true)
    }

    /// [`verify`](Self::verify) for a caller that already holds SHA-256 of the message.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub fn verify_prehashed(&self, hash: &[u8; 32], sig: &[u8]) -> Result<(), VerifyError> {
        self.verify_inner(hash, sig, true)
    }

    /// Like [`verify`](Self::verify), but accepts high-S signatures.
    ///
    /// The atproto spec requires low-S everywhere signatures are made today; a few legacy
    /// paths (for example, checking old records or service-auth tokens minted by software
    /// that predates the rule) may choose to tolerate high-S. Use this only there: every
    /// other rule (64-byte compact, no DER, scalars in range) still holds.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify), but never [`VerifyError::HighS`].
    pub fn verify_lax(&self, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
        self.verify_inner(&sha2::Sha256::digest(msg).into(), sig, false)
    }

    fn verify_inner(&self, hash: &[u8; 32], sig: &[u8], strict: bool) -> Result<(), VerifyError> {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;

        match self {
            Self::K256(key) => verify_k256(Backend::DEFAULT, key, hash, sig, strict),
            Self::P256(key) => {
                let compact = compact_signature(sig)?;
                let sig = p256::ecdsa::Signature::from_slice(compact)
                    .map_err(|_| VerifyError::ScalarOutOfRange)?;
                let sig = low_s(sig.s().is_high().into(), strict, sig, |s| s.normalize_s())?;
                key.verify_prehash(hash, &sig)
                    .map_err(|_| VerifyError::Invalid)
            }
        }
    }
}

/// Which implementation does the curve arithmetic of a secp256k1 check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// RustCrypto's k256.
    #[cfg_attr(feature = "secp256k1", allow(dead_code))]
    RustCrypto,
    /// libsecp256k1, through the `secp256k1` crate.
    #[cfg(feature = "secp256k1")]
    Libsecp256k1,
}

impl Backend {
    /// libsecp256k1 with the `secp256k1` feature, RustCrypto without.
    #[cfg(feature = "secp256k1")]
    pub(crate) const DEFAULT: Self = Self::Libsecp256k1;
    /// libsecp256k1 with the `secp256k1` feature, RustCrypto without.
    #[cfg(not(feature = "secp256k1"))]
    pub(crate) const DEFAULT: Self = Self::RustCrypto;
}

/// A secp256k1 check with the atproto rules on either backend. The shape, the scalar
/// range and the low-S rule are checked here, the same for both, so only the final
/// "does it match" is the backend's.
pub(crate) fn verify_k256(
    backend: Backend,
    key: &k256::ecdsa::VerifyingKey,
    hash: &[u8; 32],
    sig: &[u8],
    strict: bool,
) -> Result<(), VerifyError> {
    let compact = compact_signature(sig)?;
    let sig =
        k256::ecdsa::Signature::from_slice(compact).map_err(|_| VerifyError::ScalarOutOfRange)?;
    let sig = low_s(sig.s().is_high().into(), strict, sig, |s| s.normalize_s())?;
    match backend {
        Backend::RustCrypto => {
            use k256::ecdsa::signature::hazmat::PrehashVerifier;
            key.verify_prehash(hash, &sig)
                .map_err(|_| VerifyError::Invalid)
        }
        #[cfg(feature = "secp256k1")]
        Backend::Libsecp256k1 => crate::secp::verify_prehash(key, hash, &sig),
    }
}

/// Checks the length and shape: exactly 64 bytes, else DER or a bad length.
fn compact_signature(sig: &[u8]) -> Result<&[u8], VerifyError> {
    if sig.len() == SIGNATURE_LEN {
        return Ok(sig);
    }
    let len = sig.len();
    if looks_like_der(sig) {
        Err(VerifyError::Der { len })
    } else {
        Err(VerifyError::BadLength { len })
    }
}

/// Whether `sig` has the outer shape of an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`:
/// tag 0x30, a short-form length covering the rest exactly, then an INTEGER tag.
fn looks_like_der(sig: &[u8]) -> bool {
    matches!(sig, [0x30, len, 0x02, ..] if usize::from(*len) + 2 == sig.len())
}

/// Applies the low-S rule: rejects a high-S signature when `strict`, otherwise normalises
/// it (the verifier underneath may insist on low-S, as k256's does).
fn low_s<S: Copy>(
    high: bool,
    strict: bool,
    sig: S,
    normalize: impl FnOnce(&S) -> Option<S>,
) -> Result<S, VerifyError> {
    if !high {
        Ok(sig)
    } else if strict {
        Err(VerifyError::HighS)
    } else {
        Ok(normalize(&sig).unwrap_or(sig))
    }
}

impl fmt::Display for PublicKey {
    /// The `did:key` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_did_key())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey")
            .field(&self.to_did_key())
            .finish()
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Parses a `did:key`, as [`PublicKey::from_did_key`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_did_key(s)
    }
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_sec1_compressed().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K256_DID: &str = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
    const P256_DID: &str = "did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo";

    fn with_codec(code: u64, payload: &[u8]) -> String {
        format!("did:key:{}", encoding::encode_multicodec(code, payload))
    }

    #[test]
    fn did_key_round_trip() {
        for did in [K256_DID, P256_DID] {
            let key = PublicKey::from_did_key(did).unwrap();
            assert_eq!(key.to_did_key(), did);
            assert_eq!(key.to_string(), did);
            assert_eq!(format!("{key:?}"), format!("PublicKey({did:?})"));
        }
    }

    #[test]
    fn did_key_errors() {
        assert_eq!(
            PublicKey::from_did_key("did:web:example.com"),
            Err(KeyError::NotDidKey)
        );
        assert_eq!(
            PublicKey::from_did_key("did:key:Q3shokFTS3brHcDQ"),
            Err(KeyError::NotBase58btc { found: Some('Q') })
        );
        assert_eq!(
            PublicKey::from_did_key("did:key:zQ3sh0kF"),
            Err(KeyError::Base58 { ch: '0', at: 13 })
        );
        let too_long = format!("did:key:z{}", "2".repeat(200));
        assert!(matches!(
            PublicKey::from_did_key(&too_long),
            Err(KeyError::TooLong { len: 209, .. })
        ));
    }

    #[test]
    fn unsupported_codecs() {
        let k = PublicKey::from_did_key(K256_DID).unwrap();
        let point = k.to_sec1_compressed();
        // ed25519-pub
        assert_eq!(
            PublicKey::from_did_key(&with_codec(0xed, &[7; 32])),
            Err(KeyError::UnsupportedPublicCodec { code: 0xed })
        );
        // A private-key codec where a public key belongs.
        assert_eq!(
            PublicKey::from_did_key(&with_codec(0x1301, &point)),
            Err(KeyError::UnsupportedPublicCodec { code: 0x1301 })
        );
        // An unterminated varint.
        assert_eq!(
            PublicKey::from_did_key(&format!("did:key:{}", encoding::encode_multibase(&[0xff]))),
            Err(KeyError::BadMulticodecVarint { len: 1 })
        );
        // Empty payload.
        let e = PublicKey::from_did_key("did:key:z").unwrap_err();
        assert_eq!(e, KeyError::BadMulticodecVarint { len: 0 });
        assert!(!e.to_string().contains("0x0"), "{e}");
    }

    #[test]
    fn point_errors() {
        let k = PublicKey::from_did_key(K256_DID).unwrap();
        let p = PublicKey::from_did_key(P256_DID).unwrap();
        assert_eq!(
            PublicKey::from_did_key(&with_codec(0xe7, &k.to_sec1_uncompressed())),
            Err(KeyError::Uncompressed { curve: Curve::K256 })
        );
        assert_eq!(
            PublicKey::from_did_key(&with_codec(0x1200, &p.to_sec1_compressed()[..32])),
            Err(KeyError::PublicKeyLength {
                curve: Curve::P256,
                len: 32,
                expected: 33
            })
        );
        // x = p - 1... take an x that is not on the curve: all 0xff is >= the field modulus.
        let mut bad = [0xffu8; 33];
        bad[0] = 0x02;
        assert_eq!(
            PublicKey::from_did_key(&with_codec(0xe7, &bad)),
            Err(KeyError::InvalidPoint { curve: Curve::K256 })
        );
        // A secp256k1 point labelled as P-256 is (almost surely) not on P-256; either way
        // it must not come back as the same key.
        let relabelled = PublicKey::from_did_key(&with_codec(0x1200, &k.to_sec1_compressed()));
        assert_ne!(relabelled.ok(), Some(k));
        assert_eq!(
            PublicKey::from_sec1_bytes(Curve::K256, &[2; 10]),
            Err(KeyError::PublicKeyLength {
                curve: Curve::K256,
                len: 10,
                expected: 33
            })
        );
    }

    #[test]
    fn sec1_and_legacy_forms() {
        for did in [K256_DID, P256_DID] {
            let key = PublicKey::from_did_key(did).unwrap();
            let c = key.to_sec1_compressed();
            let u = key.to_sec1_uncompressed();
            assert!(c[0] == 2 || c[0] == 3);
            assert_eq!(u[0], 4);
            assert_eq!(c[1..], u[1..33]);
            assert_eq!(PublicKey::from_sec1_bytes(key.curve(), &u), Ok(key));
            let legacy_c = encoding::encode_multibase(&c);
            let legacy_u = encoding::encode_multibase(&u);
            assert_eq!(
                PublicKey::from_legacy_multibase(key.curve(), &legacy_c),
                Ok(key)
            );
            assert_eq!(
                PublicKey::from_legacy_multibase(key.curve(), &legacy_u),
                Ok(key)
            );
        }
    }

    /// Found by the did_key_parse fuzz target: RustCrypto decodes a point tagged 0x05
    /// ("compact") as the same key as the 0x02 form, so one key had two did:keys.
    #[test]
    fn fuzzed_point_tag_0x05_is_rejected() {
        let fuzzed = "did:key:zQ3siQrzzDpprzcDQrzzDpprzzzDppp6pnppeaSGZpDpppCme";
        assert_eq!(
            PublicKey::from_did_key(fuzzed),
            Err(KeyError::InvalidPoint { curve: Curve::K256 })
        );
        let k = PublicKey::from_did_key(K256_DID).unwrap();
        for tag in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
            let mut point = k.to_sec1_compressed();
            point[0] = tag;
            assert_eq!(
                PublicKey::from_did_key(&with_codec(0xe7, &point)),
                Err(KeyError::InvalidPoint { curve: Curve::K256 }),
                "tag {tag:#x}"
            );
            assert_eq!(
                PublicKey::from_sec1_bytes(Curve::K256, &point),
                Err(KeyError::InvalidPoint { curve: Curve::K256 }),
                "tag {tag:#x}"
            );
        }
        let mut u = k.to_sec1_uncompressed();
        u[0] = 0x06; // "hybrid" form
        assert_eq!(
            PublicKey::from_sec1_bytes(Curve::K256, &u),
            Err(KeyError::InvalidPoint { curve: Curve::K256 })
        );
    }

    #[test]
    fn der_detection() {
        assert!(looks_like_der(&[0x30, 0x04, 0x02, 0x01, 0x01, 0x02]));
        assert!(!looks_like_der(&[0x30, 0x05, 0x02, 0x01, 0x01, 0x02]));
        assert!(!looks_like_der(&[0x31, 0x04, 0x02, 0x01, 0x01, 0x02]));
        assert!(!looks_like_der(&[]));
    }
}
