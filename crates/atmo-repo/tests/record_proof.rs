//! `verify_record_proof`: a getRecord-style CAR (the commit, the tree nodes on the path,
//! the record) proves a record's presence or absence, and every kind of tampering is
//! refused with its typed error.

use atmo_crypto::{Curve, Keypair};
use atmo_data::Cid;
use atmo_repo::{Error, RepoError, VerifyOptions, verify_record_proof};
use atmo_syntax::{Did, Tid};

const COLLECTION: &str = "com.example.note";

fn rkey(i: usize) -> String {
    // TIDs in order: 3kaaaaaaaaaa2, 3kaaaaaaaaab2, ...
    let alphabet = b"234567abcdefghijklmnopqrstuvwxyz";
    let mut s = String::from("3kaaaaaaaa");
    s.push(char::from(alphabet[(i / 1024) % 32]));
    s.push(char::from(alphabet[(i / 32) % 32]));
    s.push(char::from(alphabet[i % 32]));
    s
}

struct Fixture {
    did: Did,
    key: Keypair,
    car: Vec<u8>,
}

fn fixture() -> Fixture {
    let key = Keypair::generate(Curve::K256).unwrap();
    let did: Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz".parse().unwrap();
    let rev: Tid = "3kaaaaaaaaaa2".parse().unwrap();
    let records = (0..300).map(|i| {
        let v =
            atmo_data::json::record_from_str(&format!(r#"{{"$type": "{COLLECTION}", "n": {i}}}"#))
                .unwrap();
        (format!("{COLLECTION}/{}", rkey(i)), v)
    });
    let car = atmo_repo::build_repo(&did, &key, rev, records).unwrap().car;
    Fixture { did, key, car }
}

/// The proof CAR for `path`, as a PDS's getRecord builds it: the commit, the nodes
/// covering the key, the record if present; `drop` leaves one of the nodes out.
fn proof_car(full: &[u8], path: &str, drop: Option<usize>) -> Vec<u8> {
    let repo = atmo_repo::Repo::from_car(full).unwrap();
    let store = repo.store();
    let mut cids: Vec<Cid> = vec![repo.commit_cid()];
    let nodes = repo.mst().proof([path]).unwrap();
    for (i, c) in nodes.iter().enumerate() {
        if Some(i) != drop {
            cids.push(*c);
        }
    }
    if let Some(cid) = repo.mst().get(path).unwrap() {
        cids.push(cid);
    }
    let blocks: Vec<(Cid, &[u8])> = cids.iter().map(|c| (*c, store.get(c).unwrap())).collect();
    atmo_repo::car::write_car(&[repo.commit_cid()], blocks)
}

#[test]
fn a_proof_shows_presence_and_absence() {
    let f = fixture();
    let opts = VerifyOptions::new()
        .did(f.did.clone())
        .key(f.key.public_key());
    let full = atmo_repo::Repo::from_car(&f.car).unwrap();
    let path = format!("{COLLECTION}/{}", rkey(123));
    let want = full.get(COLLECTION, &rkey(123)).unwrap().unwrap();

    let car = proof_car(&f.car, &path, None);
    assert!(car.len() < f.car.len() / 4, "a proof is small");
    let got = verify_record_proof(&car, &opts, COLLECTION, &rkey(123))
        .unwrap()
        .expect("present");
    assert_eq!(got.cid(), want.cid());
    assert_eq!(got.bytes(), want.bytes());
    assert_eq!(got.path(), path);

    // Absence: a key between two present ones, proven by the nodes covering it.
    let absent = format!("{COLLECTION}/{}a", rkey(123));
    let car = proof_car(&f.car, &absent, None);
    let rk = absent.split('/').nth(1).unwrap();
    assert!(
        verify_record_proof(&car, &opts, COLLECTION, rk)
            .unwrap()
            .is_none()
    );
}

#[test]
fn tampered_proofs_are_refused() {
    let f = fixture();
    let opts = VerifyOptions::new()
        .did(f.did.clone())
        .key(f.key.public_key());
    let path = format!("{COLLECTION}/{}", rkey(200));
    let car = proof_car(&f.car, &path, None);

    // Another account's DID, another key.
    let other_did = VerifyOptions::new().did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap());
    let err = verify_record_proof(&car, &other_did, COLLECTION, &rkey(200)).unwrap_err();
    assert!(
        matches!(&err, Error::Repo(e) if matches!(**e, RepoError::DidMismatch { .. })),
        "{err}"
    );
    let other_key = VerifyOptions::new().key(Keypair::generate(Curve::K256).unwrap().public_key());
    let err = verify_record_proof(&car, &other_key, COLLECTION, &rkey(200)).unwrap_err();
    assert!(matches!(err, Error::Commit(_)), "{err}");

    // A node on the path left out: the tree cannot be followed.
    let depth = {
        let repo = atmo_repo::Repo::from_car(&f.car).unwrap();
        repo.mst().proof([path.as_str()]).unwrap().len()
    };
    assert!(depth >= 2, "{depth}");
    // The root, and some node below it, are on the lookup path (the proof also holds
    // neighbouring edges, which a lookup does not need).
    let missing = |i: usize| {
        let short = proof_car(&f.car, &path, Some(i));
        matches!(
            verify_record_proof(&short, &opts, COLLECTION, &rkey(200)),
            Err(Error::Mst(_))
        )
    };
    assert!(missing(0));
    assert!((1..depth).any(missing));

    // One byte of the record changed: its block no longer matches its CID.
    let want = atmo_repo::Repo::from_car(&f.car)
        .unwrap()
        .get(COLLECTION, &rkey(200))
        .unwrap()
        .unwrap();
    let at = car
        .windows(want.bytes().len())
        .position(|w| w == want.bytes())
        .unwrap();
    let mut flipped = car.clone();
    flipped[at + want.bytes().len() - 1] ^= 1;
    let err = verify_record_proof(&flipped, &opts, COLLECTION, &rkey(200)).unwrap_err();
    assert!(matches!(err, Error::Car(_)), "{err}");

    // The record's block missing altogether.
    let repo = atmo_repo::Repo::from_car(&car).unwrap();
    let blocks: Vec<(Cid, &[u8])> = atmo_repo::car::CarReader::new(&car)
        .unwrap()
        .map(|b| b.unwrap())
        .filter(|(c, _)| *c != want.cid())
        .collect();
    let without = atmo_repo::car::write_car(&[repo.commit_cid()], blocks);
    let err = verify_record_proof(&without, &opts, COLLECTION, &rkey(200)).unwrap_err();
    assert!(
        matches!(&err, Error::Repo(e) if matches!(**e, RepoError::MissingBlock { .. })),
        "{err}"
    );
}
