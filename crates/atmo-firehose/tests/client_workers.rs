//! A [`Subscription`] with several verification threads, against a websocket server of
//! the test's own on 127.0.0.1: items in the order of the frames, a gap in its place.
#![cfg(feature = "client")]

mod support;

use std::time::Duration;

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
