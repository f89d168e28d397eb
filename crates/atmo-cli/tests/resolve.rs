//! `atmo resolve`, offline cases: bad input, usage errors, the SSRF refusal. Cases against
//! the reference network are in the workspace's tests/tests/identity.rs.

use std::process::{Command, Output};

fn atmo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(args)
        .output()
        .expect("the atmo binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_identifiers_exit_1() {
    for bad in ["not a handle", "did:", "alice", "@", "did:plc:"] {
        let o = atmo(&["resolve", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("neither a handle nor a DID"),
            "{bad}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn unsupported_did_methods_exit_1() {
    let o = atmo(&[
        "resolve",
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unsupported DID method"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn disallowed_tld_handles_exit_1_without_network() {
    let o = atmo(&["resolve", "alice.invalid"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("never resolved"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["resolve"][..],
        &["resolve", "a.test", "b.test"],
        &["resolve", "a.test", "--bogus"],
    ] {
        let o = atmo(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn loopback_is_refused_without_the_flag() {
    // Port 9 (discard) on loopback: nothing is contacted, the address alone is refused.
    for plc in [
        "https://127.0.0.1:9",
        "https://[::1]:9",
        "https://localhost:9",
    ] {
        let o = atmo(&["resolve", "did:plc:aymhh2c47ldyafhgr4dj6o5r", "--plc", plc]);
        assert_eq!(o.status.code(), Some(1), "{plc}");
        let err = stderr(&o);
        assert!(
            err.contains("refusing to connect") && err.contains("loopback"),
            "{plc}: {err}"
        );
    }
    let o = atmo(&[
        "resolve",
        "did:plc:aymhh2c47ldyafhgr4dj6o5r",
        "--plc",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("plain http"), "{}", stderr(&o));
    // With the flag the address is allowed; nothing listens there, so it fails to connect.
    let o = atmo(&[
        "resolve",
        "did:plc:aymhh2c47ldyafhgr4dj6o5r",
        "--plc",
        "http://127.0.0.1:9",
        "--allow-private-network",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("refusing"), "{}", stderr(&o));
}

/// `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` are honoured: a proxy of the test's own sees the
/// `CONNECT` (and refuses it), `NO_PROXY` bypasses it.
#[test]
fn proxy_variables_are_honoured() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { return };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && c.read_exact(&mut b).is_ok() {
                head.push(b[0]);
            }
            let line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            s2.lock().unwrap().push(line);
            let _ = c.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let run = |no_proxy: &str| {
        Command::new(env!("CARGO_BIN_EXE_atmo"))
            .args([
                "resolve",
                "did:plc:aymhh2c47ldyafhgr4dj6o5r",
                "--plc",
                "http://127.0.0.1:9",
                "--allow-private-network",
            ])
            .env("HTTP_PROXY", format!("http://{proxy}"))
            .env("NO_PROXY", no_proxy)
            .env_remove("REQUEST_METHOD")
            .output()
            .unwrap()
    };
    let o = run("");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("proxy {proxy}")) && err.contains("403"),
        "{err}"
    );
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("CONNECT 127.0.0.1:9 HTTP/1.1")
    );
    let before = seen.lock().unwrap().len();
    let o = run("127.0.0.1");
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("proxy"), "{}", stderr(&o));
    assert_eq!(seen.lock().unwrap().len(), before);
}
