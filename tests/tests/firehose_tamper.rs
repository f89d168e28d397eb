//! Tampered frames between the reference PDS and atmo's subscribeRepos consumer: a
//! websocket proxy of the test's own decodes the PDS's real frames and rewrites chosen
//! `#commit`s (the consumer is not touched) so that one is signed by another key, one's
//! operations do not match its blocks, and one replays an older commit (its `rev` goes
//! back). Each is rejected with its own reason, nothing of it is delivered, and the next
//! commit of that repository is flagged desynchronised. (A byte flipped inside a record
//! block is tests/tests/firehose.rs.)
//!
//! Run with `cargo nextest run -p atmo-tests --test firehose_tamper`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atmo_api::com_atproto::repo;
use atmo_crypto::{Curve, Keypair};
use atmo_data::{Cid, Value, cbor};
use atmo_firehose::{Config, Filter, Item, RepoEvent, Subscription, VerifyError, VerifyLevel};
use atmo_repo::{BlockStore as _, CarBlockStore, Commit};
use atmo_syntax::{Did, Nsid};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{TestAccount, test_account};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

const WAIT: Duration = Duration::from_secs(60);

/// One write's record and commit.
struct Written {
    record: String,
    commit: Cid,
}

/// Creates one post with `text`.
async fn post(a: &TestAccount, text: &str) -> Written {
    let did: Did = a.did.parse().unwrap();
    let value = atmo_data::json::from_str(&format!(
        r#"{{"$type": "app.bsky.feed.post", "text": "{text}", "createdAt": "2024-01-01T00:00:00.000Z"}}"#
    ))
    .unwrap();
    let out = a
        .client
        .call(repo::create_record::Input::new(
            did.into(),
            Nsid::new("app.bsky.feed.post").unwrap(),
            value,
        ))
        .await
        .unwrap_or_else(|e| panic!("createRecord: {e}"));
    let commit = out.commit.expect("createRecord names its commit");
    Written {
        record: out.cid.to_string(),
        commit: commit.cid.as_str().parse().unwrap(),
    }
}

/// How the proxy changes one `#commit`.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// Re-sign the commit block with a fresh key; the CAR and `commit` follow.
    OtherKey,
    /// Point the first operation at another record key.
    WrongOps,
    /// Send the repository's first commit again in its place (with its `seq`): a
    /// genuine, signed commit whose `rev` is older than the last one.
    OldRev,
}

/// The proxy's rules and memory, shared by its connections.
#[derive(Default)]
struct Rules {
    /// Commits to change, by CID.
    tamper: HashMap<Cid, Tamper>,
    /// The first `#commit` body seen of each repository.
    first_body: HashMap<String, Value>,
    /// The tampered commits sent on.
    done: Vec<(Cid, Tamper)>,
}

fn split(frame: &[u8]) -> (Value, Value) {
    let (header, rest) = cbor::decode_prefix(frame, &cbor::DecodeLimits::DEFAULT).unwrap();
    (header, cbor::decode(rest).unwrap())
}

fn map_mut(v: &mut Value) -> &mut atmo_data::Map {
    match v {
        Value::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    }
}

impl Rules {
    /// The frame to send on in place of `frame`.
    fn rewrite(&mut self, frame: Vec<u8>) -> Vec<u8> {
        let (header, mut body) = split(&frame);
        if header.get("t").and_then(Value::as_str) != Some("#commit") {
            return frame;
        }
        let repo = body.get("repo").and_then(Value::as_str).unwrap().to_owned();
        let commit = *body.get("commit").and_then(Value::as_link).unwrap();
        let Some(&how) = self.tamper.get(&commit) else {
            self.first_body.entry(repo).or_insert(body);
            return frame;
        };
        match how {
            Tamper::OtherKey => {
                let blocks = body.get("blocks").and_then(Value::as_bytes).unwrap();
                let store = CarBlockStore::from_car(blocks).unwrap();
                let old = Commit::decode(store.get_block(&commit).unwrap()).unwrap();
                let key = Keypair::generate(Curve::K256).unwrap();
                let forged =
                    Commit::sign(old.did, old.data, old.rev.unwrap(), old.prev, &key).unwrap();
                let bytes = forged.encode();
                let cid = forged.cid();
                let others: Vec<(Cid, &[u8])> =
                    store.iter().filter(|(c, _)| *c != commit).collect();
                let car = atmo_repo::car::write_car(
                    &[cid],
                    std::iter::once((cid, bytes.as_slice())).chain(others),
                );
                let m = map_mut(&mut body);
                m.insert("commit", Value::link(cid));
                m.insert("blocks", Value::Bytes(car));
            }
            Tamper::WrongOps => {
                let m = map_mut(&mut body);
                let Some(Value::Array(ops)) = m.get_mut("ops") else {
                    panic!("no ops")
                };
                let op = map_mut(&mut ops[0]);
                let path = op.get("path").and_then(Value::as_str).unwrap().to_owned();
                // Another record key of the same length (a TID's last character).
                let last = if path.ends_with('2') { '3' } else { '2' };
                let moved = format!("{}{last}", &path[..path.len() - 1]);
                op.insert("path", Value::String(moved.as_str().into()));
            }
            Tamper::OldRev => {
                let seq = body.get("seq").cloned().unwrap();
                let mut old = self
                    .first_body
                    .get(&repo)
                    .cloned()
                    .expect("an earlier commit of the repository");
                assert_ne!(old.get("rev"), body.get("rev"));
                map_mut(&mut old).insert("seq", seq);
                body = old;
            }
        }
        self.done.push((commit, how));
        let mut out = cbor::encode(&header);
        out.extend(cbor::encode(&body));
        out
    }
}

/// A websocket proxy to the PDS on 127.0.0.1:`port` that passes every frame through
/// `rules`; returns its base URL.
async fn proxy(port: u16, rules: Arc<Mutex<Rules>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let rules = Arc::clone(&rules);
            tokio::spawn(async move {
                let path = Arc::new(Mutex::new(String::new()));
                let slot = Arc::clone(&path);
                // The handshake callback's error type is tungstenite's.
                #[allow(clippy::result_large_err)]
                let Ok(downstream) = tokio_tungstenite::accept_hdr_async(
                    client,
                    move |req: &Request, res: Response| {
                        *slot.lock().unwrap() = req.uri().to_string();
                        Ok(res)
                    },
                )
                .await
                else {
                    return;
                };
                let url = format!("ws://127.0.0.1:{port}{}", path.lock().unwrap());
                let Ok(tcp) = TcpStream::connect(("127.0.0.1", port)).await else {
                    return;
                };
                let Ok((upstream, _)) = tokio_tungstenite::client_async(url, tcp).await else {
                    return;
                };
                let (mut up_w, mut up_r) = upstream.split();
                let (mut down_w, mut down_r) = downstream.split();
                let back = tokio::spawn(async move {
                    while let Some(Ok(m)) = down_r.next().await {
                        if up_w.send(m).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(m)) = up_r.next().await {
                    let m = match m {
                        Message::Binary(b) => {
                            Message::Binary(rules.lock().unwrap().rewrite(b.to_vec()).into())
                        }
                        other => other,
                    };
                    if down_w.send(m).await.is_err() {
                        break;
                    }
                }
                back.abort();
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_commits_are_rejected_each_with_its_own_reason() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let cases = [Tamper::OtherKey, Tamper::WrongOps, Tamper::OldRev];
    let rules = Arc::new(Mutex::new(Rules::default()));
    // One account per case: a good post, the tampered one, and one after it.
    let mut accounts = Vec::new();
    for how in cases {
        let a = test_account(&net.pds, "fhtamper").await;
        // (Texts differ between accounts, so that record CIDs do.)
        let good = post(&a, &format!("good {how:?}")).await;
        let bad = post(&a, &format!("tampered {how:?}")).await;
        let after = post(&a, &format!("after {how:?}")).await;
        rules.lock().unwrap().tamper.insert(bad.commit, how);
        accounts.push((how, a, good, bad, after));
    }
    let host = proxy(net.pds_port().unwrap(), Arc::clone(&rules)).await;
    let mut c = Config::new(host);
    c.cursor = Some(0);
    c.verify = VerifyLevel::Full;
    c.allow_private_network = true;
    c.plc_url = net.plc.clone();
    // Other tests share the network: these accounts only.
    let mut filter = Filter::default();
    for (_, a, ..) in &accounts {
        filter = filter.did(a.did.parse().unwrap());
    }
    c.filter = filter;
    let mut sub = Subscription::start(c).unwrap();

    let afters: Vec<String> = accounts.iter().map(|(.., w)| w.record.clone()).collect();
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    let deadline = Instant::now() + WAIT;
    let delivered = |events: &[RepoEvent], record: &str| {
        events.iter().any(|e| {
            matches!(e, RepoEvent::Commit(c)
                if c.ops.iter().any(|o| o.cid.map(|c| c.to_string()).as_deref() == Some(record)))
        })
    };
    while !afters.iter().all(|r| delivered(&events, r)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let item = tokio::time::timeout(left, sub.next())
            .await
            .unwrap_or_else(|_| panic!("timed out; rejected so far: {rejected:?}"))
            .expect("the subscription ended");
        match item {
            Item::Event(e) => events.push(e),
            Item::Rejected { seq, did, error } => rejected.push((seq, did, error)),
            Item::Gap { .. } | Item::Reconnecting { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        rules.lock().unwrap().done.len(),
        cases.len(),
        "the proxy changed each commit once"
    );

    for (how, a, good, bad, after) in &accounts {
        let mine: Vec<&(i64, Did, VerifyError)> = rejected
            .iter()
            .filter(|(_, d, _)| d.as_str() == a.did)
            .collect();
        assert_eq!(mine.len(), 1, "{how:?}: {rejected:?}");
        let err = &mine[0].2;
        let reason_ok = match how {
            Tamper::OtherKey => matches!(err, VerifyError::Signature(_)),
            Tamper::WrongOps => matches!(err, VerifyError::Ops(_)),
            Tamper::OldRev => matches!(err, VerifyError::RevNotIncreasing { .. }),
        };
        assert!(reason_ok, "{how:?} rejected for another reason: {err}");
        eprintln!("{how:?}: {err}");
        // Nothing of the tampered commit is delivered: not its seq, not its record.
        let seq = mine[0].0;
        assert!(!events.iter().any(|e| e.seq() == Some(seq)), "{how:?}");
        assert!(!delivered(&events, &bad.record), "{how:?}");
        assert!(delivered(&events, &good.record), "{how:?}");
        // The commit after it is delivered, flagged: the repository's chain broke.
        let flagged = events.iter().find_map(|e| match e {
            RepoEvent::Commit(c)
                if c.ops
                    .iter()
                    .any(|o| o.cid.map(|c| c.to_string()) == Some(after.record.clone())) =>
            {
                Some(c.desynchronized)
            }
            _ => None,
        });
        assert_eq!(
            flagged,
            Some(true),
            "{how:?}: the next commit is not flagged"
        );
    }
    sub.shutdown().await.unwrap();
}
