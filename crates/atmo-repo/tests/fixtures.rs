//! Repositories written by the reference implementation (@atproto/repo 0.9.1), committed
//! under tests/fixtures with the jobs that made them; these tests need no Node.

mod common;

use std::collections::BTreeMap;

use atmo_repo::{CarBlockStore, Repo};
use common::*;
use serde_json::Value as Json;

fn load() -> Vec<(Json, Json, Vec<u8>)> {
    let jobs: Vec<Json> =
        serde_json::from_slice(&std::fs::read(fixture("oracle-jobs.json")).unwrap()).unwrap();
    let expected: Vec<Json> = std::fs::read_to_string(fixture("oracle-expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(jobs.len(), 2);
    jobs.into_iter()
        .zip(expected)
        .zip(["oracle-k256.car", "oracle-p256.car"])
        .map(|((j, e), name)| (j, e, std::fs::read(fixture(name)).unwrap()))
        .collect()
}

#[test]
fn reference_cars_read_and_verify() {
    for (job, want, car) in load() {
        check_reference_car(&car, &job, &want);
    }
}

#[test]
fn atmo_builds_the_same_blocks_as_the_reference() {
    for (job, want, car) in load() {
        let built = build_with_atmo(&job);
        assert_eq!(
            built.commit_cid.to_string(),
            want["commit"].as_str().unwrap()
        );
        let ours: BTreeMap<_, _> = CarBlockStore::from_car(&built.car)
            .unwrap()
            .iter()
            .map(|(c, b)| (c, b.to_vec()))
            .collect();
        let theirs: BTreeMap<_, _> = CarBlockStore::from_car(&car)
            .unwrap()
            .iter()
            .map(|(c, b)| (c, b.to_vec()))
            .collect();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn wrong_key_and_wrong_did_are_rejected() {
    let (job, _, car) = load().remove(0);
    let repo = Repo::from_car(&car).unwrap();
    let other = atmo_crypto::Keypair::from_private_key_hex(
        atmo_crypto::Curve::K256,
        "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
    )
    .unwrap();
    let err = repo
        .verify(&atmo_repo::VerifyOptions::new().key(other.public_key()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            atmo_repo::Error::Commit(atmo_repo::CommitError::Signature(
                atmo_crypto::VerifyError::Invalid
            ))
        ),
        "{err:?}"
    );
    let err = repo
        .verify(
            &atmo_repo::VerifyOptions::new()
                .did("did:plc:zzzzzzzzzzzzzzzzzzzzzzzz".parse().unwrap()),
        )
        .unwrap_err();
    assert!(
        matches!(&err, atmo_repo::Error::Repo(e) if matches!(**e, atmo_repo::RepoError::DidMismatch { .. })),
        "{err:?}"
    );
    let did: atmo_syntax::Did = job["did"].as_str().unwrap().parse().unwrap();
    repo.verify(&atmo_repo::VerifyOptions::new().did(did))
        .unwrap();
}

#[test]
fn collection_listing_and_get() {
    let (job, _, car) = load().remove(0);
    let repo = Repo::from_car(&car).unwrap();
    let mut by_collection: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in job["records"].as_array().unwrap() {
        let path = r["path"].as_str().unwrap();
        let (c, k) = path.split_once('/').unwrap();
        by_collection
            .entry(c.to_owned())
            .or_default()
            .push(k.to_owned());
    }
    assert!(by_collection.len() > 2);
    for (c, mut keys) in by_collection {
        keys.sort();
        let got: Vec<String> = repo
            .collection(&c)
            .map(|r| r.unwrap().rkey().to_owned())
            .collect();
        assert_eq!(got, keys, "{c}");
        let mst_list: Vec<String> = repo.mst().list(&c).map(|r| r.unwrap().0).collect();
        assert_eq!(mst_list.len(), keys.len());
        for k in &keys {
            let rec = repo.get(&c, k).unwrap().unwrap();
            assert_eq!(rec.collection(), c);
            assert_eq!(rec.rkey(), k);
        }
        assert!(repo.get(&c, "nonexistent").unwrap().is_none());
    }
}

#[test]
fn for_each_record_sees_what_records_yields() {
    for name in [
        "oracle-k256.car",
        "oracle-p256.car",
        "refpds-medium.car",
        "refpds-small.car",
    ] {
        let car = std::fs::read(fixture(name)).unwrap();
        let repo = Repo::from_car(&car).unwrap();
        let want: Vec<(String, String)> = repo
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r.path().to_owned(), r.cid().to_string())
            })
            .collect();
        for threads in [1, 2, 4] {
            let seen = std::sync::Mutex::new(Vec::new());
            let n = repo
                .for_each_record(threads, |r| {
                    r.value()?;
                    seen.lock()
                        .unwrap()
                        .push((r.path().to_owned(), r.cid().to_string()));
                    Ok(())
                })
                .unwrap();
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(n, want.len());
            assert_eq!(seen, want, "{name}, {threads} threads");
        }
    }
}

#[test]
fn for_each_record_reports_a_missing_record_like_records() {
    let car = std::fs::read(fixture("refpds-medium.car")).unwrap();
    let repo = Repo::from_car(&car).unwrap();
    let paths: Vec<(String, atmo_data::Cid)> = repo
        .records()
        .map(|r| r.map(|r| (r.path().to_owned(), r.cid())).unwrap())
        .collect();
    assert!(paths.len() > 20, "{}", paths.len());
    // Drop two record blocks; both walks must report the first one in key order.
    let (a, b) = (&paths[paths.len() / 3], &paths[paths.len() - 2]);
    let store = CarBlockStore::from_car(&car).unwrap();
    let kept = store
        .iter()
        .filter(|(cid, _)| cid != &a.1 && cid != &b.1)
        .collect::<Vec<_>>();
    let cut = atmo_repo::car::write_car(store.roots(), kept);
    let repo = Repo::from_car(&cut).unwrap();
    let first = repo.records().find_map(Result::err).unwrap();
    assert!(
        matches!(&first, atmo_repo::Error::Repo(e) if matches!(**e, atmo_repo::RepoError::MissingBlock { cid, .. } if cid == a.1)),
        "{first:?}"
    );
    for threads in [1, 2, 4] {
        let err = repo.for_each_record(threads, |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), first.to_string());
    }
}
