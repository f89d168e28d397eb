//! A Jetstream server: a (verified) subscribeRepos stream in, Jetstream's v1 JSON
//! websocket out at `/subscribe`, with filters, `options_update`, and cursor replay from
//! the on-disk buffer.
//!
//! Tasks: the feed turns upstream events into lines and hands them to the buffer writer
//! (batched appends on the blocking pool, then the upstream cursor) and then to the live
//! broadcast; per subscriber, a source streams the replay from disk a chunk at a time and
//! joins the live stream once caught up, and the connection writes to the socket. No
//! lock is held while a file is read or written or a socket is written, so a slow
//! subscriber slows only itself (and is dropped once it falls behind the live queue).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::buffer::{Reader, SEGMENT_BYTES, Segments, Writer};
use super::event::JetstreamEvent;
use super::options::SubscribeOptions;
use crate::client::{Config, Item, Subscription};
use crate::cursor::{CursorStore, FileCursorStore};
use crate::error::Error;

/// How the server runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The upstream subscription (a relay or PDS; its verification level applies).
    pub upstream: Config,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The replay buffer's directory (with the upstream cursor, so a restart resumes);
    /// `None`: no replay beyond what is live, and no resume.
    pub buffer_dir: Option<PathBuf>,
    /// The replay buffer's size budget in bytes (default 1 GiB).
    pub buffer_bytes: u64,
    /// Live events queued per subscriber before a slow one is disconnected (it may
    /// resume with its cursor). Default 4096.
    pub subscriber_queue: usize,
    /// Buffered events one subscriber's replay reads from disk at a time (its replay
    /// holds about this many in memory, plus a small queue). Default 256.
    pub replay_chunk: usize,
}

impl ServerConfig {
    /// Serve `upstream` on `listen`.
    #[must_use]
    pub fn new(upstream: Config, listen: SocketAddr) -> Self {
        Self {
            upstream,
            listen,
            buffer_dir: None,
            buffer_bytes: 1 << 30,
            subscriber_queue: 4096,
            replay_chunk: 256,
        }
    }
}

/// One event as sent: its time and JSON.
#[derive(Debug)]
struct Line {
    time_us: i64,
    event: JetstreamEvent,
    json: String,
    /// Read back from the buffer (counted in [`ServerStats`]).
    replayed: bool,
}

/// Counters of a running server, since it started (for metrics, and the evidence that
/// replay memory stays bounded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Events appended to the on-disk buffer.
    pub buffered: u64,
    /// Events read back from the buffer for cursor replays.
    pub replayed: u64,
    /// The most replayed events one subscriber held in memory at once (read from disk,
    /// not yet written to its socket or filtered out): at most
    /// [`ServerConfig::replay_chunk`] plus a small fixed queue, however large the buffer
    /// and however slow the subscriber.
    pub replay_held_max: u64,
}

#[derive(Debug, Default)]
struct Counters {
    buffered: AtomicU64,
    replayed: AtomicU64,
    replay_held_max: AtomicU64,
}

/// Replayed events queued between a subscriber's reader and its socket.
const SUBSCRIBER_QUEUE: usize = 32;
/// Buffer lines (and bytes) written in one batch at most.
const BATCH_LINES: usize = 4096;
const BATCH_BYTES: usize = 4 << 20;
/// Upstream events queued for the buffer writer before the feed waits.
const WRITER_QUEUE: usize = 8192;
/// Bytes read from disk per replay chunk at most (besides the line count).
const CHUNK_BYTES: usize = 1 << 20;

/// What the readers of the buffer need.
#[derive(Debug)]
struct Replay {
    segments: Segments,
    /// The `time_us` of the newest event the writer has handled (written, or failed to).
    written: watch::Receiver<Option<i64>>,
    chunk: usize,
}

#[derive(Debug)]
struct Shared {
    live: broadcast::Sender<Arc<Line>>,
    /// The `time_us` of the newest event sent live. A subscriber takes its live receiver
    /// and this under the lock: what is newer comes live, the rest is on disk (or about
    /// to be).
    sent: Mutex<Option<i64>>,
    replay: Option<Replay>,
    counters: Counters,
}

/// One upstream event for the buffer writer: its lines and its sequence number (saved
/// as the upstream cursor once the lines are on disk).
type ToWrite = (Option<i64>, Vec<(i64, String)>);

/// A running Jetstream server.
#[derive(Debug)]
pub struct JetstreamServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl JetstreamServer {
    /// Binds, starts following upstream and accepting subscribers.
    ///
    /// # Errors
    /// [`Error::Listen`] when the address cannot be bound; [`Error::Io`] for the buffer
    /// directory; as [`Subscription::start`].
    pub async fn start(config: ServerConfig) -> Result<Self, Error> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Listen {
                addr: config.listen.to_string(),
                kind: e.kind(),
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Listen {
            addr: config.listen.to_string(),
            kind: e.kind(),
        })?;
        let mut upstream = config.upstream.clone();
        let mut tasks = Vec::new();
        let (mut writer_tx, mut replay, mut last) = (None, None, None);
        if let Some(dir) = &config.buffer_dir {
            let events = dir.join("events");
            let bytes = config.buffer_bytes;
            let opened =
                tokio::task::spawn_blocking(move || Writer::open(&events, bytes, SEGMENT_BYTES))
                    .await
                    .map_err(|_| Error::Io {
                        path: dir.join("events"),
                        kind: std::io::ErrorKind::Other,
                    })??;
            let (writer, newest) = opened;
            last = newest;
            // The upstream cursor is saved by the buffer writer, after the events up to
            // it are on disk; the subscription only reads it at the start.
            let store: Arc<dyn CursorStore> =
                Arc::new(FileCursorStore::new(dir.join("upstream.cursor")));
            if upstream.cursor.is_none() {
                upstream.cursor = store.load()?;
            }
            upstream.cursor_store = None;
            let (tx, rx) = mpsc::channel(WRITER_QUEUE);
            let (written_tx, written) = watch::channel(newest);
            replay = Some(Replay {
                segments: writer.segments(),
                written,
                chunk: config.replay_chunk.max(1),
            });
            writer_tx = Some((tx, rx, written_tx, writer, store));
        }
        let (live, _) = broadcast::channel(config.subscriber_queue.max(16));
        let shared = Arc::new(Shared {
            live,
            sent: Mutex::new(last),
            replay,
            counters: Counters::default(),
        });
        let sub = Subscription::start(upstream)?;
        let (stop, stop_rx) = watch::channel(false);
        let to_writer = match writer_tx.take() {
            Some((tx, rx, written_tx, writer, store)) => {
                tasks.push(tokio::spawn(write_buffer(
                    writer,
                    rx,
                    written_tx,
                    store,
                    Arc::clone(&shared),
                )));
                Some(tx)
            }
            None => None,
        };
        tasks.push(tokio::spawn(feed(
            sub,
            Arc::clone(&shared),
            to_writer,
            last,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(accept(listener, Arc::clone(&shared), stop_rx)));
        Ok(Self {
            addr,
            stop,
            shared,
            tasks,
        })
    }

    /// The address it listens on (useful with port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        let c = &self.shared.counters;
        ServerStats {
            buffered: c.buffered.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            replay_held_max: c.replay_held_max.load(Ordering::Relaxed),
        }
    }

    /// Stops following upstream and accepting; open subscriptions end; what was received
    /// is written to the buffer before this returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn feed(
    mut sub: Subscription,
    shared: Arc<Shared>,
    to_writer: Option<mpsc::Sender<ToWrite>>,
    mut last: Option<i64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let item = tokio::select! {
            i = sub.next() => i,
            _ = stop.changed() => break,
        };
        let Some(item) = item else { break };
        let (seq, event) = match item {
            Item::Event(event) => (event.seq(), event),
            Item::Rejected { seq, .. } => {
                if let Some(tx) = &to_writer {
                    let _ = tx.send((Some(seq), Vec::new())).await;
                }
                continue;
            }
            _ => continue,
        };
        let start = now_us().max(last.map_or(i64::MIN, |l| l.saturating_add(1)));
        let mut lines = Vec::new();
        let mut out = Vec::new();
        for ev in JetstreamEvent::from_repo_event(&event, start) {
            let Ok(json) = serde_json::to_string(&ev) else {
                continue;
            };
            last = Some(ev.time_us);
            if to_writer.is_some() {
                lines.push((ev.time_us, json.clone()));
            }
            out.push(Line {
                time_us: ev.time_us,
                event: ev,
                json,
                replayed: false,
            });
        }
        // To the writer first, then live: an event sent live is one the writer has (see
        // `Shared::sent`). A full writer queue (a slow disk) slows reading upstream.
        if let Some(tx) = &to_writer {
            if tx.send((seq, lines)).await.is_err() {
                tracing::warn!("jetstream buffer: the writer stopped");
            }
        }
        for line in out {
            let mut sent = shared.sent.lock().unwrap_or_else(PoisonError::into_inner);
            *sent = Some(line.time_us);
            let _ = shared.live.send(Arc::new(line));
        }
    }
    let _ = sub.shutdown().await;
}

/// Writes what the feed sends to the buffer in batches on the blocking pool, then saves
/// the upstream cursor and tells waiting replays how far the buffer goes.
async fn write_buffer(
    mut writer: Writer,
    mut rx: mpsc::Receiver<ToWrite>,
    written: watch::Sender<Option<i64>>,
    store: Arc<dyn CursorStore>,
    shared: Arc<Shared>,
) {
    let mut batch: Vec<(i64, String)> = Vec::new();
    while let Some((mut seq, lines)) = rx.recv().await {
        batch.extend(lines);
        let mut bytes: usize = batch.iter().map(|l| l.1.len()).sum();
        while batch.len() < BATCH_LINES && bytes < BATCH_BYTES {
            let Ok((s, lines)) = rx.try_recv() else { break };
            seq = s.or(seq);
            bytes += lines.iter().map(|l| l.1.len()).sum::<usize>();
            batch.extend(lines);
        }
        let newest = batch.last().map(|l| l.0);
        let n = batch.len() as u64;
        let store = Arc::clone(&store);
        let job = tokio::task::spawn_blocking(move || {
            let r = writer.append(&batch);
            // The cursor only moves once the events before it are on disk.
            let saved = match (&r, seq) {
                (Ok(()), Some(seq)) => store.save(seq),
                _ => Ok(()),
            };
            batch.clear();
            (writer, batch, r, saved)
        });
        let Ok((w, b, r, saved)) = job.await else {
            tracing::warn!("jetstream buffer: the writer failed; replay stops here");
            return;
        };
        (writer, batch) = (w, b);
        if let Err(e) = r {
            tracing::warn!("jetstream buffer: {e}");
        } else {
            shared.counters.buffered.fetch_add(n, Ordering::Relaxed);
        }
        if let Err(e) = saved {
            tracing::warn!("jetstream upstream cursor: {e}");
        }
        if newest.is_some() {
            written.send_replace(newest);
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = conn else { continue };
        tokio::spawn(serve(stream, Arc::clone(&shared), stop.clone()));
    }
}

fn reject(status: u16, message: &str) -> ErrorResponse {
    let mut res = ErrorResponse::new(Some(message.to_owned()));
    *res.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    res
}

/// A subscriber's query: options, cursor, `requireHello`.
type Query = (SubscribeOptions, Option<i64>, bool);

// The handshake callback's error type is tungstenite's.
#[allow(clippy::result_large_err)]
fn check_request(
    req: &Request,
    res: Response,
    slot: &Mutex<Option<Query>>,
) -> Result<Response, ErrorResponse> {
    if req.uri().path() != "/subscribe" {
        return Err(reject(404, "not found: the stream is at /subscribe"));
    }
    match SubscribeOptions::from_query(req.uri().query().unwrap_or("")) {
        Ok(p) => {
            if let Ok(mut s) = slot.lock() {
                *s = Some(p);
            }
            Ok(res)
        }
        Err(e) => Err(reject(400, &e.to_string())),
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let parsed: Arc<Mutex<Option<Query>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&parsed);
    #[allow(clippy::result_large_err)]
    let check = move |req: &Request, res: Response| check_request(req, res, &slot);
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
        return;
    };
    let Some((mut opts, cursor, mut waiting_hello)) = parsed.lock().ok().and_then(|mut p| p.take())
    else {
        return;
    };
    // The subscriber's events, in order: replayed from disk, then live. The source task
    // runs ahead of the socket by at most the queue.
    let (tx, mut rx) = mpsc::channel(SUBSCRIBER_QUEUE);
    let held = Arc::new(AtomicU64::new(0));
    let source = tokio::spawn(source(Arc::clone(&shared), cursor, tx, Arc::clone(&held)));
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => match SubscribeOptions::from_message(text.as_str()) {
                    Ok(o) => { opts = o; waiting_hello = false; }
                    Err(e) => {
                        let _ = ws.send(Message::text(format!(r#"{{"error":"BadMessage","message":{}}}"#,
                            serde_json::to_string(&e.to_string()).unwrap_or_default()))).await;
                    }
                },
                Some(Ok(Message::Ping(p))) => { let _ = ws.send(Message::Pong(p)).await; }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            line = rx.recv(), if !waiting_hello => match line {
                Some(line) => {
                    let wanted = opts.wants(&line.event, line.json.len());
                    let failed = wanted && ws.send(Message::text(line.json.clone())).await.is_err();
                    if line.replayed {
                        held.fetch_sub(1, Ordering::Relaxed);
                    }
                    if failed {
                        break;
                    }
                }
                // Too slow for the live stream (or the server stopped): close; the
                // subscriber resumes with its cursor.
                None => {
                    let _ = ws.close(None).await;
                    break;
                }
            },
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                break;
            }
        }
    }
    source.abort();
}

/// One subscriber's events into `tx`: from the buffer from `cursor` (a chunk at a time),
/// then live; ends when the subscriber falls too far behind the live stream.
async fn source(
    shared: Arc<Shared>,
    cursor: Option<i64>,
    tx: mpsc::Sender<Arc<Line>>,
    held: Arc<AtomicU64>,
) {
    let mut sent_up_to = i64::MIN;
    let replay = match (cursor, &shared.replay) {
        (Some(c), Some(r)) if c <= now_us() => Some((c, r)),
        _ => None,
    };
    let live = match replay {
        None => shared.live.subscribe(),
        Some((c, replay)) => {
            let mut reader = Some(Reader::new(replay.segments.clone(), c));
            let mut written = replay.written.clone();
            // First what is on disk now, without the live stream (a long replay must
            // not make the live queue overflow) ...
            loop {
                let Some((chunk, more)) =
                    next_chunk(&shared, &mut reader, replay.chunk, &held).await
                else {
                    return;
                };
                if !forward(chunk, &tx, &mut sent_up_to).await {
                    return;
                }
                if !more {
                    break;
                }
            }
            // ... then join the live stream, and take from disk what was sent live
            // before joining, waiting for the writer if it is behind.
            let (live, joined) = {
                let sent = shared.sent.lock().unwrap_or_else(PoisonError::into_inner);
                (shared.live.subscribe(), *sent)
            };
            loop {
                let on_disk = *written.borrow_and_update();
                let Some((chunk, more)) =
                    next_chunk(&shared, &mut reader, replay.chunk, &held).await
                else {
                    return;
                };
                if !forward(chunk, &tx, &mut sent_up_to).await {
                    return;
                }
                if more {
                    continue;
                }
                if joined.is_none_or(|j| on_disk.is_some_and(|w| w >= j) || sent_up_to >= j) {
                    break;
                }
                if written.changed().await.is_err() {
                    break; // the writer stopped: nothing more will be on disk
                }
            }
            live
        }
    };
    live_events(live, &tx, sent_up_to).await;
}

/// Forwards live events newer than `sent_up_to`; returns when the subscriber is gone,
/// lagged behind the live queue, or the server stopped.
async fn live_events(
    mut live: broadcast::Receiver<Arc<Line>>,
    tx: &mpsc::Sender<Arc<Line>>,
    mut sent_up_to: i64,
) {
    while let Ok(line) = live.recv().await {
        if line.time_us <= sent_up_to {
            continue;
        }
        sent_up_to = line.time_us;
        if tx.send(line).await.is_err() {
            return;
        }
    }
}

/// Queues replayed lines; false when the subscriber is gone.
async fn forward(
    chunk: Vec<Arc<Line>>,
    tx: &mpsc::Sender<Arc<Line>>,
    sent_up_to: &mut i64,
) -> bool {
    for line in chunk {
        *sent_up_to = line.time_us;
        if tx.send(line).await.is_err() {
            return false;
        }
    }
    true
}

/// The next chunk of a replay, read and parsed on the blocking pool, and whether
/// anything was read (false: the reader has caught up with the writer); `None` when the
/// buffer cannot be read (the replay ends there).
async fn next_chunk(
    shared: &Shared,
    reader: &mut Option<Reader>,
    chunk: usize,
    held: &AtomicU64,
) -> Option<(Vec<Arc<Line>>, bool)> {
    let mut r = reader.take()?;
    let job = tokio::task::spawn_blocking(move || {
        let lines = r.read_chunk(chunk, CHUNK_BYTES).map(|lines| {
            let more = !lines.is_empty();
            let parsed = lines
                .into_iter()
                .filter_map(|(time_us, json)| {
                    // A line that is not an event (a damaged file) is skipped.
                    let event = serde_json::from_str::<JetstreamEvent>(&json).ok()?;
                    Some(Arc::new(Line {
                        time_us,
                        event,
                        json,
                        replayed: true,
                    }))
                })
                .collect::<Vec<_>>();
            (parsed, more)
        });
        (r, lines)
    });
    let (r, lines) = job.await.ok()?;
    *reader = Some(r);
    match lines {
        Ok((lines, more)) => {
            let n = lines.len() as u64;
            let c = &shared.counters;
            c.replayed.fetch_add(n, Ordering::Relaxed);
            let now = held.fetch_add(n, Ordering::Relaxed) + n;
            c.replay_held_max.fetch_max(now, Ordering::Relaxed);
            Some((lines, more))
        }
        Err(e) => {
            tracing::warn!("jetstream replay: {e}");
            None
        }
    }
}
