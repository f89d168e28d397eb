//! Decode and encode throughput on all blocks of a realistic repository, side by side:
//! atmo-data (owned Value, borrowed ValueRef, validate-only), serde_ipld_dagcbor (to its
//! Ipld value, and parse-only through IgnoredAny) and ciborium (to its Value).
#![allow(missing_docs)]

use std::hint::black_box;

use atmo_data::cbor::{self, DecodeLimits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipld_core::ipld::Ipld;

fn benches(c: &mut Criterion) {
    let (path, blocks) = atmo_data_compare::corpus();
    let total: usize = blocks.iter().map(Vec::len).sum();
    eprintln!(
        "corpus {}: {} blocks, {} bytes",
        path.display(),
        blocks.len(),
        total
    );

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("atmo Value", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(cbor::decode(black_box(blk)).unwrap());
            }
        })
    });
    g.bench_function("atmo ValueRef", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(cbor::decode_ref(black_box(blk)).unwrap());
            }
        })
    });
    g.bench_function("atmo ValueRef + full walk", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for blk in &blocks {
                n += walk(&cbor::decode_ref(black_box(blk)).unwrap());
            }
            black_box(n)
        })
    });
    g.bench_function("atmo validate", |b| {
        b.iter(|| {
            for blk in &blocks {
                cbor::validate(black_box(blk), &DecodeLimits::DEFAULT).unwrap();
            }
        })
    });
    g.bench_function("serde_ipld_dagcbor Ipld", |b| {
        b.iter(|| {
            for blk in &blocks {
                let v: Ipld = serde_ipld_dagcbor::from_slice(black_box(blk)).unwrap();
                black_box(v);
            }
        })
    });
    g.bench_function("serde_ipld_dagcbor IgnoredAny", |b| {
        b.iter(|| {
            for blk in &blocks {
                let v: serde::de::IgnoredAny =
                    serde_ipld_dagcbor::from_slice(black_box(blk)).unwrap();
                black_box(v);
            }
        })
    });
    g.bench_function("ciborium Value", |b| {
        b.iter(|| {
            for blk in &blocks {
                let v: ciborium::Value = ciborium::from_reader(black_box(&blk[..])).unwrap();
                black_box(v);
            }
        })
    });
    g.finish();

    let atmo: Vec<_> = blocks.iter().map(|b| cbor::decode(b).unwrap()).collect();
    let ipld: Vec<Ipld> = blocks
        .iter()
        .map(|b| serde_ipld_dagcbor::from_slice(b).unwrap())
        .collect();
    let cib: Vec<ciborium::Value> = blocks
        .iter()
        .map(|b| ciborium::from_reader(&b[..]).unwrap())
        .collect();
    // Same bytes out as in, for the two DAG-CBOR codecs.
    for ((a, i), b) in atmo.iter().zip(&ipld).zip(&blocks) {
        assert_eq!(&cbor::encode(a), b);
        assert_eq!(&serde_ipld_dagcbor::to_vec(i).unwrap(), b);
    }

    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("atmo Value", |b| {
        let mut out = Vec::with_capacity(total);
        b.iter(|| {
            out.clear();
            for v in &atmo {
                cbor::encode_into(black_box(v), &mut out);
            }
            black_box(out.len())
        })
    });
    g.bench_function("serde_ipld_dagcbor Ipld", |b| {
        b.iter(|| {
            for v in &ipld {
                black_box(serde_ipld_dagcbor::to_vec(black_box(v)).unwrap());
            }
        })
    });
    g.bench_function("ciborium Value", |b| {
        b.iter(|| {
            for v in &cib {
                let mut out = Vec::new();
                ciborium::into_writer(black_box(v), &mut out).unwrap();
                black_box(out);
            }
        })
    });
    g.finish();
}

/// Visits every value of a borrowed view (what a consumer reading all fields pays).
fn walk(v: &atmo_data::ValueRef<'_>) -> usize {
    use atmo_data::ValueRef;
    match v {
        ValueRef::String(s) => s.len(),
        ValueRef::Bytes(b) => b.len(),
        ValueRef::Link(c) => c.as_bytes().len(),
        ValueRef::Array(a) => a.iter().map(|e| walk(&e)).sum(),
        ValueRef::Map(m) => m.iter().map(|(k, e)| k.len() + walk(&e)).sum(),
        _ => 1,
    }
}

criterion_group!(compare, benches);
criterion_main!(compare);
