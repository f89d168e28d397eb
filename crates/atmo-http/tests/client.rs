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
