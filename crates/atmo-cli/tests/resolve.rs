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
