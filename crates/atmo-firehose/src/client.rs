//! The tokio edge: a resumable, verified subscription over a websocket.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_data::Cid;
use atmo_http::{ConnectPolicy, HttpClient};
use atmo_identity::{Resolver, ResolverConfig};
use atmo_syntax::{Did, Tid};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::cursor::CursorStore;
use crate::error::{Error, VerifyError};
use crate::event::RepoEvent;
use crate::filter::Filter;
use crate::frame::FrameLimits;
use crate::verify::{Verifier, VerifyLevel};

/// What a [`Subscription`] hands out.
#[derive(Debug)]
#[non_exhaustive]
// Events are the common case; boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// An event that passed the configured verification (commits: with their records).
    Event(RepoEvent),
    /// A `#commit` or `#sync` that failed verification: not delivered.
    Rejected {
        /// Its sequence number.
        seq: i64,
        /// Its repository.
        did: Did,
        /// Why.
        error: VerifyError,
    },
    /// Sequence numbers were skipped by the server (`after` then `next`). Not always a
    /// loss: a PDS deletes a deleted account's events from its sequencer, so the stream
    /// it serves then skips their numbers.
    Gap {
        /// The last sequence number delivered.
        after: i64,
        /// The next one received.
        next: i64,
    },
    /// A frame that could not be decoded (skipped).
    Malformed {
        /// Why.
        error: Error,
    },
    /// The connection was lost; the subscription reconnects after `delay`, resuming
    /// after the last sequence number delivered.
    Reconnecting {
        /// Consecutive failed attempts so far.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// What happened.
        reason: String,
    },
}

/// A repository resynchronised by [`Subscription::resync`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Resynced {
    /// The repository.
    pub did: Did,
    /// Its revision now.
    pub rev: Tid,
    /// Its commit's CID.
    pub commit: Cid,
    /// How many records it holds.
    pub records: usize,
    /// The whole repository, verified (a CAR file).
    pub car: Vec<u8>,
}

/// How to subscribe.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// A relay or PDS base URL: `http(s)://host` or `ws(s)://host`.
    pub host: String,
    /// Resume after this sequence number (default: the cursor store's, else live).
    pub cursor: Option<i64>,
    /// How much to verify. Default [`VerifyLevel::Full`].
    pub verify: VerifyLevel,
    /// Which DIDs and collections to keep.
    pub filter: Filter,
    /// Frame limits.
    pub limits: FrameLimits,
    /// Items buffered between the connection and the consumer (then reading waits).
    /// Default 256.
    pub buffer: usize,
    /// Silence after which a ping is sent; twice this with no frame reconnects.
    /// Default 30 s.
    pub stall_timeout: Duration,
    /// First reconnect delay (doubled per attempt, with jitter). Default 250 ms.
    pub backoff_min: Duration,
    /// Longest reconnect delay. Default 30 s.
    pub backoff_max: Duration,
    /// Allow loopback and private addresses, and plain `http`/`ws`.
    pub allow_private_network: bool,
    /// The did:plc directory for signing keys. Default the public one.
    pub plc_url: String,
    /// Where the cursor is kept; saved every [`Config::save_every`] events and at the end.
    pub cursor_store: Option<Arc<dyn CursorStore>>,
    /// Events between two cursor saves. Default 100.
    pub save_every: u64,
    /// Threads that decode records and verify commits. Default 1: the reading task does
    /// it. With more, repositories are spread over that many threads by DID (each
    /// repository's events checked in order on one), and items are still handed out in
    /// the order the frames came ([`verify_pool`](crate::verify_pool)).
    pub workers: usize,
}

impl Config {
    /// The defaults for `host`.
    ///
    /// ```
    /// let c = atmo_firehose::Config::new("wss://bsky.network");
    /// assert_eq!(c.verify, atmo_firehose::VerifyLevel::Full);
    /// ```
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            cursor: None,
            verify: VerifyLevel::Full,
            filter: Filter::default(),
            limits: FrameLimits::DEFAULT,
            buffer: 256,
            stall_timeout: Duration::from_secs(30),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            allow_private_network: false,
            plc_url: atmo_identity::DEFAULT_PLC_URL.to_owned(),
            cursor_store: None,
            save_every: 100,
            workers: 1,
        }
    }
}

/// The subscribeRepos URL for a base URL and cursor.
///
/// ```
/// assert_eq!(
///     atmo_firehose::subscribe_url("http://localhost:2583/", Some(0)).unwrap(),
///     "ws://localhost:2583/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
/// );
/// ```
///
/// # Errors
/// [`Error::Url`] when the scheme is not http, https, ws or wss.
pub fn subscribe_url(host: &str, cursor: Option<i64>) -> Result<String, Error> {
    let bad = |reason| Error::Url {
        url: host.chars().take(256).collect(),
        reason,
    };
    let (scheme, rest) = host.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let ws = match scheme {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return Err(bad("the scheme is not http, https, ws or wss")),
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err(bad("no host"));
    }
    let mut url = format!("{ws}://{rest}/xrpc/com.atproto.sync.subscribeRepos");
    if let Some(c) = cursor {
        url.push_str(&format!("?cursor={c}"));
    }
    Ok(url)
}

/// A running subscription: a task reads, verifies and buffers; [`Subscription::next`]
/// hands items out in order.
///
/// ```no_run
/// # async fn demo() -> Result<(), atmo_firehose::Error> {
/// use atmo_firehose::{Config, Item, RepoEvent, Subscription};
/// let mut sub = Subscription::start(Config::new("wss://bsky.network"))?;
/// while let Some(item) = sub.next().await {
///     if let Item::Event(RepoEvent::Commit(c)) = item {
///         println!("{} {} ops", c.repo, c.ops.len());
///     }
/// }
/// sub.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Item>,
    stop: watch::Sender<bool>,
    control: mpsc::UnboundedSender<(Did, Tid, Cid)>,
    http: HttpClient,
    resolver: Resolver,
    task: tokio::task::JoinHandle<Result<(), Error>>,
    last: Option<i64>,
    store: Option<Arc<dyn CursorStore>>,
    unsaved: u64,
    save_every: u64,
}

impl Subscription {
    /// Starts the subscription (in a tokio task).
    ///
    /// # Errors
    /// [`Error::Url`] for a bad host, [`Error::CursorStore`], or a client set-up error.
    pub fn start(config: Config) -> Result<Self, Error> {
        let mut cursor = config.cursor;
        if cursor.is_none() {
            if let Some(store) = &config.cursor_store {
                cursor = store.load()?;
            }
        }
        subscribe_url(&config.host, cursor)?;
        let (http, resolver) =
            http_and_resolver(&config.host, config.allow_private_network, &config.plc_url)?;
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let store = config.cursor_store.clone();
        let save_every = config.save_every.max(1);
        let (control, control_rx) = mpsc::unbounded_channel();
        let pool = if config.workers > 1 {
            Some(start_pool(&config, &resolver, tx.clone())?)
        } else {
            None
        };
        let worker = Worker {
            pool,
            verifier: Verifier::new(config.verify),
            config,
            http: http.clone(),
            resolver: resolver.clone(),
            control: control_rx,
            keys: HashMap::new(),
            tx,
            stop: stop_rx,
            last: cursor,
        };
        let task = tokio::spawn(worker.run());
        Ok(Self {
            rx,
            stop,
            control,
            http,
            resolver,
            task,
            last: cursor,
            store,
            unsaved: 0,
            save_every,
        })
    }

    /// The next item; `None` once the subscription ended (see [`Subscription::shutdown`]
    /// for why).
    pub async fn next(&mut self) -> Option<Item> {
        let item = self.rx.recv().await?;
        let seq = match &item {
            Item::Event(e) => e.seq(),
            Item::Rejected { seq, .. } => Some(*seq),
            _ => None,
        };
        if let Some(seq) = seq {
            self.last = Some(seq);
            self.unsaved += 1;
            if self.unsaved >= self.save_every {
                self.save();
            }
        }
        Some(item)
    }

    /// Resynchronises one repository (one flagged `desynchronized`, or any other):
    /// downloads it from the PDS its DID document names (`com.atproto.sync.getRepo`, at
    /// most `max_bytes`), verifies it whole (the commit signature with the document's
    /// key, the tree, every block), and makes its commit the point the stream's next
    /// commits of that repository are checked against, so they are no longer flagged.
    /// Returns the verified repository's CAR and facts, for the consumer to re-index.
    ///
    /// # Errors
    /// [`Error::Identity`] when the DID does not resolve; [`Error::Connect`] for the
    /// download; [`Error::Verify`] when the repository does not verify.
    pub async fn resync(&self, did: &Did, max_bytes: u64) -> Result<Resynced, Error> {
        let identity = |e: atmo_identity::Error| Error::Identity(Box::new(e));
        let doc = self.resolver.resolve_did(did).await.map_err(identity)?;
        let pds = doc
            .require_pds_endpoint()
            .map_err(identity)?
            .trim_end_matches('/');
        let key = doc.signing_key().map_err(identity)?;
        let url = format!("{pds}/xrpc/com.atproto.sync.getRepo?did={did}");
        let res = self
            .http
            .get(&url, "application/vnd.ipld.car", max_bytes)
            .await
            .map_err(|source| Error::Connect {
                url: url.clone(),
                source: Box::new(source),
            })?;
        if !res.status().is_success() {
            return Err(Error::WebSocket {
                url,
                message: format!("getRepo answered {}", res.status()),
            });
        }
        let car = res.into_body().to_vec();
        let bad = |e: atmo_repo::Error| Error::Verify(Box::new(VerifyError::Blocks(Box::new(e))));
        let repo = atmo_repo::Repo::from_car(&car).map_err(bad)?;
        let report = repo
            .verify(&atmo_repo::VerifyOptions::new().key(key).did(did.clone()))
            .map_err(bad)?;
        let commit = repo.commit().clone();
        let rev = commit.rev.ok_or_else(|| {
            Error::Frame(crate::error::FrameError::Field {
                kind: "getRepo".to_owned(),
                field: "rev",
                reason: "the repository's commit has no rev (version 2)",
            })
        })?;
        let _ = self.control.send((did.clone(), rev, commit.data));
        Ok(Resynced {
            did: did.clone(),
            rev,
            commit: repo.commit_cid(),
            records: report.records,
            car,
        })
    }

    fn save(&mut self) {
        if let (Some(store), Some(seq)) = (&self.store, self.last) {
            if let Err(e) = store.save(seq) {
                tracing::warn!("saving the cursor: {e}");
            }
        }
        self.unsaved = 0;
    }

    /// The last sequence number handed out (or the starting cursor).
    pub fn last_seq(&self) -> Option<i64> {
        self.last
    }

    /// Stops reading, saves the cursor, and returns how the task ended.
    ///
    /// # Errors
    /// The error that ended the subscription, if any (e.g. a `FutureCursor` error frame).
    pub async fn shutdown(mut self) -> Result<Option<i64>, Error> {
        let _ = self.stop.send(true);
        self.rx.close();
        self.save();
        match self.task.await {
            Ok(r) => r.map(|()| self.last),
            Err(e) => Err(Error::WebSocket {
                url: String::new(),
                message: format!("the reader task failed: {e}"),
            }),
        }
    }
}

/// What the reading task hands the verification threads (with [`Config::workers`] > 1).
enum Feed {
    Event(RepoEvent),
    Pass(Item),
    Resync(Did, Tid, Cid),
}

/// Signing keys for the verification threads: resolved on the runtime, waited for on
/// the thread.
struct ResolverKeys {
    resolver: Resolver,
    runtime: tokio::runtime::Handle,
}

impl crate::pool::KeySource for ResolverKeys {
    fn key(&self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError> {
        if refresh {
            self.resolver.invalidate_did(did);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let resolver = self.resolver.clone();
        let did = did.clone();
        self.runtime.spawn(async move {
            let key = match resolver.resolve_did(&did).await {
                Ok(doc) => doc.signing_key().map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(key);
        });
        match rx.blocking_recv() {
            Ok(Ok(key)) => Ok(key),
            Ok(Err(message)) => Err(VerifyError::NoKey { message }),
            Err(_) => Err(VerifyError::NoKey {
                message: "the runtime stopped".into(),
            }),
        }
    }

    fn invalidate(&self, did: &Did) {
        self.resolver.invalidate_did(did);
    }
}

/// Starts the verification threads and the two threads that feed them and deliver
/// their output (in order) to `tx`; returns the reading task's end of the feed.
fn start_pool(
    config: &Config,
    resolver: &Resolver,
    tx: mpsc::Sender<Item>,
) -> Result<mpsc::Sender<Feed>, Error> {
    use crate::pool::{Checked, Output, PoolOptions, verify_pool};

    let mut options = PoolOptions::new(config.verify, config.workers);
    options.in_flight = config.buffer.max(2 * config.workers).max(16);
    let keys = Arc::new(ResolverKeys {
        resolver: resolver.clone(),
        // Inside a runtime: `Subscription::start` spawns its task there too.
        runtime: tokio::runtime::Handle::try_current().map_err(|_| Error::Thread {
            kind: std::io::ErrorKind::Unsupported,
        })?,
    });
    let (mut pool, results) = verify_pool::<Item>(options, config.filter.clone(), keys)?;
    let (feed, mut feed_rx) = mpsc::channel::<Feed>(config.workers.max(16));
    let thread = |name: &str| std::thread::Builder::new().name(name.to_owned());
    thread("atmo-firehose-feed")
        .spawn(move || {
            loop {
                // Batches go to the workers as they fill; what is kept goes as soon as no
                // frame is waiting, so a quiet stream is not held back.
                let f = match feed_rx.try_recv() {
                    Ok(f) => f,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if pool.flush().is_err() {
                            break;
                        }
                        match feed_rx.blocking_recv() {
                            Some(f) => f,
                            None => break,
                        }
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                };
                let sent = match f {
                    Feed::Event(ev) => pool.send(ev),
                    Feed::Pass(item) => pool.pass(item),
                    Feed::Resync(did, rev, data) => pool.resync(did, rev, data),
                };
                if sent.is_err() {
                    break;
                }
            }
            pool.finish();
        })
        .map_err(|e| Error::Thread { kind: e.kind() })?;
    thread("atmo-firehose-deliver")
        .spawn(move || {
            for out in results {
                let item = match out {
                    Output::Passed(item) => item,
                    Output::Checked(Checked::Event(ev)) => Item::Event(ev),
                    Output::Checked(Checked::Rejected { seq, did, error }) => {
                        Item::Rejected { seq, did, error }
                    }
                    Output::Checked(_) => continue,
                };
                if tx.blocking_send(item).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| Error::Thread { kind: e.kind() })?;
    Ok(feed)
}

struct Worker {
    /// With [`Config::workers`] > 1: events and items go through the verification
    /// threads, which deliver them in order.
    pool: Option<mpsc::Sender<Feed>>,
    config: Config,
    verifier: Verifier,
    http: HttpClient,
    resolver: Resolver,
    /// Repositories resynchronised by the consumer: their new rev and tree root.
    control: mpsc::UnboundedReceiver<(Did, Tid, Cid)>,
    keys: HashMap<Did, PublicKey>,
    tx: mpsc::Sender<Item>,
    stop: watch::Receiver<bool>,
    /// The last sequence number put into the channel.
    last: Option<i64>,
}

enum End {
    /// Stop asked, or the consumer went away.
    Stop,
    /// Try again (the connection worked: reset the backoff if `progress`).
    Retry { reason: String, progress: bool },
}

/// One HTTP client under the connect policy, and a key resolver sharing it.
pub(crate) fn http_and_resolver(
    host: &str,
    allow_private_network: bool,
    plc_url: &str,
) -> Result<(HttpClient, Resolver), Error> {
    let http = HttpClient::builder()
        .policy(ConnectPolicy::default().allow_private_network(allow_private_network))
        .build()
        .map_err(|source| Error::Connect {
            url: host.to_owned(),
            source: Box::new(source),
        })?;
    let mut rc = ResolverConfig::default();
    rc.plc_url = plc_url.to_owned();
    rc.allow_private_network = allow_private_network;
    let resolver = Resolver::with_http(rc, http.clone());
    Ok((http, resolver))
}

/// The wait before reconnect attempt `attempt` of the label and Jetstream clients:
/// 250 ms doubling, at most 32 s.
pub(crate) fn reconnect_delay(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(7)))
}

pub(crate) type Ws = tokio_tungstenite::WebSocketStream<atmo_http::Stream>;

/// Opens a websocket to `url` over a policy-checked stream of `http`, messages capped at
/// `max_bytes`, the handshake bounded by `timeout`.
pub(crate) async fn connect_ws(
    http: &HttpClient,
    url: &str,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Ws, Error> {
    let uri: http::Uri = url.parse().map_err(|_| Error::Url {
        url: url.to_owned(),
        reason: "not a valid URI",
    })?;
    let stream = http
        .connect_stream(&uri)
        .await
        .map_err(|source| Error::Connect {
            url: url.to_owned(),
            source: Box::new(source),
        })?;
    let req = url.into_client_request().map_err(|e| Error::WebSocket {
        url: url.to_owned(),
        message: e.to_string(),
    })?;
    let mut wsc = WebSocketConfig::default();
    wsc.max_message_size = Some(max_bytes);
    wsc.max_frame_size = Some(max_bytes);
    let hs = tokio_tungstenite::client_async_with_config(req, stream, Some(wsc));
    match tokio::time::timeout(timeout, hs).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(Error::WebSocket {
            url: url.to_owned(),
            message: e.to_string(),
        }),
        Err(_) => Err(Error::Stalled { after: timeout }),
    }
}

impl Worker {
    async fn run(mut self) -> Result<(), Error> {
        let mut attempt: u32 = 0;
        loop {
            if *self.stop.borrow() {
                return Ok(());
            }
            match self.once().await? {
                End::Stop => return Ok(()),
                End::Retry { reason, progress } => {
                    attempt = if progress {
                        1
                    } else {
                        attempt.saturating_add(1)
                    };
                    let delay = self.backoff(attempt);
                    let item = Item::Reconnecting {
                        attempt,
                        delay,
                        reason,
                    };
                    if !self.send(item).await {
                        return Ok(());
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = self.stop.changed() => return Ok(()),
                    }
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .backoff_min
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.config.backoff_max);
        // Jitter: between half and all of the delay.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        let frac = (h.finish() % 1000) as f64 / 2000.0 + 0.5;
        cap.mul_f64(frac)
    }

    /// Sends an item unless the consumer is gone or stop was asked (then false). With
    /// verification threads it takes its place behind the events sent before.
    async fn send(&mut self, item: Item) -> bool {
        if self.pool.is_some() {
            return self.feed(Feed::Pass(item)).await;
        }
        tokio::select! {
            r = self.tx.send(item) => r.is_ok(),
            _ = self.stop.changed() => false,
        }
    }

    /// Hands the verification threads something (false when they or the consumer are
    /// gone, or stop was asked).
    async fn feed(&mut self, f: Feed) -> bool {
        let Some(pool) = &self.pool else {
            return false;
        };
        tokio::select! {
            r = pool.send(f) => r.is_ok(),
            _ = self.stop.changed() => false,
        }
    }

    async fn connect(&self, url: &str) -> Result<Ws, Error> {
        connect_ws(
            &self.http,
            url,
            self.config.limits.max_frame_bytes,
            self.config.stall_timeout,
        )
        .await
    }

    /// One connection, until it ends. `Err` only for what retrying cannot fix.
    async fn once(&mut self) -> Result<End, Error> {
        let url = subscribe_url(&self.config.host, self.last)?;
        let mut ws = match self.connect(&url).await {
            Ok(ws) => ws,
            Err(e @ Error::Url { .. }) => return Err(e),
            Err(e) => {
                return Ok(End::Retry {
                    reason: e.to_string(),
                    progress: false,
                });
            }
        };
        let mut progress = false;
        let mut pinged = false;
        loop {
            let msg = tokio::select! {
                _ = self.stop.changed() => {
                    let _ = ws.close(None).await;
                    return Ok(End::Stop);
                }
                Some((did, rev, data)) = self.control.recv() => {
                    if self.pool.is_some() {
                        if !self.feed(Feed::Resync(did, rev, data)).await {
                            return Ok(End::Stop);
                        }
                    } else {
                        self.verifier.resync(did, rev, data);
                    }
                    continue;
                }
                r = tokio::time::timeout(self.config.stall_timeout, ws.next()) => r,
            };
            let msg = match msg {
                Err(_) if !pinged => {
                    pinged = true;
                    let _ = ws.send(Message::Ping(Vec::new().into())).await;
                    continue;
                }
                Err(_) => {
                    let e = Error::Stalled {
                        after: self.config.stall_timeout.saturating_mul(2),
                    };
                    return Ok(End::Retry {
                        reason: e.to_string(),
                        progress,
                    });
                }
                Ok(None) => {
                    return Ok(End::Retry {
                        reason: Error::ClosedByServer.to_string(),
                        progress,
                    });
                }
                Ok(Some(Err(e))) => {
                    return Ok(End::Retry {
                        reason: format!("websocket: {e}"),
                        progress,
                    });
                }
                Ok(Some(Ok(m))) => m,
            };
            pinged = false;
            let bytes = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => {
                    return Ok(End::Retry {
                        reason: Error::ClosedByServer.to_string(),
                        progress,
                    });
                }
                _ => continue,
            };
            progress = true;
            let event = match RepoEvent::decode(&bytes, &self.config.limits) {
                Ok(ev) => ev,
                Err(Error::ErrorFrame { error, message }) => {
                    if error == "FutureCursor" {
                        return Err(Error::ErrorFrame { error, message });
                    }
                    return Ok(End::Retry {
                        reason: format!("error frame {error}: {}", message.unwrap_or_default()),
                        progress,
                    });
                }
                Err(error) => {
                    if !self.send(Item::Malformed { error }).await {
                        return Ok(End::Stop);
                    }
                    continue;
                }
            };
            if !self.handle(event).await {
                let _ = ws.close(None).await;
                return Ok(End::Stop);
            }
        }
    }

    /// Orders, filters, verifies and delivers one event; false when delivery stopped.
    async fn handle(&mut self, mut event: RepoEvent) -> bool {
        if let Some(seq) = event.seq() {
            if let Some(last) = self.last {
                if seq <= last {
                    return true; // Already delivered (a replay after reconnecting).
                }
                if seq > last.saturating_add(1)
                    && !self
                        .send(Item::Gap {
                            after: last,
                            next: seq,
                        })
                        .await
                {
                    return false;
                }
            }
            self.last = Some(seq);
        }
        if let Some(did) = event.did() {
            if !self.config.filter.wants_did(did) {
                return true;
            }
        }
        if self.pool.is_some() {
            return self.feed(Feed::Event(event)).await;
        }
        let item = match &mut event {
            RepoEvent::Commit(c) => {
                let did = c.repo.clone();
                let seq = c.seq;
                match self.verify_commit(c).await {
                    Ok(()) if c.ops.is_empty() && self.config.filter.filters_collections() => {
                        return true;
                    }
                    Ok(()) => None,
                    Err(error) => Some(Item::Rejected { seq, did, error }),
                }
            }
            RepoEvent::Sync(s) => {
                let did = s.did.clone();
                let seq = s.seq;
                let key = if self.verifier.needs_key() {
                    match self.key(&did, false).await {
                        Ok(k) => Some(k),
                        Err(error) => return self.send(Item::Rejected { seq, did, error }).await,
                    }
                } else {
                    None
                };
                match self.verifier.sync(s, key.as_ref()) {
                    Ok(()) => None,
                    Err(error) => Some(Item::Rejected { seq, did, error }),
                }
            }
            RepoEvent::Identity(i) => {
                self.keys.remove(&i.did);
                self.resolver.invalidate_did(&i.did);
                None
            }
            _ => None,
        };
        self.send(item.unwrap_or(Item::Event(event))).await
    }

    async fn verify_commit(
        &mut self,
        c: &mut crate::event::CommitEvent,
    ) -> Result<(), VerifyError> {
        if !self.verifier.needs_key() {
            return self.verifier.commit(c, None, &self.config.filter);
        }
        let key = self.key(&c.repo, false).await?;
        let ops = c.ops.clone();
        let r = match self.verifier.try_commit(c, Some(&key), &self.config.filter) {
            Err(VerifyError::Signature(_)) => {
                // The key may have rotated: refresh it once before failing (the chain is
                // not broken by a stale key).
                c.ops = ops;
                match self.key(&c.repo, true).await {
                    Ok(key) => self.verifier.try_commit(c, Some(&key), &self.config.filter),
                    Err(e) => Err(e),
                }
            }
            r => r,
        };
        if r.is_err() {
            self.verifier.mark_desync(&c.repo);
        }
        r
    }

    async fn key(&mut self, did: &Did, refresh: bool) -> Result<PublicKey, VerifyError> {
        if !refresh {
            if let Some(k) = self.keys.get(did) {
                return Ok(*k);
            }
        } else {
            self.resolver.invalidate_did(did);
        }
        let doc = self
            .resolver
            .resolve_did(did)
            .await
            .map_err(|e| VerifyError::NoKey {
                message: e.to_string(),
            })?;
        let key = doc.signing_key().map_err(|e| VerifyError::NoKey {
            message: e.to_string(),
        })?;
        if self.keys.len() >= 100_000 {
            self.keys.clear();
        }
        self.keys.insert(did.clone(), key);
        Ok(key)
    }
}
