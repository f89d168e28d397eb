//! Interleaved throughput ratios, robust to a busy machine: each round times every
//! decoder once over the whole corpus, in turn. Printed: the best round of each, and the
//! median over rounds of each one's speed relative to serde_ipld_dagcbor's in the same
//! round (neighbouring timings see the same load).
//!
//!   cargo run --release --example ratio [ROUNDS [NAME]]
//!
//! With NAME (a prefix of a decoder's name), runs only that decoder, ROUNDS times, and
//! prints nothing: a driver for profilers such as `valgrind --tool=callgrind`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use atmo_data::cbor::{self, DecodeLimits};
use ipld_core::ipld::Ipld;

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

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("ROUNDS"))
        .unwrap_or(40);
    let (_, blocks) = atmo_data_compare::corpus();
    let total: usize = blocks.iter().map(Vec::len).sum();
    type Run<'a> = (&'a str, Box<dyn Fn(&[Vec<u8>]) + 'a>);
    let runs: Vec<Run<'_>> = vec![
        (
            "atmo Value",
            Box::new(|bs| {
                for b in bs {
                    black_box(cbor::decode(black_box(b)).unwrap());
                }
            }),
        ),
        (
            "atmo ValueRef",
            Box::new(|bs| {
                for b in bs {
                    black_box(cbor::decode_ref(black_box(b)).unwrap());
                }
            }),
        ),
        (
            "atmo ValueRef + full walk",
            Box::new(|bs| {
                let mut n = 0;
                for b in bs {
                    n += walk(&cbor::decode_ref(black_box(b)).unwrap());
                }
                black_box(n);
            }),
        ),
        (
            "atmo validate",
            Box::new(|bs| {
                for b in bs {
                    cbor::validate(black_box(b), &DecodeLimits::DEFAULT).unwrap();
                }
            }),
        ),
        (
            "serde_ipld_dagcbor Ipld",
            Box::new(|bs| {
                for b in bs {
                    let v: Ipld = serde_ipld_dagcbor::from_slice(black_box(b)).unwrap();
                    black_box(v);
                }
            }),
        ),
        (
            "serde_ipld_dagcbor IgnoredAny",
            Box::new(|bs| {
                for b in bs {
                    let v: serde::de::IgnoredAny =
                        serde_ipld_dagcbor::from_slice(black_box(b)).unwrap();
                    black_box(v);
                }
            }),
        ),
    ];
    if let Some(only) = std::env::args().nth(2) {
        let (_, f) = runs
            .iter()
            .find(|(name, _)| name.starts_with(&only))
            .expect("no decoder of that name");
        for _ in 0..rounds {
            f(&blocks);
        }
        return;
    }
    let mut best = vec![Duration::MAX; runs.len()];
    let mut ratios = vec![Vec::with_capacity(rounds); runs.len()];
    for _ in 0..rounds {
        let mut times = Vec::with_capacity(runs.len());
        for (i, (_, f)) in runs.iter().enumerate() {
            let t = Instant::now();
            f(&blocks);
            let d = t.elapsed();
            best[i] = best[i].min(d);
            times.push(d);
        }
        for (r, d) in ratios.iter_mut().zip(&times) {
            r.push(times[4].as_secs_f64() / d.as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mib = |d: Duration| total as f64 / d.as_secs_f64() / (1024.0 * 1024.0);
    let ipld = mib(best[4]);
    for (((name, _), d), r) in runs.iter().zip(&best).zip(&mut ratios) {
        println!(
            "{name:32} best {:8.1} MiB/s {:6.2}x Ipld   median ratio {:6.2}x",
            mib(*d),
            mib(*d) / ipld,
            median(r)
        );
    }
}
