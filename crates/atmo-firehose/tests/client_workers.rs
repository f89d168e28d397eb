//! A [`Subscription`] with several verification threads, against a websocket server of
//! the test's own on 127.0.0.1: items in the order of the frames, a gap in its place;
//! full verification with the signing keys resolved (from the worker threads) through a
//! PLC directory of the test's own, also on 127.0.0.1.
#![cfg(feature = "client")]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_syntax::Did;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use atmo_firehose::{Config, Item, RepoEvent, Subscription, VerifyLevel};
use futures_util::SinkExt as _;
use support::frames::generate;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_with_three_workers_hands_items_out_in_frame_order() {
    let mut frames = generate(4, 12, 90, 5).frames;
    frames.remove(39); // seq 40: a gap between 39 and 41.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        for f in frames {
            ws.send(Message::Binary(f.into())).await.unwrap();
        }
        // Stay open until the test ends.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });

    let mut config = Config::new(format!("http://{addr}"));
    config.allow_private_network = true;
    config.verify = VerifyLevel::Hashes;
    config.workers = 3;
    config.buffer = 8;
    let mut sub = Subscription::start(config).unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&90) {
        let item = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("an item in time")
            .expect("the subscription goes on");
        match item {
            Item::Event(RepoEvent::Commit(c)) => {
                assert!(c.ops.iter().all(|o| o.record.is_some() || o.cid.is_none()));
                seen.push(c.seq);
            }
            Item::Gap { after, next } => {
                assert_eq!((after, next), (39, 41));
                assert_eq!(seen.last(), Some(&39), "the gap comes in its place");
                seen.push(-1);
            }
            other => panic!("{other:?}"),
        }
    }
    let want: Vec<i64> = (1..=39).chain([-1]).chain(41..=90).collect();
    assert_eq!(seen, want);
    assert_eq!(sub.shutdown().await.unwrap(), Some(90));
    server.abort();
}

/// Serves `frames` to the first websocket client, then stays open.
async fn serve_frames(frames: Vec<Vec<u8>>) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        for f in frames {
            ws.send(Message::Binary(f.into())).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    (addr, task)
}

/// A PLC directory answering `GET /<did>` with a DID document naming `keys[did]`, and
/// counting the requests.
async fn serve_plc(
    keys: HashMap<Did, PublicKey>,
) -> (
    std::net::SocketAddr,
    Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = hits.clone();
    let keys = Arc::new(keys);
    let task = tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let keys = keys.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = tcp.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let line = String::from_utf8_lossy(&req)
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned();
                let path = line.split(' ').nth(1).unwrap().trim_start_matches('/');
                let did: Option<Did> = path.replace("%3A", ":").parse().ok();
                let (status, body) = match did.as_ref().and_then(|d| keys.get(d)) {
                    Some(key) => {
                        let did = did.unwrap();
                        let doc = format!(
                            r##"{{"@context":["https://www.w3.org/ns/did/v1"],"id":"{did}","alsoKnownAs":["at://someone.test"],"verificationMethod":[{{"id":"{did}#atproto","type":"Multikey","controller":"{did}","publicKeyMultibase":"{}"}}],"service":[{{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://127.0.0.1:1"}}]}}"##,
                            key.to_multikey()
                        );
                        ("200 OK", doc)
                    }
                    None => (
                        "404 Not Found",
                        r#"{"message":"DID not registered"}"#.to_owned(),
                    ),
                };
                let res = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(res.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, hits, task)
}

/// Full verification on two threads: keys resolved once per account from the PLC (the
/// worker threads wait for the runtime's lookups), every commit verified with its
/// records; an account whose PLC key is another one has every commit rejected, in its
/// place, after one refresh.
#[tokio::test(flavor = "current_thread")]
async fn full_verification_on_two_workers_resolves_keys_through_the_runtime() {
    let made = generate(4, 12, 60, 7);
    let mut keys = made.keys.clone();
    let liar = made.keys.keys().min().unwrap().clone();
    let other = atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256).unwrap();
    keys.insert(liar.clone(), other.public_key());
    let (plc, hits, plc_task) = serve_plc(keys).await;
    let (ws, ws_task) = serve_frames(made.frames).await;

    let mut config = Config::new(format!("http://{ws}"));
    config.allow_private_network = true;
    config.plc_url = format!("http://{plc}");
    config.verify = VerifyLevel::Full;
    config.workers = 2;
    let mut sub = Subscription::start(config).unwrap();
    let mut next_seq = 1;
    let mut rejected = 0;
    while next_seq <= 60 {
        let item = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("an item in time")
            .expect("the subscription goes on");
        match item {
            Item::Event(RepoEvent::Commit(c)) => {
                assert_eq!(c.seq, next_seq);
                assert_ne!(c.repo, liar);
                assert!(!c.desynchronized, "seq {}", c.seq);
                assert!(c.ops.iter().all(|o| o.record.is_some() || o.cid.is_none()));
            }
            Item::Rejected { seq, did, error } => {
                assert_eq!(seq, next_seq);
                assert_eq!(did, liar);
                assert!(
                    matches!(error, atmo_firehose::VerifyError::Signature(_)),
                    "{error}"
                );
                rejected += 1;
            }
            other => panic!("{other:?}"),
        }
        next_seq += 1;
    }
    assert!(rejected > 0);
    // One lookup per account, and for the liar one refresh per rejected commit at most.
    let n = hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!((4..=4 + rejected).contains(&n), "{n} PLC requests");
    assert_eq!(sub.shutdown().await.unwrap(), Some(60));
    ws_task.abort();
    plc_task.abort();
}
