//! Signature throughput: atmo-crypto's verify and sign against the raw RustCrypto crates it
//! wraps, in the same run. Messages are 200 bytes, about the size of an unsigned repo commit.
//!
//! `cargo bench -p atmo-crypto [--features secp256k1] -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use atmo_crypto::{Curve, Keypair, PublicKey};
use criterion::{Criterion, Throughput, criterion_main};

const MSG: [u8; 200] = [0x5a; 200];

fn keypair(curve: Curve) -> Keypair {
    // A fixed, valid scalar on both curves.
    Keypair::from_private_key_bytes(curve, &[0x42; 32]).expect("valid scalar")
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for curve in Curve::ALL {
        let key = keypair(curve);
        let sig = key.sign(&MSG).expect("sign");
        let public = key.public_key();
        public.verify(&MSG, &sig).expect("valid");

        // Names the k256 backend (`--features secp256k1` for libsecp256k1).
        let name = match curve {
            Curve::K256 => format!("{curve}/atmo-{}", atmo_crypto::k256_backend()),
            Curve::P256 => format!("{curve}/atmo"),
        };
        group.bench_function(name, |b| {
            b.iter(|| black_box(&public).verify(black_box(&MSG), black_box(&sig)))
        });
        // The raw crate, called the way a careful user of it would: parse the compact
        // signature, then verify (SHA-256 inside). k256 checks low-S itself; p256 does not.
        match public {
            PublicKey::K256(vk) => {
                use atmo_crypto::k256::ecdsa::{Signature, signature::Verifier};
                group.bench_function(format!("{curve}/raw-rustcrypto"), |b| {
                    b.iter(|| {
                        let s = Signature::from_slice(black_box(&sig)).expect("sig");
                        black_box(&vk).verify(black_box(&MSG), &s)
                    })
                });
            }
            PublicKey::P256(vk) => {
                use atmo_crypto::p256::ecdsa::{Signature, signature::Verifier};
                group.bench_function(format!("{curve}/raw-rustcrypto"), |b| {
                    b.iter(|| {
                        let s = Signature::from_slice(black_box(&sig)).expect("sig");
                        black_box(&vk).verify(black_box(&MSG), &s)
                    })
                });
            }
        }
    }
    group.finish();
}

fn sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    for curve in Curve::ALL {
        let key = keypair(curve);
        group.bench_function(format!("{curve}/atmo"), |b| {
            b.iter(|| black_box(&key).sign(black_box(&MSG)))
        });
        match &key {
            Keypair::K256(sk) => {
                use atmo_crypto::k256::ecdsa::{Signature, signature::Signer};
                group.bench_function(format!("{curve}/raw-rustcrypto"), |b| {
                    b.iter(|| -> Signature { black_box(sk).sign(black_box(&MSG)) })
                });
            }
            Keypair::P256(sk) => {
                use atmo_crypto::p256::ecdsa::{Signature, signature::Signer};
                group.bench_function(format!("{curve}/raw-rustcrypto"), |b| {
                    b.iter(|| -> Signature { black_box(sk).sign(black_box(&MSG)) })
                });
            }
        }
    }
    group.finish();
}

fn did_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("did_key");
    for curve in Curve::ALL {
        let did = keypair(curve).public_key().to_did_key();
        group.bench_function(format!("{curve}/parse"), |b| {
            b.iter(|| PublicKey::from_did_key(black_box(&did)))
        });
    }
    group.finish();
}

mod group {
    // `criterion_group!` defines an undocumented `pub fn`.
    #![allow(missing_docs)]
    use super::{did_key, sign, verify};
    criterion::criterion_group!(benches, verify, sign, did_key);
}
criterion_main!(group::benches);
