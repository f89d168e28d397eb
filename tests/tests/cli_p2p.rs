//! `atmo p2p` against a reference PDS and PLC of its own (started for this test, so that
//! it can be stopped at the end): an account's repository mirrored from an atmo peer
//! alone (`--no-pds`: the PDS names the head, sends no block), from the PDS alone, again
//! after new writes (only new blocks fetched), and with a known head and key once the
//! PDS and PLC are stopped; `peer-id` and `get`.
//!
//! `ATMO_REFNET=0` skips it (loudly).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use atmo::Agent;
use atmo::api::app_bsky::feed::post;
use atmo::syntax::Datetime;
use atmo_data::Cid;
use atmo_tests::refnet::{self, RefNet};
use atmo_tests::support::{atmo_bin, temp_dir, test_account};

fn atmo(args: &[&str]) -> std::process::Output {
    Command::new(atmo_bin()).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = atmo(args);
    assert!(
        out.status.success(),
        "atmo {}: exit {:?}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// The records (path and CID) and blocks of a CAR, after checking it verifies.
fn contents(
    car: &Path,
    did: &str,
    key: &atmo_crypto::PublicKey,
) -> (Vec<(String, Cid)>, BTreeSet<Cid>) {
    let bytes = std::fs::read(car).unwrap();
    let repo = atmo_repo::Repo::from_car(&bytes).unwrap();
    repo.verify(
        &atmo_repo::VerifyOptions::new()
            .key(*key)
            .did(did.parse().unwrap()),
    )
    .unwrap();
    let records = repo
        .records()
        .map(|r| r.map(|r| (r.path().to_owned(), r.cid())).unwrap())
        .collect();
    let blocks = atmo_repo::car::CarReader::new(&bytes)
        .unwrap()
        .map(|b| b.unwrap().0)
        .collect();
    (records, blocks)
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `atmo p2p serve FILE` on loopback: the process, its PeerID and addresses.
fn serve(car: &Path) -> (Serve, String, Vec<String>) {
    serve_with(car, &[])
}

/// `atmo p2p serve FILE ARGS...` on loopback.
fn serve_with(car: &Path, args: &[&std::ffi::OsStr]) -> (Serve, String, Vec<String>) {
    let mut child = Command::new(atmo_bin())
        .args(["p2p", "serve"])
        .arg(car)
        .args(["--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let peer = lines.next().unwrap().unwrap();
    let addr = lines.next().unwrap().unwrap();
    assert!(addr.starts_with("/ip4/127.0.0.1/tcp/"), "{addr}");
    assert!(addr.ends_with(&format!("/p2p/{peer}")), "{addr}");
    (Serve(child), peer, vec![addr])
}

async fn write_posts(agent: &Agent, n: usize, tag: &str) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let writes = chunk
            .iter()
            .map(|i| {
                atmo::agent::Write::create(&post::Record::new(
                    format!("{tag} post {i}: {}", "lorem ipsum ".repeat(i % 20)),
                    Datetime::now().into(),
                ))
                .unwrap()
            })
            .collect();
        agent.apply_writes(writes, None).await.unwrap();
    }
}

#[test]
fn mirror_from_a_peer_alone_from_the_pds_alone_incrementally_and_with_the_pds_stopped() {
    if refnet::skip_if_disabled() {
        return;
    }
    let mut net = RefNet::start().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acct = rt.block_on(test_account(&net.pds, "p2p-"));
    let did = acct.did.clone();
    let agent = rt.block_on(Agent::from_password(acct.session));
    rt.block_on(write_posts(&agent, 120, "first"));
    let dir = temp_dir("cli-p2p");
    let (plc, pds) = (net.plc.clone(), net.pds.clone());
    let net_args = [
        "--plc",
        plc.as_str(),
        "--handle-resolver",
        pds.as_str(),
        "--allow-private-network",
    ];

    // The account's key, and its PeerID, through the CLI.
    let key_did = json(&[&["resolve", &did, "--json"][..], &net_args[..]].concat())["signingKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = atmo_crypto::PublicKey::from_did_key(&key_did).unwrap();
    let peer_id = ok(&[&["p2p", "peer-id", &did][..], &net_args[..]].concat());
    assert_eq!(
        peer_id.trim(),
        atmo_p2p::peer_id_for_key(&key).unwrap().to_string()
    );
    assert_eq!(ok(&["p2p", "peer-id", &key_did]), peer_id);

    // The repository as the PDS exports it: what the atmo peer serves.
    let exported = dir.join("exported.car");
    let res = refnet::http_get(&net.xrpc(&format!("com.atproto.sync.getRepo?did={did}"))).unwrap();
    assert_eq!(res.status, 200);
    std::fs::write(&exported, &res.body).unwrap();
    let (records, _) = contents(&exported, &did, &key);
    assert!(records.len() >= 120);
    let (_server, _, addrs) = serve(&exported);

    // 1. From the peer alone: the PDS names the head and sends no block.
    let from_peer = dir.join("from-peer.car");
    let m = json(
        &[
            &[
                "p2p", "mirror", &did, "--peer", &addrs[0], "--no-pds", "--json", "-o",
            ][..],
            &[from_peer.to_str().unwrap()][..],
            &net_args[..],
        ]
        .concat(),
    );
    assert_eq!(m["from_pds"], 0, "{m}");
    assert_eq!(m["from_local"], 0, "{m}");
    assert_eq!(m["from_peers"], m["blocks"], "{m}");
    assert_eq!(
        m["records"].as_u64().unwrap() as usize,
        records.len(),
        "{m}"
    );
    let (peer_records, peer_blocks) = contents(&from_peer, &did, &key);
    assert_eq!(peer_records, records);
    let head = m["commit"].as_str().unwrap().to_owned();

    // 2. From the PDS alone: the same repository.
    let from_pds = dir.join("from-pds.car");
    let m = json(
        &[
            &["p2p", "mirror", &did, "--json", "-o"][..],
            &[from_pds.to_str().unwrap()][..],
            &net_args[..],
        ]
        .concat(),
    );
    assert_eq!(m["from_peers"], 0, "{m}");
    assert_eq!(m["from_pds"], m["blocks"], "{m}");
    assert_eq!(m["commit"].as_str().unwrap(), head);
    let (pds_records, pds_blocks) = contents(&from_pds, &did, &key);
    assert_eq!(pds_records, records);
    assert_eq!(pds_blocks, peer_blocks);
    // `get`: one block from the peer, byte for byte.
    let one = dir.join("commit.bin");
    ok(&[
        "p2p",
        "get",
        &head,
        "--peer",
        &addrs[0],
        "-o",
        one.to_str().unwrap(),
    ]);
    assert!(
        Cid::parse(&head)
            .unwrap()
            .verify(&std::fs::read(&one).unwrap())
    );
    // A block the peer does not have: exit 1.
    let absent = Cid::for_raw(b"absent").to_string();
    let out = atmo(&["p2p", "get", &absent, "--peer", &addrs[0], "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1));

    // 3. New writes; mirroring again over the first mirror fetches only the new blocks.
    rt.block_on(write_posts(&agent, 30, "second"));
    let m = json(
        &[
            &["p2p", "mirror", &did, "--json", "-o"][..],
            &[from_peer.to_str().unwrap()][..],
            &net_args[..],
        ]
        .concat(),
    );
    let (new_records, new_blocks) = contents(&from_peer, &did, &key);
    assert_eq!(new_records.len(), records.len() + 30);
    let fresh = new_blocks.difference(&peer_blocks).count();
    assert_eq!(m["from_pds"].as_u64().unwrap() as usize, fresh, "{m}");
    assert_eq!(
        m["from_local"].as_u64().unwrap() as usize,
        new_blocks.len() - fresh,
        "{m}"
    );
    assert!(
        fresh < new_blocks.len() / 2,
        "{fresh} of {}",
        new_blocks.len()
    );
    let new_head = m["commit"].as_str().unwrap().to_owned();
    assert_ne!(new_head, head);

    // 3b. Peer first, PDS for the rest: the peer (still serving the first export) has the
    //     unchanged blocks, the PDS sends only the new ones.
    let mixed = dir.join("mixed.car");
    let m = json(
        &[
            &["p2p", "mirror", &did, "--peer", &addrs[0], "--json", "-o"][..],
            &[mixed.to_str().unwrap()][..],
            &net_args[..],
        ]
        .concat(),
    );
    assert_eq!(m["commit"].as_str().unwrap(), new_head);
    assert_eq!(m["from_local"], 0, "{m}");
    assert_eq!(m["from_pds"].as_u64().unwrap() as usize, fresh, "{m}");
    assert_eq!(
        m["from_peers"].as_u64().unwrap() as usize,
        new_blocks.len() - fresh,
        "{m}"
    );
    assert_eq!(contents(&mixed, &did, &key).0, new_records);

    // 4. The PDS and the PLC stopped: with the head and the key known, the peer alone
    //    (serving the new mirror) is enough.
    let (_server2, _, addrs2) = serve(&from_peer);
    net.stop().unwrap();
    let offline = dir.join("offline.car");
    let m = json(
        &[
            &[
                "p2p", "mirror", &did, "--peer", &addrs2[0], "--no-pds", "--json",
            ][..],
            &[
                "--root",
                &new_head,
                "--key",
                &key_did,
                "-o",
                offline.to_str().unwrap(),
            ][..],
            &net_args[..],
        ]
        .concat(),
    );
    assert_eq!(m["from_pds"], 0, "{m}");
    assert_eq!(m["commit"].as_str().unwrap(), new_head);
    let (offline_records, _) = contents(&offline, &did, &key);
    assert_eq!(offline_records, new_records);
    // Without the key, the stopped directory is needed: exit 1, naming the DID.
    let out = atmo(
        &[
            &[
                "p2p", "mirror", &did, "--peer", &addrs2[0], "--no-pds", "--root", &new_head,
            ][..],
            &["-o", dir.join("fails.car").to_str().unwrap()][..],
            &net_args[..],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&did),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `atmo p2p serve --key-file`: the node answers as the key's PeerID (the same one
/// `atmo p2p peer-id` gives for its did:key), on every run; a bad key file exits 1.
#[test]
fn serve_with_a_key_file_has_the_keys_peer_id() {
    let dir = temp_dir("p2p-key-file");
    let key = json(&["key", "generate", "--curve", "k256", "--json"]);
    let key_file = dir.join("node.key");
    std::fs::write(
        &key_file,
        format!("{}\n", key["privateKeyMultibase"].as_str().unwrap()),
    )
    .unwrap();
    let expected = ok(&["p2p", "peer-id", key["didKey"].as_str().unwrap()]);
    let car = dir.join("one.car");
    let cid = Cid::for_raw(b"one block");
    std::fs::write(
        &car,
        atmo_repo::car::write_car(&[cid], [(cid, &b"one block"[..])]),
    )
    .unwrap();
    for _ in 0..2 {
        let (server, peer, _) = serve_with(&car, &["--key-file".as_ref(), key_file.as_os_str()]);
        assert_eq!(peer, expected.trim());
        drop(server);
    }
    std::fs::write(&key_file, "not a key").unwrap();
    let out = atmo(&[
        "p2p",
        "serve",
        car.to_str().unwrap(),
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a multibase private key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
