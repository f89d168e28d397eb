//! atmo nodes exchanging blocks on loopback, mirroring from a peer alone, and peers that
//! misbehave (a rogue libp2p peer of the test's own, speaking Bitswap with wrong or
//! unasked blocks) caught and dropped.

#![cfg(feature = "node")]

use std::sync::Arc;
use std::time::Duration;

use atmo_data::Cid;
use atmo_p2p::message::{Block, Message, PROTOCOLS, read_length_prefix};
use atmo_p2p::{
    Blocks, Error, Fetcher, Mirror, MirrorOptions, MisbehaviourKind, Multiaddr, Node, NodeConfig,
    PeerId,
};
use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::swarm::SwarmEvent;
use libp2p::{StreamProtocol, noise, tcp, yamux};

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

fn example() -> (Blocks, Cid) {
    let mut blocks = Blocks::new();
    let roots = blocks.add_car_file(&data("repo.car")).unwrap();
    (blocks, roots[0])
}

fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

async fn server(blocks: Blocks) -> Node {
    Node::start(NodeConfig {
        listen: vec![loopback()],
        source: Some(Arc::new(blocks)),
        ..NodeConfig::default()
    })
    .await
    .unwrap()
}

async fn client(timeout: Duration) -> Node {
    Node::start(NodeConfig {
        want_timeout: timeout,
        ..NodeConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_fetches_every_block_another_serves() {
    let (blocks, _) = example();
    let srv = server(blocks.clone()).await;
    let addr = srv.listen_addrs()[0].clone();
    assert!(
        addr.to_string()
            .ends_with(&format!("/p2p/{}", srv.peer_id()))
    );

    let cli = client(Duration::from_secs(10)).await;
    let peer = cli.connect(&addr).await.unwrap();
    assert_eq!(peer, srv.peer_id());

    let cids: Vec<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    let got = cli.fetch_many(&cids, &[peer]).await;
    for (cid, r) in cids.iter().zip(got) {
        let bytes = r.unwrap_or_else(|e| panic!("{cid}: {e}"));
        assert_eq!(&bytes, blocks.block(cid).unwrap(), "{cid}");
    }
    assert_eq!(cli.stats().blocks_received, cids.len() as u64);
    assert_eq!(srv.stats().blocks_sent, cids.len() as u64);

    // A block the server does not have: it says so (DontHave), no waiting for a timeout.
    let absent = Cid::for_raw(b"nobody has this");
    let start = std::time::Instant::now();
    let err = cli.fetch(absent, &[peer]).await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound { cid } if cid == absent),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(srv.stats().dont_haves_sent, 1);
    assert!(cli.misbehaviour().is_empty());
    srv.stop().await;
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_mirrors_from_a_peer_alone_with_a_known_root_and_key() {
    let (blocks, root) = example();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("repo.json")).unwrap()).unwrap();
    let did: atmo_syntax::Did = meta["did"].as_str().unwrap().parse().unwrap();
    let key = atmo_crypto::PublicKey::from_did_key(meta["signingKey"].as_str().unwrap()).unwrap();
    let srv = server(blocks).await;

    let mut o = MirrorOptions::new(did.clone());
    o.peers = srv.listen_addrs();
    o.use_pds = false;
    o.root = Some(root);
    o.key = Some(key);
    // Nothing but the peer may be contacted: a resolver that would fail if asked.
    o.plc_url = "http://127.0.0.1:9".to_owned();
    let m = Mirror::new(o.clone()).unwrap().run().await.unwrap();
    assert_eq!(m.commit, root);
    assert_eq!(m.records, meta["records"].as_array().unwrap().len());
    assert_eq!(m.stats.pds, 0);
    assert_eq!(m.stats.peers as usize, m.blocks);

    // The CAR verifies on its own and holds the same records as the original.
    let repo = atmo_repo::Repo::from_car(&m.car).unwrap();
    repo.verify(&atmo_repo::VerifyOptions::new().key(key).did(did.clone()))
        .unwrap();
    let original = std::fs::read(data("repo.car")).unwrap();
    let original = atmo_repo::Repo::from_car(&original).unwrap();
    let records = |r: &atmo_repo::Repo<'_>| -> Vec<(String, Cid)> {
        r.records()
            .map(|x| x.map(|x| (x.path().to_owned(), x.cid())).unwrap())
            .collect()
    };
    assert_eq!(records(&repo), records(&original));

    // Again with the previous mirror: nothing is fetched.
    o.previous = Some(Bytes::from(m.car.clone()));
    let again = Mirror::new(o.clone()).unwrap().run().await.unwrap();
    assert_eq!(again.stats.peers, 0);
    assert_eq!(again.stats.local as usize, again.blocks);
    assert_eq!(again.car, m.car);

    // A key that is not the repository's: refused before the tree is fetched.
    let other = atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256)
        .unwrap()
        .public_key();
    o.previous = None;
    o.key = Some(other);
    let err = Mirror::new(o).unwrap().run().await.unwrap_err();
    assert!(matches!(err, Error::Repo(_)), "{err}");
    srv.stop().await;
}

/// What the rogue peer does when asked for blocks.
#[derive(Clone, Copy)]
enum Rogue {
    /// Answers each want with other bytes under the wanted CID's prefix.
    WrongBytes,
    /// Answers with a block nobody asked for (the right prefix, other content).
    Unasked,
    /// Sends a 5 MiB length prefix and garbage.
    Oversized,
}

/// A libp2p peer of the test's own that speaks Bitswap badly. Returns its address.
async fn rogue(mode: Rogue) -> Multiaddr {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(30)))
        .build();
    let mut control = swarm.behaviour().new_control();
    let mut incoming = control.accept(StreamProtocol::new(PROTOCOLS[0])).unwrap();
    swarm.listen_on(loopback()).unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address.with_p2p(*swarm.local_peer_id()).unwrap();
        }
    };
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    tokio::spawn(async move {
        while let Some((peer, mut stream)) = incoming.next().await {
            let mut control = control.clone();
            tokio::spawn(async move {
                // One message (the sender keeps its stream open for more).
                let mut prefix = Vec::new();
                let (len, _) = loop {
                    let mut b = [0u8; 1];
                    stream.read_exact(&mut b).await.unwrap();
                    prefix.push(b[0]);
                    if let Some(l) = read_length_prefix(&prefix).unwrap() {
                        break l;
                    }
                };
                let mut body = vec![0u8; len as usize];
                stream.read_exact(&mut body).await.unwrap();
                let msg = Message::decode(&body).unwrap();
                let Some(wl) = msg.wantlist else { return };
                let mut answer = Message::default();
                for e in wl.entries.iter().filter(|e| !e.cancel) {
                    let cid = e.cid().unwrap();
                    let block = match mode {
                        Rogue::WrongBytes => Block {
                            prefix: Block::new(&cid, Vec::new()).prefix,
                            data: bytes::Bytes::from_static(b"not the block you wanted"),
                        },
                        Rogue::Unasked | Rogue::Oversized => {
                            Block::new(&Cid::for_raw(b"spam"), b"spam".to_vec())
                        }
                    };
                    answer.blocks.push(block);
                }
                let mut out = control
                    .open_stream(peer, StreamProtocol::new(PROTOCOLS[0]))
                    .await
                    .unwrap();
                let frame = match mode {
                    Rogue::Oversized => {
                        let mut f = vec![0x80, 0x80, 0xc0, 0x02]; // 5 MiB
                        f.extend(std::iter::repeat_n(0u8, 1024));
                        f
                    }
                    _ => answer.to_frame(),
                };
                let _ = out.write_all(&frame).await;
                let _ = out.close().await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_wrong_or_unasked_blocks_is_caught_and_dropped() {
    let (blocks, root) = example();
    for (mode, what) in [
        (Rogue::WrongBytes, "wrong bytes"),
        (Rogue::Unasked, "unasked block"),
        (Rogue::Oversized, "oversized message"),
    ] {
        let addr = rogue(mode).await;
        let cli = Arc::new(client(Duration::from_secs(10)).await);
        let peer: PeerId = cli.connect(&addr).await.unwrap();
        let err = cli.fetch(root, &[peer]).await.unwrap_err();
        let caught = cli.misbehaviour();
        assert_eq!(caught.len(), 1, "{what}: {caught:?}");
        assert_eq!(caught[0].peer, peer, "{what}");
        match mode {
            Rogue::WrongBytes => {
                let bad = Cid::for_dag_cbor(b"not the block you wanted");
                assert_eq!(
                    caught[0].kind,
                    MisbehaviourKind::UnwantedBlock { got: bad },
                    "{what}"
                );
                assert!(
                    matches!(&err, Error::UnwantedBlock { peer: p, got } if *p == peer && **got == bad),
                    "{what}: {err}"
                );
            }
            Rogue::Unasked => {
                assert_eq!(
                    caught[0].kind,
                    MisbehaviourKind::UnwantedBlock {
                        got: Cid::for_raw(b"spam")
                    },
                    "{what}"
                );
                assert!(matches!(err, Error::UnwantedBlock { .. }), "{what}: {err}");
            }
            Rogue::Oversized => {
                assert_eq!(caught[0].kind, MisbehaviourKind::Oversized, "{what}");
                assert!(matches!(err, Error::BadPeer { .. }), "{what}: {err}");
            }
        }
        // Nothing from it reached the caller, and it is not asked again.
        assert_eq!(cli.stats().blocks_received, 0, "{what}");
        let again = cli.fetch(root, &[peer]).await.unwrap_err();
        assert!(matches!(again, Error::NotFound { .. }), "{what}: {again}");

        // A fetcher with a good peer besides gets the block from the good one.
        let srv = server(blocks.clone()).await;
        let rogue2 = rogue(mode).await;
        let mut f =
            Fetcher::new(Blocks::new()).with_node(Arc::new(client(Duration::from_secs(10)).await));
        f.add_peer(&rogue2).await.unwrap();
        f.add_peer(&srv.listen_addrs()[0]).await.unwrap();
        let got = f.get_block(root).await.unwrap();
        assert_eq!(&got, blocks.block(&root).unwrap(), "{what}");
        srv.stop().await;
    }
}
