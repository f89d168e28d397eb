//! A libp2p node (TCP + Noise + Yamux, identify, ping) speaking Bitswap 1.2.0: a server
//! for the blocks of a [`BlockSource`], and a client that fetches blocks by CID from
//! given peers, checking every block against its CID before anyone sees it.
//!
//! Like the other implementations, each side writes its messages on streams it opens
//! (one stream per batch of messages, then closed) and reads the other side's messages
//! from the streams the other side opens.
//!
//! A peer that sends a block nobody asked it for, a block whose bytes do not hash to a
//! wanted CID (the two are the same thing on the wire: a block travels with only its CID
//! prefix), a block it cannot be checked for, or a malformed or oversized message is
//! disconnected, banned (the last 65,536 such peers), and recorded ([`Node::misbehaviour`]); the
//! wants it was asked for fail over to the other peers asked, and fail with the reason
//! when none is left.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use atmo_data::Cid;
use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, identify, identity, noise, ping, tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::message::{
    self, Block, BlockPresence, Message, PROTOCOLS, Presence, WantType, read_length_prefix,
};
use crate::store::BlockSource;

/// How a node is set up.
#[derive(Clone)]
pub struct NodeConfig {
    /// The node's identity; a fresh Ed25519 key when `None`. A node run by an account
    /// can use its signing key ([`libp2p_keypair`](crate::libp2p_keypair)) so that its
    /// PeerID is the DID's ([`peer_id_for_did`](crate::peer_id_for_did)).
    pub keypair: Option<identity::Keypair>,
    /// Addresses to listen on (none: a client that only dials).
    pub listen: Vec<Multiaddr>,
    /// The blocks served to peers (none: the node answers every want with `DontHave`
    /// when asked to).
    pub source: Option<Arc<dyn BlockSource>>,
    /// How long a want waits for an answer before it fails with [`Error::Timeout`].
    pub want_timeout: Duration,
    /// The largest message read (default [`message::MAX_MESSAGE_LEN`], 4 MiB).
    pub max_message_len: usize,
    /// The largest block accepted or served (default 2 MiB, atproto's block limit).
    pub max_block_len: usize,
    /// A stream on which nothing arrives for this long is closed.
    pub stream_idle_timeout: Duration,
    /// At most this many wants are outstanding at a peer (default 256; peers keep their
    /// wantlist for another peer bounded, commonly at 1024, and drop what goes past it).
    pub max_wants_in_flight: usize,
    /// How often wants still unanswered are said again (default 2 s).
    pub rebroadcast: Duration,
    /// At most this many wants of one message are looked up (default 16 384); the rest
    /// are answered `DontHave` when the peer asks for that. (A message's size already
    /// bounds its wants: this bounds the work of one message.)
    pub max_wants_per_message: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            keypair: None,
            listen: Vec::new(),
            source: None,
            want_timeout: Duration::from_secs(30),
            max_message_len: message::MAX_MESSAGE_LEN,
            max_block_len: 2 * 1024 * 1024,
            stream_idle_timeout: Duration::from_secs(30),
            max_wants_per_message: 16_384,
            max_wants_in_flight: 256,
            rebroadcast: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field(
                "peer",
                &self.keypair.as_ref().map(|k| k.public().to_peer_id()),
            )
            .field("listen", &self.listen)
            .field("serves", &self.source.is_some())
            .field("want_timeout", &self.want_timeout)
            .field("max_message_len", &self.max_message_len)
            .field("max_block_len", &self.max_block_len)
            .finish_non_exhaustive()
    }
}

/// What a misbehaving peer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisbehaviourKind {
    /// Sent a block whose bytes hash to a CID it was not asked for (the wrong bytes for
    /// a wanted block, or a block nobody asked for).
    UnwantedBlock {
        /// The CID the bytes hash to.
        got: Cid,
    },
    /// Sent a block whose CID prefix cannot be verified.
    UnverifiableBlock,
    /// Sent a malformed message.
    MalformedMessage,
    /// Sent a message or block over the size limits.
    Oversized,
}

/// A peer caught misbehaving (and dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misbehaviour {
    /// The peer.
    pub peer: PeerId,
    /// What it did.
    pub kind: MisbehaviourKind,
}

/// Counters of a node's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Blocks received from peers and delivered (checked) to a want.
    pub blocks_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Blocks sent to peers.
    pub blocks_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// `DontHave` answers sent.
    pub dont_haves_sent: u64,
    /// Blocks that arrived for a want already met (by another peer), dropped.
    pub duplicates: u64,
}

/// Why the last peer asked for a block could not give it.
#[derive(Debug, Clone, Copy)]
enum Failure {
    DontHave,
    Stream(PeerId, std::io::ErrorKind),
    Misbehaved(PeerId, MisbehaviourKind),
}

struct Want {
    peers: HashSet<PeerId>,
    waiters: Vec<oneshot::Sender<Result<Bytes, Error>>>,
    last_failure: Option<Failure>,
}

fn fail(cid: Cid, f: Option<Failure>) -> Error {
    match f {
        None | Some(Failure::DontHave) => Error::NotFound { cid },
        Some(Failure::Stream(peer, kind)) => Error::Stream { peer, kind },
        Some(Failure::Misbehaved(peer, kind)) => match kind {
            MisbehaviourKind::UnwantedBlock { got } => Error::UnwantedBlock {
                peer,
                got: Box::new(got),
            },
            MisbehaviourKind::UnverifiableBlock => Error::UnverifiableBlock { peer },
            MisbehaviourKind::MalformedMessage => Error::BadPeer {
                peer,
                reason: "a malformed message",
            },
            MisbehaviourKind::Oversized => Error::BadPeer {
                peer,
                reason: "a message or block over the size limits",
            },
        },
    }
}

/// How many misbehaving peers are kept in the log.
const MISBEHAVIOUR_LOG: usize = 1024;

/// How many recently met or abandoned wants are remembered, so that a late answer to
/// them is not taken for an unasked block.
const RECENT: usize = 8192;

/// Most peers kept banned; past it the oldest ban is forgotten (a peer ID costs nothing
/// to make, so a longer memory would buy nothing against a determined peer).
const MAX_BANNED: usize = 65_536;

#[derive(Default)]
struct State {
    wants: HashMap<Cid, Want>,
    recent: VecDeque<(Cid, PeerId)>,
    recent_set: HashSet<(Cid, PeerId)>,
    banned: HashSet<PeerId>,
    /// The banned peers in the order they were banned, to forget the oldest past
    /// [`MAX_BANNED`].
    banned_order: VecDeque<PeerId>,
    /// The last [`MISBEHAVIOUR_LOG`] peers caught.
    misbehaviour: VecDeque<Misbehaviour>,
    stats: NodeStats,
    listen_addrs: Vec<Multiaddr>,
}

impl State {
    fn remember(&mut self, cid: Cid, peers: impl IntoIterator<Item = PeerId>) {
        for p in peers {
            if self.recent_set.insert((cid, p)) {
                self.recent.push_back((cid, p));
            }
        }
        while self.recent.len() > RECENT {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
    }

    /// Takes `peer` off every want; the wants left with no peer fail.
    fn drop_peer(&mut self, peer: PeerId, failure: Failure) {
        let mut dead = Vec::new();
        for (cid, want) in &mut self.wants {
            if want.peers.remove(&peer) {
                want.last_failure = Some(failure);
                if want.peers.is_empty() {
                    dead.push(*cid);
                }
            }
        }
        for cid in dead {
            if let Some(want) = self.wants.remove(&cid) {
                for w in want.waiters {
                    let _ = w.send(Err(fail(cid, want.last_failure)));
                }
            }
        }
    }
}

struct Inner {
    state: Mutex<State>,
    /// One writer task per peer, each with a long-lived outbound stream (fewer streams
    /// for the peer to accept) and a bounded queue (backpressure).
    writers: Mutex<HashMap<PeerId, mpsc::Sender<Message>>>,
    control: libp2p_stream::Control,
    commands: mpsc::UnboundedSender<Command>,
    source: Option<Arc<dyn BlockSource>>,
    config: NodeConfig,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn misbehaved(&self, peer: PeerId, kind: MisbehaviourKind) {
        tracing::warn!(%peer, ?kind, "bitswap peer misbehaved; dropping it");
        {
            let mut st = self.state();
            if st.banned.insert(peer) {
                st.banned_order.push_back(peer);
                if st.banned_order.len() > MAX_BANNED
                    && let Some(old) = st.banned_order.pop_front()
                {
                    st.banned.remove(&old);
                }
                if st.misbehaviour.len() >= MISBEHAVIOUR_LOG {
                    st.misbehaviour.pop_front();
                }
                st.misbehaviour.push_back(Misbehaviour { peer, kind });
            }
            st.drop_peer(peer, Failure::Misbehaved(peer, kind));
        }
        let _ = self.commands.send(Command::Disconnect(peer));
    }

    fn is_banned(&self, peer: &PeerId) -> bool {
        self.state().banned.contains(peer)
    }

    /// Opens a Bitswap stream to `peer`.
    async fn open(&self, peer: PeerId) -> Result<libp2p::Stream, Error> {
        let io = |kind| Error::Stream { peer, kind };
        self.control
            .clone()
            .open_stream(peer, StreamProtocol::new(PROTOCOLS[0]))
            .await
            .map_err(|e| match e {
                libp2p_stream::OpenStreamError::Io(e) => io(e.kind()),
                _ => io(std::io::ErrorKind::Unsupported),
            })
    }

    /// Queues `msg` for `peer`'s writer (started on first use); waits while its queue
    /// is full.
    async fn enqueue(self: &Arc<Self>, peer: PeerId, msg: Message) {
        let mut msg = msg;
        for _ in 0..2 {
            let tx = {
                let mut writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
                writers
                    .entry(peer)
                    .or_insert_with(|| {
                        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
                        tokio::spawn(writer(Arc::downgrade(self), peer, rx));
                        tx
                    })
                    .clone()
            };
            match tx.send(msg).await {
                Ok(()) => return,
                Err(mpsc::error::SendError(m)) => {
                    // The writer ended (the peer went away): start another once.
                    msg = m;
                    self.writers
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&peer);
                }
            }
        }
    }

    /// Handles one message from `peer`.
    async fn on_message(self: &Arc<Self>, peer: PeerId, msg: Message) {
        let mut cancels: HashMap<PeerId, Vec<Cid>> = HashMap::new();
        for block in msg.blocks {
            if let Some((cid, others)) = self.on_block(peer, block) {
                for p in others {
                    cancels.entry(p).or_default().push(cid);
                }
            }
            if self.is_banned(&peer) {
                return;
            }
        }
        self.cancel(cancels);
        for p in msg.presences {
            self.on_presence(peer, p);
        }
        if let Some(wl) = msg.wantlist {
            let entries: Vec<_> = wl.entries.into_iter().filter(|e| !e.cancel).collect();
            if !entries.is_empty() {
                self.answer(peer, entries).await;
            }
        }
    }

    /// Cancels wants at peers (the block came from elsewhere, or the want timed out),
    /// one message per peer, off the caller's task.
    fn cancel(self: &Arc<Self>, by_peer: HashMap<PeerId, Vec<Cid>>) {
        if by_peer.is_empty() {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            for (p, cids) in by_peer {
                inner.enqueue(p, Message::cancel(cids)).await;
            }
        });
    }

    /// A block from `peer`: delivered to its want if it was asked of that peer, else the
    /// peer is dropped. Returns the CID met and the other peers asked for it.
    fn on_block(&self, peer: PeerId, block: Block) -> Option<(Cid, Vec<PeerId>)> {
        if block.data.len() > self.config.max_block_len {
            self.misbehaved(peer, MisbehaviourKind::Oversized);
            return None;
        }
        let Some(cid) = block.cid() else {
            self.misbehaved(peer, MisbehaviourKind::UnverifiableBlock);
            return None;
        };
        let mut st = self.state();
        let asked = st.wants.get(&cid).is_some_and(|w| w.peers.contains(&peer));
        if !asked {
            if st.recent_set.contains(&(cid, peer)) {
                st.stats.duplicates += 1;
                return None;
            }
            drop(st);
            self.misbehaved(peer, MisbehaviourKind::UnwantedBlock { got: cid });
            return None;
        }
        let want = st.wants.remove(&cid)?;
        st.stats.blocks_received += 1;
        st.stats.bytes_received += block.data.len() as u64;
        let others: Vec<PeerId> = want.peers.iter().copied().filter(|p| *p != peer).collect();
        st.remember(cid, want.peers.iter().copied());
        drop(st);
        let data = block.data;
        for w in want.waiters {
            let _ = w.send(Ok(data.clone()));
        }
        // The other peers asked need not send it too.
        Some((cid, others))
    }

    fn on_presence(&self, peer: PeerId, p: BlockPresence) {
        let Ok(cid) = Cid::from_bytes(&p.cid_bytes) else {
            return;
        };
        if p.presence != Presence::DontHave {
            return;
        }
        let mut st = self.state();
        let Some(want) = st.wants.get_mut(&cid) else {
            return;
        };
        if !want.peers.remove(&peer) {
            return;
        }
        want.last_failure = Some(Failure::DontHave);
        if want.peers.is_empty()
            && let Some(want) = st.wants.remove(&cid)
        {
            st.remember(cid, [peer]);
            for w in want.waiters {
                let _ = w.send(Err(Error::NotFound { cid }));
            }
        }
    }

    /// Answers a peer's wants from the block source.
    async fn answer(self: &Arc<Self>, peer: PeerId, entries: Vec<message::WantEntry>) {
        /// Block bytes per message sent: the answer is written as it is gathered, so a
        /// large wantlist never holds more than this in memory.
        const BATCH: usize = 1024 * 1024;
        let mut msg = Message::default();
        let mut size = 0;
        let (mut sent, mut bytes, mut dont) = (0u64, 0u64, 0u64);
        let cap = self.config.max_wants_per_message;
        for (i, e) in entries.into_iter().enumerate() {
            let cid = e.cid();
            let found = match (&self.source, cid) {
                (Some(src), Some(cid)) if i < cap => match e.want_type {
                    WantType::Block => src.get(&cid).map(Some),
                    WantType::Have => src.has(&cid).then_some(None),
                },
                _ => None,
            };
            match (found, cid) {
                (Some(Some(data)), Some(cid)) if data.len() <= self.config.max_block_len => {
                    if size + data.len() > BATCH && !msg.is_empty() {
                        let full = std::mem::take(&mut msg);
                        size = 0;
                        self.enqueue(peer, full).await;
                    }
                    size += data.len();
                    sent += 1;
                    bytes += data.len() as u64;
                    msg.blocks.push(Block::new(&cid, data));
                }
                (Some(None), _) => msg.presences.push(BlockPresence {
                    cid_bytes: e.cid_bytes,
                    presence: Presence::Have,
                }),
                // Not here (or past the per-message cap): say so when asked to.
                _ if e.send_dont_have => {
                    dont += 1;
                    msg.presences.push(BlockPresence {
                        cid_bytes: e.cid_bytes,
                        presence: Presence::DontHave,
                    });
                }
                _ => {}
            }
        }
        if !msg.is_empty() {
            self.enqueue(peer, msg).await;
        }
        let mut st = self.state();
        st.stats.blocks_sent += sent;
        st.stats.bytes_sent += bytes;
        st.stats.dont_haves_sent += dont;
    }

    /// Reads messages from one inbound stream until it ends.
    async fn read_stream(self: Arc<Self>, peer: PeerId, mut stream: libp2p::Stream) {
        if self.is_banned(&peer) {
            return;
        }
        loop {
            let frame = tokio::time::timeout(
                self.config.stream_idle_timeout,
                read_frame(&mut stream, self.config.max_message_len),
            )
            .await;
            let bytes = match frame {
                Err(_) | Ok(Ok(None)) => return,
                Ok(Ok(Some(b))) => b,
                Ok(Err(Error::MessageTooLarge { .. })) => {
                    return self.misbehaved(peer, MisbehaviourKind::Oversized);
                }
                Ok(Err(Error::Message { .. })) => {
                    return self.misbehaved(peer, MisbehaviourKind::MalformedMessage);
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "bitswap stream: {e}");
                    return;
                }
            };
            match Message::decode(&bytes) {
                Ok(msg) => self.on_message(peer, msg).await,
                Err(_) => return self.misbehaved(peer, MisbehaviourKind::MalformedMessage),
            }
            if self.is_banned(&peer) {
                return;
            }
        }
    }
}

/// Messages queued per peer writer before senders wait.
const WRITER_QUEUE: usize = 16;

/// Writes the messages queued for `peer` on one outbound stream, opening it again when it
/// fails (once per message: a second failure drops the peer's wants to it).
async fn writer(inner: std::sync::Weak<Inner>, peer: PeerId, mut rx: mpsc::Receiver<Message>) {
    let mut stream: Option<libp2p::Stream> = None;
    while let Some(msg) = rx.recv().await {
        let Some(node) = inner.upgrade() else { return };
        let frame = msg.to_frame();
        let mut last = std::io::ErrorKind::Other;
        let mut sent = false;
        for _ in 0..2 {
            let s = match &mut stream {
                Some(s) => s,
                None => match node.open(peer).await {
                    Ok(s) => stream.insert(s),
                    Err(Error::Stream { kind, .. }) => {
                        last = kind;
                        continue;
                    }
                    Err(_) => continue,
                },
            };
            match async {
                s.write_all(&frame).await?;
                s.flush().await
            }
            .await
            {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(e) => {
                    last = e.kind();
                    stream = None;
                }
            }
        }
        if !sent {
            tracing::debug!(%peer, ?last, "bitswap: cannot write to the peer");
            node.state().drop_peer(peer, Failure::Stream(peer, last));
        }
    }
    if let Some(mut s) = stream {
        let _ = s.close().await;
    }
}

/// Reads one length-prefixed message; `Ok(None)` at a clean end of stream.
async fn read_frame<S: futures::AsyncRead + Unpin>(
    stream: &mut S,
    max: usize,
) -> Result<Option<Vec<u8>>, Error> {
    let mut prefix = [0u8; 10];
    let mut n = 0;
    loop {
        let mut b = [0u8; 1];
        let got = stream.read(&mut b).await.map_err(|_| Error::Message {
            reason: "the stream failed inside a length prefix",
            offset: n,
        })?;
        if got == 0 {
            if n == 0 {
                return Ok(None);
            }
            return Err(Error::Message {
                reason: "the stream ended inside a length prefix",
                offset: n,
            });
        }
        let Some(slot) = prefix.get_mut(n) else {
            return Err(Error::Message {
                reason: "length prefix longer than 9 bytes",
                offset: n,
            });
        };
        *slot = b[0];
        n += 1;
        if let Some((len, _)) = read_length_prefix(prefix.get(..n).unwrap_or_default())? {
            let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
            if len_usize > max {
                return Err(Error::MessageTooLarge { len, max });
            }
            let mut buf = vec![0u8; len_usize];
            stream
                .read_exact(&mut buf)
                .await
                .map_err(|_| Error::Message {
                    reason: "the stream ended inside a message",
                    offset: n,
                })?;
            return Ok(Some(buf));
        }
    }
}

enum Command {
    Dial(Multiaddr, oneshot::Sender<Result<PeerId, Error>>),
    Disconnect(PeerId),
    Stop,
}

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    stream: libp2p_stream::Behaviour,
}

/// A running node. Dropping it stops it (as [`Node::stop`] does).
pub struct Node {
    inner: Arc<Inner>,
    peer_id: PeerId,
    task: Option<tokio::task::JoinHandle<()>>,
    reader: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("peer_id", &self.peer_id)
            .field("listen_addrs", &self.listen_addrs())
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Starts a node: listens on the configured addresses (waiting until each reports an
    /// address) and serves the configured source. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`Error::Start`] if the transport cannot be set up; [`Error::Listen`] if an
    /// address cannot be listened on.
    pub async fn start(config: NodeConfig) -> Result<Node, Error> {
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(identity::Keypair::generate_ed25519);
        let peer_id = keypair.public().to_peer_id();
        let start = |_| Error::Start {
            kind: std::io::ErrorKind::Other,
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|_| Error::Start {
                kind: std::io::ErrorKind::InvalidInput,
            })?
            .with_behaviour(|key| Behaviour {
                identify: identify::Behaviour::new(
                    identify::Config::new("ipfs/0.1.0".to_owned(), key.public())
                        .with_agent_version(format!("atmo-p2p/{}", env!("CARGO_PKG_VERSION"))),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                stream: libp2p_stream::Behaviour::new(),
            })
            .map_err(start)?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let mut control = swarm.behaviour().stream.new_control();
        let mut incoming = Vec::new();
        for p in PROTOCOLS {
            let streams = control
                .accept(StreamProtocol::new(p))
                .map_err(|_| Error::Start {
                    kind: std::io::ErrorKind::AlreadyExists,
                })?;
            incoming.push(streams);
        }

        // Listen, and wait for every listener's first address.
        let mut waiting: HashMap<ListenerId, Multiaddr> = HashMap::new();
        for addr in &config.listen {
            let id = swarm
                .listen_on(addr.clone())
                .map_err(|source| Error::Listen {
                    addr: addr.clone(),
                    source,
                })?;
            waiting.insert(id, addr.clone());
        }
        let mut listen_addrs = Vec::new();
        while !waiting.is_empty() {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    waiting.remove(&listener_id);
                    listen_addrs.push(address);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason: Err(e),
                    ..
                } => {
                    if let Some(addr) = waiting.remove(&listener_id) {
                        return Err(Error::Listen {
                            addr,
                            source: libp2p::TransportError::Other(e),
                        });
                    }
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    if let Some(addr) = waiting.remove(&listener_id) {
                        return Err(Error::Listen {
                            addr,
                            source: libp2p::TransportError::Other(error),
                        });
                    }
                }
                _ => {}
            }
        }

        // A wildcard address (0.0.0.0, ::) is reported once per interface: give the
        // others a moment to arrive, so that the addresses printed are all of them.
        let wildcard = config.listen.iter().any(|a| {
            a.iter().any(|p| match p {
                Protocol::Ip4(ip) => ip.is_unspecified(),
                Protocol::Ip6(ip) => ip.is_unspecified(),
                _ => false,
            })
        });
        if wildcard {
            let more = async {
                loop {
                    if let SwarmEvent::NewListenAddr { address, .. } =
                        swarm.select_next_some().await
                        && !listen_addrs.contains(&address)
                    {
                        listen_addrs.push(address);
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_millis(200), more).await;
        }

        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                listen_addrs,
                ..State::default()
            }),
            writers: Mutex::new(HashMap::new()),
            control,
            commands: tx,
            source: config.source.clone(),
            config,
        });
        let weak = Arc::downgrade(&inner);
        let mut incoming = futures::stream::select_all(incoming);
        // Inbound streams are taken on a task of their own, so that the swarm's task never
        // waits for them (libp2p-stream drops a stream that finds its queue full).
        let reader = {
            let weak = weak.clone();
            tokio::spawn(async move {
                while let Some((peer, stream)) = incoming.next().await {
                    let Some(inner) = weak.upgrade() else { return };
                    tokio::spawn(inner.read_stream(peer, stream));
                }
            })
        };
        let task = tokio::spawn(run_swarm(swarm, rx, weak));
        Ok(Node {
            inner,
            peer_id,
            task: Some(task),
            reader,
        })
    }

    /// The node's PeerID.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the node listens on, each ending in `/p2p/<PeerID>` (what a peer
    /// dials).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner
            .state()
            .listen_addrs
            .iter()
            .map(|a| a.clone().with_p2p(self.peer_id).unwrap_or_else(|a| a))
            .collect()
    }

    /// Connects to a peer (an address, with or without `/p2p/<PeerID>`; with it, the
    /// peer must prove that identity) and returns its PeerID. Already connected: at once.
    ///
    /// # Errors
    /// [`Error::Dial`]; [`Error::Stopped`].
    pub async fn connect(&self, addr: &Multiaddr) -> Result<PeerId, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Dial(addr.clone(), tx))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Fetches one block from `peers` (already connected, or reachable by addresses
    /// libp2p knows): see [`fetch_many`](Self::fetch_many).
    ///
    /// # Errors
    /// As [`fetch_many`](Self::fetch_many).
    pub async fn fetch(&self, cid: Cid, peers: &[PeerId]) -> Result<Bytes, Error> {
        self.fetch_many(&[cid], peers)
            .await
            .pop()
            .unwrap_or(Err(Error::NotFound { cid }))
    }

    /// Fetches blocks from `peers`: one want-block (asking for `DontHave`) per CID to each
    /// peer, at most [`NodeConfig::max_wants_in_flight`] at a time (peers keep bounded
    /// wantlists and forget what goes past them). Every block is checked against its CID
    /// before it is returned. The results are in the order of `cids`.
    ///
    /// Each result is the block, or: [`Error::NotFound`] when every peer said it does not
    /// have it; [`Error::Timeout`] when no answer came within the want timeout (counted
    /// from when its window of wants was sent);
    /// [`Error::UnwantedBlock`] / [`Error::UnverifiableBlock`] / [`Error::BadPeer`] when
    /// the last peer asked was dropped for misbehaving; [`Error::Stream`] when it could
    /// not be reached.
    pub async fn fetch_many(&self, cids: &[Cid], peers: &[PeerId]) -> Vec<Result<Bytes, Error>> {
        // Four windows in flight, each a quarter of the limit: as one is answered the
        // next goes out, so the peer always has wants queued.
        const PIPELINE: usize = 4;
        let window = (self.inner.config.max_wants_in_flight / PIPELINE).max(1);
        let windows: Vec<Vec<Result<Bytes, Error>>> = futures::stream::iter(cids.chunks(window))
            .map(|chunk| self.fetch_window(chunk, peers))
            .buffered(PIPELINE)
            .collect()
            .await;
        windows.into_iter().flatten().collect()
    }

    async fn fetch_window(&self, cids: &[Cid], peers: &[PeerId]) -> Vec<Result<Bytes, Error>> {
        let peers: Vec<PeerId> = {
            let st = self.inner.state();
            peers
                .iter()
                .copied()
                .filter(|p| !st.banned.contains(p))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        if peers.is_empty() {
            return cids
                .iter()
                .map(|&cid| Err(Error::NotFound { cid }))
                .collect();
        }
        let mut receivers = Vec::with_capacity(cids.len());
        {
            let mut st = self.inner.state();
            for &cid in cids {
                let (tx, rx) = oneshot::channel();
                let want = st.wants.entry(cid).or_insert_with(|| Want {
                    peers: HashSet::new(),
                    waiters: Vec::new(),
                    last_failure: None,
                });
                want.peers.extend(peers.iter().copied());
                want.waiters.push(tx);
                receivers.push(rx);
            }
        }
        let mut unique: Vec<Cid> = cids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        for &peer in &peers {
            self.inner
                .enqueue(peer, Message::want_blocks(unique.iter().copied(), 1))
                .await;
        }

        // Wait, and say the wants again now and then to the peers still asked: a peer
        // may have dropped a message (streams refused under load, a wantlist truncated).
        let deadline = tokio::time::Instant::now() + self.inner.config.want_timeout;
        let mut results: Vec<Option<Result<Bytes, Error>>> =
            (0..cids.len()).map(|_| None).collect();
        let mut pending: Vec<(usize, oneshot::Receiver<Result<Bytes, Error>>)> =
            receivers.into_iter().enumerate().collect();
        loop {
            let tick = deadline.min(tokio::time::Instant::now() + self.inner.config.rebroadcast);
            let mut still = Vec::new();
            for (i, mut rx) in pending {
                match tokio::time::timeout_at(tick, &mut rx).await {
                    Ok(Ok(r)) => {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(r);
                        }
                    }
                    Ok(Err(_)) => {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(Err(Error::Stopped));
                        }
                    }
                    Err(_) => still.push((i, rx)),
                }
            }
            pending = still;
            if pending.is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            let mut again: HashMap<PeerId, Vec<Cid>> = HashMap::new();
            {
                let st = self.inner.state();
                for (i, _) in &pending {
                    let Some(&cid) = cids.get(*i) else { continue };
                    if let Some(want) = st.wants.get(&cid) {
                        for p in &want.peers {
                            let list = again.entry(*p).or_default();
                            if !list.contains(&cid) {
                                list.push(cid);
                            }
                        }
                    }
                }
            }
            for (peer, list) in again {
                self.inner
                    .enqueue(peer, Message::want_blocks(list, 1))
                    .await;
            }
        }
        let mut timed_out = Vec::new();
        let out: Vec<Result<Bytes, Error>> = results
            .into_iter()
            .zip(cids)
            .map(|(r, &cid)| {
                r.unwrap_or_else(|| {
                    timed_out.push(cid);
                    Err(Error::Timeout { cid })
                })
            })
            .collect();
        if !timed_out.is_empty() {
            let mut cancels: HashMap<PeerId, Vec<Cid>> = HashMap::new();
            let mut st = self.inner.state();
            for cid in timed_out {
                if let Some(want) = st.wants.remove(&cid) {
                    st.remember(cid, want.peers.iter().copied());
                    for p in want.peers {
                        cancels.entry(p).or_default().push(cid);
                    }
                    for w in want.waiters {
                        let _ = w.send(Err(Error::Timeout { cid }));
                    }
                }
            }
            drop(st);
            self.inner.cancel(cancels);
        }
        out
    }

    /// The peers caught misbehaving (each dropped and banned), the last 1,024.
    pub fn misbehaviour(&self) -> Vec<Misbehaviour> {
        self.inner.state().misbehaviour.iter().copied().collect()
    }

    /// Traffic counters.
    pub fn stats(&self) -> NodeStats {
        self.inner.state().stats
    }

    /// Stops the node: closes every connection and listener.
    pub async fn stop(mut self) {
        self.reader.abort();
        let _ = self.inner.commands.send(Command::Stop);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.reader.abort();
        let _ = self.inner.commands.send(Command::Stop);
    }
}

async fn run_swarm(
    mut swarm: Swarm<Behaviour>,
    mut rx: mpsc::UnboundedReceiver<Command>,
    inner: std::sync::Weak<Inner>,
) {
    let mut dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, Error>>)> =
        HashMap::new();
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None | Some(Command::Stop) => return,
                Some(Command::Disconnect(peer)) => {
                    let _ = swarm.disconnect_peer_id(peer);
                }
                Some(Command::Dial(addr, reply)) => {
                    let peer = addr.iter().find_map(|p| match p {
                        Protocol::P2p(id) => Some(id),
                        _ => None,
                    });
                    if let Some(peer) = peer
                        && swarm.is_connected(&peer)
                    {
                        let _ = reply.send(Ok(peer));
                        continue;
                    }
                    let opts = match peer {
                        Some(peer) => DialOpts::peer_id(peer)
                            .addresses(vec![addr.clone()])
                            .condition(PeerCondition::Always)
                            .build(),
                        None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
                    };
                    let id = opts.connection_id();
                    match swarm.dial(opts) {
                        Ok(()) => {
                            dials.insert(id, (addr, reply));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(Error::Dial { addr, source: Box::new(e) }));
                        }
                    }
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, connection_id, .. } => {
                    if let Some((_, reply)) = dials.remove(&connection_id) {
                        let _ = reply.send(Ok(peer_id));
                    }
                    if inner.upgrade().is_some_and(|i| i.is_banned(&peer_id)) {
                        let _ = swarm.disconnect_peer_id(peer_id);
                    }
                }
                SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
                    if let Some((addr, reply)) = dials.remove(&connection_id) {
                        let _ = reply.send(Err(Error::Dial { addr, source: Box::new(error) }));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    if let Some(inner) = inner.upgrade() {
                        inner.state().drop_peer(
                            peer_id,
                            Failure::Stream(peer_id, std::io::ErrorKind::ConnectionAborted),
                        );
                        inner
                            .writers
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&peer_id);
                    }
                }
                SwarmEvent::NewListenAddr { address, .. } => {
                    if let Some(inner) = inner.upgrade() {
                        let mut st = inner.state();
                        if !st.listen_addrs.contains(&address) {
                            st.listen_addrs.push(address);
                        }
                    }
                }
                SwarmEvent::ExpiredListenAddr { address, .. } => {
                    if let Some(inner) = inner.upgrade() {
                        inner.state().listen_addrs.retain(|a| *a != address);
                    }
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_bounded_and_checked() {
        let msg = Message::want_blocks([Cid::for_raw(b"x")], 1);
        let mut two = msg.to_frame();
        two.extend(msg.to_frame());
        let mut r = futures::io::Cursor::new(two);
        assert_eq!(
            read_frame(&mut r, 1024).await.unwrap().unwrap(),
            msg.encode()
        );
        assert_eq!(
            read_frame(&mut r, 1024).await.unwrap().unwrap(),
            msg.encode()
        );
        assert_eq!(read_frame(&mut r, 1024).await.unwrap(), None);

        let mut big = futures::io::Cursor::new(vec![0xff, 0xff, 0xff, 0x7f]);
        assert!(matches!(
            read_frame(&mut big, 1024).await,
            Err(Error::MessageTooLarge { max: 1024, .. })
        ));
        let mut cut = futures::io::Cursor::new(vec![0x05, 1, 2]);
        assert!(matches!(
            read_frame(&mut cut, 1024).await,
            Err(Error::Message { .. })
        ));
        let mut cut = futures::io::Cursor::new(vec![0x85]);
        assert!(matches!(
            read_frame(&mut cut, 1024).await,
            Err(Error::Message { .. })
        ));
    }
}
