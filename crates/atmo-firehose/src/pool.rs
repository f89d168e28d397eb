//! Full verification on several threads (sans-IO: std threads and bounded channels, no
//! runtime).
//!
//! A [`Checker`] is the single-threaded unit: a [`Verifier`] with its repositories' state,
//! the DID and collection [`Filter`], and a cache of signing keys from a [`KeySource`]. It
//! turns an event into a [`Checked`] verdict.
//!
//! [`verify_pool`] runs one [`Checker`] per worker thread. The [`PoolSender`] numbers each
//! event and sends it to the worker its DID hashes to, so a repository's events are all
//! checked on one worker, in the order they were sent (its rev and `prevData` chain are
//! kept as with one thread). The [`PoolReceiver`] hands the verdicts out in the order the
//! events were sent, whatever order the workers finish in. Everything is bounded: each
//! worker's queue, and the events between [`PoolSender::send`] and their delivery
//! ([`PoolOptions::in_flight`]); a consumer that stops reading stops the sender.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use atmo_data::{cbor, json};
//! use atmo_firehose::{Checked, FrameLimits, Output, PoolOptions, RepoEvent, VerifyLevel, verify_pool};
//!
//! let keys = Arc::new(HashMap::new()); // did -> signing key
//! let (mut tx, rx) = verify_pool::<()>(PoolOptions::new(VerifyLevel::Full, 2), Default::default(), keys)?;
//! let mut frame = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#identity"}"##)?);
//! frame.extend(cbor::encode(&json::from_str(
//!     r#"{"seq": 1, "did": "did:plc:abcdefghijklmnopqrstuvwx", "time": "2024-01-01T00:00:00Z"}"#,
//! )?));
//! tx.send(RepoEvent::decode(&frame, &FrameLimits::DEFAULT)?)?;
//! tx.finish();
//! let out: Vec<_> = rx.collect();
//! assert!(matches!(&out[..], [Output::Checked(Checked::Event(e))] if e.seq() == Some(1)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use atmo_crypto::PublicKey;
use atmo_data::Cid;
use atmo_syntax::{Did, Tid};

use crate::error::{Error, VerifyError};
use crate::event::{CommitEvent, RepoEvent};
use crate::filter::Filter;
use crate::verify::{DEFAULT_MAX_REPOS, Verifier, VerifyLevel};

/// Where a [`Checker`] gets a repository's signing key (it caches what it gets).
///
/// The tokio edge resolves DID documents; a test or a benchmark can use a
/// `HashMap<Did, PublicKey>`.
pub trait KeySource: Send + Sync {
    /// The signing key of `did`. `refresh` is set after a signature failed with the
    /// cached key: look the key up afresh (it may have rotated).
    ///
    /// # Errors
    /// [`VerifyError::NoKey`] when there is no key to be had.
    fn key(&self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError>;

    /// Forgets whatever is cached for `did` (an `#identity` event came). Does nothing by
    /// default.
    fn invalidate(&self, did: &Did) {
        let _ = did;
    }
}

impl KeySource for HashMap<Did, PublicKey> {
    fn key(&self, did: &Did, _refresh: bool) -> Result<PublicKey, VerifyError> {
        self.get(did).copied().ok_or_else(|| VerifyError::NoKey {
            message: format!("no key known for {did}"),
        })
    }
}

/// A [`Checker`]'s verdict on one event.
#[derive(Debug)]
#[non_exhaustive]
// Events are the common case; boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Checked {
    /// The event passed the configured checks (a commit with its records decoded, only
    /// the operations the filter keeps), or needed none.
    Event(RepoEvent),
    /// A `#commit` or `#sync` that failed verification: not to be delivered.
    Rejected {
        /// Its sequence number.
        seq: i64,
        /// Its repository.
        did: Did,
        /// Why.
        error: VerifyError,
    },
    /// The filter wants none of it (another DID, or a commit none of whose operations is
    /// in a wanted collection).
    Filtered {
        /// Its sequence number, if it has one.
        seq: Option<i64>,
    },
}

/// Checks events one after the other: the single-threaded unit of [`verify_pool`], usable
/// on its own.
///
/// On a bad signature the key is looked up again (`refresh`) and the commit checked once
/// more before it is rejected; an `#identity` event drops the cached key.
pub struct Checker {
    verifier: Verifier,
    filter: Filter,
    keys: Arc<dyn KeySource>,
    cache: HashMap<Did, PublicKey>,
}

/// Keys cached by one [`Checker`] before the cache starts over.
const MAX_CACHED_KEYS: usize = 100_000;

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("verifier", &self.verifier)
            .field("filter", &self.filter)
            .field("cached_keys", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker with `verifier`'s level and state.
    pub fn new(verifier: Verifier, filter: Filter, keys: Arc<dyn KeySource>) -> Self {
        Self {
            verifier,
            filter,
            keys,
            cache: HashMap::new(),
        }
    }

    /// The verifier (its level and each repository's state).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// As [`Verifier::resync`].
    pub fn resync(&mut self, did: Did, rev: Tid, data: Cid) {
        self.verifier.resync(did, rev, data);
    }

    /// Filters and checks one event; the repository's state moves on as with
    /// [`Verifier::commit`] and [`Verifier::sync`].
    pub fn check(&mut self, mut event: RepoEvent) -> Checked {
        if let Some(did) = event.did() {
            if !self.filter.wants_did(did) {
                return Checked::Filtered { seq: event.seq() };
            }
        }
        match &mut event {
            RepoEvent::Commit(c) => match self.commit(c) {
                Ok(()) if c.ops.is_empty() && self.filter.filters_collections() => {
                    return Checked::Filtered { seq: Some(c.seq) };
                }
                Ok(()) => {}
                Err(error) => {
                    return Checked::Rejected {
                        seq: c.seq,
                        did: c.repo.clone(),
                        error,
                    };
                }
            },
            RepoEvent::Sync(s) => {
                let key = if self.verifier.needs_key() {
                    match self.key(&s.did, false) {
                        Ok(k) => Some(k),
                        Err(error) => {
                            return Checked::Rejected {
                                seq: s.seq,
                                did: s.did.clone(),
                                error,
                            };
                        }
                    }
                } else {
                    None
                };
                if let Err(error) = self.verifier.sync(s, key.as_ref()) {
                    return Checked::Rejected {
                        seq: s.seq,
                        did: s.did.clone(),
                        error,
                    };
                }
            }
            RepoEvent::Identity(i) => {
                self.cache.remove(&i.did);
                self.keys.invalidate(&i.did);
            }
            _ => {}
        }
        Checked::Event(event)
    }

    fn commit(&mut self, c: &mut CommitEvent) -> Result<(), VerifyError> {
        if !self.verifier.needs_key() {
            return self.verifier.commit(c, None, &self.filter);
        }
        let key = self.key(&c.repo, false)?;
        let ops = c.ops.clone();
        let r = match self.verifier.try_commit(c, Some(&key), &self.filter) {
            Err(VerifyError::Signature(_)) => {
                // The key may have rotated: refresh it once before failing (the chain is
                // not broken by a stale key).
                c.ops = ops;
                self.key(&c.repo, true)
                    .and_then(|key| self.verifier.try_commit(c, Some(&key), &self.filter))
            }
            r => r,
        };
        if r.is_err() {
            self.verifier.mark_desync(&c.repo);
        }
        r
    }

    fn key(&mut self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError> {
        if !refresh {
            if let Some(k) = self.cache.get(did) {
                return Ok(*k);
            }
        }
        let key = self.keys.key(did, refresh)?;
        if self.cache.len() >= MAX_CACHED_KEYS {
            self.cache.clear();
        }
        self.cache.insert(did.clone(), key);
        Ok(key)
    }
}

/// How [`verify_pool`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolOptions {
    /// How much each worker checks.
    pub level: VerifyLevel,
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Events handed to a worker at once: [`PoolSender::send`] keeps up to this many per
    /// worker before sending them together (one wake-up of the worker, one of the
    /// receiver, instead of one per event); [`PoolSender::flush`] sends what is kept.
    /// Default 16; 1 sends each event at once.
    pub batch: usize,
    /// Batches waiting in each worker's queue before [`PoolSender::send`] waits. Default 8.
    pub queue: usize,
    /// Events sent and not yet handed out by the [`PoolReceiver`] before
    /// [`PoolSender::send`] waits (this bounds the reordering buffer). Default 1,024.
    pub in_flight: usize,
    /// Repositories tracked in all (split between the workers). Default
    /// [`DEFAULT_MAX_REPOS`].
    pub max_repos: usize,
}

impl PoolOptions {
    /// `workers` threads checking at `level`, the other options at their defaults.
    pub fn new(level: VerifyLevel, workers: usize) -> Self {
        Self {
            level,
            workers: workers.max(1),
            batch: 16,
            queue: 8,
            in_flight: 1024,
            max_repos: DEFAULT_MAX_REPOS,
        }
    }
}

/// What a [`PoolReceiver`] hands out, in the order it was sent.
#[derive(Debug)]
#[non_exhaustive]
// Verdicts are the common case; boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Output<P> {
    /// The verdict on an event sent with [`PoolSender::send`].
    Checked(Checked),
    /// An item sent with [`PoolSender::pass`], untouched.
    Passed(P),
}

enum Job {
    Check(Vec<(u64, RepoEvent)>),
    Resync(Did, Tid, Cid),
}

type Results<P> = Sender<Vec<(u64, Output<P>)>>;

/// The sending half of [`verify_pool`]: numbers events and hands each to the worker of
/// its repository, in batches of [`PoolOptions::batch`].
pub struct PoolSender<P> {
    workers: Vec<SyncSender<Job>>,
    /// Each worker's batch being filled.
    kept: Vec<Vec<(u64, RepoEvent)>>,
    batch: usize,
    threads: Vec<JoinHandle<()>>,
    results: Results<P>,
    permits: SyncSender<()>,
    next: u64,
}

impl<P> std::fmt::Debug for PoolSender<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolSender")
            .field("workers", &self.workers.len())
            .field("sent", &self.next)
            .finish_non_exhaustive()
    }
}

/// The receiving half of [`verify_pool`]: an iterator over the verdicts (and passed
/// items) in the order they were sent; it ends once the [`PoolSender`] is gone and
/// everything was handed out. [`Iterator::next`] waits for the next one.
pub struct PoolReceiver<P> {
    results: Receiver<Vec<(u64, Output<P>)>>,
    permits: Receiver<()>,
    pending: BTreeMap<u64, Output<P>>,
    next: u64,
}

impl<P> std::fmt::Debug for PoolReceiver<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolReceiver")
            .field("delivered", &self.next)
            .field("reordering", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Starts `options.workers` verification threads; returns the two ends. `P` is the type
/// of the items passed through in order with [`PoolSender::pass`] (e.g. a gap notice).
///
/// Events reach the workers in batches: call [`PoolSender::flush`] when the input pauses
/// (a live stream with no frame waiting), or the last events wait for the next ones.
///
/// # Errors
/// [`Error::Thread`] when a thread cannot be started.
pub fn verify_pool<P: Send + 'static>(
    options: PoolOptions,
    filter: Filter,
    keys: Arc<dyn KeySource>,
) -> Result<(PoolSender<P>, PoolReceiver<P>), Error> {
    let n = options.workers.max(1);
    let (results_tx, results_rx) = mpsc::channel();
    let (permits_tx, permits_rx) = mpsc::sync_channel(options.in_flight.max(1));
    let mut workers = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = mpsc::sync_channel::<Job>(options.queue.max(1));
        let verifier = Verifier::new(options.level).max_repos(options.max_repos.div_ceil(n));
        let mut checker = Checker::new(verifier, filter.clone(), Arc::clone(&keys));
        let results: Results<P> = results_tx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("atmo-firehose-verify-{i}"))
            .spawn(move || work(&mut checker, &rx, &results))
            .map_err(|e| Error::Thread { kind: e.kind() })?;
        workers.push(tx);
        threads.push(thread);
    }
    let batch = options.batch.max(1);
    Ok((
        PoolSender {
            workers,
            kept: (0..n).map(|_| Vec::with_capacity(batch)).collect(),
            batch,
            threads,
            results: results_tx,
            permits: permits_tx,
            next: 0,
        },
        PoolReceiver {
            results: results_rx,
            permits: permits_rx,
            pending: BTreeMap::new(),
            next: 0,
        },
    ))
}

/// Checks one event, turning a panic into a rejection.
fn check_one(checker: &mut Checker, event: RepoEvent) -> Checked {
    let seq = event.seq().unwrap_or_default();
    let did = event.did().cloned();
    std::panic::catch_unwind(AssertUnwindSafe(|| checker.check(event))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        match did {
            Some(did) => Checked::Rejected {
                seq,
                did,
                error: VerifyError::Internal { message },
            },
            None => Checked::Filtered { seq: Some(seq) },
        }
    })
}

/// A worker's loop: check batches until the sender or the receiver is gone.
fn work<P>(checker: &mut Checker, jobs: &Receiver<Job>, results: &Results<P>) {
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Check(batch) => {
                let out: Vec<_> = batch
                    .into_iter()
                    .map(|(n, event)| (n, Output::Checked(check_one(checker, event))))
                    .collect();
                if results.send(out).is_err() {
                    return;
                }
            }
            Job::Resync(did, rev, data) => checker.resync(did, rev, data),
        }
    }
}

/// The worker of `did` among `n`: a fixed hash, so a repository always lands on the same
/// worker.
fn worker_of(did: &Did, n: usize) -> usize {
    // DefaultHasher::new() has fixed keys: the same DID gives the same worker every run.
    let mut h = std::hash::DefaultHasher::new();
    did.hash(&mut h);
    usize::try_from(h.finish() % n.max(1) as u64).unwrap_or(0)
}

impl<P> PoolSender<P> {
    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Takes a place among the events in flight and numbers it. When every place is
    /// taken, sends the kept batches first (their verdicts free places), then waits.
    fn ticket(&mut self) -> Result<u64, Error> {
        match self.permits.try_send(()) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(())) => {
                self.flush()?;
                self.permits.send(()).map_err(|_| Error::PoolClosed)?;
            }
            Err(mpsc::TrySendError::Disconnected(())) => return Err(Error::PoolClosed),
        }
        let n = self.next;
        self.next += 1;
        Ok(n)
    }

    /// Sends worker `i`'s kept batch, if any.
    fn flush_worker(&mut self, i: usize) -> Result<(), Error> {
        let (Some(kept), Some(w)) = (self.kept.get_mut(i), self.workers.get(i)) else {
            return Err(Error::PoolClosed);
        };
        if kept.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(kept, Vec::with_capacity(self.batch));
        w.send(Job::Check(batch)).map_err(|_| Error::PoolClosed)
    }

    /// Queues an event for its repository's worker (events without a DID, such as
    /// `#info`, go straight to the receiver); a full batch is sent at once. Waits while
    /// the worker's queue or the events in flight are full.
    ///
    /// # Errors
    /// [`Error::PoolClosed`] when the receiver or the worker is gone.
    pub fn send(&mut self, event: RepoEvent) -> Result<(), Error> {
        let n = self.ticket()?;
        let Some(i) = event.did().map(|did| worker_of(did, self.workers.len())) else {
            return self
                .results
                .send(vec![(n, Output::Checked(Checked::Event(event)))])
                .map_err(|_| Error::PoolClosed);
        };
        let kept = self.kept.get_mut(i).ok_or(Error::PoolClosed)?;
        kept.push((n, event));
        if kept.len() >= self.batch {
            self.flush_worker(i)?;
        }
        Ok(())
    }

    /// Sends every kept batch to its worker: call it when the input pauses.
    ///
    /// # Errors
    /// [`Error::PoolClosed`] when a worker is gone.
    pub fn flush(&mut self) -> Result<(), Error> {
        for i in 0..self.workers.len() {
            self.flush_worker(i)?;
        }
        Ok(())
    }

    /// Sends an item to be handed out in its place among the events, unchecked.
    ///
    /// # Errors
    /// [`Error::PoolClosed`] when the receiver is gone.
    pub fn pass(&mut self, item: P) -> Result<(), Error> {
        let n = self.ticket()?;
        self.results
            .send(vec![(n, Output::Passed(item))])
            .map_err(|_| Error::PoolClosed)
    }

    /// As [`Verifier::resync`], on the repository's worker, after the events sent before.
    ///
    /// # Errors
    /// [`Error::PoolClosed`] when the worker is gone.
    pub fn resync(&mut self, did: Did, rev: Tid, data: Cid) -> Result<(), Error> {
        let i = worker_of(&did, self.workers.len());
        self.flush_worker(i)?;
        let w = self.workers.get(i).ok_or(Error::PoolClosed)?;
        w.send(Job::Resync(did, rev, data))
            .map_err(|_| Error::PoolClosed)
    }

    /// Sends what is kept, closes the sending side and waits for the workers to check
    /// what they were sent; the receiver then hands out the rest and ends.
    pub fn finish(mut self) {
        let _ = self.flush();
        let Self {
            workers, threads, ..
        } = self;
        drop(workers);
        for t in threads {
            let _ = t.join();
        }
    }
}

impl<P> Iterator for PoolReceiver<P> {
    type Item = Output<P>;

    fn next(&mut self) -> Option<Output<P>> {
        loop {
            if let Some(out) = self.pending.remove(&self.next) {
                self.next += 1;
                // Frees the place this one took (taken before it was sent, so it is there).
                let _ = self.permits.try_recv();
                return Some(out);
            }
            let batch = self.results.recv().ok()?;
            self.pending.extend(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_did_always_lands_on_the_same_worker() {
        let did: Did = "did:plc:abcdefghijklmnopqrstuvwx".parse().unwrap();
        let first = worker_of(&did, 4);
        for _ in 0..10 {
            assert_eq!(worker_of(&did, 4), first);
        }
        assert_eq!(worker_of(&did, 1), 0);
        // DIDs spread over the workers.
        let mut seen = [false; 4];
        for i in 0..64 {
            let did: Did = format!("did:plc:abcdefghijklmnopqrst{i:04}")
                .parse()
                .unwrap();
            seen[worker_of(&did, 4)] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}
