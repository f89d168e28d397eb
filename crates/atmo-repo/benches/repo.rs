//! CAR -> every record decoded, with every block hash checked and the tree's canonical
//! form verified, for a generated 10k-record repository (and for the @atproto/repo corpus
//! in tests/oracle/out if it has been generated with tests/oracle/gen-corpus.sh).
#![allow(missing_docs)]

use std::hint::black_box;

use atmo_crypto::{Curve, Keypair};
use atmo_repo::{Repo, build_repo};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn generated(n: usize) -> Vec<u8> {
    let key = Keypair::from_private_key_hex(
        Curve::K256,
        "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
    )
    .expect("valid key");
    let clock = atmo_syntax::TidClock::with_clock_id(7);
    let records = (0..n).map(|i| {
        let rkey = clock.next();
        let (collection, json) = match i % 3 {
            0 => (
                "app.bsky.feed.post",
                format!(
                    r#"{{"$type":"app.bsky.feed.post","text":"post number {i} about the atmosphere 🦋","langs":["en"],"createdAt":"2024-01-01T00:00:00.000Z"}}"#
                ),
            ),
            1 => (
                "app.bsky.feed.like",
                format!(
                    r#"{{"$type":"app.bsky.feed.like","subject":{{"uri":"at://did:plc:abc/app.bsky.feed.post/{rkey}","cid":"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}},"createdAt":"2024-01-01T00:00:00.000Z"}}"#
                ),
            ),
            _ => (
                "app.bsky.graph.follow",
                format!(
                    r#"{{"$type":"app.bsky.graph.follow","subject":"did:plc:{i:024}","createdAt":"2024-01-01T00:00:00.000Z"}}"#
                ),
            ),
        };
        let value = atmo_data::json::from_str(&json).expect("valid record JSON");
        (format!("{collection}/{rkey}"), value)
    });
    build_repo(
        &"did:plc:atmobenchcorpus000000000"
            .parse()
            .expect("valid DID"),
        &key,
        clock.next(),
        records,
    )
    .expect("builds")
    .car
}

fn decode_all(car: &[u8]) -> usize {
    let repo = Repo::from_car(car).expect("valid repo");
    let mut n = 0;
    for r in repo.records() {
        let r = r.expect("valid record");
        black_box(r.value().expect("valid DAG-CBOR"));
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("car_to_records");
    let car = generated(10_000);
    g.throughput(Throughput::Bytes(car.len() as u64));
    g.bench_function("generated_10k", |b| b.iter(|| decode_all(black_box(&car))));
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/oracle/out/repo-10000.car");
    if let Ok(car) = std::fs::read(&corpus) {
        g.throughput(Throughput::Bytes(car.len() as u64));
        g.bench_function("atproto_corpus_10k", |b| {
            b.iter(|| decode_all(black_box(&car)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
