//! The client against a server on loopback: the policy refuses it by default, names the
//! address, and lets it through when the host is allowed.

use std::net::SocketAddr;
use std::time::Duration;

use atmo_http::{ConnectPolicy, Error, HttpClient};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A server that answers every request with `body` (HTTP/1.1, keep-alive), and counts
/// connections.
async fn server(
    body: &'static str,
) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = conns.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut have = Vec::new();
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    have.extend_from_slice(&buf[..n]);
                    while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                        have.drain(..end + 4);
                        let res = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.write_all(res.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, conns)
}

#[tokio::test]
async fn loopback_refused_by_default_allowed_by_name() {
    let (addr, conns) = server("hello").await;
    let port = addr.port();

    let strict = HttpClient::new().unwrap();
    // Plain http to a host that is not allowed: refused before connecting.
    let e = strict
        .get(&format!("http://127.0.0.1:{port}/"), "*/*", 1024)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Insecure { .. }), "{e}");
    // https to a name that resolves to loopback: refused at connect time, naming it.
    let e = strict
        .get(&format!("https://localhost:{port}/"), "*/*", 1024)
        .await
        .unwrap_err();
    match &e {
        Error::Forbidden { host, addr, reason } => {
            assert_eq!(host, "localhost");
            assert!(addr.is_loopback());
            assert_eq!(*reason, "loopback");
        }
        other => panic!("expected Forbidden, got {other}"),
    }
    assert!(e.is_policy());
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 0);

    let dev = HttpClient::builder()
        .policy(ConnectPolicy::default().allow_host("127.0.0.1"))
        .build()
        .unwrap();
    for _ in 0..3 {
        let res = dev
            .get(&format!("http://127.0.0.1:{port}/x"), "*/*", 1024)
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.body().as_ref(), b"hello");
        // The pool takes the connection back a moment after the body is read.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Kept alive: three requests on at most two connections (one, unless the machine is
    // so loaded that the pool had not taken the first back yet).
    let opened = conns.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&opened), "{opened}");
    // The cap is enforced.
    let e = dev
        .get(&format!("http://127.0.0.1:{port}/x"), "*/*", 3)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 3, .. }), "{e}");
}

#[tokio::test]
async fn stalled_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s); // accept, never answer
        }
    });
    let c = HttpClient::builder()
        .allow_private_network(true)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = c
        .get(&format!("http://127.0.0.1:{port}/"), "*/*", 1024)
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = HttpClient::builder()
        .allow_private_network(true)
        .build()
        .unwrap();
    let e = c
        .get(&format!("http://127.0.0.1:{port}/"), "*/*", 1024)
        .await
        .unwrap_err();
    match e {
        Error::Connect { kind, addr, .. } => {
            assert_eq!(kind, std::io::ErrorKind::ConnectionRefused);
            assert_eq!(addr.map(|a| a.port()), Some(port));
        }
        other => panic!("expected Connect, got {other}"),
    }
}

/// What a test proxy saw: the request lines and `Proxy-Authorization` values of every
/// `CONNECT` it was sent.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

/// An HTTP `CONNECT` proxy: answers 407 without the expected credentials (when some are
/// expected), otherwise opens the tunnel and copies bytes both ways.
async fn connect_proxy(auth: Option<&'static str>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Default::default();
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let seen = s2.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let Ok(b) = s.read_u8().await else { return };
                    head.push(b);
                }
                let head = String::from_utf8(head).unwrap();
                let line = head.lines().next().unwrap().to_owned();
                let given = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Proxy-Authorization: "))
                    .map(str::to_owned);
                seen.lock().unwrap().push((line.clone(), given.clone()));
                if auth.is_some() && given.as_deref() != auth {
                    let _ = s
                        .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let target = line.split(' ').nth(1).unwrap().to_owned();
                let Ok(mut up) = tokio::net::TcpStream::connect(&target).await else {
                    let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn a_proxy_carries_connections_and_the_policy_still_applies() {
    use atmo_http::Proxy;
    let (origin, _) = server("through").await;
    let (proxy, seen) = connect_proxy(Some("Basic dXNlcjpwdw==")).await;
    let url = format!("http://127.0.0.1:{}/x", origin.port());
    let build = |policy: ConnectPolicy, proxy: Proxy| {
        HttpClient::builder()
            .policy(policy)
            .proxy(proxy)
            .build()
            .unwrap()
    };
    let dev = ConnectPolicy::default().allow_host("127.0.0.1");

    // Through the proxy, with its credentials: the tunnel goes to the origin.
    let via = build(
        dev.clone(),
        Proxy::new(&format!("http://user:pw@{proxy}"), None, ""),
    );
    let res = via.get(&url, "*/*", 1024).await.unwrap();
    assert_eq!(res.body().as_ref(), b"through");
    let expect_line = format!("CONNECT 127.0.0.1:{} HTTP/1.1", origin.port());
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [(expect_line.clone(), Some("Basic dXNlcjpwdw==".to_owned()))]
    );
    // A websocket-style stream goes through it too.
    let mut stream = via
        .connect_stream(
            &format!("http://127.0.0.1:{}", origin.port())
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 256];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("through"));
    assert_eq!(seen.lock().unwrap().len(), 2);

    // Without the credentials the proxy's refusal arrives typed.
    let e = build(
        dev.clone(),
        Proxy::new(&format!("http://{proxy}"), None, ""),
    )
    .get(&url, "*/*", 1024)
    .await
    .unwrap_err();
    match &e {
        Error::Proxy {
            proxy: p, status, ..
        } => {
            assert_eq!(p, &proxy.to_string());
            assert_eq!(*status, Some(407));
        }
        other => panic!("expected a proxy error, got {other}"),
    }
    assert!(e.is_connect());
    assert_eq!(seen.lock().unwrap().len(), 3);

    // NO_PROXY: direct.
    let direct = build(
        dev.clone(),
        Proxy::new(&format!("http://{proxy}"), None, "127.0.0.1"),
    );
    assert_eq!(direct.get(&url, "*/*", 1024).await.unwrap().status(), 200);
    assert_eq!(seen.lock().unwrap().len(), 3);

    // The policy still decides: plain http to a host it does not allow, and a name that
    // resolves here to loopback, are refused before the proxy is asked.
    let strict = build(
        ConnectPolicy::default(),
        Proxy::new(&format!("http://user:pw@{proxy}"), None, ""),
    );
    let e = strict.get(&url, "*/*", 1024).await.unwrap_err();
    assert!(matches!(e, Error::Insecure { .. }), "{e}");
    let e = strict
        .get(
            &format!("https://localhost:{}/", origin.port()),
            "*/*",
            1024,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 3);

    // A proxy that is not there: a connect error naming it.
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone_addr = gone.local_addr().unwrap();
    drop(gone);
    let e = build(dev, Proxy::new(&format!("http://{gone_addr}"), None, ""))
        .get(&url, "*/*", 1024)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Connect { addr: Some(a), .. } if a == gone_addr),
        "{e}"
    );
}
