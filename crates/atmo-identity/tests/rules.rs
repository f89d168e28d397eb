//! Handle resolution rules and the SSRF policy (pure functions).

use std::net::IpAddr;

use atmo_identity::handle::{
    dns_txt_name, document_claims, is_resolvable, parse_dns_txt, parse_well_known,
};
use atmo_identity::ssrf::{check_addr, non_public_reason};
use atmo_identity::{DidDocument, Error};
use atmo_syntax::Handle;

fn h(s: &str) -> Handle {
    Handle::new(s).unwrap()
}

#[test]
fn dns_txt_needs_exactly_one_did() {
    let alice = h("alice.test");
    assert_eq!(dns_txt_name(&alice), "_atproto.alice.test");
    assert_eq!(parse_dns_txt(&alice, Vec::<String>::new()).unwrap(), None);
    assert_eq!(
        parse_dns_txt(&alice, ["v=spf1", "did:plc:abc", "DID=did:plc:abc"]).unwrap(),
        None
    );
    // The same DID twice is one DID.
    let same = parse_dns_txt(&alice, ["did=did:plc:abc", "did=did:plc:abc"])
        .unwrap()
        .unwrap();
    assert_eq!(same.as_str(), "did:plc:abc");
    assert!(matches!(
        parse_dns_txt(&alice, ["did=did:plc:abc", "did=did:web:example.com"]),
        Err(Error::DnsAmbiguous { count: 2, .. })
    ));
}

/// The rule lexicon resolution shares (atmo_syntax::txt): a bad DID is an error, not
/// skipped; nothing is trimmed; more than the cap is an error.
#[test]
fn dns_txt_follows_the_shared_rule() {
    let alice = h("alice.test");
    for bad in ["did=not a did", "did=", "did=did:plc:abc "] {
        match parse_dns_txt(&alice, [bad]) {
            Err(Error::InvalidDid {
                input, source_name, ..
            }) => {
                assert_eq!(input, bad.strip_prefix("did=").unwrap());
                assert_eq!(source_name, "DNS TXT _atproto.alice.test");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // A bad value beside a good one: two different did= values.
    assert!(matches!(
        parse_dns_txt(&alice, ["did=not a did", "did=did:plc:abc"]),
        Err(Error::DnsAmbiguous { count: 2, .. })
    ));
    // Leading whitespace: not a did= string.
    assert_eq!(parse_dns_txt(&alice, [" did=did:plc:abc"]).unwrap(), None);
    let cap = atmo_syntax::txt::MAX_TXT_STRINGS;
    let mut many = vec!["x".to_owned(); cap - 1];
    many.push("did=did:plc:abc".to_owned());
    assert_eq!(
        parse_dns_txt(&alice, &many).unwrap().unwrap().as_str(),
        "did:plc:abc"
    );
    many.push("x".to_owned());
    assert!(matches!(
        parse_dns_txt(&alice, &many),
        Err(Error::DnsTxt {
            error: atmo_syntax::txt::TxtError::TooMany { .. },
            ..
        })
    ));
    // A long answer is read only as far as needed.
    let endless = std::iter::repeat_n("x", 1_000_000);
    assert!(matches!(
        parse_dns_txt(&alice, endless),
        Err(Error::DnsTxt { .. })
    ));
}

#[test]
fn well_known_body_is_trimmed_and_must_be_a_did() {
    let alice = h("alice.test");
    assert_eq!(
        parse_well_known(&alice, b"  did:plc:abc\r\n")
            .unwrap()
            .as_str(),
        "did:plc:abc"
    );
    for bad in [
        &b""[..],
        b"\n",
        b"did:plc:abc extra",
        b"<html>",
        b"\xff\xfe",
        &[b'a'; 5000],
    ] {
        assert!(
            matches!(
                parse_well_known(&alice, bad),
                Err(Error::WellKnownBody { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn disallowed_tlds_are_not_resolved() {
    assert!(is_resolvable(&h("alice.test")));
    assert!(is_resolvable(&h("alice.bsky.social")));
    for bad in [
        "handle.invalid",
        "a.local",
        "a.localhost",
        "a.onion",
        "a.arpa",
        "a.internal",
        "a.example",
        "a.alt",
    ] {
        assert!(!is_resolvable(&h(bad)), "{bad}");
    }
}

#[test]
fn document_claims_is_case_insensitive_and_needs_at_scheme() {
    let doc = DidDocument::from_json(
        br#"{"id":"did:plc:aaa","alsoKnownAs":["https://bob.test","at://Alice.Test"]}"#,
    )
    .unwrap();
    assert!(document_claims(&doc, &h("alice.test")));
    assert!(!document_claims(&doc, &h("bob.test")));
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ssrf_refuses_non_public_addresses() {
    for (addr, reason) in [
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.255", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("fc00::1", "unique local"),
        ("fdff::1", "unique local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.1.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::", "loopback"),
    ] {
        assert_eq!(non_public_reason(ip(addr)), Some(reason), "{addr}");
        match check_addr("h.example", ip(addr), false) {
            Err(Error::Forbidden {
                addr: a, reason: r, ..
            }) => {
                assert_eq!((a, r), (ip(addr), reason));
            }
            other => panic!("{addr}: {other:?}"),
        }
        assert!(check_addr("h.example", ip(addr), true).is_ok(), "{addr}");
    }
}

#[test]
fn ssrf_allows_public_addresses() {
    for addr in [
        "1.1.1.1",
        "8.8.8.8",
        "172.15.0.1",
        "172.32.0.1",
        "100.63.0.1",
        "100.128.0.1",
        "169.253.1.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "2001:4860::8888",
    ] {
        assert_eq!(non_public_reason(ip(addr)), None, "{addr}");
        assert!(check_addr("h.example", ip(addr), false).is_ok());
    }
}
