//! Laws of signing and encoding, on both curves: sign -> verify, always low-S, high-S and DER
//! forms of a genuine signature rejected for the right reason, did:key round trip.

use atmo_crypto::{Curve, Keypair, PublicKey, VerifyError};
use proptest::prelude::*;

const K256_ORDER: [u8; 32] =
    hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const P256_ORDER: [u8; 32] =
    hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

const fn hex32(s: &str) -> [u8; 32] {
    const fn d(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (d(b[2 * i]) << 4) | d(b[2 * i + 1]);
        i += 1;
    }
    out
}

fn order(curve: Curve) -> [u8; 32] {
    match curve {
        Curve::K256 => K256_ORDER,
        Curve::P256 => P256_ORDER,
    }
}

/// a - b for 32-byte big-endian numbers with a >= b.
fn sub(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut v = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if v < 0 {
            v += 256;
            borrow = 1;
        }
        out[i] = v as u8;
    }
    assert_eq!(borrow, 0);
    out
}

/// Whether s (big-endian) is greater than n / 2.
fn is_high(curve: Curve, s: &[u8]) -> bool {
    // s > n/2  <=>  2s > n  <=>  s > n - s
    let n_minus_s = sub(&order(curve), s);
    s > &n_minus_s[..]
}

/// The same signature with s replaced by n - s: equally valid ECDSA, but high-S.
fn flip_s(curve: Curve, sig: &[u8; 64]) -> [u8; 64] {
    let mut out = *sig;
    out[32..].copy_from_slice(&sub(&order(curve), &sig[32..]));
    out
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of a compact signature.
fn to_der(sig: &[u8; 64]) -> Vec<u8> {
    fn int(x: &[u8]) -> Vec<u8> {
        let start = x.iter().position(|&b| b != 0).unwrap_or(x.len() - 1);
        let mut v = x[start..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let body: Vec<u8> = [int(&sig[..32]), int(&sig[32..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

fn curve_strategy() -> impl Strategy<Value = Curve> {
    prop_oneof![Just(Curve::K256), Just(Curve::P256)]
}

/// Private keys from arbitrary 32 bytes (rejecting the rare invalid scalar).
fn keypair_strategy() -> impl Strategy<Value = Keypair> {
    (curve_strategy(), any::<[u8; 32]>()).prop_filter_map("invalid scalar", |(c, b)| {
        Keypair::from_private_key_bytes(c, &b).ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_then_verify(key in keypair_strategy(), msg in proptest::collection::vec(any::<u8>(), 0..512)) {
        let sig = key.sign(&msg).unwrap();
        let public = key.public_key();
        prop_assert_eq!(public.verify(&msg, &sig), Ok(()));
        prop_assert_eq!(public.verify_lax(&msg, &sig), Ok(()));
        prop_assert!(!is_high(key.curve(), &sig[32..]), "high-S signature produced");
        // Deterministic (RFC 6979).
        prop_assert_eq!(key.sign(&msg).unwrap(), sig);

        // The high-S twin is rejected as high-S, and accepted by verify_lax.
        let high = flip_s(key.curve(), &sig);
        prop_assert_eq!(public.verify(&msg, &high), Err(VerifyError::HighS));
        prop_assert_eq!(public.verify_lax(&msg, &high), Ok(()));

        // DER form of a genuine signature is rejected as DER.
        let der = to_der(&sig);
        prop_assert_eq!(public.verify(&msg, &der), Err(VerifyError::Der { len: der.len() }));

        // Truncated or extended: wrong length.
        prop_assert_eq!(public.verify(&msg, &sig[..63]), Err(VerifyError::BadLength { len: 63 }));
        let mut long = sig.to_vec();
        long.push(0);
        prop_assert_eq!(public.verify(&msg, &long), Err(VerifyError::BadLength { len: 65 }));

        // Another message: invalid.
        let mut other = msg.clone();
        other.push(1);
        prop_assert_eq!(public.verify(&other, &sig), Err(VerifyError::Invalid));
    }

    #[test]
    fn flipped_bit_is_rejected(key in keypair_strategy(), msg in proptest::collection::vec(any::<u8>(), 0..64), bit in 0usize..512) {
        let mut sig = key.sign(&msg).unwrap();
        sig[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(key.public_key().verify(&msg, &sig).is_err());
    }

    #[test]
    fn did_key_round_trip(key in keypair_strategy()) {
        let public = key.public_key();
        let did = public.to_did_key();
        let prefix = match key.curve() { Curve::K256 => "did:key:zQ3s", _ => "did:key:zDna" };
        prop_assert!(did.starts_with(prefix), "{}", did);
        let back = PublicKey::from_did_key(&did).unwrap();
        prop_assert_eq!(back, public);
        prop_assert_eq!(back.to_did_key(), did.clone());
        prop_assert_eq!(PublicKey::from_multikey(&public.to_multikey()).unwrap(), public);
        prop_assert_eq!(PublicKey::from_sec1_bytes(key.curve(), &public.to_sec1_compressed()).unwrap(), public);
        let priv_mb = key.to_private_key_multibase();
        prop_assert_eq!(Keypair::from_private_key_multibase(&priv_mb).unwrap(), key.clone());
        prop_assert_eq!(Keypair::from_private_key_hex(key.curve(), &key.to_private_key_hex()).unwrap(), key);
    }

    #[test]
    fn arbitrary_did_key_strings_never_panic(s in "did:key:z[1-9A-HJ-NP-Za-km-z]{0,60}") {
        if let Ok(k) = PublicKey::from_did_key(&s) {
            prop_assert_eq!(k.to_did_key(), s);
        }
    }

    #[test]
    fn arbitrary_signatures_are_rejected(key in keypair_strategy(), sig in proptest::collection::vec(any::<u8>(), 0..80)) {
        prop_assert!(key.public_key().verify(b"message", &sig).is_err());
    }
}

#[test]
fn out_of_range_scalars() {
    for curve in Curve::ALL {
        let key = Keypair::generate(curve).unwrap();
        let good = key.sign(b"m").unwrap();
        let public = key.public_key();
        let mut zero_r = good;
        zero_r[..32].fill(0);
        assert_eq!(
            public.verify(b"m", &zero_r),
            Err(VerifyError::ScalarOutOfRange)
        );
        let mut zero_s = good;
        zero_s[32..].fill(0);
        assert_eq!(
            public.verify(b"m", &zero_s),
            Err(VerifyError::ScalarOutOfRange)
        );
        let mut big_s = good;
        big_s[32..].copy_from_slice(&order(curve));
        assert_eq!(
            public.verify(b"m", &big_s),
            Err(VerifyError::ScalarOutOfRange)
        );
        assert_eq!(
            public.verify(b"m", &[0xff; 64]),
            Err(VerifyError::ScalarOutOfRange)
        );
        assert_eq!(
            public.verify(b"m", &[]),
            Err(VerifyError::BadLength { len: 0 })
        );
    }
}

#[test]
fn wrong_key_is_invalid() {
    for curve in Curve::ALL {
        let a = Keypair::generate(curve).unwrap();
        let b = Keypair::generate(curve).unwrap();
        let sig = a.sign(b"m").unwrap();
        assert_eq!(b.public_key().verify(b"m", &sig), Err(VerifyError::Invalid));
    }
    // Same scalar on the other curve: a different key, so the signature is invalid.
    let k = Keypair::from_private_key_bytes(Curve::K256, &[7; 32]).unwrap();
    let p = Keypair::from_private_key_bytes(Curve::P256, &[7; 32]).unwrap();
    let sig = k.sign(b"m").unwrap();
    assert!(p.public_key().verify(b"m", &sig).is_err());
}

#[test]
fn error_messages_name_the_reason() {
    assert!(VerifyError::HighS.to_string().contains("high S"));
    assert!(VerifyError::Der { len: 70 }.to_string().contains("DER"));
    assert!(
        VerifyError::BadLength { len: 63 }
            .to_string()
            .contains("63")
    );
    let e: atmo_crypto::Error = VerifyError::Invalid.into();
    assert_eq!(e.to_string(), VerifyError::Invalid.to_string());
}
