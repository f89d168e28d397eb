//! Back up a repository: resolve the account, download its repository, verify it
//! (the commit's signature with the key its DID document names, the whole tree, every
//! record's CID), write it to a CAR file, and count its records, decoding the common
//! Bluesky ones into their generated types.
//!
//! ```text
//! repo-backup alice.example.com -o alice.car
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use atmo::api::app_bsky::actor::profile;
use atmo::api::app_bsky::feed::{like, post, repost};
use atmo::api::app_bsky::graph::follow;
use atmo::repo::{Repo, VerifyOptions};
use atmo_examples::NetArgs;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Download, verify and save a repository")]
struct Args {
    /// The account: a handle or a DID.
    account: String,
    /// Where to write the CAR file.
    #[arg(short = 'o', long)]
    output: PathBuf,
    #[command(flatten)]
    net: NetArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let resolver = args.net.resolver()?;
    let id = resolver.resolve(&args.account).await?;
    let pds = atmo::xrpc::Client::builder(&id.pds)
        .http(resolver.http().clone())
        .build()?;
    let car = pds.get_repo(&id.did, None).await?.to_vec().await?;
    let repo = Repo::from_car(&car)?;
    let report = repo.verify(&VerifyOptions::new().key(id.signing_key).did(id.did.clone()))?;
    tokio::fs::write(&args.output, &car).await?;

    let mut per_collection: BTreeMap<String, u64> = BTreeMap::new();
    let mut typed = 0u64;
    for record in repo.records() {
        let record = record?;
        *per_collection
            .entry(record.collection().to_owned())
            .or_default() += 1;
        // Decoding checks each record against its type (a record that does not fit is an
        // error that names it).
        let fits = match record.collection() {
            post::NSID => record.read::<post::Record>().map(drop),
            like::NSID => record.read::<like::Record>().map(drop),
            repost::NSID => record.read::<repost::Record>().map(drop),
            follow::NSID => record.read::<follow::Record>().map(drop),
            profile::NSID => record.read::<profile::Record>().map(drop),
            _ => continue,
        };
        fits?;
        typed += 1;
    }
    println!(
        "{}",
        serde_json::json!({
            "did": id.did.as_str(),
            "output": args.output.display().to_string(),
            "bytes": car.len(),
            "rev": repo.commit().rev.as_ref().map(|r| r.as_str()),
            "verified_records": report.records,
            "signature_checked": report.signature_checked,
            "records": per_collection,
            "typed": typed,
        })
    );
    Ok(())
}
