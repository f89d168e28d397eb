//! `examples/data/repo.car` is what its README says: a repository of the reference PDS
//! whose every record decodes into its generated type, signed by the key `repo.json`
//! names, with the kinds of records a real account has.

use std::collections::BTreeMap;
use std::path::PathBuf;

use atmo::api::app_bsky::actor::profile;
use atmo::api::app_bsky::feed::{like, post, repost};
use atmo::api::app_bsky::graph::follow;
use atmo::crypto::PublicKey;
use atmo::repo::{Repo, VerifyOptions};
use atmo::syntax::Did;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(name)
}

#[test]
fn every_record_of_the_example_repo_decodes_into_its_type() {
    let car = std::fs::read(data("repo.car")).unwrap();
    let about: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("repo.json")).unwrap()).unwrap();
    let did = Did::new(about["did"].as_str().unwrap()).unwrap();
    let key = PublicKey::from_did_key(about["signingKey"].as_str().unwrap()).unwrap();
    let repo = Repo::from_car(&car).unwrap();
    let report = repo
        .verify(&VerifyOptions::new().key(key).did(did.clone()))
        .unwrap();
    assert!(report.signature_checked);
    assert_eq!(
        repo.commit_cid().to_string(),
        about["commit"].as_str().unwrap()
    );

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let (mut facets, mut images, mut replies, mut quotes) = (0, 0, 0, 0);
    let mut paths = Vec::new();
    for record in repo.records() {
        let record = record.unwrap();
        paths.push(record.path().to_owned());
        *kinds.entry(record.collection().to_owned()).or_default() += 1;
        match record.collection() {
            post::NSID => {
                let p: post::Record = record.decode().unwrap();
                assert!(!p.text.is_empty());
                facets += usize::from(p.facets.is_some());
                replies += usize::from(p.reply.is_some());
                match &p.embed {
                    Some(post::RecordEmbed::Images(i)) => {
                        images += 1;
                        let img = &i.images[0];
                        assert!(!img.alt.is_empty());
                        assert!(img.aspect_ratio.is_some());
                        assert_eq!(img.image.mime_type, "image/png");
                    }
                    Some(post::RecordEmbed::Record(_)) => quotes += 1,
                    _ => {}
                }
            }
            like::NSID => drop(record.decode::<like::Record>().unwrap()),
            repost::NSID => drop(record.decode::<repost::Record>().unwrap()),
            follow::NSID => drop(record.decode::<follow::Record>().unwrap()),
            profile::NSID => {
                let p: profile::Record = record.decode().unwrap();
                assert!(p.avatar.is_some() && p.display_name.is_some());
            }
            "xyz.statusphere.status" => {
                let v: atmo::data::Value = record.decode().unwrap();
                assert!(v.get("status").is_some());
            }
            other => panic!("unexpected collection {other}"),
        }
    }
    let listed: Vec<&str> = about["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(paths, listed);
    assert!(kinds[post::NSID] >= 5, "{kinds:?}");
    assert!(kinds[like::NSID] >= 2 && kinds[repost::NSID] >= 1 && kinds[follow::NSID] >= 1);
    assert!(facets >= 2 && images >= 1 && replies >= 1 && quotes >= 1);
}

#[test]
fn the_stress_fixture_is_still_read_by_the_generic_tools() {
    let car = std::fs::read(data("stress.car")).unwrap();
    let repo = Repo::from_car(&car).unwrap();
    assert!(repo.records().count() > 0);
    repo.verify(&VerifyOptions::new()).unwrap();
}
