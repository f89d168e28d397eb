//! Repositories exported by the real reference PDS (`@atproto/pds` 0.5.35 on the refnet,
//! `com.atproto.sync.getRepo`), committed as tests/fixtures/refpds-*.car with a sidecar
//! JSON holding the account's signing did:key (from the PLC) and every record as written
//! through `com.atproto.repo.createRecord`. Made by tests/fixtures/refpds-make.sh; these
//! tests need no network.

mod common;

use atmo_crypto::PublicKey;
use atmo_repo::{Repo, VerifyOptions};
use common::fixture;
use serde_json::Value as Json;

fn load(name: &str) -> (Vec<u8>, Json) {
    let car = std::fs::read(fixture(&format!("refpds-{name}.car"))).unwrap();
    let side: Json =
        serde_json::from_slice(&std::fs::read(fixture(&format!("refpds-{name}.json"))).unwrap())
            .unwrap();
    (car, side)
}

fn check(name: &str) {
    let (car, side) = load(name);
    let repo = Repo::from_car(&car).unwrap();
    let key = PublicKey::from_did_key(side["signingKey"].as_str().unwrap()).unwrap();
    let did = side["did"].as_str().unwrap().parse().unwrap();
    let report = repo
        .verify(&VerifyOptions::new().key(key).did(did))
        .unwrap();
    assert!(report.signature_checked);

    // The head the PDS reported is the CAR's commit.
    assert_eq!(
        repo.commit_cid().to_string(),
        side["commit"].as_str().unwrap()
    );
    assert_eq!(repo.commit().version, 3);
    assert_eq!(
        repo.commit().rev.map(|r| r.to_string()).as_deref(),
        side["rev"].as_str()
    );

    // Records list as written: same paths, CIDs and values, in key order.
    let mut written: Vec<&Json> = side["records"].as_array().unwrap().iter().collect();
    written.sort_by_key(|r| r["path"].as_str().unwrap());
    let listed: Vec<_> = repo.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(listed.len(), written.len());
    assert_eq!(report.records, written.len());
    for (got, want) in listed.iter().zip(&written) {
        assert_eq!(got.path(), want["path"].as_str().unwrap());
        assert_eq!(got.cid().to_string(), want["cid"].as_str().unwrap());
        let value = atmo_data::json::from_str(&want["value"].to_string()).unwrap();
        assert_eq!(got.to_value().unwrap(), value, "{}", got.path());
    }
    let collections: std::collections::BTreeSet<_> =
        listed.iter().map(|r| r.collection().to_string()).collect();
    assert!(collections.len() >= 3, "{collections:?}");
}

#[test]
fn small_pds_repo_verifies_and_lists_as_written() {
    check("small");
}

#[test]
fn medium_pds_repo_verifies_and_lists_as_written() {
    check("medium");
}

#[test]
fn pds_repo_with_another_key_fails() {
    let (car, _) = load("small");
    let (_, other) = load("medium");
    let repo = Repo::from_car(&car).unwrap();
    let key = PublicKey::from_did_key(other["signingKey"].as_str().unwrap()).unwrap();
    assert!(matches!(
        repo.verify(&VerifyOptions::new().key(key)),
        Err(atmo_repo::Error::Commit(atmo_repo::CommitError::Signature(
            _
        )))
    ));
}
