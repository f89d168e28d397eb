//! Fuzz `atmo_crypto::PublicKey::verify`: never panics; arbitrary signatures are rejected
//! unless the raw RustCrypto verifier agrees they are valid (and they are 64-byte low-S);
//! a genuine signature with any byte changed is rejected.
//!
//! Input: byte 0 picks the curve, bytes 1..3 pick a byte and a mask to change in a genuine
//! signature, then the message and the candidate signature (the last 64 bytes, or fewer).
#![no_main]

use atmo_crypto::{Curve, Keypair, PublicKey};
use libfuzzer_sys::fuzz_target;

fn raw_accepts(key: &PublicKey, msg: &[u8], sig: &[u8]) -> bool {
    match key {
        PublicKey::K256(vk) => {
            use atmo_crypto::k256::ecdsa::{Signature, signature::Verifier};
            Signature::from_slice(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
        }
        PublicKey::P256(vk) => {
            use atmo_crypto::p256::ecdsa::{Signature, signature::Verifier};
            Signature::from_slice(sig)
                .is_ok_and(|s| s.normalize_s().is_none() && vk.verify(msg, &s).is_ok())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, index, mask, rest @ ..] = data else {
        return;
    };
    let curve = if selector & 1 == 0 {
        Curve::K256
    } else {
        Curve::P256
    };
    let keypair = Keypair::from_private_key_bytes(curve, &[0x42; 32]).expect("fixed valid key");
    let key = keypair.public_key();

    // Arbitrary bytes as a signature over an arbitrary message.
    let split = rest.len().saturating_sub(64);
    let (msg, candidate) = rest.split_at(split);
    let strict = key.verify(msg, candidate);
    let lax = key.verify_lax(msg, candidate);
    let really_valid = candidate.len() == 64 && raw_accepts(&key, msg, candidate);
    assert_eq!(strict.is_ok(), really_valid, "atmo and RustCrypto disagree");
    if strict.is_ok() {
        assert!(lax.is_ok());
    }

    // A genuine signature over the same message, with one byte changed by `mask`.
    let mut sig = keypair.sign(msg).expect("signing with a valid key");
    key.verify(msg, &sig).expect("own signature verifies");
    let at = usize::from(*index) % sig.len();
    sig[at] ^= mask;
    assert_eq!(
        key.verify(msg, &sig).is_ok(),
        *mask == 0,
        "changed byte {at} by {mask:#x}"
    );
});
