//! atmo-firehose against the reference PDS's own subscribeRepos: live and from cursor=0,
//! fully verified; through a TCP proxy of ours that cuts connections mid-stream (no event
//! lost or repeated) or flips a byte inside a record block (the commit is rejected).
//!
//! Run with `tests/refnet/with cargo nextest run -p atmo-tests --test firehose`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atmo_api::com_atproto::repo;
use atmo_firehose::{Config, Item, RepoEvent, Subscription, VerifyError, VerifyLevel};
use atmo_syntax::{Did, Nsid};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{TestAccount, test_account};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(60);

fn config(net: &RefNet, host: &str, cursor: Option<i64>) -> Config {
    let mut c = Config::new(host);
    c.cursor = cursor;
    c.verify = VerifyLevel::Full;
    c.allow_private_network = true;
    c.plc_url = net.plc.clone();
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(500);
    c
}

/// Creates `n` posts whose text starts with `text`; returns their CIDs in order.
async fn write_posts(a: &TestAccount, text: &str, n: usize) -> Vec<String> {
    let did: Did = a.did.parse().unwrap();
    let nsid: Nsid = "app.bsky.feed.post".parse().unwrap();
    let mut cids = Vec::new();
    for i in 0..n {
        let value = atmo_data::json::from_str(&format!(
            r#"{{"$type": "app.bsky.feed.post", "text": "{text} {i}", "createdAt": "2024-01-01T00:00:00.000Z"}}"#
        ))
        .unwrap();
        let out = a
            .client
            .call(repo::create_record::Input::new(
                did.clone().into(),
                nsid.clone(),
                value,
            ))
            .await
            .unwrap_or_else(|e| panic!("createRecord: {e}"));
        cids.push(out.cid.to_string());
    }
    cids
}

/// Everything a subscription handed out, until `done` says so.
#[derive(Default)]
struct Seen {
    events: Vec<RepoEvent>,
    rejected: Vec<(i64, Did, VerifyError)>,
    gaps: Vec<(i64, i64)>,
    reconnects: usize,
}

async fn collect(sub: &mut Subscription, mut done: impl FnMut(&Seen) -> bool) -> Seen {
    let mut seen = Seen::default();
    let deadline = Instant::now() + WAIT;
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let item = tokio::time::timeout(left, sub.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out after {} events, {} rejected, {} reconnects",
                    seen.events.len(),
                    seen.rejected.len(),
                    seen.reconnects
                )
            })
            .expect("the subscription ended");
        match item {
            Item::Event(e) => seen.events.push(e),
            Item::Rejected { seq, did, error } => seen.rejected.push((seq, did, error)),
            Item::Gap { after, next } => seen.gaps.push((after, next)),
            Item::Reconnecting { .. } => seen.reconnects += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    seen
}

/// The CIDs of the created records of `did`'s commits, in stream order.
fn created_cids(events: &[RepoEvent], did: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        if let RepoEvent::Commit(c) = e {
            if c.repo.as_str() == did {
                for op in &c.ops {
                    if let Some(cid) = op.cid {
                        out.push(cid.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Every sequence number handed out (delivered or rejected), in order, one step apart.
fn assert_contiguous(seen: &Seen) {
    let mut seqs: Vec<i64> = seen.events.iter().filter_map(RepoEvent::seq).collect();
    seqs.extend(seen.rejected.iter().map(|(s, _, _)| *s));
    seqs.sort_unstable();
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "seq not contiguous: {seqs:?}");
    }
}

/// The rejections of one account's events. The reference network is shared by every
/// test binary, and other tests write commits that are rightly refused (a repository
/// imported from another account keeps that account's commit): only this test's own
/// account must be clean.
fn rejected_of<'a>(seen: &'a Seen, did: &str) -> Vec<&'a (i64, Did, VerifyError)> {
    seen.rejected
        .iter()
        .filter(|(_, d, _)| d.as_str() == did)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_from_cursor_zero_fully_verified() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    // Live: subscribe first, then make the account and the writes.
    let mut live = Subscription::start(config(net, &net.pds, None)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = test_account(&net.pds, "fh").await;
    let cids = write_posts(&a, "hello firehose", 5).await;
    let did = a.did.clone();
    let seen = collect(&mut live, |s| created_cids(&s.events, &did).len() >= 5).await;
    assert_eq!(
        created_cids(&seen.events, &did),
        cids,
        "live: once, in order"
    );
    assert!(rejected_of(&seen, &did).is_empty(), "{:?}", seen.rejected);
    assert!(seen.gaps.is_empty());
    assert_contiguous(&seen);
    live.shutdown().await.unwrap();

    // From cursor=0: the whole history, including the account creation's events.
    let mut replay = Subscription::start(config(net, &net.pds, Some(0))).unwrap();
    let seen = collect(&mut replay, |s| created_cids(&s.events, &did).len() >= 5).await;
    assert!(rejected_of(&seen, &did).is_empty(), "{:?}", seen.rejected);
    assert_contiguous(&seen);
    assert_eq!(seen.events.first().and_then(RepoEvent::seq), Some(1));
    assert_eq!(
        created_cids(&seen.events, &did),
        cids,
        "replay: once, in order"
    );
    let kinds: Vec<&str> = seen
        .events
        .iter()
        .filter(|e| e.did().map(Did::as_str) == Some(did.as_str()))
        .map(RepoEvent::kind)
        .collect();
    for k in ["identity", "account", "sync"] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    // Records arrive decoded, with their text.
    let texts: Vec<String> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            RepoEvent::Commit(c) if c.repo.as_str() == did => Some(c),
            _ => None,
        })
        .flat_map(|c| c.ops.iter())
        .filter_map(|o| o.record.as_ref()?.get("text")?.as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts.len(), 5);
    assert_eq!(texts[0], "hello firehose 0");
    assert_eq!(
        replay.shutdown().await.unwrap(),
        seen.events.last().and_then(RepoEvent::seq)
    );
}

/// What the proxy does to the server's bytes.
#[derive(Clone, Copy)]
enum Fault {
    /// Close the first `times` connections after this many bytes.
    Cut { after: usize, times: usize },
    /// Flip a byte of the first occurrence of this marker in each chunk.
    Flip(&'static [u8]),
}

/// A TCP proxy to `port` on 127.0.0.1; returns its URL.
async fn proxy(port: u16, fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let n = conns.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut buf = vec![0u8; 64 << 10];
                let mut sent = 0usize;
                while let Ok(k) = sr.read(&mut buf).await {
                    if k == 0 {
                        break;
                    }
                    let chunk = &mut buf[..k];
                    match fault {
                        Fault::Cut { after, times } if n < times && sent + k > after => {
                            let keep = after.saturating_sub(sent);
                            let _ = cw.write_all(&chunk[..keep]).await;
                            break; // cut mid-frame
                        }
                        Fault::Flip(marker) => {
                            if let Some(i) = chunk.windows(marker.len()).position(|w| w == marker) {
                                chunk[i] ^= 0x01;
                            }
                        }
                        Fault::Cut { .. } => {}
                    }
                    if cw.write_all(chunk).await.is_err() {
                        break;
                    }
                    sent += k;
                }
                up.abort();
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_frame_lose_and_repeat_nothing() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "fhcut").await;
    let cids = write_posts(&a, "cut", 20).await;
    let host = proxy(
        net.pds_port().unwrap(),
        Fault::Cut {
            after: 2500,
            times: 6,
        },
    )
    .await;
    let mut sub = Subscription::start(config(net, &host, Some(0))).unwrap();
    let did = a.did.clone();
    let seen = collect(&mut sub, |s| created_cids(&s.events, &did).len() >= 20).await;
    assert!(seen.reconnects >= 6, "{} reconnects", seen.reconnects);
    assert!(rejected_of(&seen, &did).is_empty(), "{:?}", seen.rejected);
    assert!(seen.gaps.is_empty(), "{:?}", seen.gaps);
    assert_eq!(seen.events.first().and_then(RepoEvent::seq), Some(1));
    assert_contiguous(&seen);
    assert_eq!(created_cids(&seen.events, &did), cids);
    sub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_block_is_rejected_with_its_reason() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "fhbad").await;
    let good = write_posts(&a, "fine", 1).await;
    write_posts(&a, "TAMPERME", 1).await;
    let after = write_posts(&a, "after", 1).await;
    let host = proxy(net.pds_port().unwrap(), Fault::Flip(b"TAMPERME")).await;
    let mut c = config(net, &host, Some(0));
    c.filter = atmo_firehose::Filter::default().did(a.did.parse().unwrap());
    let mut sub = Subscription::start(c).unwrap();
    let did = a.did.clone();
    let seen = collect(&mut sub, |s| {
        created_cids(&s.events, &did).contains(&after[0]) && !s.rejected.is_empty()
    })
    .await;
    assert_eq!(seen.rejected.len(), 1, "{:?}", seen.rejected);
    let (_, rdid, err) = &seen.rejected[0];
    assert_eq!(rdid.as_str(), did);
    assert!(
        matches!(err, VerifyError::Blocks(_)),
        "rejected for another reason: {err}"
    );
    let delivered = created_cids(&seen.events, &did);
    assert_eq!(delivered, vec![good[0].clone(), after[0].clone()]);
    // The commit after the rejected one is flagged: the chain broke.
    let flagged = seen.events.iter().any(|e| {
        matches!(e, RepoEvent::Commit(c) if c.desynchronized && c.ops.iter().any(|o| o.cid.map(|c| c.to_string()) == Some(after[0].clone())))
    });
    assert!(flagged, "the next commit is not flagged desynchronised");

    // Resync: the repository is downloaded from its PDS and verified whole; the next
    // commit of it is checked against that and is no longer flagged.
    let did_t: atmo_syntax::Did = did.parse().unwrap();
    let resynced = sub.resync(&did_t, 64 << 20).await.unwrap();
    assert_eq!(resynced.records, 3);
    let later = write_posts(&a, "later", 1).await;
    let seen = collect(&mut sub, |s| {
        created_cids(&s.events, &did).contains(&later[0])
    })
    .await;
    let fresh = seen.events.iter().find_map(|e| match e {
        RepoEvent::Commit(c)
            if c.ops
                .iter()
                .any(|o| o.cid.map(|c| c.to_string()) == Some(later[0].clone())) =>
        {
            Some(c.desynchronized)
        }
        _ => None,
    });
    assert_eq!(
        fresh,
        Some(false),
        "the commit after the resync is still flagged"
    );
    sub.shutdown().await.unwrap();
}

/// The reference PDS writes a batch that creates a record and then updates it as one
/// commit with two operations on the same path; it verifies (undone last first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_creates_then_updates_one_record_verifies() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "fhdup").await;
    let did: Did = a.did.parse().unwrap();
    let coll = Nsid::new("app.bsky.feed.post").unwrap();
    let rkey: atmo_syntax::RecordKey = "3kaaaaaaaaaa2".parse().unwrap();
    let rec = |t: &str| {
        atmo_data::json::record_from_str(&format!(
            r#"{{"$type": "app.bsky.feed.post", "text": "{t}", "createdAt": "2024-01-01T00:00:00Z"}}"#
        ))
        .unwrap()
    };
    let mut create = repo::apply_writes::Create::new(coll.clone(), rec("first"));
    create.rkey = Some(rkey.clone());
    let update = repo::apply_writes::Update::new(coll, rkey, rec("second"));
    let input =
        repo::apply_writes::Input::new(did.clone().into(), vec![create.into(), update.into()]);
    a.client.call(&input).await.unwrap();
    let mut c = config(net, &net.pds, Some(0));
    c.filter = atmo_firehose::Filter::default().did(did.clone());
    let mut sub = Subscription::start(c).unwrap();
    let seen = collect(&mut sub, |s| {
        !s.rejected.is_empty()
            || s.events
                .iter()
                .any(|e| matches!(e, RepoEvent::Commit(c) if c.ops.len() == 2))
    })
    .await;
    assert!(
        rejected_of(&seen, did.as_str()).is_empty(),
        "{:?}",
        seen.rejected
    );
    let ops: Vec<(String, String)> = seen
        .events
        .iter()
        .find_map(|e| match e {
            RepoEvent::Commit(c) if c.ops.len() == 2 => Some(
                c.ops
                    .iter()
                    .map(|o| (format!("{:?}", o.action), o.path.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap();
    assert_eq!(ops[0].1, ops[1].1, "{ops:?}");
    sub.shutdown().await.unwrap();
}
