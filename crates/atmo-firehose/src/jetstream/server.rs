//! A Jetstream server: a (verified) subscribeRepos stream in, Jetstream's v1 JSON
//! websocket out at `/subscribe`, with filters, `options_update`, and cursor replay from
//! the on-disk buffer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::buffer::{DiskBuffer, line_time};
use super::event::JetstreamEvent;
use super::options::SubscribeOptions;
use crate::client::{Config, Item, Subscription};
use crate::cursor::FileCursorStore;
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
    /// Events queued per subscriber before a slow one is disconnected (it may resume
    /// with its cursor). Default 4096.
    pub subscriber_queue: usize,
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
        }
    }
}

/// One event as sent: its time and JSON.
#[derive(Debug)]
struct Line {
    time_us: i64,
    event: JetstreamEvent,
    json: String,
}

struct Shared {
    live: broadcast::Sender<Arc<Line>>,
    buffer: Mutex<Option<DiskBuffer>>,
}

/// A running Jetstream server.
#[derive(Debug)]
pub struct JetstreamServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
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
        let buffer = match &config.buffer_dir {
            Some(dir) => {
                upstream.cursor_store =
                    Some(Arc::new(FileCursorStore::new(dir.join("upstream.cursor"))));
                upstream.save_every = 1;
                Some(DiskBuffer::open(&dir.join("events"), config.buffer_bytes)?)
            }
            None => None,
        };
        let last = buffer.as_ref().and_then(DiskBuffer::last_time_us);
        let (live, _) = broadcast::channel(config.subscriber_queue.max(16));
        let shared = Arc::new(Shared {
            live,
            buffer: Mutex::new(buffer),
        });
        let sub = Subscription::start(upstream)?;
        let (stop, stop_rx) = watch::channel(false);
        let feed = tokio::spawn(feed(sub, Arc::clone(&shared), last, stop_rx.clone()));
        let accept = tokio::spawn(accept(listener, shared, stop_rx));
        Ok(Self {
            addr,
            stop,
            tasks: vec![feed, accept],
        })
    }

    /// The address it listens on (useful with port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops following upstream and accepting; open subscriptions end.
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
    mut last: Option<i64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let item = tokio::select! {
            i = sub.next() => i,
            _ = stop.changed() => break,
        };
        let Some(item) = item else { break };
        let Item::Event(event) = item else { continue };
        let start = now_us().max(last.map_or(i64::MIN, |l| l.saturating_add(1)));
        for ev in JetstreamEvent::from_repo_event(&event, start) {
            let Ok(json) = serde_json::to_string(&ev) else {
                continue;
            };
            let time_us = ev.time_us;
            if let Ok(mut guard) = shared.buffer.lock() {
                if let Some(buffer) = guard.as_mut() {
                    if let Err(e) = buffer.append(time_us, &json) {
                        tracing::warn!("jetstream buffer: {e}");
                    }
                }
            }
            last = Some(time_us);
            let _ = shared.live.send(Arc::new(Line {
                time_us,
                event: ev,
                json,
            }));
        }
    }
    let _ = sub.shutdown().await;
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
    // Subscribe to the live stream before reading the buffer, so nothing falls between.
    let mut live = shared.live.subscribe();
    let mut sent_up_to = i64::MIN;
    let mut backlog: std::collections::VecDeque<String> = match cursor {
        Some(c) if c <= now_us() => shared
            .buffer
            .lock()
            .ok()
            .and_then(|g| g.as_ref().and_then(|b| b.read_since(c).ok()))
            .unwrap_or_default()
            .into(),
        _ => Default::default(),
    };
    loop {
        let next = if waiting_hello {
            None
        } else {
            backlog.pop_front()
        };
        if let Some(line) = next {
            let Some(t) = line_time(&line) else { continue };
            let Ok(ev) = serde_json::from_str::<JetstreamEvent>(&line) else {
                continue;
            };
            sent_up_to = t;
            if opts.wants(&ev, line.len()) && ws.send(Message::text(line)).await.is_err() {
                return;
            }
            continue;
        }
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
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            line = live.recv(), if !waiting_hello => match line {
                Ok(line) => {
                    if line.time_us <= sent_up_to {
                        continue;
                    }
                    sent_up_to = line.time_us;
                    if opts.wants(&line.event, line.json.len())
                        && ws.send(Message::text(line.json.clone())).await.is_err()
                    {
                        return;
                    }
                }
                // Too slow (or the server stopped): close; the subscriber resumes with
                // its cursor.
                Err(_) => {
                    let _ = ws.close(None).await;
                    return;
                }
            },
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return;
            }
        }
    }
}
