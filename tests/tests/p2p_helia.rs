//! atmo-p2p against an independent IPFS implementation: Helia with its Bitswap, on
//! js-libp2p (npm, tests/p2p), over loopback TCP. atmo fetches blocks Helia holds, and
//! Helia fetches blocks atmo serves: the blocks of examples/data/repo.car (a repository
//! exported by the reference PDS), byte for byte. Also: PeerIDs of secp256k1 keys as
//! js-libp2p derives them.
//!
//! Helia could dial out if misconfigured, so the test runs itself again inside a network
//! namespace that has only loopback (`unshare -n`, as root): nothing can leave the machine.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use atmo_data::Cid;
use atmo_p2p::{Blocks, Multiaddr, Node, NodeConfig};
use base64::Engine;

const INSIDE: &str = "ATMO_P2P_NETNS";

fn p2p_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("p2p")
}

fn node_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("refnet/node_modules/.bin/node")
}

/// Runs `test` of this binary again inside a loopback-only network namespace (after
/// installing what it needs outside it, where the package registry is reachable).
fn in_namespace(test: &str) {
    atmo_tests::refnet::install().expect("installing the reference network (for Node 22)");
    let status = Command::new(p2p_dir().join("install")).status().unwrap();
    assert!(status.success(), "tests/p2p/install failed");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("running unshare (the test needs root and util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} inside the namespace failed:\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "{test} did not run inside the namespace:\n{text}"
    );
}

fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// A synthetic repository large enough that blocks travel in several Bitswap messages
/// each way (about 3,000 records of about 1.2 KB: some 4 MB).
fn large_blocks() -> Blocks {
    let key = atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256).unwrap();
    let records = (0..3000).map(|i| {
        let text = format!("post {i} {}", "lorem ipsum dolor sit amet ".repeat(40));
        let v = atmo_data::json::from_str(
            &serde_json::json!({
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": "2026-12-07T00:00:00.000Z"
            })
            .to_string(),
        )
        .unwrap();
        (
            format!(
                "app.bsky.feed.post/{}",
                atmo_syntax::Tid::from_parts(1_800_000_000_000_000 + i, 0)
            ),
            v,
        )
    });
    let built = atmo_repo::build_repo(
        &"did:plc:abcdefghijklmnopqrstuvwx".parse().unwrap(),
        &key,
        atmo_syntax::Tid::now(),
        records,
    )
    .unwrap();
    let mut blocks = Blocks::new();
    blocks.add_car(built.car.into()).unwrap();
    blocks
}

fn example_blocks() -> Blocks {
    let mut blocks = Blocks::new();
    blocks
        .add_car_file(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/repo.car"))
        .unwrap();
    blocks
}

#[test]
fn helia_and_atmo_exchange_repository_blocks() {
    if !inside() {
        return in_namespace("helia_and_atmo_exchange_repository_blocks");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let small = example_blocks();
    assert!(
        small.len() > 10,
        "the example repository has {} blocks",
        small.len()
    );
    rt.block_on(exchange(small));
    let large = large_blocks();
    assert!(large.len() > 3000);
    rt.block_on(exchange(large));
}

async fn exchange(blocks: Blocks) {
    let mut cids: Vec<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    cids.sort();

    // 1. Helia holds the blocks; atmo fetches them.
    let dir = atmo_tests::support::temp_dir("p2p-helia");
    for (cid, data) in blocks.iter() {
        std::fs::write(dir.join(cid.to_string()), data).unwrap();
    }
    let mut helia = Command::new(node_bin())
        .current_dir(p2p_dir())
        .args(["helia.mjs", "serve"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(helia.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let addr: Multiaddr = info["addrs"][0].as_str().unwrap().parse().unwrap();
    eprintln!("helia {} at {addr}", info["peerId"]);

    let atmo = Node::start(NodeConfig {
        want_timeout: Duration::from_secs(20),
        ..NodeConfig::default()
    })
    .await
    .unwrap();
    let peer = atmo.connect(&addr).await.unwrap();
    assert_eq!(peer.to_string(), info["peerId"].as_str().unwrap());
    let start = std::time::Instant::now();
    let got = atmo.fetch_many(&cids, &[peer]).await;
    eprintln!(
        "atmo fetched {} blocks ({} bytes) from Helia in {:?}",
        cids.len(),
        blocks.iter().map(|(_, b)| b.len()).sum::<usize>(),
        start.elapsed()
    );
    for (cid, r) in cids.iter().zip(got) {
        let bytes = r.unwrap_or_else(|e| panic!("from Helia, {cid}: {e}"));
        assert_eq!(&bytes, blocks.block(cid).unwrap(), "{cid}");
    }
    assert!(atmo.misbehaviour().is_empty());
    // A block Helia does not have: atmo gives up at the deadline, or on DontHave.
    let absent = Cid::for_raw(b"helia does not have this");
    assert!(atmo.fetch(absent, &[peer]).await.is_err());
    drop(helia.stdin.take());
    let _ = helia.wait();
    atmo.stop().await;

    // 2. atmo serves the blocks; Helia fetches them.
    let srv = Node::start(NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        source: Some(Arc::new(blocks.clone())),
        ..NodeConfig::default()
    })
    .await
    .unwrap();
    let addr = srv.listen_addrs()[0].to_string();
    let mut child = Command::new(node_bin())
        .current_dir(p2p_dir())
        .args(["helia.mjs", "fetch", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for c in &cids {
            writeln!(stdin, "{c}").unwrap();
        }
    }
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "Helia fetched {} blocks from atmo in {:?} (its node's start included)",
        cids.len(),
        start.elapsed()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helia fetch: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = 0;
    for l in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let cid = Cid::parse(v["cid"].as_str().unwrap()).unwrap();
        let b64 = v["bytes"]
            .as_str()
            .unwrap_or_else(|| panic!("Helia could not get {cid}: {}", v["error"]));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(&bytes[..], &blocks.block(&cid).unwrap()[..], "{cid}");
        seen += 1;
    }
    assert_eq!(seen, cids.len());
    assert_eq!(srv.stats().blocks_sent, cids.len() as u64);
    srv.stop().await;
}

#[test]
fn secp256k1_peer_ids_agree_with_js_libp2p() {
    atmo_tests::refnet::install().unwrap();
    let status = Command::new(p2p_dir().join("install")).status().unwrap();
    assert!(status.success(), "tests/p2p/install failed");
    let keys: Vec<atmo_crypto::PublicKey> = (0..20)
        .map(|_| {
            atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256)
                .unwrap()
                .public_key()
        })
        .collect();
    let mut child = Command::new(node_bin())
        .current_dir(p2p_dir())
        .arg("peer-id.mjs")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for k in &keys {
            let hex: String = k
                .to_sec1_compressed()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            writeln!(stdin, "{hex}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(theirs.len(), keys.len());
    for (k, js) in keys.iter().zip(theirs) {
        assert_eq!(atmo_p2p::peer_id_for_key(k).unwrap().to_string(), js);
    }
}
