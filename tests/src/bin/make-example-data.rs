//! Makes `examples/data/repo.car` (and `repo.json`, what it holds) with the reference
//! PDS: a repository as the official implementation writes it, with the records an
//! account really has: a profile with an avatar, posts with mentions, links and tags, an
//! image post (blob reference, alt text, aspect ratio), a reply thread, a quote, likes,
//! a repost, follows, and a statusphere status.
//!
//! ```text
//! cargo run -p atmo-tests --bin make-example-data            # starts its own network
//! ATMO_REFNET_STATE=tests/refnet/.state.json cargo run ...    # or uses a running one
//! ```

use std::path::PathBuf;

use atmo::Agent;
use atmo::identity::{Resolver, ResolverConfig};
use atmo::syntax::{Datetime, Uri};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::test_account;

/// A 2 x 1 PNG (one red, one blue pixel).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7b, 0x40, 0xe8,
    0xdd, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0x00, 0x04,
    0xff, 0x01, 0x07, 0x00, 0x01, 0xff, 0x3d, 0x7d, 0x8c, 0x49, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn resolver(net: &RefNet) -> Resolver {
    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = false;
    c.handle_resolver = Some(net.pds.clone());
    Resolver::new(c).unwrap_or_else(|e| panic!("resolver: {e}"))
}

async fn agent(net: &RefNet, prefix: &str) -> Agent {
    let acct = test_account(&net.pds, prefix).await;
    Agent::from_password(acct.session)
        .await
        .with_resolver(resolver(net))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let own;
    let net: &RefNet = if std::env::var_os("ATMO_REFNET_STATE").is_some() {
        RefNet::shared()
    } else {
        own = RefNet::start()?;
        &own
    };
    let alice = agent(net, "alice-").await;
    let bob = agent(net, "bob-").await;
    let alice_handle = alice.handle().map(|h| h.to_string()).unwrap_or_default();
    let bob_handle = bob.handle().map(|h| h.to_string()).unwrap_or_default();

    let (avatar, _) = {
        let path = std::env::temp_dir().join("atmo-example-avatar.png");
        std::fs::write(&path, PNG)?;
        alice.upload_blob_file(&path).await?
    };
    alice
        .update_profile(|p| {
            p.display_name = Some("Alice".into());
            p.description = Some("Writes Rust and reads the firehose.".into());
            p.avatar = Some(avatar.clone());
        })
        .await?;

    let hello = alice
        .post(format!(
            "Hello, atproto! Trying atmo with @{bob_handle} today #rust #atproto"
        ))
        .lang("en")
        .send()
        .await?;
    let reply = bob
        .post("Welcome! The docs are at https://atproto.com/guides/overview")
        .reply_to(hello.uri.clone())
        .lang("en")
        .send()
        .await?;
    alice
        .post("Thanks! Reading https://atproto.com/guides/overview now.")
        .reply_to(reply.uri.clone())
        .lang("en")
        .send()
        .await?;
    alice
        .post("Two pixels, one red and one blue.")
        .image_bytes(PNG.to_vec(), "A red pixel next to a blue pixel")
        .lang("en")
        .send()
        .await?;
    let bobs = bob
        .post("Repositories are Merkle trees all the way down.")
        .lang("en")
        .send()
        .await?;
    alice
        .post("This is the best way to put it.")
        .quote(bobs.uri.clone())
        .send()
        .await?;
    alice
        .post("Bonjour à tous ! ☕")
        .lang("fr")
        .external(
            Uri::new("https://atproto.com/specs/repository")?,
            "Repository",
            "The atproto repository specification",
        )
        .send()
        .await?;
    alice.like(&reply.uri).await?;
    alice.like(&bobs.uri).await?;
    alice.repost(&bobs.uri).await?;
    alice.follow(bob.require_did()?).await?;
    bob.follow(alice.require_did()?).await?;
    let status = atmo::data::json::record_from_str(&format!(
        r#"{{"$type": "xyz.statusphere.status", "status": "🦀", "createdAt": "{}"}}"#,
        Datetime::now().as_str()
    ))?;
    let input = atmo::api::com_atproto::repo::create_record::Input::new(
        alice.require_did()?.clone().into(),
        atmo::syntax::Nsid::new("xyz.statusphere.status")?,
        status,
    );
    alice.client().call(&input).await?;
    // One post deleted, as real repositories have.
    let oops = alice.post("typo!").send().await?;
    alice.delete_post(&oops.uri).await?;

    let did = alice.require_did()?.clone();
    let car = alice.client().get_repo(&did, None).await?.to_vec().await?;
    let id = resolver(net).resolve(did.as_str()).await?;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    std::fs::write(dir.join("repo.car"), &car)?;
    let repo = atmo::repo::Repo::from_car(&car)?;
    let mut records = Vec::new();
    for r in repo.records() {
        let r = r?;
        records.push(r.path().to_owned());
    }
    let about = serde_json::json!({
        "made_by": "tests/src/bin/make-example-data.rs against the reference PDS (@atproto/pds)",
        "did": did.as_str(),
        "handle": alice_handle,
        "signingKey": id.signing_key.to_did_key(),
        "commit": repo.commit_cid().to_string(),
        "records": records,
    });
    std::fs::write(
        dir.join("repo.json"),
        serde_json::to_string_pretty(&about)? + "\n",
    )?;
    println!(
        "wrote examples/data/repo.car ({} bytes, {} records)",
        car.len(),
        about["records"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}
