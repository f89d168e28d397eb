//! Differential tests against the official TypeScript implementation (@atproto/repo,
//! tests/oracle/repo-oracle.mjs): the same records, key and rev must give the same MST
//! root and the same commit CID.
//!
//! `ATMO_ORACLE_SEEDS=N` runs N random repositories (default 12); the slow suite uses
//! hundreds. Skips loudly if tests/oracle/node_modules is missing.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value as Json;

fn oracle_available() -> bool {
    let dir = workspace().join("tests/oracle/node_modules/@atproto/repo");
    if dir.is_dir() {
        true
    } else {
        eprintln!(
            "\n*** SKIPPED: {} is missing; run `npm ci` in tests/oracle to enable the \
             differential tests against @atproto/repo ***\n",
            dir.display()
        );
        false
    }
}

/// Runs the oracle on jobs; returns one `{"commit","data","records"}` per job.
fn run_oracle(jobs: &[Json], car_dir: Option<&std::path::Path>) -> Vec<Json> {
    let dir = std::env::temp_dir().join(format!("atmo-repo-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("jobs-{}.json", jobs.len()));
    std::fs::write(&file, serde_json::to_vec(jobs).unwrap()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(workspace().join("tests/oracle/repo-oracle.mjs"))
        .arg(&file);
    if let Some(d) = car_dir {
        cmd.arg(d);
    }
    let out = cmd.output().expect("node runs");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn random_repos_match_the_reference_implementation() {
    if !oracle_available() {
        return;
    }
    let seeds: u64 = std::env::var("ATMO_ORACLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let jobs: Vec<Json> = (0..seeds)
        .map(|s| {
            let n = match s % 4 {
                0 => (s % 3) as usize,
                1 => 17,
                2 => 120,
                _ => 400,
            };
            job(s, n, if s % 2 == 0 { "k256" } else { "p256" })
        })
        .collect();
    let expected = run_oracle(&jobs, None);
    assert_eq!(expected.len(), jobs.len());
    let mut failures = Vec::new();
    for (i, (job, want)) in jobs.iter().zip(&expected).enumerate() {
        let built = build_with_atmo(job);
        let got_commit = built.commit_cid.to_string();
        let got_data = built.commit.data.to_string();
        if got_commit != want["commit"].as_str().unwrap()
            || got_data != want["data"].as_str().unwrap()
        {
            failures.push(format!(
                "seed {i} ({} records): atmo commit {got_commit} data {got_data}, reference {want}",
                job["records"].as_array().unwrap().len()
            ));
        }
        // And atmo reads back what it wrote.
        let repo = atmo_repo::Repo::from_car(&built.car).unwrap();
        let key = atmo_crypto::Keypair::from_private_key_hex(
            job["curve"].as_str().unwrap().parse().unwrap(),
            job["privateKeyHex"].as_str().unwrap(),
        )
        .unwrap();
        let report = repo
            .verify(&atmo_repo::VerifyOptions::new().key(key.public_key()))
            .unwrap();
        assert_eq!(report.records, job["records"].as_array().unwrap().len());
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Reads the CARs the reference implementation writes: same records, values, CIDs.
#[test]
fn atmo_reads_reference_cars() {
    if !oracle_available() {
        return;
    }
    let jobs: Vec<Json> = (100..104).map(|s| job(s, 150, "k256")).collect();
    let dir = std::env::temp_dir().join(format!("atmo-repo-oracle-cars-{}", std::process::id()));
    let expected = run_oracle(&jobs, Some(&dir));
    for (i, (job, want)) in jobs.iter().zip(&expected).enumerate() {
        let car = std::fs::read(dir.join(format!("{i}.car"))).unwrap();
        check_reference_car(&car, job, want);
    }
}

/// Regenerates the committed fixtures (tests/fixtures/oracle-*.car, the jobs and the
/// reference's answers). Run on demand: `cargo test -p atmo-repo --test oracle -- --ignored`.
#[test]
#[ignore = "rewrites the committed fixtures"]
fn regenerate_fixtures() {
    assert!(
        oracle_available(),
        "the oracle is needed to regenerate fixtures"
    );
    let jobs = vec![job(7001, 60, "k256"), job(7002, 40, "p256")];
    let tmp = std::env::temp_dir().join(format!("atmo-repo-fixtures-{}", std::process::id()));
    let expected = run_oracle(&jobs, Some(&tmp));
    std::fs::write(
        fixture("oracle-jobs.json"),
        serde_json::to_string(&jobs).unwrap(),
    )
    .unwrap();
    let lines: String = expected.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(fixture("oracle-expected.jsonl"), lines).unwrap();
    for (i, name) in ["oracle-k256.car", "oracle-p256.car"].iter().enumerate() {
        std::fs::copy(tmp.join(format!("{i}.car")), fixture(name)).unwrap();
    }
}
