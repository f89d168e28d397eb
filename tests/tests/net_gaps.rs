//! The network paths the first refnet tests left out, each against something real on
//! loopback: DNS TXT handle resolution through a tiny authoritative DNS server run by the
//! test, did:web from a loopback HTTP server, the rate-limit warning (captured from
//! `tracing`) and 429 wait-and-retry, describeRepo's answer, and `atproto-proxy` /
//! `atproto-accept-labelers` followed through the PDS to stand-in services.
//!
//! `ATMO_REFNET=0` skips the tests that need the reference network (loudly).

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atmo_api::com_atproto::repo::{create_record, describe_repo};
use atmo_identity::{Error as IdError, HandleSource, Resolver, ResolverConfig};
use atmo_syntax::{Did, Handle};
use atmo_tests::refnet::{RefNet, http_get, skip_if_disabled};
use atmo_tests::support::unique;
use atmo_xrpc::{CallOptions, Client, Labeler, ProxyTarget, RetryPolicy, XrpcRequest};
use base64::Engine as _;
use tracing_subscriber::layer::SubscriberExt as _;

// ---------------------------------------------------------------------------------------
// Helpers.

struct Account {
    did: String,
    handle: String,
    password: String,
    client: Client,
    session: atmo_xrpc::PasswordSession,
}

/// A fresh account on the PDS; its client holds the session.
async fn account(pds: &str, prefix: &str) -> Account {
    let a = atmo_tests::support::test_account(pds, prefix).await;
    Account {
        did: a.did,
        handle: a.handle,
        password: a.password,
        client: a.client,
        session: a.session,
    }
}

/// One request as a loopback HTTP server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of query parameter `key` (no percent-decoding beyond `%3A`).
    fn query(&self, key: &str) -> Option<String> {
        let q = self.path.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.replace("%3A", ":").replace("%3a", ":"))
        })
    }
}

/// An answer: status, extra headers, body.
type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// A tiny HTTP/1.1 server on 127.0.0.1 (one request per connection) that records what it
/// was asked and answers through `handler(its own port, request)`.
struct TestHttp {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestHttp {
    fn start(handler: impl Fn(u16, &Seen) -> Reply + Send + Sync + 'static) -> TestHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (handler, log) = (handler.clone(), log.clone());
                thread::spawn(move || {
                    let _ = serve_one(conn, port, &*handler, &log);
                });
            }
        });
        TestHttp { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, path_prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.starts_with(path_prefix))
            .count()
    }
}

fn serve_one(
    mut conn: TcpStream,
    port: u16,
    handler: &(dyn Fn(u16, &Seen) -> Reply + Send + Sync),
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk)?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .unwrap_or_default()
        .split(' ')
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let seen = Seen {
        path,
        headers,
        at: Instant::now(),
    };
    log.lock().unwrap().push(seen.clone());
    let (status, extra, body) = handler(port, &seen);
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    conn.write_all(out.as_bytes())?;
    conn.write_all(&body)?;
    conn.flush()
}

fn json_reply(status: u16, body: &serde_json::Value) -> Reply {
    (
        status,
        vec![("content-type".into(), "application/json".into())],
        body.to_string().into_bytes(),
    )
}

/// The did:web of a loopback server: `did:web:localhost%3A<port>`.
fn did_web(port: u16) -> String {
    format!("did:web:localhost%3A{port}")
}

// ---------------------------------------------------------------------------------------
// A tiny authoritative DNS server.

/// Answers TXT questions from a table over UDP and TCP on one 127.0.0.1 port: the
/// records of a known name (none for other types), NXDOMAIN for any other name.
struct TestDns {
    addr: SocketAddr,
    queries: Arc<Mutex<Vec<(String, u16)>>>,
}

impl TestDns {
    fn start(table: HashMap<String, Vec<String>>) -> TestDns {
        let table: HashMap<String, Vec<String>> = table
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let table = Arc::new(table);
        let queries = Arc::new(Mutex::new(Vec::new()));
        // One port for both: bind UDP, then TCP on the same number (retry if taken).
        let (udp, tcp) = (0..20)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
                let tcp = TcpListener::bind(udp.local_addr().ok()?).ok()?;
                Some((udp, tcp))
            })
            .expect("a UDP and TCP port pair on 127.0.0.1");
        let addr = udp.local_addr().unwrap();
        let (t, q) = (table.clone(), queries.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                if let Some(reply) = dns_answer(&buf[..n], &t, &q) {
                    let _ = udp.send_to(&reply, from);
                }
            }
        });
        let (t, q) = (table, queries.clone());
        thread::spawn(move || {
            for conn in tcp.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (t, q) = (t.clone(), q.clone());
                thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    loop {
                        let mut len = [0u8; 2];
                        if conn.read_exact(&mut len).is_err() {
                            return;
                        }
                        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                        if conn.read_exact(&mut msg).is_err() {
                            return;
                        }
                        let Some(reply) = dns_answer(&msg, &t, &q) else {
                            return;
                        };
                        let mut out = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                        out.extend_from_slice(&reply);
                        if conn.write_all(&out).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        TestDns { addr, queries }
    }

    fn queries(&self) -> Vec<(String, u16)> {
        self.queries.lock().unwrap().clone()
    }
}

const TYPE_TXT: u16 = 16;

/// The answer to one DNS query message, or `None` for one it cannot read.
fn dns_answer(
    q: &[u8],
    table: &HashMap<String, Vec<String>>,
    log: &Mutex<Vec<(String, u16)>>,
) -> Option<Vec<u8>> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*q.get(at)?, *q.get(at + 1)?]));
    let flags = be16(2)?;
    if be16(4)? != 1 || flags & 0x8000 != 0 {
        return None; // exactly one question, and a query, not a response
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*q.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None; // no compression in questions
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = be16(i)?;
    let question_end = i + 4;
    let name = labels.join(".");
    log.lock().unwrap().push((name.clone(), qtype));
    let records = table.get(&name);
    let answers: Vec<&String> = match records {
        Some(r) if qtype == TYPE_TXT => r.iter().collect(),
        _ => Vec::new(),
    };
    let rcode: u16 = if records.is_some() { 0 } else { 3 }; // NOERROR / NXDOMAIN
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(q.get(0..2)?); // id
    // QR, the query's opcode, AA, the query's RD, no RA, rcode.
    let out_flags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | rcode;
    out.extend_from_slice(&out_flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::try_from(answers.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // no authority, no additional records
    out.extend_from_slice(q.get(12..question_end)?);
    for txt in answers {
        out.extend_from_slice(&[0xc0, 0x0c]); // the name: a pointer to the question's
        out.extend_from_slice(&TYPE_TXT.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // IN
        out.extend_from_slice(&60u32.to_be_bytes()); // TTL
        let mut rdata = Vec::new();
        for chunk in txt.as_bytes().chunks(255) {
            rdata.push(u8::try_from(chunk.len()).ok()?);
            rdata.extend_from_slice(chunk);
        }
        out.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// 1. DNS TXT handle resolution.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_txt_handles_through_a_loopback_dns_server() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let plain = account(&net.pds, "dns").await;
    let ambiguous = account(&net.pds, "amb").await;
    let disagree = account(&net.pds, "dis").await;
    let no_did = account(&net.pds, "nodid").await;
    let absent = account(&net.pds, "nx").await;
    let txt = |h: &str| format!("_atproto.{h}");
    let dns = TestDns::start(HashMap::from([
        (txt(&plain.handle), vec![format!("did={}", plain.did)]),
        (
            txt(&ambiguous.handle),
            vec![
                format!("did={}", plain.did),
                format!("did={}", ambiguous.did),
            ],
        ),
        // DNS names another DID than the PDS's well-known answer for this handle.
        (txt(&disagree.handle), vec![format!("did={}", plain.did)]),
        (
            txt(&no_did.handle),
            vec!["v=spf1 -all".to_owned(), "did=not a did".to_owned()],
        ),
    ]));

    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = true;
    c.dns_servers = Some(vec![dns.addr]);
    // The well-known fallback asks the PDS, which answers for its own handles by Host.
    c.well_known_endpoint = Some(net.pds.clone());
    let r = Resolver::new(c).unwrap();
    let h = |s: &str| Handle::new(s).unwrap();

    // One did= record: found by DNS, and the whole identity checks out both ways.
    let (did, source) = r.resolve_handle_uncached(&h(&plain.handle)).await.unwrap();
    assert_eq!(
        (did.as_str(), source),
        (plain.did.as_str(), HandleSource::Dns)
    );
    let id = r.resolve(&plain.handle).await.unwrap();
    assert_eq!(id.did.as_str(), plain.did);
    assert_eq!(
        id.handle.as_ref().map(Handle::as_str),
        Some(plain.handle.as_str())
    );
    assert_eq!(id.pds, net.pds);

    // Two different DIDs: the spec says fail, even though well-known would answer.
    let e = r
        .resolve_handle_uncached(&h(&ambiguous.handle))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, IdError::DnsAmbiguous { count: 2, handle } if *handle == ambiguous.handle),
        "{e}"
    );

    // DNS and well-known disagree: "the DNS TXT result should be preferred".
    let by_well_known = r
        .resolve_handle_well_known(&h(&disagree.handle))
        .await
        .unwrap();
    assert_eq!(by_well_known.as_str(), disagree.did);
    let (did, source) = r
        .resolve_handle_uncached(&h(&disagree.handle))
        .await
        .unwrap();
    assert_eq!(
        (did.as_str(), source),
        (plain.did.as_str(), HandleSource::Dns)
    );
    // ...and the DID it names does not list the handle back, so it is not verified.
    let id = r.resolve(&disagree.handle).await.unwrap();
    assert_eq!(id.did.as_str(), plain.did);
    assert_eq!(id.handle, None);
    assert_eq!(
        id.claimed_handle.as_ref().map(Handle::as_str),
        Some(disagree.handle.as_str())
    );

    // A did= string that holds no DID is a failure, not a reason to ask the well-known
    // URL (the rule lexicon resolution shares; the reference resolver takes the value
    // as the DID and fails on it, it never falls back).
    let e = r
        .resolve_handle_uncached(&h(&no_did.handle))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, IdError::InvalidDid { input, .. } if input == "not a did"),
        "{e}"
    );
    // No records at all (NXDOMAIN): well-known.
    for acct in [&absent] {
        let (did, source) = r.resolve_handle_uncached(&h(&acct.handle)).await.unwrap();
        assert_eq!(
            (did.as_str(), source),
            (acct.did.as_str(), HandleSource::WellKnown),
            "{}",
            acct.handle
        );
    }

    // Every handle was asked of this server, as TXT.
    let asked = dns.queries();
    for acct in [&plain, &ambiguous, &disagree, &no_did, &absent] {
        assert!(
            asked.contains(&(txt(&acct.handle), TYPE_TXT)),
            "{} not queried: {asked:?}",
            acct.handle
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_servers_setting_is_used_without_the_refnet() {
    // A server that answers NXDOMAIN for everything: the handle does not resolve by DNS,
    // and the lookup reached our server (not the system's resolver).
    let dns = TestDns::start(HashMap::new());
    let mut c = ResolverConfig::default();
    c.use_dns = true;
    c.dns_servers = Some(vec![dns.addr]);
    c.timeout = Duration::from_secs(5);
    let r = Resolver::new(c).unwrap();
    let handle = Handle::new(&format!("{}.test", unique("nobody"))).unwrap();
    assert_eq!(r.resolve_handle_dns(&handle).await.unwrap(), None);
    assert_eq!(
        dns.queries(),
        vec![(format!("_atproto.{}", handle.as_str()), TYPE_TXT)]
    );
    // An empty list is a setup error, not a silent fall back to the system.
    let mut c = ResolverConfig::default();
    c.dns_servers = Some(Vec::new());
    let r = Resolver::new(c).unwrap();
    let e = r.resolve_handle_dns(&handle).await.unwrap_err();
    assert!(matches!(e, IdError::Setup(_)), "{e}");
}

// ---------------------------------------------------------------------------------------
// 2. did:web.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_web_from_a_loopback_server() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = account(&net.pds, "web").await;
    // A real document (the account's, from the PLC) re-issued under the did:web.
    let plc_doc: serde_json::Value =
        serde_json::from_slice(&http_get(&format!("{}/{}", net.plc, acct.did)).unwrap().body)
            .unwrap();
    let body: Arc<Mutex<Vec<u8>>> = Arc::default();
    let served = body.clone();
    let server = TestHttp::start(move |_, seen| {
        if seen.path == "/.well-known/did.json" {
            (
                200,
                vec![("content-type".into(), "application/did+ld+json".into())],
                served.lock().unwrap().clone(),
            )
        } else {
            (404, Vec::new(), Vec::new())
        }
    });
    let did_text = did_web(server.port);
    let did = Did::new(&did_text).unwrap();
    let mut doc = plc_doc.clone();
    doc["id"] = did_text.clone().into();
    *body.lock().unwrap() = doc.to_string().into_bytes();

    let mut c = ResolverConfig::default();
    c.allow_private_network = true;
    c.use_dns = false;
    let r = Resolver::new(c).unwrap();
    assert_eq!(
        r.did_document_url(&did).unwrap(),
        format!("http://localhost:{}/.well-known/did.json", server.port)
    );
    let fetched = r.resolve_did_uncached(&did).await.unwrap();
    assert_eq!(fetched.did().as_str(), did_text);
    let id = r.resolve(&did_text).await.unwrap();
    assert_eq!(id.pds, net.pds);
    let plc_id = {
        let mut c = ResolverConfig::default();
        c.plc_url = net.plc.clone();
        c.allow_private_network = true;
        c.use_dns = false;
        Resolver::new(c).unwrap().resolve(&acct.did).await.unwrap()
    };
    assert_eq!(id.signing_key, plc_id.signing_key);
    assert_eq!(server.count("/.well-known/did.json"), 2);

    // Without permission for private networks, localhost is refused before connecting.
    let strict = Resolver::new(ResolverConfig::default()).unwrap();
    let e = strict.resolve_did_uncached(&did).await.unwrap_err();
    assert!(
        matches!(&e, IdError::Forbidden { host, reason: "loopback", .. } if host == "localhost"),
        "{e}"
    );
    assert_eq!(
        server.count("/.well-known/did.json"),
        2,
        "no request was made"
    );

    // A document whose id is another DID is rejected.
    let other = did_web(1);
    doc["id"] = other.clone().into();
    *body.lock().unwrap() = doc.to_string().into_bytes();
    let e = r.resolve_did_uncached(&did).await.unwrap_err();
    assert!(
        matches!(&e, IdError::DocumentIdMismatch { expected, found } if *expected == did_text && *found == other),
        "{e}"
    );
    // So is the PLC document as it is (its id is the did:plc).
    *body.lock().unwrap() = plc_doc.to_string().into_bytes();
    let e = r.resolve_did_uncached(&did).await.unwrap_err();
    assert!(matches!(e, IdError::DocumentIdMismatch { .. }), "{e}");
}

// ---------------------------------------------------------------------------------------
// 3. Rate limits.

/// Every event and span field recorded while installed, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

#[derive(Debug, Clone)]
struct Captured {
    /// `event` or the span's name.
    kind: String,
    level: tracing::Level,
    fields: Vec<(String, String)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        self.0.lock().unwrap().push(Captured {
            kind: "event".into(),
            level: *event.metadata().level(),
            fields: f.0,
        });
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = Fields(Vec::new());
        attrs.record(&mut f);
        self.0.lock().unwrap().push(Captured {
            kind: attrs.metadata().name().into(),
            level: *attrs.metadata().level(),
            fields: f.0,
        });
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = Fields(Vec::new());
        values.record(&mut f);
        self.0.lock().unwrap().push(Captured {
            kind: "record".into(),
            level: tracing::Level::TRACE,
            fields: f.0,
        });
    }
}

impl Capture {
    fn all(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    fn rate_warnings(&self) -> Vec<Captured> {
        self.all()
            .into_iter()
            .filter(|c| {
                c.kind == "event"
                    && c.level == tracing::Level::WARN
                    && c.field("message").is_some_and(|m| m.contains("rate limit"))
            })
            .collect()
    }
}

/// The PDS with rate limits on: createSession (30 per 5 minutes) is called with the right
/// password until it answers 429. The client warns once, when less than 10% is left,
/// naming the host and the policy, and no token or password shows up in any event or span.
/// Current-thread runtime: the capturing subscriber is this thread's default.
#[tokio::test(flavor = "current_thread")]
async fn rate_limit_warning_once_below_ten_percent_and_no_secrets() {
    if skip_if_disabled() {
        return;
    }
    let net = RefNet::start_with_env(&[("PDS_RATE_LIMITS_ENABLED", "true")]).unwrap();
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let acct = account(&net.pds, "rl").await;
    let mut secrets = vec![acct.password.clone()];
    let mut limited = false;
    let mut low_answers_after_warning = 0;
    for _ in 0..100 {
        match atmo_xrpc::PasswordSession::login(&acct.client, &acct.handle, &acct.password).await {
            Ok(s) => {
                let s = s.data().await;
                secrets.push(s.access_jwt);
                secrets.push(s.refresh_jwt);
                if !capture.rate_warnings().is_empty() {
                    low_answers_after_warning += 1;
                }
            }
            Err(e) if e.as_xrpc().is_some_and(|x| x.is_rate_limited()) => {
                limited = true;
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(limited, "a 429 within 100 logins");
    assert!(
        low_answers_after_warning >= 1,
        "more low answers came after the warning"
    );
    let warnings = capture.rate_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let w = &warnings[0];
    assert_eq!(w.field("host"), Some("localhost"));
    let policy = w.field("policy").unwrap();
    assert!(policy.contains(";w="), "policy {policy:?}");
    let remaining: u64 = w.field("remaining").unwrap().parse().unwrap();
    let limit: u64 = w.field("limit").unwrap().parse().unwrap();
    assert!(remaining * 10 < limit, "{remaining}/{limit}");
    // The tracked state agrees: this category is exhausted.
    assert!(
        acct.client
            .rate_limits()
            .iter()
            .any(|(h, c, rl)| h == "localhost" && c == policy && rl.remaining == 0),
        "{:?}",
        acct.client.rate_limits()
    );

    // The spans were captured too (so the secret check below saw them).
    let all = capture.all();
    assert!(
        all.iter().any(
            |c| c.kind == "xrpc" && c.field("nsid") == Some("com.atproto.server.createSession")
        ),
        "no xrpc span captured"
    );
    for c in &all {
        for (k, v) in &c.fields {
            for s in &secrets {
                assert!(!v.contains(s.as_str()), "a secret in {} field {k}", c.kind);
            }
            assert!(!v.contains("Bearer"), "a token in {} field {k}", c.kind);
        }
    }
}

/// 429, wait until `ratelimit-reset`, retry, 200. A loopback server stands in for the PDS
/// here only because the PDS's shortest rate-limit window is minutes long (createSession:
/// 30 per 5 minutes), too long to wait out in a test; the PDS's own 429 and its headers
/// are tested in `rate_limit_warning_once_below_ten_percent_and_no_secrets` and in
/// `xrpc.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_call_waits_for_reset_and_succeeds() {
    let limited_first = |n: usize| {
        let calls = AtomicUsize::new(0);
        TestHttp::start(move |_, _| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let i = calls.fetch_add(1, Ordering::SeqCst);
            if i < n {
                let mut r = json_reply(
                    429,
                    &serde_json::json!({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}),
                );
                r.1.extend([
                    ("ratelimit-limit".into(), "10".into()),
                    ("ratelimit-remaining".into(), "0".into()),
                    ("ratelimit-reset".into(), (now + 1).to_string()),
                    ("ratelimit-policy".into(), "10;w=1".into()),
                ]);
                r
            } else {
                let mut r = json_reply(200, &serde_json::json!({"ok": true, "call": i}));
                r.1.extend([
                    ("ratelimit-limit".into(), "10".into()),
                    ("ratelimit-remaining".into(), "9".into()),
                    ("ratelimit-policy".into(), "10;w=1".into()),
                ]);
                r
            }
        })
    };
    let req = XrpcRequest::query("com.example.ping").unwrap();
    let policy = RetryPolicy {
        retry_on_429: true,
        max_wait: Duration::from_secs(5),
        max_retries: 2,
    };

    // One 429, then 200: the call succeeds after waiting.
    let server = limited_first(1);
    let client = Client::builder(format!("http://127.0.0.1:{}", server.port))
        .allow_private_network(true)
        .retry(policy)
        .build()
        .unwrap();
    let res = client.send(&req).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(v, serde_json::json!({"ok": true, "call": 1}));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(100),
        "the retry waited"
    );
    let rl = client.rate_limits();
    assert_eq!(rl.len(), 1);
    assert_eq!(
        rl[0].2.remaining, 9,
        "the success's headers are tracked last"
    );

    // Without retries the 429 comes back at once, with its headers.
    let server = limited_first(1);
    let plain = Client::builder(format!("http://127.0.0.1:{}", server.port))
        .allow_private_network(true)
        .build()
        .unwrap();
    let e = plain.send(&req).await.unwrap_err();
    let x = e.as_xrpc().unwrap();
    assert!(x.is_rate_limited(), "{e}");
    assert_eq!(x.rate_limit.as_ref().map(|r| r.remaining), Some(0));
    assert_eq!(server.seen().len(), 1);

    // Always 429: at most max_retries retries, then the error.
    let server = limited_first(usize::MAX);
    let client = Client::builder(format!("http://127.0.0.1:{}", server.port))
        .allow_private_network(true)
        .retry(policy)
        .build()
        .unwrap();
    let e = client.send(&req).await.unwrap_err();
    assert!(e.as_xrpc().is_some_and(|x| x.is_rate_limited()), "{e}");
    assert_eq!(server.seen().len(), 3);
}

// ---------------------------------------------------------------------------------------
// 4. describeRepo.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_repo_answers_on_the_refnet() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = account(&net.pds, "desc").await;
    for (coll, text) in [
        ("com.example.note", r#"{"$type":"com.example.note","n":1}"#),
        (
            "app.bsky.feed.post",
            r#"{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2024-01-01T00:00:00.000Z"}"#,
        ),
    ] {
        let value = atmo_data::json::record_from_str(text).unwrap();
        let input =
            create_record::Input::new(acct.did.parse().unwrap(), coll.parse().unwrap(), value);
        acct.client.call(&input).await.unwrap();
    }
    for repo in [&acct.did, &acct.handle] {
        let params = describe_repo::Params::new(repo.parse().unwrap());
        let d = acct.client.call(params).await.unwrap();
        assert_eq!(d.did.as_str(), acct.did, "{d:?}");
        assert_eq!(d.handle.as_str(), acct.handle);
        assert!(d.handle_is_correct);
        let doc: serde_json::Value =
            serde_json::from_str(&atmo_data::json::to_string(&d.did_doc)).unwrap();
        assert_eq!(doc["id"], acct.did.as_str());
        let mut colls: Vec<&str> = d.collections.iter().map(|c| c.as_str()).collect();
        colls.sort_unstable();
        assert_eq!(colls, ["app.bsky.feed.post", "com.example.note"]);
    }
}

// ---------------------------------------------------------------------------------------
// 5. atproto-proxy and atproto-accept-labelers through the PDS.

/// A stand-in AppView at `did:web:localhost%3A<port>`: its DID document names itself as
/// `#bsky_appview`, and it answers `app.bsky.actor.getProfile` with a profile that says
/// which server answered.
fn stand_in_appview(name: &'static str) -> TestHttp {
    TestHttp::start(move |port, seen| {
        if seen.path == "/.well-known/did.json" {
            json_reply(
                200,
                &serde_json::json!({
                    "@context": ["https://www.w3.org/ns/did/v1"],
                    "id": did_web(port),
                    "service": [{
                        "id": "#bsky_appview",
                        "type": "BskyAppView",
                        "serviceEndpoint": format!("http://localhost:{port}"),
                    }],
                }),
            )
        } else if seen.path.starts_with("/xrpc/app.bsky.actor.getProfile") {
            json_reply(
                200,
                &serde_json::json!({
                    "did": seen.query("actor").unwrap_or_default(),
                    "handle": "handle.invalid",
                    "displayName": name,
                }),
            )
        } else {
            json_reply(
                404,
                &serde_json::json!({"error": "NotFound", "message": "stand-in"}),
            )
        }
    })
}

/// The payload of a `Bearer` JWT.
fn jwt_payload(authorization: &str) -> serde_json::Value {
    let token = authorization.strip_prefix("Bearer ").unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn labeler(did: &str, redact: bool) -> Labeler {
    Labeler {
        did: Did::new(did).unwrap(),
        redact,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_and_labeler_headers_reach_the_pds_and_per_call_options_win() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = account(&net.pds, "proxy").await;
    let session = acct.session.clone();
    let (a, b) = (stand_in_appview("A"), stand_in_appview("B"));
    let target =
        |s: &TestHttp, id: &str| ProxyTarget::parse(&format!("{}#{id}", did_web(s.port))).unwrap();
    const L1: &str = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    const L2: &str = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
    let profile = || {
        XrpcRequest::query("app.bsky.actor.getProfile")
            .unwrap()
            .param("actor", acct.did.as_str())
    };
    let display_name = |v: &atmo_data::Value| {
        v.get("displayName")
            .and_then(atmo_data::Value::as_str)
            .map(str::to_owned)
    };

    // Without a proxy header the PDS has nowhere to send app.bsky calls.
    let e = acct.client.send_authed(&profile()).await.unwrap_err();
    let x = e.as_xrpc().unwrap();
    assert_eq!(
        x.message.as_deref(),
        Some("No service configured for app.bsky.actor.getProfile"),
        "{e}"
    );

    // Per-client defaults: the PDS reads the header, resolves A's did:web and forwards
    // the call there with a service token for A, and the labelers header with it.
    let client = Client::builder(&net.pds)
        .allow_private_network(true)
        .default_options(CallOptions {
            proxy: Some(target(&a, "bsky_appview")),
            accept_labelers: Some(vec![labeler(L1, false)]),
        })
        .build()
        .unwrap();
    let client = client.with_auth(session);
    let res = client.send_authed(&profile()).await.unwrap();
    assert_eq!(display_name(&res.value().unwrap()).as_deref(), Some("A"));
    let calls: Vec<Seen> = a
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/xrpc/"))
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].header("atproto-accept-labelers"), Some(L1));
    let jwt = jwt_payload(calls[0].header("authorization").unwrap());
    assert_eq!(jwt["iss"], acct.did.as_str(), "{jwt}");
    assert_eq!(jwt["aud"], did_web(a.port).as_str(), "{jwt}");
    assert_eq!(jwt["lxm"], "app.bsky.actor.getProfile", "{jwt}");

    // Per-call options win over the client's: B answers, with B's labelers; A sees nothing.
    let req = profile()
        .proxy(target(&b, "bsky_appview"))
        .accept_labelers(vec![labeler(L2, true), labeler(L1, false)]);
    let res = client.send_authed(&req).await.unwrap();
    assert_eq!(display_name(&res.value().unwrap()).as_deref(), Some("B"));
    assert_eq!(a.count("/xrpc/"), 1);
    let calls: Vec<Seen> = b
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/xrpc/"))
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].header("atproto-accept-labelers"),
        Some(format!("{L2};redact, {L1}").as_str())
    );
    assert_eq!(
        jwt_payload(calls[0].header("authorization").unwrap())["aud"],
        did_web(b.port).as_str()
    );

    // A per-call proxy only: the labelers still come from the client's defaults.
    let req = profile().proxy(target(&b, "bsky_appview"));
    client.send_authed(&req).await.unwrap();
    let last = b.seen().into_iter().last().unwrap();
    assert_eq!(last.header("atproto-accept-labelers"), Some(L1));

    // A service id A's document does not name: the PDS's error says so.
    let req = profile().proxy(target(&a, "atproto_labeler"));
    let e = client.send_authed(&req).await.unwrap_err();
    let x = e.as_xrpc().unwrap();
    assert_eq!(x.status, 400, "{e}");
    assert_eq!(
        x.message.as_deref(),
        Some("could not resolve proxy did service url"),
        "{e}"
    );
    assert_eq!(a.count("/xrpc/"), 1, "nothing was forwarded");
}

// ---------------------------------------------------------------------------------------
// Well-known redirects ("HTTP redirects (eg, 301, 302) are allowed, up to a reasonable
// number of redirect hops"), from a loopback server: no reference network needed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_known_redirects_are_followed_within_limits() {
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    let server = TestHttp::start(move |port, seen| {
        let to = |status, location: String| (status, vec![("location".into(), location)], vec![]);
        match seen.path.as_str() {
            // A path on the same origin, then an absolute URL, then the answer.
            "/.well-known/atproto-did" if seen.header("host") == Some("hop.example.com") => {
                to(302, "/moved/atproto-did".into())
            }
            "/moved/atproto-did" => to(301, format!("http://127.0.0.1:{port}/final")),
            "/final" => (200, vec![], format!("{did}\n").into_bytes()),
            // A loop, and a Location the client does not follow.
            "/.well-known/atproto-did" if seen.header("host") == Some("loop.example.com") => {
                to(307, "/.well-known/atproto-did".into())
            }
            _ => to(308, "relative/path".into()),
        }
    });
    let mut c = ResolverConfig::default();
    c.allow_private_network = true;
    c.use_dns = false;
    c.well_known_endpoint = Some(format!("http://127.0.0.1:{}", server.port));
    let r = Resolver::new(c).unwrap();

    let found = r
        .resolve_handle_well_known(&Handle::new("hop.example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(found.as_str(), did);
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        ["/.well-known/atproto-did", "/moved/atproto-did", "/final"]
    );

    let e = r
        .resolve_handle_well_known(&Handle::new("loop.example.com").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            IdError::Redirect {
                reason: "too many redirects",
                ..
            }
        ),
        "{e}"
    );
    // One request from the first handle; for the loop, the first request and five
    // followed redirects, then the sixth redirect is refused.
    assert_eq!(server.count("/.well-known/atproto-did"), 1 + 6);

    let e = r
        .resolve_handle_well_known(&Handle::new("other.example.com").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, IdError::Redirect { .. }), "{e}");
}

/// A keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request on a connection
/// with `body`, and counts the connections it accepted.
fn keep_alive_server(body: &'static str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if conn.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_reuses_kept_alive_connections() {
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    // The directory: every DID document read goes over one kept-alive connection.
    let doc = r#"{"id":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","alsoKnownAs":["at://keep.example.com"],"verificationMethod":[],"service":[]}"#;
    let (plc_port, plc_accepted) = keep_alive_server(doc);
    // Well-known lookups go to a new origin per handle: they close their connection, so
    // verifying many handles holds no idle socket per handle.
    let (port, accepted) = keep_alive_server("did:plc:ewvi7nxzyoun6zhxrhs64oiz\n");
    let mut c = ResolverConfig::default();
    c.allow_private_network = true;
    c.use_dns = false;
    c.plc_url = format!("http://127.0.0.1:{plc_port}");
    c.well_known_endpoint = Some(format!("http://127.0.0.1:{port}"));
    let r = Resolver::new(c).unwrap();
    let d = atmo_syntax::Did::new(did).unwrap();
    for _ in 0..5 {
        assert_eq!(r.resolve_did_uncached(&d).await.unwrap().id.as_str(), did);
        // The pool takes a connection back once its connection task has seen the end of
        // the answer, a moment after the body is read; on a loaded machine a request sent
        // at once may beat it and open a second connection. Give it that moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plc = plc_accepted.load(Ordering::SeqCst);
    assert!(
        plc <= 2,
        "five lookups reuse kept-alive connections (opened {plc})"
    );
    let many: Vec<Handle> = (0..40)
        .map(|i| Handle::new(&format!("h{i}.example.com")).unwrap())
        .collect();
    for h in &many {
        assert_eq!(r.resolve_handle_well_known(h).await.unwrap().as_str(), did);
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        40,
        "one connection per lookup, closed"
    );
}
