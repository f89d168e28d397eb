//! atmo's subscribeRepos consumer through a TCP proxy of the test's own that misbehaves
//! while 1,000 records are written: connections cut in the middle of a frame, a stall
//! (the proxy keeps the connection but forwards nothing; the consumer's stall detection
//! reconnects), and the proxy down for a while (connections refused). Every event of the
//! test's accounts arrives exactly once, in order, fully verified: the sequence numbers
//! are those of a clean subscription straight to the PDS, and the records those written.
//!
//! The reference network is shared with other tests, so the judgement is on this test's
//! own accounts (their seqs interleave with others'); the PDS numbers every event, so no
//! gap may be reported at all.
//!
//! Run with `cargo nextest run -p atmo-tests --test firehose_faults`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atmo_api::com_atproto::repo::apply_writes;
use atmo_firehose::{Config, Filter, Item, RepoEvent, Subscription, VerifyLevel};
use atmo_syntax::{Did, Nsid};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{TestAccount, test_account};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, mpsc};

const WAIT: Duration = Duration::from_secs(60);
/// Records written per account, and per applyWrites call.
const PER_ACCOUNT: usize = 500;
const PER_CALL: usize = 5;

/// One proxied connection's switches.
#[derive(Default)]
struct Conn {
    /// Forward half of the next chunk from the server, then close.
    cut: AtomicBool,
    /// Forward nothing more (the connection stays open).
    stall: AtomicBool,
    /// Close now.
    kill: Notify,
}

/// What the test tells the proxy.
enum Command {
    /// Cut every open connection in the middle of what it forwards next.
    Cut,
    /// Stall every open connection.
    Stall,
    /// Stop listening and close every connection.
    Down,
    /// Listen again on the same address.
    Up,
}

/// A TCP proxy to the PDS that can cut, stall, and go down.
struct FaultProxy {
    addr: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    /// Connections cut inside a frame so far.
    cuts: Arc<AtomicUsize>,
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(64)
}

impl FaultProxy {
    async fn start(pds_port: u16) -> Self {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (commands, mut rx) = mpsc::unbounded_channel();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let cuts = Arc::new(AtomicUsize::new(0));
        let cut_count = Arc::clone(&cuts);
        tokio::spawn(async move {
            let mut listener = Some(listener);
            let conns: Arc<Mutex<Vec<Arc<Conn>>>> = Arc::default();
            loop {
                let accept = async {
                    match &listener {
                        Some(l) => l.accept().await.ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    cmd = rx.recv() => {
                        let Some(cmd) = cmd else { return };
                        let open = conns.lock().unwrap().clone();
                        match cmd {
                            Command::Cut => open.iter().for_each(|c| c.cut.store(true, Ordering::SeqCst)),
                            Command::Stall => open.iter().for_each(|c| c.stall.store(true, Ordering::SeqCst)),
                            Command::Down => {
                                listener = None;
                                open.iter().for_each(|c| c.kill.notify_one());
                            }
                            Command::Up => listener = Some(bind(addr).unwrap()),
                        }
                    }
                    conn = accept => {
                        let Some((client, _)) = conn else { continue };
                        count.fetch_add(1, Ordering::SeqCst);
                        let ctl = Arc::new(Conn::default());
                        {
                            let mut list = conns.lock().unwrap();
                            // A stalled connection is closed once its client gave up on it.
                            for old in list.iter().filter(|c| c.stall.load(Ordering::SeqCst)) {
                                old.kill.notify_one();
                            }
                            list.retain(|c| !c.stall.load(Ordering::SeqCst));
                            list.push(Arc::clone(&ctl));
                        }
                        tokio::spawn(forward(client, pds_port, ctl, Arc::clone(&cut_count)));
                    }
                }
            }
        });
        Self {
            addr,
            commands,
            accepted,
            cuts,
        }
    }

    fn send(&self, c: Command) {
        let _ = self.commands.send(c);
    }
}

/// Follows the websocket frames in what the server sends (after its HTTP response), to
/// find a point inside a frame.
#[derive(Default)]
struct Frames {
    http_done: bool,
    /// The last four bytes of the HTTP response seen.
    tail: u32,
    /// A frame header being read.
    header: Vec<u8>,
    /// Payload bytes left in the current frame.
    left: u64,
}

impl Frames {
    /// Walks `chunk`; returns an offset in it that lies strictly inside a frame's
    /// payload (some of it before, some after), if there is one.
    fn walk(&mut self, chunk: &[u8]) -> Option<usize> {
        let mut mid = None;
        let mut i = 0;
        while i < chunk.len() {
            if !self.http_done {
                self.tail = (self.tail << 8) | u32::from(chunk[i]);
                self.http_done = self.tail == 0x0d0a_0d0a;
                i += 1;
            } else if self.left > 0 {
                let take = self.left.min((chunk.len() - i) as u64) as usize;
                if mid.is_none() && self.left >= 2 {
                    mid = Some(i + 1);
                }
                self.left -= take as u64;
                i += take;
            } else {
                self.header.push(chunk[i]);
                i += 1;
                let h = &self.header;
                if h.len() < 2 {
                    continue;
                }
                let ext = match h[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                };
                let mask = if h[1] & 0x80 != 0 { 4 } else { 0 };
                if h.len() == 2 + ext + mask {
                    self.left = match ext {
                        0 => u64::from(h[1] & 0x7f),
                        2 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                        _ => u64::from_be_bytes(h[2..10].try_into().unwrap()),
                    };
                    self.header.clear();
                }
            }
        }
        mid
    }
}

/// One connection: client to server as is; server to client as the switches say.
async fn forward(client: TcpStream, pds_port: u16, ctl: Arc<Conn>, cuts: Arc<AtomicUsize>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", pds_port)).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut buf = vec![0u8; 64 << 10];
    let mut frames = Frames::default();
    loop {
        if ctl.stall.load(Ordering::SeqCst) {
            ctl.kill.notified().await;
            break;
        }
        let k = tokio::select! {
            () = ctl.kill.notified() => break,
            r = sr.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(k) => k,
            },
        };
        if ctl.stall.load(Ordering::SeqCst) {
            continue; // held back
        }
        let mid = frames.walk(&buf[..k]);
        if let (true, Some(at)) = (ctl.cut.load(Ordering::SeqCst), mid) {
            // Part of a frame goes through, then the connection ends.
            let _ = cw.write_all(&buf[..at]).await;
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if cw.write_all(&buf[..k]).await.is_err() {
            break;
        }
    }
    up.abort();
}

/// The faults, in the order of the plan.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Cut,
    Stall,
    Down,
}

/// How many applyWrites calls the writers have made, and may make.
#[derive(Clone, Default)]
struct Gate {
    done: Arc<AtomicUsize>,
    allowed: Arc<AtomicUsize>,
}

impl Gate {
    fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    fn allow(&self, calls: usize) {
        self.allowed.store(calls, Ordering::SeqCst);
    }

    async fn wait_turn(&self) {
        while self.done() >= self.allowed.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Writes `n` posts in calls of `PER_CALL` as `gate` allows; returns the records' CIDs
/// in order.
async fn write(a: TestAccount, n: usize, gate: Gate) -> Vec<String> {
    let did: Did = a.did.parse().unwrap();
    let coll = Nsid::new("app.bsky.feed.post").unwrap();
    let mut cids = Vec::new();
    for start in (0..n).step_by(PER_CALL) {
        gate.wait_turn().await;
        let writes: Vec<apply_writes::InputWritesItem> = (start..n.min(start + PER_CALL))
            .map(|i| {
                let rec = atmo_data::json::record_from_str(&format!(
                    r#"{{"$type": "app.bsky.feed.post", "text": "{} {i}", "createdAt": "2024-01-01T00:00:00Z"}}"#,
                    a.handle
                ))
                .unwrap();
                apply_writes::Create::new(coll.clone(), rec).into()
            })
            .collect();
        let out = a
            .client
            .call(&apply_writes::Input::new(did.clone().into(), writes))
            .await
            .unwrap_or_else(|e| panic!("applyWrites: {e}"));
        for r in out.results.unwrap_or_default() {
            if let apply_writes::OutputResultsItem::CreateResult(c) = r {
                cids.push(c.cid.to_string());
            }
        }
        gate.done.fetch_add(1, Ordering::SeqCst);
    }
    cids
}

/// What a subscription handed out for the test's accounts.
#[derive(Default, Debug)]
struct Seen {
    /// Seqs of the accounts' events, delivered or rejected, in the order handed out.
    seqs: Vec<i64>,
    /// Record CIDs created, per account, in order.
    created: Vec<Vec<String>>,
    rejected: Vec<String>,
    gaps: Vec<(i64, i64)>,
    reconnects: Vec<(u32, String)>,
}

/// Reads `sub` until every record in `want` (per account) was delivered.
async fn collect(sub: &mut Subscription, dids: &[String], want: &[Vec<String>]) -> Seen {
    let mut seen = Seen {
        created: vec![Vec::new(); dids.len()],
        ..Seen::default()
    };
    let deadline = Instant::now() + WAIT;
    while seen
        .created
        .iter()
        .zip(want)
        .any(|(got, w)| got.len() < w.len())
    {
        let left = deadline.saturating_duration_since(Instant::now());
        let item = tokio::time::timeout(left, sub.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out with {:?} of {} records, reconnects {:?}",
                    seen.created.iter().map(Vec::len).collect::<Vec<_>>(),
                    want.iter().map(Vec::len).sum::<usize>(),
                    seen.reconnects
                )
            })
            .expect("the subscription ended");
        match item {
            Item::Event(e) => {
                let Some(i) = e
                    .did()
                    .and_then(|d| dids.iter().position(|x| x == d.as_str()))
                else {
                    continue;
                };
                if let Some(seq) = e.seq() {
                    seen.seqs.push(seq);
                }
                if let RepoEvent::Commit(c) = &e {
                    seen.created[i]
                        .extend(c.ops.iter().filter_map(|o| o.cid.map(|c| c.to_string())));
                }
            }
            Item::Rejected { seq, did, error } => {
                if dids.iter().any(|d| d == did.as_str()) {
                    seen.seqs.push(seq);
                    seen.rejected.push(format!("{seq} {did}: {error}"));
                }
            }
            Item::Gap { after, next } => seen.gaps.push((after, next)),
            Item::Reconnecting {
                attempt, reason, ..
            } => seen.reconnects.push((attempt, reason)),
            other => panic!("unexpected {other:?}"),
        }
    }
    seen
}

fn config(net: &RefNet, host: &str, dids: &[String]) -> Config {
    let mut c = Config::new(host);
    c.cursor = Some(0);
    c.verify = VerifyLevel::Full;
    c.allow_private_network = true;
    c.plc_url = net.plc.clone();
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(400);
    let mut f = Filter::default();
    for d in dids {
        f = f.did(d.parse().unwrap());
    }
    c.filter = f;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_writes_through_cuts_stalls_and_an_outage_arrive_once_in_order() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "fhfault").await;
    let b = test_account(&net.pds, "fhfault").await;
    let dids = vec![a.did.clone(), b.did.clone()];
    let proxy = FaultProxy::start(net.pds_port().unwrap()).await;
    let mut c = config(net, &format!("http://{}", proxy.addr), &dids);
    // No frame for 0.4 s: a ping; none for 0.8 s: reconnect.
    c.stall_timeout = Duration::from_millis(400);
    let mut sub = Subscription::start(c).unwrap();

    // Two accounts write at once, 1,000 records in all. The faults follow the writes'
    // progress (counted in applyWrites calls): each fault at its point, the writes going
    // on through it, and the next fault only once the consumer has connected again (so
    // every fault meets a live connection).
    let gate = Gate::default();
    let wa = tokio::spawn(write(a, PER_ACCOUNT, gate.clone()));
    let wb = tokio::spawn(write(b, PER_ACCOUNT, gate.clone()));
    let calls = 2 * PER_ACCOUNT / PER_CALL;
    let plan = [
        Fault::Cut,
        Fault::Cut,
        Fault::Stall,
        Fault::Cut,
        Fault::Down,
        Fault::Cut,
        Fault::Stall,
        Fault::Cut,
        Fault::Cut,
    ];
    let step = calls / (plan.len() + 1);
    gate.allow(step);
    let started = Instant::now();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        assert!(started.elapsed() < WAIT, "stuck waiting for {what}");
        !done()
    };
    for (i, fault) in plan.iter().enumerate() {
        while wait_for("the writes", &|| gate.done() >= step * (i + 1)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let before = proxy.accepted.load(Ordering::SeqCst);
        gate.allow(step * (i + 2));
        match fault {
            Fault::Cut => proxy.send(Command::Cut),
            Fault::Stall => proxy.send(Command::Stall),
            Fault::Down => {
                proxy.send(Command::Down);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                proxy.send(Command::Up);
            }
        }
        while wait_for("a reconnection", &|| {
            proxy.accepted.load(Ordering::SeqCst) > before
        }) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    gate.allow(calls);
    let want = vec![wa.await.unwrap(), wb.await.unwrap()];
    assert_eq!(want.iter().map(Vec::len).sum::<usize>(), 2 * PER_ACCOUNT);
    let faulty = collect(&mut sub, &dids, &want).await;
    sub.shutdown().await.unwrap();

    // The same accounts straight from the PDS, with no proxy.
    let mut clean_sub = Subscription::start(config(net, &net.pds, &dids)).unwrap();
    let clean = collect(&mut clean_sub, &dids, &want).await;
    clean_sub.shutdown().await.unwrap();

    eprintln!(
        "{} seqs of the accounts; {} connections, {} cut inside a frame; reconnects: {:?}",
        faulty.seqs.len(),
        proxy.accepted.load(Ordering::SeqCst),
        proxy.cuts.load(Ordering::SeqCst),
        faulty.reconnects
    );
    assert!(faulty.rejected.is_empty(), "{:?}", faulty.rejected);
    assert!(clean.rejected.is_empty(), "{:?}", clean.rejected);
    assert!(faulty.gaps.is_empty(), "{:?}", faulty.gaps);
    // Exactly once, in order: the clean run's seqs (which increase), records as written.
    assert!(
        clean.seqs.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        clean.seqs
    );
    assert_eq!(faulty.seqs, clean.seqs);
    assert_eq!(faulty.created, want);
    assert_eq!(clean.created, want);
    let planned_cuts = plan.iter().filter(|f| matches!(f, Fault::Cut)).count();
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), planned_cuts);
    // Each fault was met: a reconnect per cut and stall, the stalls found by the stall
    // detection, and failed attempts while the proxy was down.
    assert!(
        faulty.reconnects.len() >= plan.len(),
        "{:?}",
        faulty.reconnects
    );
    let stalls = faulty
        .reconnects
        .iter()
        .filter(|(_, r)| r.starts_with("stalled"))
        .count();
    assert!(stalls >= 2, "{:?}", faulty.reconnects);
    assert!(
        faulty.reconnects.iter().any(|(attempt, _)| *attempt >= 2),
        "no failed attempt while the proxy was down: {:?}",
        faulty.reconnects
    );
}
