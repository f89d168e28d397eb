//! [`Keypair`]: key generation, private key import/export, and signing.

use std::fmt;

use k256::elliptic_curve::rand_core::{OsRng, RngCore};
use sha2::Digest;

use crate::encoding::{self, P256_PRIV, SECP256K1_PRIV};
use crate::{Curve, Error, KeyError, PRIVATE_KEY_LEN, PublicKey, SIGNATURE_LEN};

/// How many 32-byte draws [`Keypair::generate`] makes before giving up. A uniform draw is
/// rejected (zero, or not below the order) with probability below 2^-32 on P-256 and
/// 2^-127 on secp256k1, so a second draw is already astronomically rare.
const MAX_DRAWS: usize = 8;

/// A private key (with its public key) on one of the two atproto curves.
///
/// [`sign`](Self::sign) makes atproto signatures: SHA-256 of the message, deterministic
/// ECDSA (RFC 6979), 64 bytes `r || s`, always low-S. [`Debug`](fmt::Debug) prints only the
/// public key; the RustCrypto keys inside zero their memory on drop.
///
/// ```
/// use atmo_crypto::{Curve, Keypair};
///
/// # fn main() -> Result<(), atmo_crypto::Error> {
/// let keypair = Keypair::from_private_key_hex(
///     Curve::K256,
///     "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
/// )?;
/// assert_eq!(
///     keypair.public_key().to_did_key(),
///     "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
/// );
/// let sig = keypair.sign(b"hello")?;
/// keypair.public_key().verify(b"hello", &sig)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub enum Keypair {
    /// A secp256k1 key.
    K256(k256::ecdsa::SigningKey),
    /// A NIST P-256 key.
    P256(p256::ecdsa::SigningKey),
}

impl Keypair {
    /// Generates a new key from the operating system's random number generator (through
    /// `getrandom`; no user-space RNG state). A failure of the OS generator is an error,
    /// never a panic.
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_crypto::Error> {
    /// let keypair = atmo_crypto::Keypair::generate(atmo_crypto::Curve::P256)?;
    /// println!("{}", keypair.public_key());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system cannot provide random bytes.
    pub fn generate(curve: Curve) -> Result<Self, Error> {
        let mut last = KeyError::InvalidScalar { curve };
        for _ in 0..MAX_DRAWS {
            let mut bytes = [0u8; PRIVATE_KEY_LEN];
            OsRng
                .try_fill_bytes(&mut bytes)
                .map_err(|e| Error::Randomness {
                    reason: e.to_string(),
                })?;
            let result = Self::from_private_key_bytes(curve, &bytes);
            bytes.fill(0);
            match result {
                Ok(k) => return Ok(k),
                Err(e) => last = e,
            }
        }
        Err(Error::Key(last))
    }

    /// Builds a key from its 32-byte big-endian scalar.
    ///
    /// # Errors
    ///
    /// [`KeyError::PrivateKeyLength`] unless `bytes` is 32 bytes long,
    /// [`KeyError::InvalidScalar`] if it is zero or not below the curve order.
    pub fn from_private_key_bytes(curve: Curve, bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != PRIVATE_KEY_LEN {
            return Err(KeyError::PrivateKeyLength {
                curve,
                len: bytes.len(),
            });
        }
        let bad = KeyError::InvalidScalar { curve };
        match curve {
            Curve::K256 => k256::ecdsa::SigningKey::from_slice(bytes)
                .map(Self::K256)
                .map_err(|_| bad),
            Curve::P256 => p256::ecdsa::SigningKey::from_slice(bytes)
                .map(Self::P256)
                .map_err(|_| bad),
        }
    }

    /// Builds a key from 64 hex digits (either case).
    ///
    /// # Errors
    ///
    /// [`KeyError::Hex`] / [`KeyError::HexOddLength`] for bad hex, then as
    /// [`from_private_key_bytes`](Self::from_private_key_bytes).
    pub fn from_private_key_hex(curve: Curve, hex: &str) -> Result<Self, KeyError> {
        if hex.len() > 2 * PRIVATE_KEY_LEN + 2 {
            return Err(KeyError::PrivateKeyLength {
                curve,
                len: hex.len() / 2,
            });
        }
        let mut bytes = encoding::hex_decode(hex)?;
        let result = Self::from_private_key_bytes(curve, &bytes);
        bytes.fill(0);
        result
    }

    /// Parses a multibase private key: `z` + base58btc(varint(multicodec) || 32 bytes), with
    /// multicodec `0x1301` (secp256k1-priv) or `0x1306` (p256-priv). The curve comes from the
    /// multicodec.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooLong`], [`KeyError::NotBase58btc`], [`KeyError::Base58`] for a bad
    /// string, [`KeyError::UnsupportedPrivateCodec`] for another codec, then as
    /// [`from_private_key_bytes`](Self::from_private_key_bytes).
    pub fn from_private_key_multibase(multibase: &str) -> Result<Self, KeyError> {
        let mut bytes = encoding::decode_multibase(multibase, 0)?;
        let result = match encoding::read_varint(&bytes) {
            Some((SECP256K1_PRIV, n)) => {
                Self::from_private_key_bytes(Curve::K256, bytes.get(n..).unwrap_or_default())
            }
            Some((P256_PRIV, n)) => {
                Self::from_private_key_bytes(Curve::P256, bytes.get(n..).unwrap_or_default())
            }
            Some((code, _)) => Err(KeyError::UnsupportedPrivateCodec { code }),
            None => Err(KeyError::BadMulticodecVarint { len: bytes.len() }),
        };
        bytes.fill(0);
        result
    }

    /// The 32-byte big-endian private scalar. This is secret: clear it when done.
    pub fn to_private_key_bytes(&self) -> [u8; PRIVATE_KEY_LEN] {
        match self {
            Self::K256(k) => k.to_bytes().into(),
            Self::P256(k) => k.to_bytes().into(),
        }
    }

    /// The private key as 64 lower-case hex digits. This is secret.
    pub fn to_private_key_hex(&self) -> String {
        let mut bytes = self.to_private_key_bytes();
        let hex = encoding::hex_encode(&bytes);
        bytes.fill(0);
        hex
    }

    /// The private key as multibase: `z` + base58btc(varint(multicodec) || 32 bytes). This is
    /// secret.
    pub fn to_private_key_multibase(&self) -> String {
        let mut bytes = self.to_private_key_bytes();
        let s = encoding::encode_multicodec(self.curve().private_multicodec(), &bytes);
        bytes.fill(0);
        s
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::K256(k) => PublicKey::K256(*k.verifying_key()),
            Self::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        match self {
            Self::K256(_) => Curve::K256,
            Self::P256(_) => Curve::P256,
        }
    }

    /// Signs `msg` the atproto way: SHA-256, deterministic ECDSA (RFC 6979), 64-byte
    /// compact `r || s`, low-S.
    ///
    /// # Errors
    ///
    /// [`Error::Sign`] with negligible probability (see there).
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        self.sign_prehashed(&sha2::Sha256::digest(msg).into())
    }

    /// [`sign`](Self::sign) for a caller that already holds SHA-256 of the message.
    ///
    /// # Errors
    ///
    /// [`Error::Sign`] with negligible probability.
    pub fn sign_prehashed(&self, hash: &[u8; 32]) -> Result<[u8; SIGNATURE_LEN], Error> {
        use k256::ecdsa::signature::hazmat::PrehashSigner;

        let err = Error::Sign {
            curve: self.curve(),
        };
        Ok(match self {
            Self::K256(k) => {
                let sig: k256::ecdsa::Signature = k.sign_prehash(hash).map_err(|_| err)?;
                sig.normalize_s().unwrap_or(sig).to_bytes().into()
            }
            Self::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign_prehash(hash).map_err(|_| err)?;
                sig.normalize_s().unwrap_or(sig).to_bytes().into()
            }
        })
    }
}

impl fmt::Debug for Keypair {
    /// Prints the curve and public key only, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("curve", &self.curve())
            .field("public", &self.public_key().to_did_key())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Keypair {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::K256(a), Self::K256(b)) => a == b,
            (Self::P256(a), Self::P256(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Keypair {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VerifyError;

    const K256_HEX: &str = "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c";
    const K256_ORDER_HEX: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    const P256_ORDER_HEX: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

    #[test]
    fn private_key_errors() {
        for curve in Curve::ALL {
            assert_eq!(
                Keypair::from_private_key_bytes(curve, &[1; 31]),
                Err(KeyError::PrivateKeyLength { curve, len: 31 })
            );
            assert_eq!(
                Keypair::from_private_key_bytes(curve, &[0; 32]),
                Err(KeyError::InvalidScalar { curve })
            );
            assert_eq!(
                Keypair::from_private_key_hex(curve, "zz"),
                Err(KeyError::Hex { ch: 'z', at: 0 })
            );
            assert_eq!(
                Keypair::from_private_key_hex(curve, &"a".repeat(63)),
                Err(KeyError::HexOddLength { len: 63 })
            );
            assert_eq!(
                Keypair::from_private_key_hex(curve, &"a".repeat(1000)),
                Err(KeyError::PrivateKeyLength { curve, len: 500 })
            );
        }
        // The group order itself is not a valid scalar on either curve.
        assert_eq!(
            Keypair::from_private_key_hex(Curve::K256, K256_ORDER_HEX),
            Err(KeyError::InvalidScalar { curve: Curve::K256 })
        );
        assert_eq!(
            Keypair::from_private_key_hex(Curve::P256, P256_ORDER_HEX),
            Err(KeyError::InvalidScalar { curve: Curve::P256 })
        );
    }

    #[test]
    fn private_multibase_round_trip_and_errors() {
        for curve in Curve::ALL {
            let k = Keypair::generate(curve).unwrap();
            let mb = k.to_private_key_multibase();
            let back = Keypair::from_private_key_multibase(&mb).unwrap();
            assert_eq!(back, k);
            assert_eq!(back.curve(), curve);
            let hex = k.to_private_key_hex();
            assert_eq!(Keypair::from_private_key_hex(curve, &hex).unwrap(), k);
            assert_eq!(
                Keypair::from_private_key_hex(curve, &hex.to_uppercase()).unwrap(),
                k
            );
        }
        let k = Keypair::from_private_key_hex(Curve::K256, K256_HEX).unwrap();
        let public_as_private = k.public_key().to_multikey();
        assert_eq!(
            Keypair::from_private_key_multibase(&public_as_private),
            Err(KeyError::UnsupportedPrivateCodec { code: 0xe7 })
        );
        let short = encoding::encode_multicodec(0x1306, &[1; 16]);
        assert_eq!(
            Keypair::from_private_key_multibase(&short),
            Err(KeyError::PrivateKeyLength {
                curve: Curve::P256,
                len: 16
            })
        );
        assert_eq!(
            Keypair::from_private_key_multibase("z"),
            Err(KeyError::BadMulticodecVarint { len: 0 })
        );
        assert_eq!(
            Keypair::from_private_key_multibase("m"),
            Err(KeyError::NotBase58btc { found: Some('m') })
        );
    }

    #[test]
    fn multicodec_prefix_of_private_multibase() {
        let k = Keypair::from_private_key_hex(Curve::K256, K256_HEX).unwrap();
        let raw = bs58::decode(&k.to_private_key_multibase()[1..])
            .into_vec()
            .unwrap();
        assert_eq!(raw[..2], [0x81, 0x26]);
        assert_eq!(hex_of(&raw[2..]), K256_HEX);
        let p = Keypair::generate(Curve::P256).unwrap();
        let raw = bs58::decode(&p.to_private_key_multibase()[1..])
            .into_vec()
            .unwrap();
        assert_eq!(raw[..2], [0x86, 0x26]);
    }

    fn hex_of(b: &[u8]) -> String {
        encoding::hex_encode(b)
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = Keypair::from_private_key_hex(Curve::K256, K256_HEX).unwrap();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(K256_HEX), "{dbg}");
        assert!(dbg.contains("did:key:zQ3sh"), "{dbg}");
    }

    #[test]
    fn signing_is_deterministic_and_low_s() {
        for curve in Curve::ALL {
            let k = Keypair::generate(curve).unwrap();
            let a = k.sign(b"same message").unwrap();
            let b = k.sign(b"same message").unwrap();
            assert_eq!(a, b);
            assert_eq!(
                k.sign_prehashed(&crate::sha256(b"same message")).unwrap(),
                a
            );
            k.public_key().verify(b"same message", &a).unwrap();
            k.public_key()
                .verify_prehashed(&crate::sha256(b"same message"), &a)
                .unwrap();
            assert_eq!(
                k.public_key().verify(b"other message", &a),
                Err(VerifyError::Invalid)
            );
        }
    }

    #[test]
    fn generated_keys_differ() {
        for curve in Curve::ALL {
            let a = Keypair::generate(curve).unwrap();
            let b = Keypair::generate(curve).unwrap();
            assert_ne!(a, b);
            assert_ne!(a, Keypair::generate(curve.other()).unwrap());
        }
    }

    impl Curve {
        fn other(self) -> Curve {
            match self {
                Curve::K256 => Curve::P256,
                Curve::P256 => Curve::K256,
            }
        }
    }
}
