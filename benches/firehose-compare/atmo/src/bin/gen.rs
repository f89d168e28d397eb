//! Writes the fixture every driver reads: realistic subscribeRepos `#commit` frames made with
//! atmo's own repository code, by the generator atmo-firehose's tests and benchmark use
//! (`crates/atmo-firehose/tests/support/frames.rs`, included by path, not copied): accounts
//! of a few thousand records, commits of two or three writes, each frame a DAG-CBOR header
//! `{op: 1, t: "#commit"}` then the body (CAR slice with the signed commit, the new MST nodes,
//! the new records and the old nodes sync 1.1 needs; ops; prevData; seq, rev, since, time).
//!
//! ```text
//! firehose-compare-gen OUT_DIR [FRAMES ACCOUNTS RECORDS SEED]   # default 5000 40 10000 11
//! ```
//! Writes `OUT_DIR/frames.bin` (each frame as a little-endian u32 length then its bytes) and
//! `OUT_DIR/keys.txt` (one `did did:key:...` line per account, its k256 signing key).

#[path = "../../../../../crates/atmo-firehose/tests/support/frames.rs"]
mod frames;

use std::io::Write as _;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(
        args.first()
            .expect("usage: firehose-compare-gen OUT_DIR [FRAMES ACCOUNTS RECORDS SEED]"),
    );
    let num = |i: usize, d: u64| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (n, accounts, records, seed) = (num(1, 5000), num(2, 40), num(3, 10_000), num(4, 11));
    let t0 = std::time::Instant::now();
    let made = frames::generate(accounts as usize, records as usize, n as usize, seed);
    std::fs::create_dir_all(&dir).expect("the output directory");
    let mut out = Vec::new();
    for f in &made.frames {
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    let mut keys: Vec<String> = made
        .keys
        .iter()
        .map(|(did, key)| format!("{did} {}\n", key.to_did_key()))
        .collect();
    keys.sort();
    // Written under temporary names first: a fixture is there whole or not at all.
    let tmp = dir.join("frames.bin.tmp");
    std::fs::write(&tmp, &out).expect("frames.bin");
    let mut k = std::fs::File::create(dir.join("keys.txt")).expect("keys.txt");
    k.write_all(keys.concat().as_bytes()).expect("keys.txt");
    std::fs::rename(&tmp, dir.join("frames.bin")).expect("frames.bin");
    let mut sizes: Vec<usize> = made.frames.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    eprintln!(
        "{} frames ({} bytes; frame bytes: mean {}, p10 {}, median {}, p90 {}), {} accounts of {records} records, seed {seed}, in {:.1} s",
        sizes.len(),
        out.len(),
        out.len() / sizes.len().max(1) - 4,
        sizes[sizes.len() / 10],
        sizes[sizes.len() / 2],
        sizes[sizes.len() * 9 / 10],
        made.keys.len(),
        t0.elapsed().as_secs_f64()
    );
}
