//! atmo-repo driver: CAR file -> every record decoded, every block hash checked.
//!
//! `ATMO_MODE` says what each record is decoded to:
//! - `ref` (default): a borrowed, fully validated `ValueRef` (strict DAG-CBOR);
//! - `owned`: an owned `atmo_data::Value` (`Record::to_value`), what atrium-repo's
//!   `Ipld` is;
//! - `typed`: each `app.bsky.*` record as its generated atmo-api type
//!   (`app_bsky::feed::post::Record`...), in one pass (`Record::read`: the generated
//!   direct DAG-CBOR reader, no serde visitor and no `Value` in between); a record of
//!   another collection as an owned `Value`.
//!
//! `ATMO_THREADS` (default `car::default_threads()`, at most 4) is the thread count, an
//! explicit choice everywhere: `CarFile::open` reads the file (on Linux into memory on
//! transparent huge pages) a piece at a time and checks every block against its CID
//! (SHA-256) as the pieces come, the reading and the checking overlapped on several
//! threads; `Repo::for_each_record` walks the tree's subtrees with the canonical-form
//! checks and decodes each record there. With 1, everything runs on the calling thread
//! and no thread is started. `ATMO_SPLIT=1` reads the whole file first
//! (`car::read_file_threads`), then indexes it (`CarReader::threads`), as before
//! `CarFile`. `ATMO_TIMING=1` prints the time of each phase (read and index, walk and
//! decode) to stderr.
use atmo_api::app_bsky::{actor, feed, graph};
use atmo_repo::{Error, Record};
use std::hint::black_box;

fn typed(r: &Record<'_>) -> Result<(), Error> {
    match r.collection() {
        "app.bsky.feed.post" => drop(black_box(r.read::<feed::post::Record>()?)),
        "app.bsky.feed.like" => drop(black_box(r.read::<feed::like::Record>()?)),
        "app.bsky.graph.follow" => drop(black_box(r.read::<graph::follow::Record>()?)),
        "app.bsky.feed.repost" => drop(black_box(r.read::<feed::repost::Record>()?)),
        "app.bsky.actor.profile" => drop(black_box(r.read::<actor::profile::Record>()?)),
        _ => drop(black_box(r.to_value()?)),
    }
    Ok(())
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-atmo FILE.car");
    let mode = std::env::var("ATMO_MODE").unwrap_or_else(|_| "ref".into());
    let threads = std::env::var("ATMO_THREADS")
        .ok()
        .map(|t| t.parse::<usize>().expect("ATMO_THREADS: a number"))
        .unwrap_or_else(atmo_repo::car::default_threads)
        .max(1);
    let timing = std::env::var_os("ATMO_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let split = std::env::var_os("ATMO_SPLIT").is_some();
    let (file, bytes);
    let repo = if split {
        bytes = atmo_repo::car::read_file_threads(&path, threads).expect("read");
        let reader = atmo_repo::car::CarReader::new(&bytes)
            .expect("CAR header")
            .threads(threads);
        atmo_repo::Repo::from_reader(reader).expect("open repo")
    } else {
        file = atmo_repo::CarFile::open(&path, threads).expect("read CAR file");
        file.repo().expect("open repo")
    };
    let t2 = t0.elapsed();
    let n = match mode.as_str() {
        "ref" => repo.for_each_record(threads, |r| {
            black_box(r.value()?);
            Ok(())
        }),
        "owned" => repo.for_each_record(threads, |r| {
            black_box(r.to_value()?);
            Ok(())
        }),
        "typed" => repo.for_each_record(threads, |r| typed(&r)),
        other => panic!("ATMO_MODE: ref, owned or typed, not {other:?}"),
    }
    .expect("walk tree and decode records");
    if timing {
        let t3 = t0.elapsed();
        eprintln!("read and index {t2:?}, walk {:?}", t3 - t2);
    }
    println!("{n}");
}
