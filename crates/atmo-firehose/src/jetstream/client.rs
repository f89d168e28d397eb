//! A Jetstream client: connects to `/subscribe` with the subscriber's options, hands out
//! events in order, reconnects from the last `time_us` delivered (never handing the same
//! event twice), and sends `options_update` messages.

use std::time::Duration;

use atmo_http::{ConnectPolicy, HttpClient};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::event::JetstreamEvent;
use super::options::SubscribeOptions;
use crate::client::{connect_ws, reconnect_delay};
use crate::error::Error;

/// How to connect.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JetstreamConfig {
    /// The server's base URL (`http(s)://` or `ws(s)://` host, without `/subscribe`).
    pub host: String,
    /// What to receive.
    pub options: SubscribeOptions,
    /// Start from this `time_us` (replayed by the server from its buffer); `None`: live.
    pub cursor: Option<i64>,
    /// Allow loopback and private addresses, and plain `ws`.
    pub allow_private_network: bool,
    /// Events buffered between the connection and the consumer. Default 1024.
    pub buffer: usize,
    /// The largest message accepted. Default 4 MiB.
    pub max_message_bytes: usize,
    /// Silence after which the connection is dropped and made again. Default 60 s.
    pub stall_timeout: Duration,
}

impl JetstreamConfig {
    /// The defaults for `host`.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            options: SubscribeOptions::default(),
            cursor: None,
            allow_private_network: false,
            buffer: 1024,
            max_message_bytes: 4 * 1024 * 1024,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

/// What the client hands out.
#[derive(Debug)]
#[non_exhaustive]
pub enum JetstreamItem {
    /// An event.
    Event(JetstreamEvent),
    /// A message that is not an event (skipped).
    Malformed {
        /// Why.
        reason: String,
    },
    /// The connection was lost; it is made again after `delay`, from the last event.
    Reconnecting {
        /// Consecutive failures.
        attempt: u32,
        /// The wait.
        delay: Duration,
        /// What happened.
        reason: String,
    },
}

/// A running Jetstream subscription.
#[derive(Debug)]
pub struct JetstreamClient {
    rx: mpsc::Receiver<JetstreamItem>,
    options: watch::Sender<SubscribeOptions>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    last: Option<i64>,
}

/// The subscribe URL for a base URL, options and cursor.
///
/// ```
/// use atmo_firehose::jetstream::{SubscribeOptions, subscribe_url};
/// let mut o = SubscribeOptions::default();
/// o.wanted_collections.push("app.bsky.feed.post".into());
/// assert_eq!(
///     subscribe_url("https://jetstream.example", &o, Some(5)).unwrap(),
///     "wss://jetstream.example/subscribe?wantedCollections=app.bsky.feed.post&cursor=5"
/// );
/// ```
///
/// # Errors
/// [`Error::Url`] for another scheme.
pub fn subscribe_url(
    host: &str,
    options: &SubscribeOptions,
    cursor: Option<i64>,
) -> Result<String, Error> {
    let (scheme, rest) = host.split_once("://").ok_or(Error::Url {
        url: host.to_owned(),
        reason: "no scheme",
    })?;
    let ws = match scheme {
        "https" | "wss" => "wss",
        "http" | "ws" => "ws",
        _ => {
            return Err(Error::Url {
                url: host.to_owned(),
                reason: "the scheme must be http, https, ws or wss",
            });
        }
    };
    let rest = rest.trim_end_matches('/').trim_end_matches("/subscribe");
    let query = options.to_query(cursor);
    Ok(if query.is_empty() {
        format!("{ws}://{rest}/subscribe")
    } else {
        format!("{ws}://{rest}/subscribe?{query}")
    })
}

impl JetstreamClient {
    /// Starts the subscription (in a tokio task).
    ///
    /// # Errors
    /// [`Error::Url`] for a bad host, [`Error::Options`] for bad options, or a client
    /// set-up error.
    pub fn start(config: JetstreamConfig) -> Result<Self, Error> {
        config.options.check()?;
        subscribe_url(&config.host, &config.options, config.cursor)?;
        let http = HttpClient::builder()
            .policy(ConnectPolicy::default().allow_private_network(config.allow_private_network))
            .build()
            .map_err(|source| Error::Connect {
                url: config.host.clone(),
                source: Box::new(source),
            })?;
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        let (options, options_rx) = watch::channel(config.options.clone());
        let (stop, stop_rx) = watch::channel(false);
        let last = config.cursor.map(|c| c.saturating_sub(1));
        let task = tokio::spawn(run(config, http, tx, options_rx, stop_rx));
        Ok(Self {
            rx,
            options,
            stop,
            task,
            last,
        })
    }

    /// The next item; `None` once stopped.
    pub async fn next(&mut self) -> Option<JetstreamItem> {
        let item = self.rx.recv().await?;
        if let JetstreamItem::Event(e) = &item {
            self.last = Some(e.time_us);
        }
        Some(item)
    }

    /// The `time_us` of the last event handed out: the cursor to resume from later.
    #[must_use]
    pub fn last_time_us(&self) -> Option<i64> {
        self.last
    }

    /// Changes what to receive (an `options_update` message; also used on reconnects).
    ///
    /// # Errors
    /// [`Error::Options`] for bad options.
    pub fn update_options(&self, options: SubscribeOptions) -> Result<(), Error> {
        options.check()?;
        let _ = self.options.send(options);
        Ok(())
    }

    /// Stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        drop(self.rx);
        let _ = self.task.await;
    }
}

async fn run(
    config: JetstreamConfig,
    http: HttpClient,
    tx: mpsc::Sender<JetstreamItem>,
    mut options: watch::Receiver<SubscribeOptions>,
    mut stop: watch::Receiver<bool>,
) {
    // The last time_us put into the channel: a reconnect asks from there and drops
    // what it has already seen.
    let mut last = config.cursor.map(|c| c.saturating_sub(1));
    let mut attempt: u32 = 0;
    loop {
        let opts = options.borrow_and_update().clone();
        let url = match subscribe_url(&config.host, &opts, last.map(|l| l.saturating_add(1))) {
            Ok(u) => u,
            Err(_) => return,
        };
        let reason = match connect_ws(&http, &url, config.max_message_bytes, config.stall_timeout)
            .await
        {
            Err(e) => e.to_string(),
            Ok(mut ws) => {
                attempt = 0;
                loop {
                    let msg = tokio::select! {
                        _ = stop.changed() => { let _ = ws.close(None).await; return; }
                        changed = options.changed() => {
                            if changed.is_err() { return; }
                            let msg = options.borrow_and_update().to_message();
                            if ws.send(Message::text(msg)).await.is_err() { break "sending options failed".to_owned(); }
                            continue;
                        }
                        m = tokio::time::timeout(config.stall_timeout, ws.next()) => m,
                    };
                    let text = match msg {
                        Err(_) => break format!("no message for {:?}", config.stall_timeout),
                        Ok(None) => break "the server closed the connection".to_owned(),
                        Ok(Some(Err(e))) => break e.to_string(),
                        Ok(Some(Ok(Message::Text(t)))) => t,
                        Ok(Some(Ok(Message::Close(_)))) => {
                            break "the server closed the connection".to_owned();
                        }
                        Ok(Some(Ok(_))) => continue,
                    };
                    let item = match serde_json::from_str::<JetstreamEvent>(text.as_str()) {
                        Ok(ev) => {
                            if last.is_some_and(|l| ev.time_us <= l) {
                                continue;
                            }
                            last = Some(ev.time_us);
                            JetstreamItem::Event(ev)
                        }
                        Err(e) => JetstreamItem::Malformed {
                            reason: e.to_string(),
                        },
                    };
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
            }
        };
        attempt = attempt.saturating_add(1);
        let delay = reconnect_delay(attempt);
        let item = JetstreamItem::Reconnecting {
            attempt,
            delay,
            reason,
        };
        if tx.send(item).await.is_err() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}
