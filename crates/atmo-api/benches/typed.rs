//! Typed decoding of `app.bsky.feed.post` records (the committed corpus of records made
//! by the official implementation, crates/atmo-data/benches/corpus/blocks-300.bin):
//! one pass straight from DAG-CBOR, through the generated direct reader
//! (`atmo_data::read_cbor`, `FromCbor`) and through serde (`atmo_data::from_cbor`), against
//! the way through an
//! owned `Value` (`from_value(cbor::decode(..))`), the owned `Value` alone, and one pass
//! from JSON (`atmo_data::from_json`).
//!
//! A second group decodes every `app.bsky` record of the corpus (posts, likes, follows,
//! reposts, the profile: the mix of the 100k-record benchmark repository) into its
//! generated type, against the owned `Value` of the same records: the per-record cost
//! behind the repository benchmark's typed and owned modes.
//!
//! `cargo bench -p atmo-api --features app_bsky --bench typed`
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;

use atmo_api::app_bsky::feed::post::Record as Post;
use atmo_data::{Value, cbor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Every record block of the corpus whose `$type` is accepted by `keep`, with its type.
fn records(keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../atmo-data/benches/corpus/blocks-300.bin"
    );
    let data = std::fs::read(path).expect("read corpus");
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        let block = &tail[..n];
        if let Ok(v) = cbor::decode(block) {
            if let Some(t) = v.get("$type").and_then(Value::as_str).filter(|t| keep(t)) {
                out.push((t.to_owned(), block.to_vec()));
            }
        }
        rest = &tail[n..];
    }
    assert!(!out.is_empty(), "no record in the corpus");
    out
}

fn posts() -> Vec<Vec<u8>> {
    records(|t| t == Post::NSID)
        .into_iter()
        .map(|(_, b)| b)
        .collect()
}

/// Decodes one `app.bsky` record into its generated type, by its `$type`, with `$read`
/// (`atmo_data::from_cbor` or `atmo_data::read_cbor`).
macro_rules! typed {
    ($read:ident, $t:expr, $b:expr) => {{
        use atmo_api::app_bsky::{actor, feed, graph};
        let b: &[u8] = $b;
        match $t {
            "app.bsky.feed.post" => drop(black_box(atmo_data::$read::<Post>(b).expect("post"))),
            "app.bsky.feed.like" => drop(black_box(
                atmo_data::$read::<feed::like::Record>(b).expect("like"),
            )),
            "app.bsky.graph.follow" => drop(black_box(
                atmo_data::$read::<graph::follow::Record>(b).expect("follow"),
            )),
            "app.bsky.feed.repost" => drop(black_box(
                atmo_data::$read::<feed::repost::Record>(b).expect("repost"),
            )),
            "app.bsky.actor.profile" => drop(black_box(
                atmo_data::$read::<actor::profile::Record>(b).expect("profile"),
            )),
            other => panic!("no generated type for {other}"),
        }
    }};
}

fn mixed(c: &mut Criterion) {
    let recs = records(|t| {
        matches!(
            t,
            "app.bsky.feed.post"
                | "app.bsky.feed.like"
                | "app.bsky.graph.follow"
                | "app.bsky.feed.repost"
                | "app.bsky.actor.profile"
        )
    });
    let bytes: usize = recs.iter().map(|(_, b)| b.len()).sum();
    let mut g = c.benchmark_group(format!("app.bsky records ({} records)", recs.len()));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("typed, direct reader (read_cbor)", |b| {
        b.iter(|| {
            for (t, r) in &recs {
                typed!(read_cbor, t.as_str(), r);
            }
        })
    });
    g.bench_function("typed, one pass through serde (from_cbor)", |b| {
        b.iter(|| {
            for (t, r) in &recs {
                typed!(from_cbor, t.as_str(), r);
            }
        })
    });
    g.bench_function("owned Value (cbor::decode)", |b| {
        b.iter(|| {
            for (_, r) in &recs {
                black_box(cbor::decode(r).expect("decode"));
            }
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let posts = posts();
    let bytes: usize = posts.iter().map(Vec::len).sum();
    let jsons: Vec<String> = posts
        .iter()
        .map(|b| atmo_data::json::to_string(&cbor::decode(b).expect("decode")))
        .collect();
    let mut g = c.benchmark_group(format!("post ({} records)", posts.len()));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("typed, direct reader (read_cbor)", |b| {
        b.iter(|| {
            for p in &posts {
                black_box(atmo_data::read_cbor::<Post>(p).expect("post"));
            }
        })
    });
    g.bench_function("typed, one pass through serde (from_cbor)", |b| {
        b.iter(|| {
            for p in &posts {
                black_box(atmo_data::from_cbor::<Post>(p).expect("post"));
            }
        })
    });
    g.bench_function("typed, through Value (from_value(decode))", |b| {
        b.iter(|| {
            for p in &posts {
                let v = cbor::decode(p).expect("decode");
                black_box(atmo_data::from_value::<Post>(v).expect("post"));
            }
        })
    });
    g.bench_function("owned Value (cbor::decode)", |b| {
        b.iter(|| {
            for p in &posts {
                black_box(cbor::decode(p).expect("decode"));
            }
        })
    });
    g.bench_function("typed from JSON, one pass (from_json)", |b| {
        b.iter(|| {
            for j in &jsons {
                black_box(atmo_data::from_json::<Post>(j).expect("post"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench, mixed);
criterion_main!(benches);
