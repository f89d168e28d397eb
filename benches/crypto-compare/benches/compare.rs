//! secp256k1 sign and verify: atmo-crypto (RustCrypto k256 underneath) against libsecp256k1
//! (C, through the `secp256k1` crate), same inputs, same run. Both sides hash the 200-byte
//! message with SHA-256 inside the timed loop and both enforce low-S (libsecp256k1's verify
//! rejects high-S, as atproto requires), so the figures compare like with like.
//!
//! `cargo bench -- --warm-up-time 1 --measurement-time 3` (from this directory).

use std::hint::black_box;

use atmo_crypto::{Curve, Keypair, PublicKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::Digest;

const MSG: [u8; 200] = [0x5a; 200];
const PRIVATE: [u8; 32] = [0x42; 32];

fn compare(c: &mut Criterion) {
    let keypair = Keypair::from_private_key_bytes(Curve::K256, &PRIVATE).expect("valid scalar");
    let public = keypair.public_key();
    let sig = keypair.sign(&MSG).expect("sign");

    let secp_verify = secp256k1::Secp256k1::verification_only();
    let secp_sign = secp256k1::Secp256k1::signing_only();
    let c_public =
        secp256k1::PublicKey::from_slice(&public.to_sec1_compressed()).expect("same point");
    let c_secret = secp256k1::SecretKey::from_slice(&PRIVATE).expect("same scalar");

    // Same deterministic (RFC 6979) low-S signature on both sides.
    let digest: [u8; 32] = sha2::Sha256::digest(MSG).into();
    let c_sig = secp_sign.sign_ecdsa(&secp256k1::Message::from_digest(digest), &c_secret);
    assert_eq!(
        c_sig.serialize_compact(),
        sig,
        "libsecp256k1 and atmo sign alike"
    );

    let mut group = c.benchmark_group("k256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify/atmo", |b| {
        b.iter(|| black_box(&public).verify(black_box(&MSG), black_box(&sig)))
    });
    group.bench_function("verify/libsecp256k1", |b| {
        b.iter(|| {
            let digest: [u8; 32] = sha2::Sha256::digest(black_box(&MSG)).into();
            let s = secp256k1::ecdsa::Signature::from_compact(black_box(&sig)).expect("sig");
            secp_verify.verify_ecdsa(&secp256k1::Message::from_digest(digest), &s, &c_public)
        })
    });
    group.bench_function("sign/atmo", |b| {
        b.iter(|| black_box(&keypair).sign(black_box(&MSG)))
    });
    group.bench_function("sign/libsecp256k1", |b| {
        b.iter(|| {
            let digest: [u8; 32] = sha2::Sha256::digest(black_box(&MSG)).into();
            secp_sign
                .sign_ecdsa(&secp256k1::Message::from_digest(digest), &c_secret)
                .serialize_compact()
        })
    });
    group.bench_function("did_key_parse/atmo", |b| {
        let did = public.to_did_key();
        b.iter(|| PublicKey::from_did_key(black_box(&did)))
    });
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
