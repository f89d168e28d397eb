//! Firehose throughput: realistic `#commit` frames fully verified (every block's hash,
//! the commit signature, sync 1.1 against `prevData` and the rev order, records decoded),
//! on the calling thread and on a pool of 1 and 2 workers, in the same run; "decode"
//! (frames to events, no checks) is the serial part the pool's sender does.
//!
//! The frames are made once with atmo-repo (`tests/support/frames.rs`: 5,000 commits of
//! PDS-like accounts with a few thousand records, 6-8 KB a frame) and kept under the
//! target directory (`atmo-firehose-bench/`), not in the repository.
//!
//! ```text
//! cargo bench -p atmo-firehose --bench verify [--features secp256k1] -- --warm-up-time 1 --measurement-time 10
//! ```
//! With `--features secp256k1` the signature checks run on libsecp256k1; the benchmark
//! names say which backend was used.

#[path = "../tests/support/frames.rs"]
mod frames;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use atmo_crypto::PublicKey;
use atmo_firehose::{
    Checked, Checker, Filter, FrameLimits, Output, PoolOptions, RepoEvent, Verifier, VerifyLevel,
    verify_pool,
};
use atmo_syntax::Did;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};

const FRAMES: usize = 5_000;
const ACCOUNTS: usize = 40;
const RECORDS: usize = 10_000;
const SEED: u64 = 11;

struct Fixture {
    frames: Vec<Vec<u8>>,
    keys: HashMap<Did, PublicKey>,
}

/// The target directory: the benchmark runs as `<target>/<profile>/deps/verify-<hash>`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn fixture() -> Fixture {
    let path = target_dir().join(format!(
        "atmo-firehose-bench/commits-{FRAMES}-{ACCOUNTS}x{RECORDS}-{SEED}-v1.bin"
    ));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Some(f) = parse(&bytes) {
            return f;
        }
    }
    eprintln!("making {FRAMES} commit frames into {}", path.display());
    let made = frames::generate(ACCOUNTS, RECORDS, FRAMES, SEED);
    let mut out = Vec::new();
    let mut put = |b: &[u8]| {
        out.extend((b.len() as u32).to_le_bytes());
        out.extend(b);
    };
    put(&(made.keys.len() as u32).to_le_bytes());
    for (did, key) in &made.keys {
        put(format!("{did} {}", key.to_did_key()).as_bytes());
    }
    for f in &made.frames {
        put(f);
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&path, &out);
    Fixture {
        frames: made.frames,
        keys: made.keys,
    }
}

fn parse(bytes: &[u8]) -> Option<Fixture> {
    let mut rest = bytes;
    let mut next = || -> Option<&[u8]> {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let (item, tail) = tail.split_at_checked(u32::from_le_bytes(*len) as usize)?;
        rest = tail;
        Some(item)
    };
    let n = u32::from_le_bytes(next()?.try_into().ok()?) as usize;
    let mut keys = HashMap::new();
    for _ in 0..n {
        let line = std::str::from_utf8(next()?).ok()?;
        let (did, key) = line.split_once(' ')?;
        keys.insert(did.parse().ok()?, PublicKey::from_did_key(key).ok()?);
    }
    let mut frames = Vec::new();
    while let Some(f) = next() {
        frames.push(f.to_vec());
    }
    (frames.len() == FRAMES).then_some(Fixture { frames, keys })
}

/// Every frame on the calling thread: decode, check.
fn inline(fx: &Fixture) -> usize {
    let limits = FrameLimits::DEFAULT;
    let mut checker = Checker::new(
        Verifier::new(VerifyLevel::Full),
        Filter::default(),
        Arc::new(fx.keys.clone()),
    );
    let mut ok = 0;
    for f in &fx.frames {
        let ev = RepoEvent::decode(f, &limits).expect("a frame");
        if let Checked::Event(ev) = checker.check(ev) {
            ok += 1;
            black_box(ev);
        }
    }
    ok
}

/// Decoding on the calling thread, checks on `workers` threads, verdicts read in order
/// on another thread.
fn pooled(fx: &Fixture, workers: usize) -> usize {
    let limits = FrameLimits::DEFAULT;
    let (mut tx, rx) = verify_pool::<()>(
        PoolOptions::new(VerifyLevel::Full, workers),
        Filter::default(),
        Arc::new(fx.keys.clone()),
    )
    .expect("threads");
    let reader = std::thread::spawn(move || {
        rx.filter(|o| matches!(o, Output::Checked(Checked::Event(_))))
            .map(black_box)
            .count()
    });
    for f in &fx.frames {
        tx.send(RepoEvent::decode(f, &limits).expect("a frame"))
            .expect("the pool");
    }
    tx.finish();
    reader.join().expect("the reader")
}

/// CPU time used by the whole process so far (all threads), in seconds, from
/// `/proc/self/stat` (Linux; `None` elsewhere). Clock ticks are taken as 1/100 s.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Frames per CPU-second and per wall-clock second of `run`, best of `rounds`: on a shared
/// machine the first shows the work each frame costs whatever the other processes take.
fn cpu_rate(fx: &Fixture, rounds: usize, run: impl Fn(&Fixture) -> usize) -> Option<(f64, f64)> {
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..rounds {
        let cpu = cpu_seconds()?;
        let wall = std::time::Instant::now();
        let n = run(fx) as f64;
        let (cpu, wall) = (cpu_seconds()? - cpu, wall.elapsed().as_secs_f64());
        let r = (n / cpu.max(0.01), n / wall);
        best = Some(best.map_or(r, |b: (f64, f64)| (b.0.max(r.0), b.1.max(r.1))));
    }
    best
}

fn bench(c: &mut Criterion) {
    let fx = fixture();
    let sizes: Vec<usize> = fx.frames.iter().map(Vec::len).collect();
    let mean = sizes.iter().sum::<usize>() / sizes.len().max(1);
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    eprintln!(
        "{} frames, {} accounts, bytes: mean {mean}, p10 {}, median {}, p90 {}; k256 backend: {}",
        fx.frames.len(),
        fx.keys.len(),
        sorted[sorted.len() / 10],
        sorted[sorted.len() / 2],
        sorted[sorted.len() * 9 / 10],
        atmo_crypto::k256_backend()
    );
    // Every frame verifies, on every path (not a timing: a check of what is timed).
    assert_eq!(inline(&fx), fx.frames.len());
    assert_eq!(pooled(&fx, 2), fx.frames.len());

    let backend = atmo_crypto::k256_backend();
    type Run<'a> = &'a dyn Fn(&Fixture) -> usize;
    let runs: [(&str, Run<'_>); 3] = [
        ("inline", &inline),
        ("pool-1", &|f| pooled(f, 1)),
        ("pool-2", &|f| pooled(f, 2)),
    ];
    for (name, run) in runs {
        if let Some((cpu, wall)) = cpu_rate(&fx, 3, run) {
            eprintln!(
                "cpu-time: {backend} {name}: {cpu:.0} frames per CPU-second, {wall:.0} frames/s wall"
            );
        }
    }
    let mut g = c.benchmark_group("firehose_full");
    g.throughput(Throughput::Elements(fx.frames.len() as u64));
    g.sample_size(10);
    let limits = FrameLimits::DEFAULT;
    g.bench_function("decode-only", |b| {
        b.iter(|| {
            for f in &fx.frames {
                black_box(RepoEvent::decode(f, &limits).expect("a frame"));
            }
        })
    });
    g.bench_function(BenchmarkId::new(format!("inline/{backend}"), 1), |b| {
        b.iter(|| inline(&fx))
    });
    for workers in [1, 2] {
        g.bench_function(BenchmarkId::new(format!("pool/{backend}"), workers), |b| {
            b.iter(|| pooled(&fx, workers))
        });
    }
    g.finish();
}

mod group {
    // `criterion_group!` defines an undocumented `pub fn`.
    #![allow(missing_docs)]
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
criterion_main!(group::benches);
