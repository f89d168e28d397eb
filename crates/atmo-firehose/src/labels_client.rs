//! A com.atproto.label.subscribeLabels consumer: every label's signature checked with
//! its labeller's `#atproto_label` key (resolved, cached, resolved again once when a
//! signature fails, in case the key rotated), resumed from the last sequence number.

use std::collections::HashMap;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_http::HttpClient;
use atmo_identity::Resolver;
use atmo_syntax::Did;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{connect_ws, http_and_resolver, reconnect_delay};
use crate::error::Error;
use crate::event::{InfoEvent, LabelEvent};
use crate::frame::FrameLimits;
use crate::label::{Label, LabelError};

/// The most labeller keys kept between resolutions.
const MAX_CACHED_KEYS: usize = 1024;

/// How to subscribe to a labeller.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LabelConfig {
    /// The labeller's base URL (`http(s)://` or `ws(s)://`).
    pub host: String,
    /// Resume after this sequence number (0: everything the labeller keeps).
    pub cursor: Option<i64>,
    /// Check each label's signature (default true).
    pub verify: bool,
    /// Allow loopback and private addresses, and plain `http`/`ws`.
    pub allow_private_network: bool,
    /// The did:plc directory.
    pub plc_url: String,
    /// Frame limits.
    pub limits: FrameLimits,
    /// Silence after which the connection is made again. Default 60 s.
    pub stall_timeout: Duration,
}

impl LabelConfig {
    /// The defaults for `host`.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            cursor: None,
            verify: true,
            allow_private_network: false,
            plc_url: atmo_identity::DEFAULT_PLC_URL.to_owned(),
            limits: FrameLimits::DEFAULT,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

/// What a [`LabelSubscription`] hands out.
#[derive(Debug)]
#[non_exhaustive]
pub enum LabelItem {
    /// Labels that passed verification (all of a `#labels` message that did).
    Labels {
        /// The sequence number.
        seq: i64,
        /// The labels.
        labels: Vec<Label>,
    },
    /// A label that failed verification or does not parse: not delivered.
    Rejected {
        /// The sequence number of its message.
        seq: i64,
        /// Why.
        error: LabelError,
    },
    /// An `#info` message.
    Info(InfoEvent),
    /// The connection was lost; it is made again after `delay`.
    Reconnecting {
        /// Consecutive failures.
        attempt: u32,
        /// The wait.
        delay: Duration,
        /// What happened.
        reason: String,
    },
}

/// The subscribeLabels URL for a base URL and cursor.
///
/// ```
/// assert_eq!(
///     atmo_firehose::subscribe_labels_url("https://mod.example/", Some(3)).unwrap(),
///     "wss://mod.example/xrpc/com.atproto.label.subscribeLabels?cursor=3"
/// );
/// ```
///
/// # Errors
/// [`Error::Url`] for another scheme.
pub fn subscribe_labels_url(host: &str, cursor: Option<i64>) -> Result<String, Error> {
    let repos = crate::client::subscribe_url(host, cursor)?;
    Ok(repos.replacen(
        "com.atproto.sync.subscribeRepos",
        "com.atproto.label.subscribeLabels",
        1,
    ))
}

/// A running label subscription.
#[derive(Debug)]
pub struct LabelSubscription {
    rx: mpsc::Receiver<LabelItem>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    last: Option<i64>,
}

impl LabelSubscription {
    /// Starts it (in a tokio task).
    ///
    /// # Errors
    /// [`Error::Url`] for a bad host, or a client set-up error.
    pub fn start(config: LabelConfig) -> Result<Self, Error> {
        subscribe_labels_url(&config.host, config.cursor)?;
        let (http, resolver) =
            http_and_resolver(&config.host, config.allow_private_network, &config.plc_url)?;
        let (tx, rx) = mpsc::channel(256);
        let (stop, stop_rx) = watch::channel(false);
        let last = config.cursor;
        let task = tokio::spawn(
            Worker {
                config,
                http,
                resolver,
                keys: HashMap::new(),
                tx,
                stop: stop_rx,
                last,
            }
            .run(),
        );
        Ok(Self {
            rx,
            stop,
            task,
            last,
        })
    }

    /// The next item; `None` once stopped.
    pub async fn next(&mut self) -> Option<LabelItem> {
        let item = self.rx.recv().await?;
        if let LabelItem::Labels { seq, .. } | LabelItem::Rejected { seq, .. } = &item {
            self.last = Some(*seq);
        }
        Some(item)
    }

    /// The last sequence number handed out.
    #[must_use]
    pub fn last_seq(&self) -> Option<i64> {
        self.last
    }

    /// Stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        drop(self.rx);
        let _ = self.task.await;
    }
}

struct Worker {
    config: LabelConfig,
    http: HttpClient,
    resolver: Resolver,
    keys: HashMap<Did, PublicKey>,
    tx: mpsc::Sender<LabelItem>,
    stop: watch::Receiver<bool>,
    last: Option<i64>,
}

impl Worker {
    async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            let reason = match self.once().await {
                Ok(()) => return,
                Err(reason) => reason,
            };
            attempt = attempt.saturating_add(1);
            let delay = reconnect_delay(attempt);
            if self
                .tx
                .send(LabelItem::Reconnecting {
                    attempt,
                    delay,
                    reason,
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = self.stop.changed() => return,
            }
        }
    }

    /// The labeller's key, resolved (again, when `fresh`).
    async fn key(&mut self, src: &Did, fresh: bool) -> Option<PublicKey> {
        if !fresh {
            if let Some(k) = self.keys.get(src) {
                return Some(*k);
            }
        } else {
            self.resolver.invalidate_did(src);
        }
        let doc = self.resolver.resolve_did(src).await.ok()?;
        let key = doc.verification_key("atproto_label").ok()?;
        // Labels name their labeller: keep the cache bounded whatever they say.
        if self.keys.len() >= MAX_CACHED_KEYS {
            self.keys.clear();
        }
        self.keys.insert(src.clone(), key);
        Some(key)
    }

    async fn check(&mut self, label: &Label) -> Result<(), LabelError> {
        let bad = || LabelError::BadSignature {
            src: label.src.to_string(),
            val: label.val.clone(),
            uri: label.uri.clone(),
        };
        let key = self.key(&label.src, false).await.ok_or_else(bad)?;
        if label.verify(&key).is_ok() {
            return Ok(());
        }
        let fresh = self.key(&label.src, true).await.ok_or_else(bad)?;
        label.verify(&fresh)
    }

    /// One connection; `Ok` when stopped, `Err(reason)` to reconnect.
    async fn once(&mut self) -> Result<(), String> {
        let url = subscribe_labels_url(&self.config.host, self.last).map_err(|e| e.to_string())?;
        let mut ws = connect_ws(
            &self.http,
            &url,
            self.config.limits.max_frame_bytes,
            self.config.stall_timeout,
        )
        .await
        .map_err(|e| e.to_string())?;
        loop {
            let msg = tokio::select! {
                _ = self.stop.changed() => { let _ = ws.close(None).await; return Ok(()); }
                m = tokio::time::timeout(self.config.stall_timeout, ws.next()) => m,
            };
            let bytes = match msg {
                Err(_) => return Err(format!("no frame for {:?}", self.config.stall_timeout)),
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => {
                    return Err("the server closed the connection".to_owned());
                }
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(Some(Ok(Message::Binary(b)))) => b,
                Ok(Some(Ok(_))) => continue,
            };
            let item = match LabelEvent::decode(&bytes, &self.config.limits) {
                Err(Error::ErrorFrame { error, message }) => {
                    return Err(format!(
                        "error frame {error}: {}",
                        message.unwrap_or_default()
                    ));
                }
                Err(e) => LabelItem::Rejected {
                    seq: self.last.unwrap_or(0),
                    error: LabelError::Field {
                        field: "frame",
                        reason: if matches!(e, Error::Frame(_)) {
                            "not a valid frame"
                        } else {
                            "undecodable"
                        },
                    },
                },
                Ok(LabelEvent::Info(i)) => LabelItem::Info(i),
                Ok(LabelEvent::Labels { seq, labels }) => {
                    if self.last.is_some_and(|l| seq <= l) {
                        continue;
                    }
                    self.last = Some(seq);
                    let mut good = Vec::with_capacity(labels.len());
                    for v in &labels {
                        let checked = match Label::from_value(v) {
                            Ok(l) if !self.config.verify => Ok(l),
                            Ok(l) => self.check(&l).await.map(|()| l),
                            Err(e) => Err(e),
                        };
                        match checked {
                            Ok(l) => good.push(l),
                            Err(error) => {
                                if self
                                    .tx
                                    .send(LabelItem::Rejected { seq, error })
                                    .await
                                    .is_err()
                                {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    if good.is_empty() {
                        continue;
                    }
                    LabelItem::Labels { seq, labels: good }
                }
                Ok(_) => continue,
            };
            if self.tx.send(item).await.is_err() {
                return Ok(());
            }
        }
    }
}
