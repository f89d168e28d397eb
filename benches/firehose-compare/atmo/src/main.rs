//! atmo driver: every frame of `frames.bin` decoded and fully verified by atmo-firehose, as
//! a subscription does (`Checker` at `VerifyLevel::Full`): the header and body decoded
//! (`RepoEvent::decode`, default `FrameLimits`), every CAR block's hash checked, the commit
//! block found and its signature checked with the account's key from `keys.txt` (k256:
//! pure-Rust, or libsecp256k1 when built with `--features secp256k1`), the ops checked
//! against the CAR slice and sync 1.1 (`prevData`: the ops inverted on the new tree give the
//! previous root; rev after the account's previous rev; `since` chaining) through
//! atmo-repo's verify_commit / verify_commit_ops, the records of the ops decoded.
//!
//! ```text
//! firehose-compare-atmo DIR            # on the calling thread (Checker::check)
//! firehose-compare-atmo DIR --pool N   # decoding on the calling thread, checks on N
//!                                      # workers (verify_pool), verdicts read in order
//! ```
//! Prints the number of frames that verified (every one should); exits 1 otherwise. Prints
//! `loop_ms N` on stderr: the time of the frame loop alone (keys parsed, frames split before).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use atmo_crypto::PublicKey;
use atmo_firehose::{
    Checked, Checker, Filter, FrameLimits, Output, PoolOptions, RepoEvent, Verifier, VerifyLevel,
    verify_pool,
};
use atmo_syntax::Did;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(
        args.first()
            .expect("usage: firehose-compare-atmo DIR [--pool N]"),
    );
    let pool: Option<usize> = match args.get(1).map(String::as_str) {
        Some("--pool") => Some(args.get(2).and_then(|s| s.parse().ok()).expect("--pool N")),
        Some(other) => panic!("unknown argument {other}"),
        None => None,
    };
    let bytes = std::fs::read(dir.join("frames.bin")).expect("frames.bin");
    let mut frames: Vec<&[u8]> = Vec::new();
    let mut rest = &bytes[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (f, tail) = tail
            .split_at_checked(u32::from_le_bytes(*len) as usize)
            .expect("a whole frame");
        frames.push(f);
        rest = tail;
    }
    let mut keys: HashMap<Did, PublicKey> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("keys.txt"))
        .expect("keys.txt")
        .lines()
    {
        let (did, key) = line.split_once(' ').expect("did did:key");
        keys.insert(
            did.parse().expect("a did"),
            PublicKey::from_did_key(key).expect("a did:key"),
        );
    }
    let keys = Arc::new(keys);
    let limits = FrameLimits::DEFAULT;
    let t0 = std::time::Instant::now();
    let ok = match pool {
        None => {
            let mut checker =
                Checker::new(Verifier::new(VerifyLevel::Full), Filter::default(), keys);
            let mut ok = 0usize;
            for f in &frames {
                let ev = RepoEvent::decode(f, &limits).expect("a frame");
                if let Checked::Event(ev) = checker.check(ev) {
                    ok += 1;
                    black_box(ev);
                }
            }
            ok
        }
        Some(workers) => {
            let (mut tx, rx) = verify_pool::<()>(
                PoolOptions::new(VerifyLevel::Full, workers),
                Filter::default(),
                keys,
            )
            .expect("threads");
            let reader = std::thread::spawn(move || {
                rx.filter(|o| matches!(o, Output::Checked(Checked::Event(_))))
                    .map(black_box)
                    .count()
            });
            for f in &frames {
                tx.send(RepoEvent::decode(f, &limits).expect("a frame"))
                    .expect("the pool");
            }
            tx.finish();
            reader.join().expect("the reader")
        }
    };
    // The frame loop alone (no start-up, no file reading), for run.sh's loop column.
    eprintln!("loop_ms {:.1}", t0.elapsed().as_secs_f64() * 1000.0);
    println!("{ok}");
    if ok != frames.len() {
        eprintln!(
            "{} of {} frames did not verify",
            frames.len() - ok,
            frames.len()
        );
        std::process::exit(1);
    }
}
