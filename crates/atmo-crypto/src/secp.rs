//! The libsecp256k1 backend for secp256k1 signature checks (feature `secp256k1`).
//!
//! Only the last step moves here: [`PublicKey::verify`](crate::PublicKey::verify) still
//! parses the compact signature with RustCrypto (so `r` and `s` out of range give
//! [`VerifyError::ScalarOutOfRange`] as before) and applies the low-S rule itself (strict:
//! [`VerifyError::HighS`]; lax: normalised), then hands the low-S signature, the 32-byte
//! hash and the key to libsecp256k1, which answers valid or [`VerifyError::Invalid`].
//! Both libraries reduce the hash modulo the group order and accept exactly when
//! `x(u1·G + u2·Q) mod n = r`, so the verdicts are the same; the tests below and in
//! `tests/interop.rs` check it.

use std::sync::OnceLock;

use secp256k1::{Message, Secp256k1, VerifyOnly, ecdsa};

use crate::VerifyError;

/// One verification context for the process (libsecp256k1's contexts are read-only once
/// made, and safe to share between threads).
fn context() -> &'static Secp256k1<VerifyOnly> {
    static CONTEXT: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CONTEXT.get_or_init(Secp256k1::verification_only)
}

/// Checks a signature that RustCrypto parsed and that is low-S, against a prehash.
pub(crate) fn verify_prehash(
    key: &k256::ecdsa::VerifyingKey,
    hash: &[u8; 32],
    sig: &k256::ecdsa::Signature,
) -> Result<(), VerifyError> {
    // The uncompressed point: libsecp256k1 only checks it is on the curve (no square
    // root, unlike the compressed form).
    let point = key.to_encoded_point(false);
    let public =
        secp256k1::PublicKey::from_slice(point.as_bytes()).map_err(|_| VerifyError::Invalid)?;
    let sig = ecdsa::Signature::from_compact(&sig.to_bytes())
        .map_err(|_| VerifyError::ScalarOutOfRange)?;
    context()
        .verify_ecdsa(Message::from_digest(*hash), &sig, &public)
        .map_err(|_| VerifyError::Invalid)
}

#[cfg(test)]
mod tests {
    //! Differential tests: the same verdict from RustCrypto and libsecp256k1.

    use super::*;
    use crate::public::{Backend, verify_k256};
    use k256::ecdsa::SigningKey;
    use k256::ecdsa::signature::hazmat::PrehashSigner;
    use proptest::prelude::*;

    /// The group order n of secp256k1, big-endian.
    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];

    /// n - s, big-endian (s in 1..n).
    fn negate(s: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(ORDER[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(d < 0);
            out[i] = (d + 256 * borrow) as u8;
        }
        out
    }

    /// Both backends, strict and lax, must agree; returns the strict verdict.
    fn same_verdict(
        key: &k256::ecdsa::VerifyingKey,
        hash: &[u8; 32],
        sig: &[u8],
    ) -> Result<(), VerifyError> {
        for strict in [true, false] {
            let rc = verify_k256(Backend::RustCrypto, key, hash, sig, strict);
            let ls = verify_k256(Backend::Libsecp256k1, key, hash, sig, strict);
            assert_eq!(rc, ls, "strict {strict}, sig {sig:02x?}");
        }
        verify_k256(Backend::Libsecp256k1, key, hash, sig, true)
    }

    fn signing_key(seed: &[u8; 32]) -> Option<SigningKey> {
        SigningKey::from_slice(seed).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random keys and messages: a valid signature, its high-S twin, tampered
        /// signatures, another message, another key: the same verdict from both.
        #[test]
        fn both_backends_agree(
            seed in any::<[u8; 32]>(),
            other in any::<[u8; 32]>(),
            msg in proptest::collection::vec(any::<u8>(), 0..300),
            flip in 0usize..64,
            bit in 0u8..8,
        ) {
            let Some(sk) = signing_key(&seed) else { return Ok(()) };
            let vk = *sk.verifying_key();
            let hash = crate::sha256(&msg);
            let sig: k256::ecdsa::Signature = sk.sign_prehash(&hash).unwrap();
            let sig = sig.normalize_s().unwrap_or(sig);
            let bytes = sig.to_bytes();

            prop_assert_eq!(same_verdict(&vk, &hash, &bytes), Ok(()));

            // The high-S twin: rejected strictly, accepted by the lax check.
            let mut high = bytes;
            high[32..].copy_from_slice(&negate(&bytes[32..]));
            prop_assert_eq!(same_verdict(&vk, &hash, &high), Err(VerifyError::HighS));
            prop_assert_eq!(
                verify_k256(Backend::Libsecp256k1, &vk, &hash, &high, false),
                Ok(())
            );

            // One bit flipped anywhere in r || s.
            let mut tampered = bytes;
            tampered[flip] ^= 1 << bit;
            prop_assert!(same_verdict(&vk, &hash, &tampered).is_err());

            // Another message.
            let mut other_hash = hash;
            other_hash[flip % 32] ^= 1 << bit;
            prop_assert_eq!(same_verdict(&vk, &other_hash, &bytes), Err(VerifyError::Invalid));

            // Another key.
            if let Some(other) = signing_key(&other) {
                let ovk = *other.verifying_key();
                let expect = if ovk == vk { Ok(()) } else { Err(VerifyError::Invalid) };
                prop_assert_eq!(same_verdict(&ovk, &hash, &bytes), expect);
            }

            // Arbitrary 64 bytes as a signature.
            let mut junk = [0u8; 64];
            junk[..32].copy_from_slice(&other);
            junk[32..].copy_from_slice(&seed);
            let _ = same_verdict(&vk, &hash, &junk);
        }
    }

    /// The edges of the scalar range: zero, n - 1, n, all ones, s = n/2 and n/2 + 1.
    #[test]
    fn scalar_edges_agree() {
        let sk = signing_key(&[0x42; 32]).unwrap();
        let vk = *sk.verifying_key();
        let hash = crate::sha256(b"edges");
        let sig: k256::ecdsa::Signature = sk.sign_prehash(&hash).unwrap();
        let good = sig.normalize_s().unwrap_or(sig).to_bytes();
        let mut n_minus_1 = ORDER;
        n_minus_1[31] -= 1;
        // floor(n / 2), the largest low S.
        let half: [u8; 32] = [
            0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46,
            0x68, 0x1b, 0x20, 0xa0,
        ];
        let mut half_plus_1 = half;
        half_plus_1[31] += 1;
        let scalars: [[u8; 32]; 6] = [[0; 32], [0xff; 32], ORDER, n_minus_1, half, half_plus_1];
        for r in scalars
            .iter()
            .chain([&<[u8; 32]>::try_from(&good[..32]).unwrap()])
        {
            for s in scalars
                .iter()
                .chain([&<[u8; 32]>::try_from(&good[32..]).unwrap()])
            {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(r);
                sig[32..].copy_from_slice(s);
                let _ = same_verdict(&vk, &hash, &sig);
            }
        }
        let mut zero_s = good;
        zero_s[32..].fill(0);
        assert_eq!(
            same_verdict(&vk, &hash, &zero_s),
            Err(VerifyError::ScalarOutOfRange)
        );
        let mut over = good;
        over[32..].copy_from_slice(&ORDER);
        assert_eq!(
            same_verdict(&vk, &hash, &over),
            Err(VerifyError::ScalarOutOfRange)
        );
        let mut at_half = good;
        at_half[32..].copy_from_slice(&half_plus_1);
        assert_eq!(same_verdict(&vk, &hash, &at_half), Err(VerifyError::HighS));
    }
}
