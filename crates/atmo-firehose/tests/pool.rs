//! Verification on several threads: the same verdicts as one thread, in the order the
//! frames came, each repository's sync 1.1 chain intact when its commits come back to
//! back, and bounded queues.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use atmo_crypto::PublicKey;
use atmo_firehose::{
    Checked, Checker, Filter, FrameLimits, KeySource, Output, PoolOptions, RepoEvent, Verifier,
    VerifyError, VerifyLevel, verify_pool,
};
use atmo_syntax::Did;
use support::frames::{Frames, generate};

fn decode(frames: &[Vec<u8>]) -> Vec<RepoEvent> {
    let limits = FrameLimits::DEFAULT;
    frames
        .iter()
        .map(|f| RepoEvent::decode(f, &limits).unwrap())
        .collect()
}

/// A verdict in a comparable form: the whole event when it passed.
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Verdict {
    Event(RepoEvent),
    Rejected(i64, String),
    Filtered(Option<i64>),
}

fn verdict(c: Checked) -> Verdict {
    match c {
        Checked::Event(e) => Verdict::Event(e),
        Checked::Rejected { seq, error, .. } => Verdict::Rejected(seq, error.to_string()),
        Checked::Filtered { seq } => Verdict::Filtered(seq),
        other => panic!("{other:?}"),
    }
}

fn one_thread(
    events: &[RepoEvent],
    keys: &HashMap<Did, PublicKey>,
    filter: &Filter,
) -> Vec<Verdict> {
    let mut checker = Checker::new(
        Verifier::new(VerifyLevel::Full),
        filter.clone(),
        Arc::new(keys.clone()),
    );
    events
        .iter()
        .map(|e| verdict(checker.check(e.clone())))
        .collect()
}

fn pool(
    events: &[RepoEvent],
    keys: &HashMap<Did, PublicKey>,
    filter: &Filter,
    workers: usize,
    batch: usize,
) -> Vec<Verdict> {
    let mut options = PoolOptions::new(VerifyLevel::Full, workers);
    // Small bounds, so the sender waits on the receiver often (and, with batches larger
    // than the events in flight, sends its batches before it waits).
    options.queue = 2;
    options.in_flight = 8;
    options.batch = batch;
    let (mut tx, rx) = verify_pool::<()>(options, filter.clone(), Arc::new(keys.clone())).unwrap();
    let events = events.to_vec();
    let sender = std::thread::spawn(move || {
        for e in events {
            tx.send(e).unwrap();
        }
        tx.finish();
    });
    let out = rx
        .map(|o| match o {
            Output::Checked(c) => verdict(c),
            other => panic!("{other:?}"),
        })
        .collect();
    sender.join().unwrap();
    out
}

fn seqs(v: &[Verdict]) -> Vec<i64> {
    v.iter()
        .map(|v| match v {
            Verdict::Event(e) => e.seq().unwrap(),
            Verdict::Rejected(s, _) => *s,
            Verdict::Filtered(s) => s.unwrap(),
        })
        .collect()
}

#[test]
fn several_workers_give_one_threads_verdicts_in_frame_order() {
    let Frames { frames, keys } = generate(7, 40, 240, 1);
    let events = decode(&frames);
    let single = one_thread(&events, &keys, &Filter::default());
    // Everything verifies, records decoded, no repository desynchronised.
    for v in &single {
        let Verdict::Event(RepoEvent::Commit(c)) = v else {
            panic!("{v:?}")
        };
        assert!(!c.desynchronized, "seq {}", c.seq);
        assert!(
            c.ops.iter().all(|o| o.record.is_some() || o.cid.is_none()),
            "seq {}",
            c.seq
        );
    }
    let want: Vec<i64> = (1..=240).collect();
    assert_eq!(seqs(&single), want);
    for (workers, batch) in [(1, 16), (2, 1), (2, 5), (3, 16), (4, 3)] {
        let got = pool(&events, &keys, &Filter::default(), workers, batch);
        assert_eq!(seqs(&got), want, "{workers} workers, batch {batch}");
        assert!(
            got == single,
            "{workers} workers, batch {batch}: another verdict"
        );
    }
    // With a collection filter: the same filtered verdicts.
    let likes = Filter::default().collection("app.bsky.feed.like");
    let single = one_thread(&events, &keys, &likes);
    assert!(single.iter().any(|v| matches!(v, Verdict::Filtered(_))));
    assert!(pool(&events, &keys, &likes, 3, 4) == single);
}

/// One account commits many times in a row among the others, and its chain is then
/// broken twice: a commit left out (the next one's `prevData` is not the last tree seen)
/// and two commits swapped (the rev goes back). Each worker count sees the same.
#[test]
fn a_repositorys_chain_holds_with_back_to_back_commits_on_several_workers() {
    let Frames { frames, keys } = generate(5, 30, 160, 2);
    let mut events = decode(&frames);
    let repo_of = |e: &RepoEvent| e.did().cloned().unwrap();
    // Back to back: the seqs of the busiest account's commits, consecutive ones.
    let busy = repo_of(&events[0]);
    let runs = events
        .windows(2)
        .filter(|w| repo_of(&w[0]) == busy && repo_of(&w[1]) == busy)
        .count();
    assert!(
        runs >= 3,
        "the generator gives back-to-back commits: {runs}"
    );
    let clean = one_thread(&events, &keys, &Filter::default());
    assert!(
        clean
            .iter()
            .all(|v| matches!(v, Verdict::Event(RepoEvent::Commit(c)) if !c.desynchronized))
    );
    for workers in [2, 4] {
        assert!(pool(&events, &keys, &Filter::default(), workers, 3) == clean);
    }

    // Break the busy account's chain: leave one commit out, swap two later ones.
    let mine: Vec<usize> = (0..events.len())
        .filter(|&i| repo_of(&events[i]) == busy)
        .collect();
    assert!(mine.len() >= 8, "{}", mine.len());
    let (a, b) = (mine[5], mine[6]);
    events.swap(a, b);
    let dropped = events.remove(mine[2]);
    let broken = one_thread(&events, &keys, &Filter::default());
    // The commit after the one left out is flagged; the rev going back is rejected.
    let dropped_seq = dropped.seq().unwrap();
    let next_mine = broken
        .iter()
        .find_map(|v| match v {
            Verdict::Event(RepoEvent::Commit(c)) if c.repo == busy && c.seq > dropped_seq => {
                Some(c)
            }
            _ => None,
        })
        .unwrap();
    assert!(next_mine.desynchronized);
    assert!(
        broken
            .iter()
            .any(|v| matches!(v, Verdict::Rejected(_, e) if e.contains("is not after"))),
        "{broken:?}"
    );
    // Other accounts are untouched.
    assert!(broken.iter().all(|v| match v {
        Verdict::Event(RepoEvent::Commit(c)) => c.repo == busy || !c.desynchronized,
        _ => true,
    }));
    for workers in [2, 3, 4] {
        assert!(
            pool(&events, &keys, &Filter::default(), workers, 2) == broken,
            "{workers} workers"
        );
    }
}

#[test]
fn passed_items_keep_their_place_and_unknown_keys_are_rejected_in_place() {
    let Frames { frames, mut keys } = generate(3, 10, 30, 3);
    let events = decode(&frames);
    // One account's key is unknown: its commits are rejected (NoKey), in their place.
    let gone = events[0].did().cloned().unwrap();
    keys.remove(&gone);
    let (mut tx, rx) = verify_pool::<String>(
        PoolOptions::new(VerifyLevel::Full, 3),
        Filter::default(),
        Arc::new(keys),
    )
    .unwrap();
    let sender = std::thread::spawn(move || {
        for (i, e) in events.into_iter().enumerate() {
            tx.pass(format!("before {}", i + 1)).unwrap();
            tx.send(e).unwrap();
        }
        tx.finish();
    });
    let mut n = 0;
    let mut expect_pass = true;
    for out in rx {
        match out {
            Output::Passed(s) => {
                assert!(expect_pass);
                n += 1;
                assert_eq!(s, format!("before {n}"));
            }
            Output::Checked(Checked::Event(e)) => {
                assert!(!expect_pass);
                assert_eq!(e.seq(), Some(n));
                assert_ne!(e.did(), Some(&gone));
            }
            Output::Checked(Checked::Rejected { seq, did, error }) => {
                assert!(!expect_pass);
                assert_eq!(seq, n);
                assert_eq!(did, gone);
                assert!(matches!(error, VerifyError::NoKey { .. }), "{error}");
            }
            other => panic!("{other:?}"),
        }
        expect_pass = !expect_pass;
    }
    assert_eq!(n, 30);
    sender.join().unwrap();
}

/// A key source that counts look-ups and refreshes.
struct Counting {
    keys: HashMap<Did, PublicKey>,
    lookups: AtomicUsize,
}

impl KeySource for Counting {
    fn key(&self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError> {
        assert!(!refresh, "no signature failed");
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.keys.key(did, refresh)
    }
}

#[test]
fn keys_are_looked_up_once_per_account_and_the_sender_waits_for_a_slow_receiver() {
    let Frames { frames, keys } = generate(4, 10, 60, 4);
    let events = decode(&frames);
    let source = Arc::new(Counting {
        keys,
        lookups: AtomicUsize::new(0),
    });
    let mut options = PoolOptions::new(VerifyLevel::Full, 2);
    options.queue = 1;
    options.in_flight = 4;
    let (mut tx, mut rx) = verify_pool::<()>(options, Filter::default(), source.clone()).unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let sender = std::thread::spawn(move || {
        for e in events {
            tx.send(e).unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
        }
        tx.finish();
    });
    // Nothing read yet: the sender stops at the in-flight bound.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        sent.load(Ordering::SeqCst) <= 4,
        "{}",
        sent.load(Ordering::SeqCst)
    );
    let mut seq = 0;
    for out in rx.by_ref() {
        let Output::Checked(Checked::Event(e)) = out else {
            panic!("{out:?}")
        };
        seq += 1;
        assert_eq!(e.seq(), Some(seq));
    }
    assert_eq!(seq, 60);
    sender.join().unwrap();
    assert_eq!(source.lookups.load(Ordering::SeqCst), 4);
}

/// A key source whose cached answer is stale: the first look-up of each account gives
/// another key, a refresh the right one (as after a key rotation).
struct Rotated {
    keys: HashMap<Did, PublicKey>,
    stale: PublicKey,
    refreshes: AtomicUsize,
}

impl KeySource for Rotated {
    fn key(&self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError> {
        if refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.keys.key(did, refresh)
        } else {
            Ok(self.stale)
        }
    }
}

/// A stale key is refreshed once per account, the commit then verifies, and the
/// repository's chain is not flagged as broken by it.
#[test]
fn a_stale_key_is_refreshed_without_desynchronising_the_repository() {
    let Frames { frames, keys } = generate(3, 10, 40, 6);
    let events = decode(&frames);
    let stale = atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256)
        .unwrap()
        .public_key();
    let source = Arc::new(Rotated {
        keys,
        stale,
        refreshes: AtomicUsize::new(0),
    });
    let mut checker = Checker::new(
        Verifier::new(VerifyLevel::Full),
        Filter::default(),
        source.clone(),
    );
    for e in events {
        match checker.check(e) {
            Checked::Event(RepoEvent::Commit(c)) => assert!(!c.desynchronized, "seq {}", c.seq),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 3);
    for did in source.keys.keys() {
        let st = checker.verifier().state(did).unwrap();
        assert!(!st.desynchronized, "{did}");
    }
}
