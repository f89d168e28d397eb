//! atmo-repo driver: CAR file -> every record decoded.
//!
//! `car::read_file` reads the file (on `car::default_threads()` threads for a large one,
//! on Linux into memory on transparent huge pages);
//! `Repo::from_car` checks every block against its CID (SHA-256, on the same number of
//! threads); `Repo::for_each_record` walks the tree's subtrees on those threads with the
//! canonical-form checks and decodes each record there to a borrowed, fully validated
//! `ValueRef` (strict DAG-CBOR).
//!
//! For comparison: `ATMO_STD_READ=1` reads the file with `std::fs::read` instead;
//! `ATMO_SEQUENTIAL=1` does everything on one thread (`std::fs::read`, `threads(1)`,
//! `repo.records()` in key order). `ATMO_TIMING=1` prints the time of each phase (read,
//! index and hash-check, walk and decode) to stderr.
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-atmo FILE.car");
    let sequential = std::env::var_os("ATMO_SEQUENTIAL").is_some();
    let timing = std::env::var_os("ATMO_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let (std_bytes, file_bytes);
    let bytes: &[u8] = if sequential || std::env::var_os("ATMO_STD_READ").is_some() {
        std_bytes = std::fs::read(&path).expect("read");
        &std_bytes
    } else {
        file_bytes = atmo_repo::car::read_file(&path).expect("read");
        &file_bytes
    };
    let t1 = t0.elapsed();
    let mut t2 = t1;
    let n = if sequential {
        let reader = atmo_repo::car::CarReader::new(bytes)
            .expect("CAR header")
            .threads(1);
        let repo = atmo_repo::Repo::from_reader(reader).expect("open repo");
        let mut n = 0usize;
        for r in repo.records() {
            let r = r.expect("walk tree");
            std::hint::black_box(r.value().expect("decode record"));
            n += 1;
        }
        n
    } else {
        let repo = atmo_repo::Repo::from_car(bytes).expect("open repo");
        t2 = t0.elapsed();
        repo.for_each_record(atmo_repo::car::default_threads(), |r| {
            std::hint::black_box(r.value()?);
            Ok(())
        })
        .expect("walk tree and decode records")
    };
    if timing {
        let t3 = t0.elapsed();
        eprintln!("read {t1:?}, index {:?}, walk {:?}", t2 - t1, t3 - t2);
    }
    println!("{n}");
}
