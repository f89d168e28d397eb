//! atmo-repo driver: CAR file -> every record decoded. `Repo::from_car` checks every block
//! against its CID (SHA-256); the walk checks the tree's canonical form; each record is
//! decoded to a borrowed `ValueRef` (strict DAG-CBOR).
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: repo-compare-atmo FILE.car");
    let bytes = std::fs::read(&path).expect("read");
    let repo = atmo_repo::Repo::from_car(&bytes).expect("open repo");
    let mut n = 0usize;
    for r in repo.records() {
        let r = r.expect("walk tree");
        std::hint::black_box(r.value().expect("decode record"));
        n += 1;
    }
    println!("{n}");
}
