//! The resolver against tiny local HTTP servers: SSRF refusals, timeouts, size caps,
//! in-flight de-duplication. (Real-server tests are in the workspace's tests/tests/identity.rs.)
#![cfg(feature = "resolve-http")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atmo_identity::{Error, Resolver, ResolverConfig};
use atmo_syntax::{Did, Handle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ALICE: &str = include_str!("fixtures/plc_doc_alice.json");
const ALICE_DID: &str = "did:plc:aymhh2c47ldyafhgr4dj6o5r";

/// How the test server answers: (status, body, delay before answering).
type Answer = Arc<dyn Fn(&str, &str) -> (u16, String, Duration) + Send + Sync>;

struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    hosts: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn serve(answer: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let connections = Arc::new(AtomicUsize::new(0));
    let hosts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, hs) = (Arc::clone(&connections), Arc::clone(&hosts));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let answer = Arc::clone(&answer);
            let hs = Arc::clone(&hs);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let host = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("host: ")
                            .or_else(|| l.strip_prefix("Host: "))
                    })
                    .unwrap_or("")
                    .to_owned();
                hs.lock().unwrap().push(host.clone());
                let (status, body, delay) = answer(&path, &host);
                tokio::time::sleep(delay).await;
                let res = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(res.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Server {
        url,
        connections,
        hosts,
    }
}

fn private_config(plc: &str) -> ResolverConfig {
    let mut c = ResolverConfig::default();
    c.plc_url = plc.to_owned();
    c.allow_private_network = true;
    c.use_dns = false;
    c.timeout = Duration::from_secs(5);
    c
}

fn did(s: &str) -> Did {
    Did::new(s).unwrap()
}

#[tokio::test]
async fn ssrf_refuses_private_literals() {
    for url in [
        "https://10.0.0.1",
        "https://127.0.0.1:1",
        "https://[::1]:1",
        "https://169.254.169.254",
        "https://[::ffff:127.0.0.1]",
        "https://100.64.0.1",
    ] {
        let mut c = ResolverConfig::default();
        c.plc_url = url.to_owned();
        c.use_dns = false;
        let r = Resolver::new(c).unwrap();
        match r.resolve_did(&did(ALICE_DID)).await {
            Err(Error::Forbidden { .. }) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn ssrf_refuses_a_name_that_resolves_to_loopback() {
    let server = serve(Arc::new(|_, _| (200, ALICE.to_owned(), Duration::ZERO))).await;
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    let mut c = ResolverConfig::default();
    c.use_dns = false;
    // https://localhost:<port>: "localhost" resolves to a loopback address.
    c.plc_url = format!("https://localhost:{port}");
    let r = Resolver::new(c.clone()).unwrap();
    let err = r.resolve_did(&did(ALICE_DID)).await.unwrap_err();
    assert!(
        matches!(err, Error::Forbidden { ref host, .. } if host == "localhost"),
        "{err}"
    );
    // did:web:localhost%3A<port> is refused the same way.
    let web = did(&format!("did:web:localhost%3A{port}"));
    assert!(matches!(
        r.resolve_did(&web).await,
        Err(Error::Forbidden { .. })
    ));
    // Plain http is refused outright without the flag.
    c.plc_url = server.url.clone();
    let r = Resolver::new(c).unwrap();
    assert!(matches!(
        r.resolve_did(&did(ALICE_DID)).await,
        Err(Error::Url { .. })
    ));
    // Well-known lookups for a handle go through the same check.
    let mut c = ResolverConfig::default();
    c.use_dns = false;
    c.well_known_endpoint = Some(format!("https://localhost:{port}"));
    let r = Resolver::new(c).unwrap();
    let h = Handle::new("alice.test").unwrap();
    assert!(matches!(
        r.resolve_handle(&h).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        0,
        "nothing may connect"
    );
}

#[tokio::test]
async fn concurrent_resolves_share_one_request() {
    let server = serve(Arc::new(|path, _| {
        assert_eq!(path, format!("/{ALICE_DID}"));
        (200, ALICE.to_owned(), Duration::from_millis(200))
    }))
    .await;
    let r = Resolver::new(private_config(&server.url)).unwrap();
    let d = did(ALICE_DID);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (r, d) = (r.clone(), d.clone());
            tokio::spawn(async move { r.resolve_did(&d).await })
        })
        .collect();
    for t in tasks {
        let doc = t.await.unwrap().unwrap();
        assert_eq!(doc.did().as_str(), ALICE_DID);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    // Later lookups are cache hits.
    r.resolve_did(&d).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    let stats = r.cache_stats();
    assert_eq!((stats.misses, stats.hits), (1, 50));
    // Invalidation makes the next lookup fetch again.
    r.invalidate_did(&d);
    r.resolve_did(&d).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failures_are_not_cached_and_ttl_expires() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = Arc::clone(&calls);
    let server = serve(Arc::new(move |_, _| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            (500, "{}".to_owned(), Duration::ZERO)
        } else {
            (200, ALICE.to_owned(), Duration::ZERO)
        }
    }))
    .await;
    let mut c = private_config(&server.url);
    c.cache_ttl = Duration::from_millis(300);
    let r = Resolver::new(c).unwrap();
    let d = did(ALICE_DID);
    assert!(matches!(
        r.resolve_did(&d).await,
        Err(Error::Status { status: 500, .. })
    ));
    r.resolve_did(&d).await.unwrap();
    r.resolve_did(&d).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    r.resolve_did(&d).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn slow_servers_time_out() {
    let server = serve(Arc::new(|_, _| {
        (200, ALICE.to_owned(), Duration::from_secs(30))
    }))
    .await;
    let mut c = private_config(&server.url);
    c.timeout = Duration::from_millis(300);
    let r = Resolver::new(c).unwrap();
    let start = std::time::Instant::now();
    let err = r.resolve_did(&did(ALICE_DID)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn large_documents_are_refused() {
    let server = serve(Arc::new(|_, _| (200, " ".repeat(100_000), Duration::ZERO))).await;
    let r = Resolver::new(private_config(&server.url)).unwrap();
    assert!(matches!(
        r.resolve_did(&did(ALICE_DID)).await,
        Err(Error::DocumentTooLarge { limit: 65536, .. })
    ));
}

#[tokio::test]
async fn document_for_another_did_is_refused() {
    let server = serve(Arc::new(|_, _| (200, ALICE.to_owned(), Duration::ZERO))).await;
    let r = Resolver::new(private_config(&server.url)).unwrap();
    let other = did("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb");
    assert!(matches!(
        r.resolve_did(&other).await,
        Err(Error::DocumentIdMismatch { .. })
    ));
    let missing = serve(Arc::new(|_, _| (404, "{}".to_owned(), Duration::ZERO))).await;
    let r = Resolver::new(private_config(&missing.url)).unwrap();
    assert!(matches!(
        r.resolve_did(&other).await,
        Err(Error::DidNotFound { status: 404, .. })
    ));
}

#[tokio::test]
async fn well_known_sends_the_handle_as_host() {
    let server = serve(Arc::new(|path, host| match (path, host) {
        ("/.well-known/atproto-did", "alice.test") => {
            (200, format!("{ALICE_DID}\n"), Duration::ZERO)
        }
        ("/.well-known/atproto-did", _) => (404, String::new(), Duration::ZERO),
        _ => (200, ALICE.to_owned(), Duration::ZERO),
    }))
    .await;
    let mut c = private_config(&server.url);
    c.well_known_endpoint = Some(server.url.clone());
    let r = Resolver::new(c).unwrap();
    let id = r.resolve("@alice.test").await.unwrap();
    assert_eq!(id.did.as_str(), ALICE_DID);
    assert_eq!(id.handle.as_ref().map(Handle::as_str), Some("alice.test"));
    assert!(
        server
            .hosts
            .lock()
            .unwrap()
            .iter()
            .any(|h| h == "alice.test")
    );
    // bob.test gets a 404: not found, and the error says which method failed.
    let err = r.resolve("bob.test").await.unwrap_err();
    assert!(matches!(err, Error::HandleNotFound { .. }), "{err}");
}

#[tokio::test]
async fn handle_not_listed_back_is_invalid() {
    // The resolver says carol.test is Alice's DID, but Alice's document does not list it.
    let server = serve(Arc::new(|path, _| {
        if path.starts_with("/xrpc/com.atproto.identity.resolveHandle") {
            (200, format!(r#"{{"did":"{ALICE_DID}"}}"#), Duration::ZERO)
        } else {
            (200, ALICE.to_owned(), Duration::ZERO)
        }
    }))
    .await;
    let mut c = private_config(&server.url);
    c.handle_resolver = Some(server.url.clone());
    let r = Resolver::new(c).unwrap();
    let id = r.resolve("carol.test").await.unwrap();
    assert_eq!(id.handle, None);
    assert_eq!(id.handle_or_invalid(), "handle.invalid");
    assert_eq!(
        id.claimed_handle.as_ref().map(Handle::as_str),
        Some("carol.test")
    );
    // From the DID, alice.test resolves back (through the same resolver): verified.
    let id = r.resolve(ALICE_DID).await.unwrap();
    assert_eq!(id.handle.as_ref().map(Handle::as_str), Some("alice.test"));
}

#[tokio::test]
async fn bad_input_and_methods() {
    let r = Resolver::new(ResolverConfig::default()).unwrap();
    assert!(matches!(
        r.resolve("not a handle").await,
        Err(Error::InvalidIdentifier { .. })
    ));
    assert!(matches!(
        r.resolve("did:key:zQ3sh").await,
        Err(Error::UnsupportedDidMethod { .. })
    ));
    assert!(matches!(
        r.resolve("did:web:example.com:user:alice").await,
        Err(Error::UnsupportedDidWeb { .. })
    ));
    assert!(matches!(
        r.resolve("alice.invalid").await,
        Err(Error::HandleNotFound { .. })
    ));
    assert_eq!(
        r.did_document_url(&did("did:web:example.com")).unwrap(),
        "https://example.com/.well-known/did.json"
    );
    let p = Resolver::new(private_config("http://127.0.0.1:1")).unwrap();
    assert_eq!(
        p.did_document_url(&did("did:web:localhost%3A2583"))
            .unwrap(),
        "http://localhost:2583/.well-known/did.json"
    );
}
