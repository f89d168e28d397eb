//! Decode and encode throughput of atmo-data on all blocks of a realistic repository.
//!
//! Corpus: `$ATMO_DATA_CORPUS`, else `tests/oracle/out/blocks-10000.bin` (make it with
//! `tests/oracle/gen-corpus.sh`: the official @atproto/repo package, 10k records), else
//! the small committed `benches/corpus/blocks-300.bin`. Each file is a sequence of blocks,
//! each a 4-byte big-endian length then the block bytes.
//!
//! Side-by-side figures against serde_ipld_dagcbor and ciborium come from the separate
//! project `benches/data-compare` (kept out of the workspace for its dependencies).
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::path::PathBuf;

use atmo_data::cbor::{self, DecodeLimits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus() -> (PathBuf, Vec<Vec<u8>>) {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("ATMO_DATA_CORPUS").map(PathBuf::from),
        Some(here.join("../../tests/oracle/out/blocks-10000.bin")),
        Some(here.join("benches/corpus/blocks-300.bin")),
    ];
    let path = candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .expect("no corpus found");
    let data = std::fs::read(&path).expect("read corpus");
    let mut blocks = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        blocks.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    (path, blocks)
}

fn benches(c: &mut Criterion) {
    let (path, blocks) = corpus();
    let total: usize = blocks.iter().map(Vec::len).sum();
    eprintln!(
        "corpus {}: {} blocks, {} bytes",
        path.display(),
        blocks.len(),
        total
    );
    let values: Vec<_> = blocks
        .iter()
        .map(|b| cbor::decode(b).expect("corpus block is strict DAG-CBOR"))
        .collect();

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
    // What `atmo_repo::Record::to_value` did before it decoded in one pass.
    g.bench_function("atmo ValueRef then to_owned_value", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(cbor::decode_ref(black_box(blk)).unwrap().to_owned_value());
            }
        })
    });
    g.bench_function("atmo Value through serde (from_cbor)", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(atmo_data::from_cbor::<atmo_data::Value>(black_box(blk)).unwrap());
            }
        })
    });
    g.bench_function("atmo validate", |b| {
        b.iter(|| {
            for blk in &blocks {
                cbor::validate(black_box(blk), &DecodeLimits::DEFAULT).unwrap();
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("atmo Value", |b| {
        let mut out = Vec::with_capacity(total);
        b.iter(|| {
            out.clear();
            for v in &values {
                cbor::encode_into(black_box(v), &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("cid");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("atmo for_dag_cbor", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(atmo_data::Cid::for_dag_cbor(black_box(blk)));
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

criterion_group!(data, benches);
criterion_main!(data);
